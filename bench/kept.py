"""One gate run in a fresh process, as a user or a CI step runs it, with its console output
and report folder kept under a folder of its own, so a run that ends badly can be read
afterwards (the benchmark scripts beside this one)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Kept:
    code: int
    seconds: float
    stdout: str
    report: dict[str, Any]  # conformance.json ({} when none was written)


def run_kept(args: list[str], keep: Path) -> Kept:
    """`lro-conformance ARGS --report-dir KEEP/reports`; its output kept in KEEP."""
    keep.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "contract.cli", *args, "--report-dir", str(keep / "reports")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    seconds = time.monotonic() - began
    (keep / "stdout.txt").write_text(proc.stdout)
    (keep / "stderr.txt").write_text(proc.stderr)
    try:
        report = json.loads((keep / "reports" / "conformance.json").read_text())
    except (OSError, ValueError):
        report = {}
    return Kept(proc.returncode, seconds, proc.stdout, report)
