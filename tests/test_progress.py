"""The progress line: on a terminal while the run explores (clause groups, examples,
steps, exchanges), never when stderr is not a terminal or with --quiet."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from contract.reporting.progress import Progress
from contract.verdicts import Recorder

ROOT = Path(__file__).resolve().parent.parent


def on_a_terminal(*args: str, tmp: Path) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    got: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            got.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "contract.cli", "--seed", "1", "--max-examples", "25", *args]
        + ["--report-dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=ROOT,
        timeout=600,
    )
    os.close(slave)
    reader.join(timeout=5)
    os.close(master)
    return proc.returncode, b"".join(got).decode("utf-8", "replace")


@pytest.mark.slow
def test_a_terminal_sees_the_progress_line_and_quiet_silences_it(tmp_path):
    code, terminal = on_a_terminal(tmp=tmp_path / "a")
    assert code == 0
    assert "lro-conformance: " in terminal and " steps · " in terminal and "example " in terminal
    assert "checking " in terminal
    code, terminal = on_a_terminal("--quiet", tmp=tmp_path / "b")
    assert code == 0 and "steps ·" not in terminal


def test_not_a_terminal_is_silent_and_the_line_counts_what_the_recorder_saw():
    recorder = Recorder()
    stream = io.StringIO()
    with Progress(recorder, stream, every=0.01) as progress:
        assert not progress.enabled
    assert stream.getvalue() == ""
    recorder.examples, recorder.steps, recorder.exchanges = 3, 40, 90
    recorder.exercise({"CAN-1", "EXP-2"})
    progress.until(None)
    line = progress.line()
    assert "checking CAN, EXP" in line and "example 3 · 40 steps · 90 exchanges" in line


@pytest.mark.parametrize("seconds, shown", [(75.2, "1 min 15 s left"), (-3, "0 min 00 s left")])
def test_a_wall_clock_run_shows_the_time_left(seconds, shown):
    from contract.targets import WallClock

    progress = Progress(Recorder(), None)
    progress.until(WallClock().now + seconds)
    assert shown in progress.line() or shown.replace("15", "14") in progress.line()
