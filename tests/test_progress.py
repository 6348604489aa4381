"""Progress: a redrawn line on a terminal while the run explores (clause groups, examples,
steps, exchanges, clauses exercised), plain lines now and then in a log, nothing with
--quiet; and the run's first lines reach a pipe at once."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
import time
from itertools import pairwise
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


def test_a_log_gets_plain_lines_now_and_then_and_quiet_silences_them():
    import time

    recorder = Recorder()
    stream = io.StringIO()  # not a terminal: a CI log
    with Progress(recorder, stream, log_every=0.05) as progress:
        assert progress.enabled and not progress.tty
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("lro-conformance: ") for line in lines)
    assert "\r" not in stream.getvalue() and "\033" not in stream.getvalue()
    quiet = io.StringIO()
    with Progress(recorder, quiet, quiet=True, log_every=0.01):
        time.sleep(0.1)
    assert quiet.getvalue() == ""


def test_the_line_counts_what_the_recorder_saw():
    from contract.clauses import CLAUSES

    recorder = Recorder()
    progress = Progress(recorder, None)
    recorder.examples, recorder.steps, recorder.exchanges = 3, 40, 90
    recorder.exercise({"CAN-1", "EXP-2"})
    progress.until(None)
    line = progress.line()
    assert "checking CAN, EXP" in line and "example 3 · 40 steps · 90 exchanges" in line
    assert f"2 of {len(CLAUSES)} clauses exercised" in line


@pytest.mark.slow
def test_a_pipe_gets_the_first_lines_at_once(tmp_path):
    """A CI log: stdout and stderr are pipes. The target and the settings are the first
    line, written when the run starts, not when it ends: about 0.55 s after the process
    starts (interpreter and imports included), measured with two benchmarks running; the
    bound here leaves room for a loaded test machine."""
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "contract.cli", "--seed", "1", "--max-examples", "400"]
        + ["--report-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        took = time.monotonic() - began
        still_running = proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    assert first.startswith("Long-operation conformance: embedded emulator"), first
    assert still_running, "the first line came only when the run ended"
    assert took < 5, f"the first line took {took:.1f} s"


@pytest.mark.slow
def test_a_ci_log_never_goes_quiet_for_three_progress_intervals(tmp_path):
    """A CI log, stdout and stderr both pipes: a line at least every LOG_EVERY seconds
    (20; a reader must never wait 60 s), here scaled down to 0.5 s, over a run's first
    12 s (exploring, shrinking: a fault is seeded)."""
    every, watch = 0.5, 12.0
    code = (
        "import sys; from contract.reporting import progress; "
        f"progress.LOG_EVERY = {every}; from contract.cli import main; sys.exit(main())"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--fault", "cancel-ignored", "--max-examples", "2000"]
        + ["--report-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    began = time.monotonic()
    heard: list[float] = []

    def listen(pipe) -> None:  # type: ignore[no-untyped-def]
        for _ in iter(pipe.readline, ""):
            heard.append(time.monotonic())

    readers = [
        threading.Thread(target=listen, args=(p,), daemon=True) for p in (proc.stdout, proc.stderr)
    ]
    for reader in readers:
        reader.start()
    try:
        time.sleep(watch)
        still_running = proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    times = sorted(t for t in heard if t < began + watch)
    assert still_running, "the run ended before the watch did: give it more examples"
    assert times and times[0] - began < 5, "no first line within 5 s (interpreter start)"
    gaps = [b - a for a, b in pairwise([*times, began + watch])]
    assert max(gaps) < 3 * every, f"the log went quiet for {max(gaps):.1f} s"


@pytest.mark.parametrize("seconds, shown", [(75.2, "1 min 15 s left"), (-3, "0 min 00 s left")])
def test_a_wall_clock_run_shows_the_time_left(seconds, shown):
    from contract.targets import WallClock

    progress = Progress(Recorder(), None)
    progress.until(WallClock().now + seconds)
    assert shown in progress.line() or shown.replace("15", "14") in progress.line()


def test_a_run_in_shards_says_in_the_log_how_many_are_done():
    import time

    from contract.reporting.progress import Heartbeat

    stream = io.StringIO()
    with Heartbeat(stream, every=0.05) as beat:
        beat.shards, beat.done = 4, 1
        time.sleep(0.3)
    assert "lro-conformance: 1 of 4 shards done · " in stream.getvalue()
    quiet = io.StringIO()
    with Heartbeat(quiet, quiet=True, every=0.01):
        time.sleep(0.1)
    assert quiet.getvalue() == ""
