"""The pytest plugin: options, the `lro_gate` fixture, and the verdict report at the end.

Loaded through the `pytest11` entry point (and the root conftest.py in a
checkout). It stays inert in any pytest session that does not run the
conformance suite.
"""

from __future__ import annotations

import os
import pickle
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import pytest

from . import interrupts, shards
from .api import GuardRefusal
from .machine import ClauseViolation
from .profiles import PROFILES
from .reporting.console import render
from .reporting.folder import ReportFolder, ReportFolderError
from .reporting.progress import Progress
from .reporting.run import FinishedRun
from .runner import explore, make_target, run_budget
from .settings import CONFIG, SETTINGS, Options, SettingError, resolve
from .targets import HarnessError
from .verdicts import INCOMPLETE, NO_VERDICT, Recorder, Verdict, configuration_skips, decide

GATE_KEY = pytest.StashKey["Gate"]()


@dataclass
class Gate:
    """One conformance run inside a pytest session."""

    options: Options
    recorder: Recorder = field(default_factory=Recorder)
    started: float = 0.0
    finished: float = 0.0
    ran: bool = False
    harness_error: str | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    target: str = ""
    progress_stream: TextIO | None = None  # the terminal, for the progress line
    shard: shards.Shard | None = None  # under pytest-xdist, the part of the run this is
    wall_started: float = 0.0  # time.time() when it began

    def outcome(self) -> tuple[int, str]:
        """(exit code, reason), as `verdicts.decide` gives them: 0 conformant, 1 violation,
        2 the gate could not judge, 3 incomplete."""
        return decide(self.verdicts, self.harness_error, self.options.allow_untested)

    def explore(self) -> None:
        self.ran, self.started, self.wall_started = True, time.monotonic(), time.time()
        try:
            with interrupts.watching():
                target = make_target(self.options)
                self.target = target.description
                time_budget = run_budget(self.options)
                progress = Progress(
                    self.recorder,
                    self.progress_stream,
                    quiet=self.options.quiet,
                    budget=time_budget,
                )
                with progress:
                    try:
                        explore(
                            self.options,
                            self.recorder,
                            target,
                            progress.until,
                            time_budget,
                            tell=progress.say,
                        )
                    finally:
                        self.target = target.description  # with the profile --profile auto picked
                interrupts.checkpoint()  # one that arrived too late for any request to see
        except (HarnessError, GuardRefusal) as exc:
            if interrupts.requested():
                self.harness_error = INTERRUPTED
                raise KeyboardInterrupt from None
            self.harness_error = str(exc)
            raise
        except KeyboardInterrupt:
            self.harness_error = INTERRUPTED
            raise
        except BaseException as exc:
            if interrupts.requested():
                self.harness_error = INTERRUPTED
            elif not only_violations(exc):  # the gate itself broke: it cannot judge
                self.harness_error = f"the run stopped on an unexpected error: {exc!r}"
            raise
        finally:
            self.finished = time.monotonic()
            self.verdicts = verdicts_of(self.options, self.recorder)


INTERRUPTED = "interrupted; the example in progress cleaned up after itself"


def verdicts_of(options: Options, recorder: Recorder) -> list[Verdict]:
    """The run's verdicts: what it recorded, with the clauses skipped on request and
    those its configuration gives nothing to judge (`verdicts.configuration_skips`)."""
    judged_in = PROFILES.get(recorder.profile or options.profile)
    sessions = len(options.session_tokens) if options.base_url else None
    skipped = configuration_skips(judged_in, sessions) if judged_in is not None else {}
    wire = judged_in.wire if judged_in is not None else "v1"
    return recorder.verdicts({**skipped, **options.skip_clauses}, wire)


