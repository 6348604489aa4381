"""`lro-conformance`: runs the conformance suite through pytest and exits with the gate's code.

Thin on purpose: it translates its options into the plugin's --lro-* options,
runs the bundled suite with pytest, and maps the result to the exit codes of
DESIGN §6: 0 conformant, 1 at least one violation, 2 usage or configuration error (the
gate could not judge), 3 incomplete (a clause that applies was not tested).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

import pytest

from . import __version__, interrupts
from .reporting.progress import Heartbeat
from .settings import CONFIG, SETTINGS, Options

SUITE = Path(__file__).parent / "suite"


class _Outcome:
    """A tiny pytest plugin object that keeps the config, to read the gate's result after the run."""

    config: pytest.Config | None = None
    terminal: TextIO | None = None  # stderr as it was before pytest captured it

    def __init__(self) -> None:
        self.workers: list[int] = []  # pytest-xdist's worker processes
        self.heartbeat: Heartbeat | None = None  # a run in shards: lines for the log

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:  # type: ignore[no-untyped-def]
        if self.heartbeat is not None:
            self.heartbeat.shards = len(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.heartbeat is not None and report.when == "teardown":
            self.heartbeat.done += 1

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        if self.terminal is not None:
            from .plugin import PROGRESS_KEY

            config.stash[PROGRESS_KEY] = self.terminal

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_newgateway(self, gateway) -> None:  # type: ignore[no-untyped-def]
        """Learn each worker's process id (execnet's own channel), to pass signals on."""
        channel = gateway.remote_exec("import os; channel.send(os.getpid())")
        self.workers.append(channel.receive(timeout=30))

    def forward(self, signum: int) -> None:
        """A signal to the gate's process reaches the workers too (as `signum`, one of
        `interrupts.RELAY`, `RELAY_NOW`), as Ctrl-C in a terminal does (to the whole process
        group): each cleans up its example in progress. A CI runner or Kubernetes may
        signal only the process it started."""
        for pid in self.workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lro-conformance",
        description="Judge a server against the long-operation contract (Copy/Delete tasks). "
        "With no arguments: the embedded emulator, in-process. Every option can also be "
        "set as LRO_NAME in the environment or as NAME in a [tool.lro-conformance] table "
        "of pyproject.toml; the command line wins.",
        epilog="lro-conformance replay FILE [options]: send one failure of a run's "
        "conformance.json or repro/CLAUSE.py again and say whether it still shows "
        "(see lro-conformance replay --help).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--list-faults", action="store_true", help="list the emulator's seeded faults")
    p.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output too")
    p.add_argument(
        "-n",
        "--workers",
        type=_workers,
        metavar="N",
        help="run the gate in N shards on pytest-xdist workers, one report ('auto': one per "
        "CPU; a live target needs two --session-token per worker)",
    )
    _add_settings(p, "live mode (a running server instead of the embedded emulator)")
    return p


def _add_settings(
    p: argparse.ArgumentParser, live_title: str, names: frozenset[str] | None = None
) -> None:
    """The options of the settings table (all, or those `names` and every live one), the
    live ones in a group of their own."""
    live = p.add_argument_group(live_title)
    for s in (CONFIG, *SETTINGS):
        if names is None or s.live or s.name in names:
            (live if s.live else p).add_argument(f"--{s.name}", **s.argparse_kwargs())


def _workers(text: str) -> str:
    if text == "auto" or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(
        f"expected a number of workers (1 or more) or auto, got {text!r}"
    )


def pytest_args(args: argparse.Namespace) -> list[str]:
    out = [
        str(SUITE),
        "-c",
        str(SUITE / "gate.ini"),
        "--rootdir",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        # The suite's one test judges through the recorder, not through assert messages:
        # rewriting the asserts of every plugin's package (Hypothesis, schemathesis, ...)
        # cost a second a run wherever bytecode is not written (PYTHONDONTWRITEBYTECODE).
        "--assert=plain",
    ]
    # Quietly, pytest prints nothing of its own: the command prints the verdicts last.
    out += (
        ["-v", "--tb=short", "--no-header"]
        if args.verbose
        else ["-p", "no:terminal", "-p", "no:warnings"]
    )
    if args.workers:
        out += ["-n", args.workers]
    for s in (CONFIG, *SETTINGS):
        out += s.as_arguments(getattr(args, s.dest))
    return out


def list_faults() -> int:
    from emulator.faults import print_catalogue

    return print_catalogue()


#: What a replay takes besides the target: how to read the answers.
REPLAY_SETTINGS = frozenset(
    {
        "config",
        "profile",
        "fault",
        "token-ttl",
        "ttl-tolerance",
        "long-poll",
        "operation-timeout",
        "operation-limit",
    }
)


