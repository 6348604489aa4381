"""One conformance run: build the target, drive the state machine, collect verdicts.

Used by the pytest suite (`contract/suite`), the CLI and the self-tests, so all
three explore the same way. Nothing here prints or decides pass/fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test

from . import budget
from .budget import Budget
from .fuzz import fuzz
from .machine import ClauseViolation, LongOperationMachine, Run, ShrinkCut, TimeUp, violation_type
from .machine.cleanup import Blocked
from .machine.expiry import ExpiryProbe, scripted_expiry
from .model import Timing
from .profile_probe import AUTO, settle
from .profiles import PROFILES, Profile, profile
from .settings import Options
from .targets import HarnessError, LiveTarget, MockTarget, Target
from .verdicts import FUZZED, Recorder, configuration_skips

VIRTUAL_TOLERANCE = 0.5  # the clock only moves when the gate moves it
WALL_TOLERANCE = 2.0  # a server's timer may tick in whole seconds, and run a little late


def make_target(options: Options) -> Target:
    """The embedded emulator (mock mode), or the server at --base-url (live mode)."""
    try:
        dialect = _profile(options.profile)
        if options.base_url is None:
            live_only = [
                n
                for n, v in (
                    ("--repo-id", options.repo_id),
                    ("--parent-id", options.parent_id),
                    ("--clock-url", options.clock_url),
                    ("--wall-clock", options.wall_clock or None),
                    ("--ca-bundle", options.ca_bundle),
                )
                if v is not None
            ]
            if live_only or options.session_tokens:
                raise ValueError(
                    f"{', '.join(live_only or ['--session-token'])} needs --base-url "
                    "(without it the gate runs against the embedded emulator)"
                )
            return MockTarget(
                dialect,
                frozenset(options.faults),
                options.token_ttl,
                variants=frozenset(options.variants),
                limit=options.operation_limit,
            )
        return _live_target(options, dialect)
    except ValueError as exc:  # a bad profile, fault name, TTL or a missing partner option
        raise HarnessError(str(exc)) from None


def _profile(name: str) -> Profile:
    """The named profile; for `auto`, the first one until the probe has picked."""
    if name == AUTO:
        return next(iter(PROFILES.values()))
    try:
        return profile(name)
    except ValueError:
        known = ", ".join([*PROFILES, AUTO])
        raise ValueError(f"unknown profile {name!r}; choose one of: {known}") from None


def _live_target(options: Options, dialect: Profile) -> Target:
    if options.faults:
        raise ValueError("--fault seeds the embedded emulator; a live target has its own bugs")
    if options.variants:
        raise ValueError("--variant shapes the embedded emulator; serve one with lro-emulator")
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
    if (options.clock_url is None) == (not options.wall_clock):
        raise ValueError(
            "--base-url needs either --clock-url (a build with clock hooks) or --wall-clock "
            "(a real tenant: TTL clauses wait one TTL)"
            if options.clock_url is None
            else "--clock-url and --wall-clock exclude each other: with clock hooks, use them"
        )
    if not options.base_url.startswith(("http://", "https://")):
        raise ValueError(f"--base-url {options.base_url!r} must start with http:// or https://")
    needs = _wall_needs(options)
    if options.wall_clock and options.max_duration and options.max_duration < needs:
        raise ValueError(budget.too_short(options.max_duration, needs))
    assert options.repo_id is not None and options.parent_id is not None
    return LiveTarget(
        dialect,
        options.base_url,
        options.repo_id,
        list(options.session_tokens),
        options.parent_id,
        options.clock_url,
        ca_bundle=options.ca_bundle,
        auto=options.profile == AUTO,
        long_poll=options.long_poll,
    )


def run_budget(options: Options) -> Budget:
    """The run's time budget: --max-duration, or the mode's default (`budget.py`)."""
    if options.max_duration is not None:
        return Budget(options.max_duration)
    live = options.base_url is not None
    return Budget(budget.default_duration(live, options.wall_clock, _wall_needs(options)))


def _wall_needs(options: Options) -> float:
    """What a wall-clock run needs at least (the expiry probe), with its tolerance."""
    tolerance = WALL_TOLERANCE if options.ttl_tolerance is None else options.ttl_tolerance
    return budget.probe_needs(options.token_ttl, tolerance)


def explore(
    options: Options,
    recorder: Recorder,
    target: Target | None = None,
    on_deadline: Callable[[float | None], None] | None = None,
    time_budget: Budget | None = None,
    tell: Callable[[str], None] | None = None,
) -> None:
    """Run the state machine against the target until no new clause is found violated.

    Hypothesis stops at the first failure it finds (and shrinks it). To show every
    violated clause, not just the first, the run goes on in rounds: each round
    mutes the clauses already found. The first round's violation is re-raised at
    the end (a `ClauseViolation` or an ExceptionGroup of them), after recording.
    On the wall clock the expiry probe watches tokens age meanwhile (`machine/expiry.py`).
    First, the profile probe makes sure the target is judged in a dialect it speaks
    (`--profile auto` picks one; see `profile_probe.py`). Schemathesis fuzzes the
    target (`fuzz/`, unless --fuzz-cases is 0) after exploring, or on the wall clock
    before it. All of it within the time budget (`budget.py`), whose summary ends the
    notes."""
    target = target or make_target(options)
    time_budget = time_budget or run_budget(options)
    with budget.bounding(time_budget):
        _explore(options, recorder, target, on_deadline, time_budget, tell)


def _explore(
    options: Options,
    recorder: Recorder,
    target: Target,
    on_deadline: Callable[[float | None], None] | None,
    time_budget: Budget,
    tell: Callable[[str], None] | None,
) -> None:
    try:
        with time_budget.phase("profile probe"):
            picked = settle(options.profile, target, options.operation_timeout)
    except Blocked as exc:  # the probe's clean-up: the server broke a clause, a verdict
        if exc.failure is not None:
            recorder.fail(exc.failure)
        if exc.leftover is not None:
            recorder.leftovers.append(exc.leftover)
        recorder.notes.append(f"clean-up blocked by the server: {exc}; nothing more was sent")
        failure = exc.failure
        if failure is None:
            raise HarnessError(str(exc)) from None
        raise violation_type(failure.clause)(f"{failure.clause} {failure.title}") from None
    if picked is not None:
        recorder.notes.append(picked)
        recorder.profile = target.profile.name
    round_trip = getattr(target, "round_trip", None)
    if round_trip is not None:
        said = budget.estimate(
            round_trip, options.max_examples, options.fuzz_cases, time_budget.seconds
        )
        recorder.notes.append(said)
        if tell is not None:  # a CI log: at once, not at the end
            tell(said)
    timing = run_timing(options, target)
    probe = None if target.virtual_clock else ExpiryProbe(target, timing)
    try:
        if probe is not None:
            probe.begin()
        deadline = probe.done_at if probe is not None else None
        if on_deadline is not None:  # the progress line shows the time left
            on_deadline(deadline)
        # The fuzzer needs every session free (its slot check starts real operations):
        # after exploring, or on the wall clock before it, while the expiry probe's
        # tokens only age, so that its time is spent inside the TTL the run waits anyway.
        fuzz_share = budget.FUZZ_SHARE if options.fuzz_cases else 0.0
        if probe is not None:
            _fuzz(options, target, recorder, time_budget, time_budget.share_end(fuzz_share))
        # A clean-up the server blocked leaves its sessions busy: nothing more is started.
        until = time_budget.share_end(1.0 if probe is not None else 1.0 - fuzz_share)
        first_error = (
            None
            if recorder.leftovers
            else _rounds(options, recorder, target, timing, deadline, time_budget, until)
        )
        if probe is None and not recorder.leftovers:
            _expire(options, recorder, target, timing, time_budget)
        if probe is None and not recorder.leftovers:  # fuzzing needs free sessions
            _fuzz(options, target, recorder, time_budget, time_budget.end)
    except BaseException:
        if probe is not None:
            probe.finish(recorder, wait=False)
        raise
    finally:
        if time_budget.seconds is not None:
            recorder.notes.append(time_budget.summary())
    if probe is not None:
        probe.finish(recorder)
    if first_error is None:
        first_error = _fuzz_violation(recorder, options)
    if first_error is not None:
        raise first_error


#: The clauses the expiry script exercises (`machine.expiry.schedule`).
SCRIPTED = frozenset({"EXP-1", "EXP-2", "EXP-3", "CAN-4"})


def _expire(
    options: Options, recorder: Recorder, target: Target, timing: Timing, time_budget: Budget
) -> None:
    """On a virtual clock, when exploring left a clause of an aged token untested (a TTL
    clause needs a copy seen running for a while, then looks around its TTL; on a shared
    target, where no unknown token is cancelled, CAN-4 needs a cancel of an expired one:
    a matter of luck in a short run), the expiry probe's script runs once, the clock
    leaping (`machine/expiry.py`): it looks around the TTL, then cancels the gone token."""
    untested = [c for c in _untested(options, recorder, target) if c in SCRIPTED]
    if not untested or time_budget.left() == 0:
        return
    recorder.notes.append(
        f"{', '.join(untested)} not exercised by exploring: a scripted example watched a "
        "copy to its end, looked at its token around the TTL and cancelled it once gone"
    )
    with time_budget.phase("expiry script"):
        scripted_expiry(target, recorder, timing)


def _fuzz_violation(recorder: Recorder, options: Options) -> BaseException | None:
    """A violation only fuzzing found still fails the run's test (the verdicts have it)."""
    found = sorted(c for c in recorder.failures if c not in options.skip_clauses)
    if not found:
        return None
    failure = recorder.failures[found[0]]
    return violation_type(found[0])(
        f"{found[0]} {failure.title}: expected {failure.expected}; got {failure.actual}"
    )