def only_violations(exc: BaseException) -> bool:
    """True when `exc` is a clause violation, or a group of nothing else."""
    if isinstance(exc, BaseExceptionGroup):
        return all(only_violations(e) for e in exc.exceptions)
    return isinstance(exc, ClauseViolation)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--lro-NAME` for every option of `contract/settings.py` (also LRO_NAME and
    [tool.lro-conformance] NAME)."""
    group = parser.getgroup("lro-conformance", "long-operation conformance gate")
    for s in (CONFIG, *SETTINGS):
        group.addoption(f"--lro-{s.name}", **s.argparse_kwargs())


def options_from(config: pytest.Config) -> Options:
    given = {s.name: getattr(config.option, s.dest, None) for s in (CONFIG, *SETTINGS)}
    try:
        return resolve(given)
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None


OPTIONS_KEY = pytest.StashKey[Options]()


def pytest_configure(config: pytest.Config) -> None:
    """Check the gate's options before anything runs: a bad one is a usage error (exit 2)."""
    config.addinivalue_line(
        "markers", "lro_gate: a test that runs the long-operation conformance gate"
    )
    options = options_from(config)
    try:
        make_target(options)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[OPTIONS_KEY] = options
    interrupts.speak_past(config.pluginmanager.getplugin("capturemanager"))
    if _worker(config):
        interrupts.for_this_worker()
    try:
        folder = ReportFolder.plan(options.report_dir, datetime.now(UTC), Path.cwd())
    except ReportFolderError as exc:
        raise pytest.UsageError(f"report-dir: {exc}") from None
    config.stash[REPORTS_KEY] = Reports(folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    interrupts.speak_past(None)


@pytest.fixture(scope="session")
def lro_gate(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Gate:
    """The conformance run of this pytest session, configured from the --lro-* options
    (under pytest-xdist: the shard of the run this test was given)."""
    shard = getattr(request, "param", None)
    if isinstance(shard, shards.Shard):
        gate = Gate(shard.options, shard=shard)
        pytestconfig.stash.setdefault(SHARDS_KEY, []).append(gate)
        return gate
    if GATE_KEY not in pytestconfig.stash:
        pytestconfig.stash[GATE_KEY] = Gate(
            pytestconfig.stash[OPTIONS_KEY], progress_stream=progress_stream(pytestconfig)
        )
    return pytestconfig.stash[GATE_KEY]


PROGRESS_KEY = pytest.StashKey[TextIO]()


def progress_stream(config: pytest.Config) -> TextIO | None:
    """Where the progress line may go: the terminal the CLI kept aside before pytest
    captured it, or stderr when pytest captures nothing (-s)."""
    if PROGRESS_KEY in config.stash:
        return config.stash[PROGRESS_KEY]
    return sys.stderr if config.getoption("capture", None) == "no" else None


def gate_report(config: pytest.Config, *, said: str | None = None) -> str | None:
    """The rendered verdicts of this session's run, or None when the gate did not judge
    (`said`: the target the run's first lines named, with the settings)."""
    gate = config.stash.get(GATE_KEY, None)
    if gate is None or not gate.ran or gate.harness_error:
        return None
    return render(
        gate.verdicts,
        gate.recorder,
        target=gate.target,
        seed=gate.options.seed,
        seconds=gate.finished - gate.started,
        settings=gate.options.settings_lines(),
        outcome=gate.outcome(),
        said=said,
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    gate = config.stash.get(GATE_KEY, None)
    if gate is None or not gate.ran or _worker(config):
        return
    terminalreporter.section("long-operation conformance")
    report = gate_report(config)
    terminalreporter.write_line(report or f"error: {gate.harness_error}")
    reports = config.stash[REPORTS_KEY]
    terminalreporter.write_line(reports.error or f"reports: {reports.written}")


def settings_lines(config: pytest.Config) -> list[str]:
    """`name = value (source)` for the run's non-default settings, secrets masked."""
    options = config.stash.get(OPTIONS_KEY, None)
    return options.settings_lines() if options is not None else []


def gate_outcome(config: pytest.Config) -> tuple[int, str]:
    """(exit code, one-line reason) for the CLI: 0 conformant, 1 violation, 2 cannot judge,
    3 incomplete."""
    gate = config.stash.get(GATE_KEY, None)
    if gate is None or not gate.ran:
        return 2, "the conformance suite did not run"
    return gate.outcome()


# --- the report folder --------------------------------------------------------------


@dataclass
class Reports:
    """Where this session's reports go, and how writing them went."""

    folder: ReportFolder
    written: Path | None = None
    error: str | None = None


REPORTS_KEY = pytest.StashKey[Reports]()


def finished_run(gate: Gate) -> FinishedRun:
    """The run as the reports render it, with the outcome the gate decided."""
    code, reason = gate.outcome()
    seconds = gate.finished - gate.started
    started = datetime.now(UTC) - timedelta(seconds=time.monotonic() - gate.started)
    return FinishedRun(
        gate.verdicts, gate.recorder, gate.options, gate.target, started, seconds, code, reason
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report folder of a run that got to explore: passed, failed or stopped.
    A pytest-xdist worker sends its shards' results to the controller instead, and the
    controller merges them into the one run it reports. The exit status is the gate's
    (0, 1, 2) unless pytest's own is worse."""
    config = session.config
    if _worker(config):
        _send_shards(config)
        return
    state = config.stash.get(PARALLEL_KEY, None)
    if state is not None and state.collected:
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        config.stash[GATE_KEY] = merged_gate(config.stash[OPTIONS_KEY], state, interrupted)
    gate = config.stash.get(GATE_KEY, None)
    if gate is None or not gate.ran:
        return
    reports = config.stash[REPORTS_KEY]
    try:
        reports.written = reports.folder.write(finished_run(gate), os.environ)
    except ReportFolderError as exc:
        reports.error = f"error: {exc}"
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        return
    code = gate.outcome()[0]
    if code == NO_VERDICT and session.exitstatus in (0, 1):
        session.exitstatus = 2  # DESIGN §6: the gate could not judge (not a violation)
    elif code == INCOMPLETE and session.exitstatus == 0:
        session.exitstatus = INCOMPLETE  # a clause that applies was not tested


def gate_reports(config: pytest.Config) -> Reports | None:
    """The report folder of this session's run, or None when the run wrote none."""
    reports = config.stash.get(REPORTS_KEY, None)
    if reports is None or (reports.written is None and reports.error is None):
        return None
    return reports


# --- pytest-xdist: shards on workers, one report ------------------------------------
# (`contract/shards.py` says how a run is cut and merged.) The xdist hooks are
# optional: without pytest-xdist the gate runs as one process.

SHARDS_KEY = pytest.StashKey[list[Gate]]()  # a worker: the shards it ran
PARALLEL_KEY = pytest.StashKey["Parallel"]()  # the controller: what the workers sent
SHARDS_OUTPUT = "lro_conformance_shards"  # the worker's output key (pickled ShardResults)
SEED_INPUT = "lro_conformance_seed"  # the worker's input key: the run's seed
DIST_INPUT = "lro_conformance_dist"  # and the controller's --dist (a worker's says "no")


@dataclass
class Parallel:
    """The controller's view of a run on pytest-xdist workers."""

    workers: int
    collected: bool = False  # the workers collected the gate's shards
    results: list[shards.ShardResult] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def _worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """On a pytest-xdist worker, the gate's test becomes one test per shard (every
    worker plans the same shards; xdist hands them out)."""
    config = metafunc.config
    if "lro_gate" not in metafunc.fixturenames or not _worker(config):
        return
    workerinput = config.workerinput  # type: ignore[attr-defined]
    if workerinput.get(DIST_INPUT) == "each":
        raise pytest.UsageError(
            "the gate cuts itself into one shard per worker: run it with -n N and the "
            "default --dist (with --dist each every worker would run every shard)"
        )
    options = config.stash[OPTIONS_KEY]
    if options.seed is None:
        options = replace(options, seed=workerinput.get(SEED_INPUT))
    run = shards.plan(options, workerinput["workercount"])
    metafunc.parametrize("lro_gate", run.shards, indirect=True, ids=[s.id for s in run.shards])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # type: ignore[no-untyped-def]
    """The controller gives every worker the run's seed, drawn once when none was given,
    so the shards' seeds derive from one number the report shows."""
    config = node.config
    options = config.stash[OPTIONS_KEY]
    if options.seed is None:
        seed = random.randrange(2**32)
        config.stash[OPTIONS_KEY] = options = replace(
            options,
            seed=seed,
            sources={**options.sources, "seed": "drawn for the pytest-xdist workers"},
            shown={**options.shown, "seed": str(seed)},
        )
    node.workerinput[SEED_INPUT] = options.seed
    node.workerinput[DIST_INPUT] = config.getoption("dist", None)
    if PARALLEL_KEY not in config.stash:
        config.stash[PARALLEL_KEY] = Parallel(node.workerinput["workercount"])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:  # type: ignore[no-untyped-def]
    state = node.config.stash.get(PARALLEL_KEY, None)
    if state is not None and any("[shard-" in i for i in ids):
        state.collected = True


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    """A worker is done: keep the shards it ran; one that died is named in the run."""
    state = node.config.stash.get(PARALLEL_KEY, None)
    if state is None:
        return
    sent = getattr(node, "workeroutput", {}).get(SHARDS_OUTPUT)
    if sent is not None:
        state.results += pickle.loads(sent)  # our own worker's, over xdist's channel
    if error is not None:
        state.lost.append(f"worker {node.gateway.id} stopped: {error}")


def _send_shards(config: pytest.Config) -> None:
    gates = config.stash.get(SHARDS_KEY, [])
    results = [
        shards.ShardResult(
            g.shard.index,
            g.recorder,
            g.target,
            g.wall_started,
            g.finished - g.started,
            g.ran,
            g.harness_error,
        )
        for g in gates
        if g.shard is not None
    ]
    config.workeroutput[SHARDS_OUTPUT] = pickle.dumps(results)  # type: ignore[attr-defined]


def merged_gate(options: Options, state: Parallel, interrupted: bool = False) -> Gate:
    """The run the controller reports: the shards' results merged (`shards.merge`). After
    a Ctrl-C the workers' results may never arrive; the reason is the interruption (each
    worker's example in progress cleaned up after itself, as in one process)."""
    run = shards.plan(options, state.workers)
    merged = shards.merge(run, state.results, state.lost)
    error = INTERRUPTED if interrupted else merged.harness_error
    gate = Gate(options, merged.recorder, ran=True, harness_error=error)
    gate.target = merged.target
    gate.started = time.monotonic() - (time.time() - (merged.started or time.time()))
    gate.finished = gate.started + merged.seconds
    gate.verdicts = verdicts_of(options, merged.recorder)
    return gate
