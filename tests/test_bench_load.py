"""bench/load.py, the emulator under load: a tiny load passes against the clean emulator,
and each of its invariant checks fires against a fault that breaks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/load.py", "--no-write", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_small_load_on_the_clean_emulator_holds_every_invariant_and_measures():
    doc = (ROOT / "docs" / "BENCHMARKS.md").read_text()
    result = load("--sessions", "3", "--operations", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| invariants" in result.stdout and "| held |" in result.stdout
    assert "| emulator: requests/s |" in result.stdout
    assert "| loopback raw rate" in result.stdout
    assert (ROOT / "docs" / "BENCHMARKS.md").read_text() == doc, "--no-write must not write"


@pytest.mark.parametrize(
    ("fault", "violation"),
    [
        ("global-operation-limit", "429 while the session was idle"),
        ("no-operation-limit", "second start accepted while the first surely ran"),
        ("poll-duplicates-result", "unexplained (duplicated or leaked) entry"),
        ("cancel-ignored", "cancel answered 204, then it ended otherwise"),
        ("no-expiry", "token answering after its TTL"),
        ("shallow-copy", "entry holds the wrong tree"),
        ("cancel-leaks-outside", "fixture changed"),
    ],
)
def test_each_invariant_check_fires_on_a_fault_that_breaks_it(fault, violation):
    result = load("--sessions", "3", "--operations", "20", "--fault", fault)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"VIOLATION {violation}:" in result.stdout


def test_bad_options_are_one_clear_line_and_exit_2():
    result = load("--sessions", "0")
    assert result.returncode == 2
    assert "must be 1 or more" in result.stderr and "Traceback" not in result.stderr
