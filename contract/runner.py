"""One conformance run: build the target, drive the state machine, collect verdicts.

Used by the pytest suite (`contract/suite`), the CLI and the self-tests, so all
three explore the same way. Nothing here prints or decides pass/fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test

from .machine import ClauseViolation, LongOperationMachine, Run, violation_type
from .model import Timing
from .profiles import Profile, profile
from .targets import HarnessError, LiveTarget, MockTarget, Target
from .verdicts import Recorder


@dataclass
class Options:
    """Everything that shapes a run. Defaults are the gate's default budget."""

    profile: str = "openapi-v1"
    seed: int | None = None
    max_examples: int = 100
    steps: int = 50
    token_ttl: float = 900.0
    ttl_tolerance: float = 0.5
    faults: tuple[str, ...] = ()
    skip_clauses: dict[str, str] = field(default_factory=dict)
    shrink: bool = True
    report_dir: str | None = None  # None: a fresh reports/<UTC timestamp>/ under the cwd
    # Live mode: a running server instead of the embedded emulator.
    base_url: str | None = None
    repo_id: str | None = None
    session_tokens: tuple[str, ...] = field(default=(), repr=False)
    parent_id: int | None = None
    clock_url: str | None = None
    rounds: int = 6  # explore again, muting what was found, until nothing new (at most this)

    def describe_target(self) -> str:
        return make_target(self).description


def make_target(options: Options) -> Target:
    """The embedded emulator (mock mode), or the server at --base-url (live mode)."""
    try:
        dialect = profile(options.profile)
        if options.base_url is None:
            live_only = [
                n
                for n, v in (
                    ("--repo-id", options.repo_id),
                    ("--parent-id", options.parent_id),
                    ("--clock-url", options.clock_url),
                )
                if v is not None
            ]
            if live_only or options.session_tokens:
                raise ValueError(
                    f"{', '.join(live_only or ['--session-token'])} needs --base-url "
                    "(without it the gate runs against the embedded emulator)"
                )
            return MockTarget(dialect, frozenset(options.faults), options.token_ttl)
        return _live_target(options, dialect)
    except ValueError as exc:  # a bad profile, fault name, TTL or a missing partner option
        raise HarnessError(str(exc)) from None


def _live_target(options: Options, dialect: Profile) -> Target:
    if options.faults:
        raise ValueError("--fault seeds the embedded emulator; a live target has its own bugs")
    missing = [
        name
        for name, value in (
            ("--repo-id", options.repo_id),
            ("--session-token", options.session_tokens),
            ("--parent-id", options.parent_id),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"--base-url needs {', '.join(missing)}")
    if options.clock_url is None:
        raise ValueError("--base-url needs --clock-url (the wall-clock mode is not built yet)")
    if not options.base_url.startswith(("http://", "https://")):
        raise ValueError(f"--base-url {options.base_url!r} must start with http:// or https://")
    assert options.repo_id is not None and options.parent_id is not None
    return LiveTarget(
        dialect,
        options.base_url,
        options.repo_id,
        list(options.session_tokens),
        options.parent_id,
        options.clock_url,
    )


def explore(options: Options, recorder: Recorder, target: Target | None = None) -> None:
    """Run the state machine against the target until no new clause is found violated.

    Hypothesis stops at the first failure it finds (and shrinks it). To show every
    violated clause, not just the first, the run goes on in rounds: each round
    mutes the clauses already found. The first round's violation is re-raised at
    the end (a `ClauseViolation` or an ExceptionGroup of them), after recording."""
    target = target or make_target(options)
    first_error: BaseException | None = None
    muted: frozenset[str] = frozenset()
    for _ in range(options.rounds):
        run = Run(target, recorder, Timing(options.token_ttl, options.ttl_tolerance), muted)
        try:
            _explore_once(options, run)
        except (ClauseViolation, ExceptionGroup) as exc:
            first_error = first_error or exc
        except Unsatisfiable:  # every example hit a muted clause: nothing more to learn
            break
        except Flaky as exc:
            # Replaying a failure against a server whose state moved on did not show it
            # again. The recorder kept the first occurrence: report it, unconfirmed.
            if not recorder.failures:
                raise
            clause = next(iter(recorder.failures))
            first_error = first_error or violation_type(clause)(
                f"{clause}: seen once, not confirmed on replay ({type(exc).__name__})"
            )
        found = frozenset(recorder.failures)
        if found <= muted:
            break
        muted = found
    if first_error is not None:
        raise first_error


def _explore_once(options: Options, run: Run) -> None:
    def factory() -> LongOperationMachine:
        return LongOperationMachine(run)

    if options.seed is not None:
        factory = hypothesis_seed(options.seed)(factory)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if options.shrink else [])
    budget = settings(
        max_examples=options.max_examples,
        stateful_step_count=options.steps,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
        print_blob=False,
    )
    run_state_machine_as_test(factory, settings=budget)
