"""The time budget (--max-duration): the run ends within it with honest verdicts, says
where the time went, cuts a long shrink short (saying so), and refuses a wall-clock budget
shorter than the expiry probe needs."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from served import ROOT

from contract import budget, runner
from contract.machine import ClauseViolation
from contract.settings import Options
from contract.verdicts import Recorder


def test_each_mode_has_its_default_and_a_given_budget_wins():
    needs = budget.probe_needs(900, 2)
    assert needs == 900 + 4 + budget.PROBE_EXTRA
    assert budget.default_duration(live=False, wall_clock=False, needs=needs) is None
    assert budget.default_duration(live=True, wall_clock=False, needs=needs) == 600
    assert budget.default_duration(live=True, wall_clock=True, needs=needs) == needs + 300
    assert runner.run_budget(Options()).seconds is None
    assert runner.run_budget(Options(max_duration=42)).seconds == 42


def test_the_summary_says_where_the_time_went():
    b = budget.Budget(180)
    b.add("exploring", 100.4)
    b.add("fuzzing", 20)
    with b.phase("profile probe"):
        pass
    summary = b.summary()
    assert summary.startswith("time: ") and "of a 180 s budget" in summary
    assert "exploring 100 s" in summary and "fuzzing 20 s" in summary


def test_a_mock_run_ends_within_its_budget_and_says_so():
    recorder = Recorder()
    began = time.monotonic()
    runner.explore(Options(seed=4, max_examples=100_000, max_duration=3), recorder)
    # A bound, not a speed figure: 100 000 examples would take hours.
    assert time.monotonic() - began < 3 + budget.GRACE
    notes = "\n".join(recorder.notes)
    assert "time budget: exploring stopped when its share of --max-duration ran out" in notes
    assert "of a 3 s budget" in notes


@pytest.mark.parametrize(
    ("fault", "clause", "seed"), [("start-202", "SUB-1", 1), ("cancel-ignored", "CAN-1", 0)]
)
def test_a_shrink_that_takes_its_share_is_cut_short_and_said(monkeypatch, fault, clause, seed):
    """Whatever step of the shrinking the cut lands in. It landed in a replay that had
    drawn further before, once (cancel-ignored, seed 0): Hypothesis took the stop for a
    flaky test, and the failure was reported "not confirmed on replay", the cut unsaid."""
    monkeypatch.setattr(budget, "SHRINK_SHARE", 0.0)  # any shrinking takes too long
    recorder = Recorder()
    options = Options(seed=seed, max_duration=60, faults=(fault,), fuzz_cases=0)
    with pytest.raises((ClauseViolation, ExceptionGroup)) as raised:
        runner.explore(options, recorder)
    assert clause in recorder.failures  # still reported, as shrunk so far
    assert any(f"shrinking {clause} was cut short" in note for note in recorder.notes)
    assert "not confirmed" not in str(raised.value)


def test_a_wall_clock_budget_shorter_than_the_expiry_probe_is_a_configuration_error():
    args = ["--base-url", "http://127.0.0.1:9", "--repo-id", "r1", "--parent-id", "1"]
    args += ["--session-token", "alice", "--wall-clock", "--max-duration", "300"]
    result = subprocess.run(
        [sys.executable, "-m", "contract.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "max-duration 300 s is shorter than a wall-clock run needs" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("bad", ["0", "-5", "soon"])
def test_a_bad_budget_is_refused_clearly(bad):
    result = subprocess.run(
        [sys.executable, "-m", "contract.cli", "--max-duration", bad],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2 and "max-duration" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_clean_up_stops_waiting_once_the_budget_and_its_grace_are_spent():
    from contract.machine import cleanup
    from contract.targets import WallClock

    spent = budget.Budget(10, started=time.monotonic() - 10 - budget.GRACE)
    with budget.bounding(spent):
        assert budget.overrun()
        assert list(cleanup.pauses(WallClock())) == []  # no more waiting for the server
    assert not budget.overrun()  # the bound is the run's only
    with budget.bounding(budget.Budget(None)):
        assert not budget.overrun()
        assert next(cleanup.pauses(WallClock()), None) is not None


def test_without_a_budget_a_slow_shrink_is_cut_by_the_gate_not_by_hypothesis(monkeypatch):
    """Hypothesis stops a shrink after five minutes with a warning that asks its users to
    report it; the gate stops first (`SHRINK_ALONE`) and says so in its own words."""
    monkeypatch.setattr(budget, "SHRINK_ALONE", 0.0)
    recorder = Recorder()
    options = Options(seed=1, faults=("start-202",), fuzz_cases=0)
    with pytest.raises((ClauseViolation, ExceptionGroup)):
        runner.explore(options, recorder)
    assert "SUB-1" in recorder.failures
    assert any("time limit: shrinking SUB-1 was cut short" in n for n in recorder.notes)
