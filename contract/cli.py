"""`lro-conformance`: runs the conformance suite through pytest and exits with the gate's code.

Thin on purpose: it translates its options into the plugin's --lro-* options,
runs the bundled suite with pytest, and maps the result to the exit codes of
DESIGN §6: 0 conformant, 1 at least one violation, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pytest

from . import __version__

SUITE = Path(__file__).parent / "suite"


class _Outcome:
    """A tiny pytest plugin object that keeps the config, to read the gate's result after the run."""

    config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lro-conformance",
        description="Judge a server against the long-operation contract (Copy/Delete tasks). "
        "With no arguments: the embedded emulator, in-process.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--profile", help="dialect of the target: openapi-v1 (default)")
    p.add_argument("--seed", type=int, help="seed for a reproducible run")
    p.add_argument("--max-examples", type=int, help="Hypothesis examples (default 100)")
    p.add_argument("--steps", type=int, help="steps per example (default 50)")
    p.add_argument("--token-ttl", type=float, help="token lifetime after the end, s (default 900)")
    p.add_argument("--ttl-tolerance", type=float, help="clock tolerance around the TTL, s")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="seed a fault into the embedded emulator (repeatable; see --list-faults)",
    )
    p.add_argument("--list-faults", action="store_true", help="list the emulator's seeded faults")
    p.add_argument(
        "--skip-clause",
        action="append",
        default=[],
        metavar="ID[=REASON]",
        help="leave a clause out of the gate; reported as skipped (repeatable)",
    )
    p.add_argument("--no-shrink", action="store_true", help="do not shrink counterexamples")
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        help="folder for junit.xml and conformance.json (default: reports/<UTC timestamp>/)",
    )
    live = p.add_argument_group("live mode (a running server instead of the embedded emulator)")
    live.add_argument("--base-url", help="the target, e.g. http://127.0.0.1:8765")
    live.add_argument("--repo-id", help="repository id")
    live.add_argument(
        "--session-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="bearer token of one user session (repeatable; two or more enable "
        "the isolation clauses)",
    )
    live.add_argument("--parent-id", type=int, help="folder under which sandboxes are built")
    live.add_argument("--clock-url", help="the build's clock hook (DESIGN §6)")
    p.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output too")
    return p


def pytest_args(args: argparse.Namespace) -> list[str]:
    out = [
        str(SUITE),
        "-c",
        str(SUITE / "gate.ini"),
        "--rootdir",
        str(SUITE),
        "-p",
        "no:cacheprovider",
    ]
    # Quietly, pytest prints nothing of its own: the command prints the verdicts last.
    out += (
        ["-v", "--tb=short", "--no-header"]
        if args.verbose
        else ["-p", "no:terminal", "-p", "no:warnings"]
    )
    for flag, value in (
        ("--lro-base-url", args.base_url),
        ("--lro-repo-id", args.repo_id),
        ("--lro-parent-id", args.parent_id),
        ("--lro-clock-url", args.clock_url),
        ("--lro-profile", args.profile),
        ("--lro-seed", args.seed),
        ("--lro-max-examples", args.max_examples),
        ("--lro-steps", args.steps),
        ("--lro-token-ttl", args.token_ttl),
        ("--lro-ttl-tolerance", args.ttl_tolerance),
        ("--lro-report-dir", args.report_dir),
    ):
        if value is not None:
            out += [flag, str(value)]
    for fault in args.fault:
        out += ["--lro-fault", fault]
    for token in args.session_token:
        out += ["--lro-session-token", token]
    for skip in args.skip_clause:
        out += ["--lro-skip-clause", skip]
    if args.no_shrink:
        out.append("--lro-no-shrink")
    return out


def list_faults() -> int:
    from emulator import FAULTS

    for fault in FAULTS.values():
        print(f"{fault.name:<26} {','.join(fault.clauses):<14} {fault.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list_faults:
        return list_faults()
    outcome = _Outcome()
    # Hypothesis caches what it learns about the code under a storage folder; the gate
    # keeps it out of the user's working directory.
    with tempfile.TemporaryDirectory(prefix="lro-conformance-") as scratch:
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", scratch)
        code = pytest.main(pytest_args(args), plugins=[outcome])
    from .plugin import gate_outcome, gate_report, gate_reports

    reports = gate_reports(outcome.config) if outcome.config is not None else None
    if code == pytest.ExitCode.USAGE_ERROR and reports is None:
        return 2  # pytest has printed the reason on one line
    if outcome.config is None or code == pytest.ExitCode.INTERNAL_ERROR:
        print(
            f"lro-conformance: error: the run could not start (pytest exit {int(code)})",
            file=sys.stderr,
        )
        return 2
    status, reason = gate_outcome(outcome.config)
    report = gate_report(outcome.config)
    if report and not args.verbose:  # with -v, pytest's terminal summary has shown it
        print(report)
    if reports is not None and reports.written is not None and not args.verbose:
        print(f"reports: {shown(reports.written)}")
    if status == 2:
        print(f"lro-conformance: error: {reason}", file=sys.stderr)
    if reports is not None and reports.error is not None:
        print(f"lro-conformance: {reports.error}", file=sys.stderr)
        return 2  # the run's verdict could not be delivered where CI looks for it
    return status


def shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return f"{path.relative_to(Path.cwd())}{os.sep}"
    except ValueError:
        return f"{path}{os.sep}"


if __name__ == "__main__":
    sys.exit(main())