def replay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lro-conformance replay",
        description="Send the exchanges of one failure again (from a run's conformance.json "
        "or a generated repro/CLAUSE.py) to the target, judge the answers with the gate's "
        "model and checks, and say whether the violation still shows: exit 1 if it does, "
        "0 if not, 2 if the replay could not be done. The target options are the gate's.",
    )
    p.add_argument("file", metavar="FILE", help="conformance.json or repro/CLAUSE.py")
    p.add_argument("--clause", metavar="ID", help="which failure of a conformance.json")
    _add_settings(p, "target (default: the embedded emulator)", REPLAY_SETTINGS)
    return p


def replay_main(argv: list[str]) -> int:
    from .api import GuardRefusal
    from .replay import ReplayError, describe, load, replay
    from .settings import SettingError, resolve
    from .targets import HarnessError

    args = replay_parser().parse_args(argv)
    given = {
        s.name: getattr(args, s.dest, None) for s in (CONFIG, *SETTINGS) if hasattr(args, s.dest)
    }
    try:
        options = resolve(given)
        out = replay(load(Path(args.file), args.clause), options)
    except (ReplayError, SettingError, HarnessError, GuardRefusal) as exc:
        print(f"lro-conformance replay: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(describe(out)))
    if out.shows:
        return 1
    return 2 if out.stopped else 0


def _storage() -> str | None:
    """The gate's folder for Hypothesis' storage in the user's cache ($XDG_CACHE_HOME or
    ~/.cache), made if need be; None when it cannot be."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "lro-conformance", "hypothesis")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["replay"]:
        return replay_main(argv[1:])
    args = parser().parse_args(argv)
    if args.list_faults:
        return list_faults()
    # A CI log is a pipe: every line goes out when it is written, not when the run ends.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    announced = announce(args)
    outcome = _Outcome()
    # pytest captures fd 2 during the run: keep a copy for the progress lines.
    outcome.terminal = os.fdopen(
        os.dup(sys.stderr.fileno()), "w", encoding="utf-8", errors="replace", buffering=1
    )
    # Hypothesis keeps what it computes once (the Unicode tables fuzzing draws from, a
    # second each time) under a storage folder: the gate keeps it in the user's cache,
    # never in the working directory (a scratch folder when the cache cannot be made).
    with tempfile.TemporaryDirectory(prefix="lro-conformance-") as scratch:
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", _storage() or scratch)
        if args.workers:
            quiet = announced is not None and announced[1].quiet
            outcome.heartbeat = Heartbeat(outcome.terminal, quiet=quiet)
        try:
            with interrupts.session(forward=outcome.forward), outcome.heartbeat or nullcontext():
                code = pytest.main(pytest_args(args), plugins=[outcome])
        finally:
            if outcome.terminal is not None:
                outcome.terminal.close()
    from .plugin import gate_outcome, gate_report, gate_reports, settings_lines
    from .reporting.console import render_settings
    from .verdicts import INCOMPLETE

    reports = gate_reports(outcome.config) if outcome.config is not None else None
    if code == pytest.ExitCode.USAGE_ERROR and reports is None:
        return 2  # pytest has printed the reason on one line
    internal = code == pytest.ExitCode.INTERNAL_ERROR  # also the gate's 3 (incomplete)
    if outcome.config is None or (internal and gate_outcome(outcome.config)[0] != INCOMPLETE):
        print(
            f"lro-conformance: error: the run could not start (pytest exit {int(code)})",
            file=sys.stderr,
        )
        return 2
    status, reason = gate_outcome(outcome.config)
    report = gate_report(outcome.config, said=announced[0] if announced else None)
    if report and not args.verbose:  # with -v, pytest's terminal summary has shown it
        print(report)
    if reports is not None and reports.written is not None and not args.verbose:
        print(f"reports: {shown(reports.written)}")
    if status == 2:
        if not report and announced is None:
            for line in render_settings(settings_lines(outcome.config)):
                print(line, file=sys.stderr)
        print(f"lro-conformance: error: {reason}", file=sys.stderr)
    if reports is not None and reports.error is not None:
        print(f"lro-conformance: {reports.error}", file=sys.stderr)
        return 2  # the run's verdict could not be delivered where CI looks for it
    return status


def announce(args: argparse.Namespace) -> tuple[str, Options] | None:
    """The run's first lines, at once: the target and the settings with their sources (a CI
    log shows what is being judged while it runs); the target as named, and the options.
    None when the options do not resolve: the run then stops with the reason."""
    from .reporting.console import render_start
    from .runner import make_target
    from .settings import SettingError, resolve
    from .targets import HarnessError

    given = {s.name: getattr(args, s.dest) for s in (CONFIG, *SETTINGS)}
    try:
        options = resolve(given)
        target = make_target(options)
    except (SettingError, HarnessError):
        return None
    print("\n".join(render_start(target.description, options.settings_lines())))
    return target.description, options


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return f"{path.relative_to(Path.cwd())}{os.sep}"
    except ValueError:
        return f"{path}{os.sep}"


if __name__ == "__main__":
    sys.exit(main())
