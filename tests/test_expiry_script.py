"""A run on a virtual clock whose exploring left a TTL clause untested runs the expiry
probe's script once (`machine/expiry.py: scripted_expiry`): a short or time-bounded run
judges EXP-1..3 all the same, and catches the TTL faults."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from contextlib import suppress

import pytest

from contract.machine import ClauseViolation
from contract.runner import explore
from contract.settings import Options
from contract.verdicts import Recorder
from emulator.server import gate_options, running

EXP = ("EXP-1", "EXP-2", "EXP-3")
TINY = {"seed": 5, "max_examples": 1, "steps": 3, "fuzz_cases": 0, "rounds": 1}


def tiny_run(*faults: str) -> Recorder:
    recorder = Recorder()
    with suppress(ClauseViolation, ExceptionGroup):
        explore(Options(**TINY, faults=faults), recorder)
    return recorder


def test_a_run_too_short_for_the_ttl_clauses_still_judges_them():
    recorder = tiny_run()
    assert all(recorder.exercised[c] for c in EXP), recorder.exercised
    assert not recorder.failures
    assert any("scripted example" in note for note in recorder.notes)


@pytest.mark.parametrize(
    ("fault", "clause"),
    [("ttl-from-start", "EXP-3"), ("ttl-short", "EXP-1"), ("no-expiry", "EXP-2")],
)
def test_the_script_catches_the_ttl_faults(fault, clause):
    assert clause in tiny_run(fault).failures


def test_a_run_that_exercised_them_runs_no_script():
    recorder = Recorder()
    explore(Options(seed=1, max_examples=100, fuzz_cases=0), recorder)
    assert all(recorder.exercised[c] for c in EXP)
    assert not any("scripted example" in note for note in recorder.notes)


@pytest.mark.slow
def test_on_a_shared_target_the_script_judges_can4_by_cancelling_the_gone_token():
    """A shared (live) target is never sent a cancel of a token it did not issue, so CAN-4
    waits for a cancel of an expired token: when exploring made none, the script's last
    look (a cancel once the token is surely gone) judges it."""
    tiny = ["--seed", "5", "--max-examples", "1", "--steps", "3", "--fuzz-cases", "0"]
    with running("--session-token", "alice", "--session-token", "bob") as base:
        result = subprocess.run(
            [sys.executable, "-m", "contract.cli", *gate_options(base), *tiny]
            + ["--report-dir", tempfile.mkdtemp(prefix="lro-test-can4-")],
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert re.search(r"note: CAN-4\b[^\n]* not exercised by exploring", result.stdout)
    assert re.search(r"CAN-4 +pass", result.stdout), result.stdout