def _fuzz(
    options: Options,
    target: Target,
    recorder: Recorder,
    time_budget: Budget,
    until: float | None,
) -> None:
    if options.fuzz_cases:
        with _seed_alone(), time_budget.phase("fuzzing"):
            fuzz(
                target,
                recorder,
                options.fuzz_cases,
                options.seed,
                options.operation_timeout,
                until=until,
            )


def run_timing(options: Options, target: Target) -> Timing:
    """The server's timers as the run judges them: TTL, tolerance, timeout, long poll."""
    held = WALL_TOLERANCE if options.ttl_tolerance is None else options.ttl_tolerance
    return Timing(
        options.token_ttl,
        tolerance(options, target),
        options.operation_timeout,
        options.long_poll,
        held,
    )


def tolerance(options: Options, target: Target) -> float:
    """Seconds of slack around the TTL: as given, else by the kind of clock."""
    if options.ttl_tolerance is not None:
        return options.ttl_tolerance
    return VIRTUAL_TOLERANCE if target.virtual_clock else WALL_TOLERANCE


def _rounds(
    options: Options,
    recorder: Recorder,
    target: Target,
    timing: Timing,
    deadline: float | None,
    time_budget: Budget,
    until: float | None,
) -> BaseException | None:
    first_error: BaseException | None = None
    muted: frozenset[str] = frozenset()
    reserve = 0.0  # the slowest clean-up so far, carried from round to round
    diverged = 0  # rounds Hypothesis stopped because the target answered differently
    rounds, top_ups, examples = options.rounds, 0, options.max_examples
    while rounds > 0:
        rounds -= 1
        run = Run(
            target, recorder, timing, muted, deadline, reserve, until=until,
            limit=options.operation_limit,
        )  # fmt: skip
        began = time.monotonic()
        try:
            _explore_once(options, run, diverged + 1000 * top_ups, examples)
        except ShrinkCut:
            limit = "time budget" if time_budget.seconds is not None else "time limit"
            recorder.notes.append(
                f"{limit}: shrinking {', '.join(sorted(run.shrinking))} was cut short "
                f"after {time.monotonic() - (run.found_at or began):.0f} s; its counterexample "
                "is as shrunk so far, and exploring went on"
            )
        except Blocked as exc:
            # The server kept the clean-up from ending (recorded as its clause's failure),
            # or the budget's grace ran out first: the sessions are not free, so nothing
            # more is started on them.
            recorder.notes.append(f"the clean-up did not end: {exc}")
            break
        except TimeUp as exc:
            recorder.notes.append(f"{exc}, after {recorder.examples} examples")
            if run.shrinking:
                recorder.notes.append(
                    f"time budget: shrinking {', '.join(sorted(run.shrinking))} was cut short; "
                    "its counterexample is as shrunk so far"
                )
            break
        except (ClauseViolation, ExceptionGroup) as exc:
            first_error = first_error or exc
        except Unsatisfiable:  # every example hit a muted clause: nothing more to learn
            break
        except Flaky as exc:
            if not recorder.failures:
                # Nothing found, but the same choices made the run take another path (on
                # the wall clock, what may still run depends on when it is asked; a shared
                # server's state moves on). Nothing to report: explore on, from another seed.
                diverged += 1
                if diverged == 1:
                    recorder.notes.append(
                        "the target answered the same requests differently on a second "
                        "run (its clock or state moved on); exploring went on from another seed"
                    )
                continue
            # Replaying a failure against a server whose state moved on did not show it
            # again. The recorder kept the first occurrence: report it, unconfirmed.
            clause = next(iter(recorder.failures))
            first_error = first_error or violation_type(clause)(
                f"{clause}: seen once, not confirmed on replay ({type(exc).__name__})"
            )
        finally:
            ended = time.monotonic()
            shrunk = ended - run.found_at if run.found_at is not None else 0.0
            time_budget.add("exploring", ended - began - shrunk)
            if shrunk:
                time_budget.add("shrinking", shrunk)
        reserve = run.cleanup_reserve
        found = frozenset(recorder.failures)
        if found > muted:
            muted = found
            continue
        # Nothing new. A clean run that left a clause untested tries again, from
        # another seed, with half the budget, at most TOP_UPS times: a verdict
        # should not hang on one seed's luck (a run still incomplete then says so).
        untested = [] if found or top_ups == TOP_UPS else _untested(options, recorder, target)
        if not untested:
            break
        # The rounds left stay: a failure the added round finds is muted like any other.
        top_ups, rounds = top_ups + 1, max(rounds, 1)
        examples = max(1, options.max_examples // 2)
        recorder.notes.append(
            f"{', '.join(untested)} not exercised yet: {examples} more examples from "
            f"another seed (round {top_ups} of at most {TOP_UPS} added)"
        )
    return first_error


#: Rounds a clean run adds, half the budget each, while a clause is still untested.
TOP_UPS = 2


def _untested(options: Options, recorder: Recorder, target: Target) -> list[str]:
    """The clauses that apply but no example exercised, less those fuzzing will (it comes
    after exploring); none when the run accepts an incomplete verdict."""
    if options.allow_untested:
        return []
    sessions = len(options.session_tokens) if options.base_url else None
    skipped = {**configuration_skips(target.profile, sessions), **options.skip_clauses}
    fuzzed = FUZZED if options.fuzz_cases and target.virtual_clock else set()
    return [
        v.clause.id
        for v in recorder.verdicts(skipped)
        if v.outcome == "not tested" and v.clause.id not in fuzzed
    ]


def _explore_once(options: Options, run: Run, reseed: int = 0, examples: int = 0) -> None:
    """One round of exploring (`examples`, or the run's budget); `reseed` > 0 moves a
    seeded run to a seed of its own."""

    def factory() -> LongOperationMachine:
        return LongOperationMachine(run)

    if options.seed is not None:
        factory = hypothesis_seed(options.seed + 1_000_003 * reseed)(factory)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if options.shrink else [])
    budget = settings(
        max_examples=examples or options.max_examples,
        stateful_step_count=options.steps,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
        print_blob=False,
    )
    with _seed_alone():
        run_state_machine_as_test(factory, settings=budget)


@contextmanager
def _seed_alone() -> Iterator[None]:
    """Keep Hypothesis from drawing literals out of the local source it finds loaded
    (since 6.131 it does, now and then): a seed's run would otherwise change with
    unrelated edits and with which modules a process happens to have imported (a
    plugin, a benchmark), so the same `--seed` against the same server could find
    another bug first. With this, a run depends on the seed, the gate and the server.
    Hypothesis has no setting for it; where its internals differ, this does nothing."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    make_empty = getattr(providers, "Constants", None)
    if original is None or make_empty is None or not hasattr(cache, "clear"):
        yield
        return
    empty = make_empty()
    cache.clear()  # pools of constants already computed with the local ones in them
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()
