"""The plugin's verdict-to-exit-code logic: never exit 0 when the gate could not judge."""

from __future__ import annotations

import pytest

import contract.plugin as plugin
from contract.machine import violation_type
from contract.runner import Options


def test_an_unexpected_error_is_exit_2_not_a_verdict(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(plugin, "explore", broken)
    gate = plugin.Gate(Options(max_examples=1))
    with pytest.raises(RuntimeError):
        gate.explore()
    code, reason = gate.outcome()
    assert code == 2 and "boom" in reason


def test_a_violation_is_exit_1_and_names_the_clause(monkeypatch):
    def violating(options, recorder, target, on_deadline=None, time_budget=None, tell=None):
        from contract.checks import Failure

        recorder.fail(Failure("CAN-1", "ignored cancel", "Cancelled", "Completed"))
        raise violation_type("CAN-1")("CAN-1 ignored cancel")

    monkeypatch.setattr(plugin, "explore", violating)
    gate = plugin.Gate(Options(max_examples=1))
    with pytest.raises(AssertionError):
        gate.explore()
    assert gate.outcome() == (1, "violations of CAN-1")


def test_a_run_that_exercised_nothing_is_not_conformant(monkeypatch):
    monkeypatch.setattr(plugin, "explore", lambda *a, **k: None)
    gate = plugin.Gate(Options(max_examples=1))
    gate.explore()
    code, reason = gate.outcome()
    assert code == 2 and "nothing was tested" in reason


def test_a_failure_that_does_not_replay_is_still_reported(monkeypatch):
    """Against a server whose state moved on, shrinking may not see a failure again:
    the first occurrence is kept and reported, not dropped, and not turned into exit 2."""
    from hypothesis.errors import FlakyStrategyDefinition

    import contract.runner as runner
    from contract.checks import Failure
    from contract.machine import ClauseViolation
    from contract.verdicts import Recorder

    def flaky_once(options, run, reseed=0, examples=0):
        run.recorder.fail(Failure("STA-4", "backwards", "Completed", "InProgress"))
        raise FlakyStrategyDefinition("replay diverged")

    monkeypatch.setattr(runner, "_explore_once", flaky_once)
    recorder = Recorder()
    with pytest.raises(ClauseViolation, match="not confirmed on replay"):
        runner.explore(Options(max_examples=1, rounds=1), recorder)
    assert set(recorder.failures) == {"STA-4"}


def test_a_divergence_with_nothing_found_explores_on_from_another_seed(monkeypatch):
    """On the wall clock the same choices may take another path (what may still run
    depends on when it is asked): Hypothesis stops with FlakyStrategyDefinition. With
    nothing found that is no error: the next round explores on, from another seed (a
    900 s wall-clock run once ended exit 2 on it)."""
    from hypothesis.errors import FlakyStrategyDefinition

    import contract.runner as runner
    from contract.verdicts import Recorder

    rounds = []

    def diverge_once(options, run, reseed=0, examples=0):
        rounds.append(reseed)
        if len(rounds) == 1:
            raise FlakyStrategyDefinition("Inconsistent data generation!")
        run.recorder.exercise({"SUB-1"})

    monkeypatch.setattr(runner, "_explore_once", diverge_once)
    recorder = Recorder()
    runner.explore(Options(max_examples=1, rounds=3, fuzz_cases=0, allow_untested=True), recorder)
    assert rounds == [0, 1]  # went on, with another seed
    assert not recorder.failures
    assert any("answered the same requests differently" in n for n in recorder.notes)


@pytest.mark.parametrize(
    ("shows_late", "allow", "rounds"),
    [
        (True, False, [(0, 100), (1000, 50)]),  # found by the first added round
        (False, False, [(0, 100), (1000, 50), (2000, 50)]),  # at most two: then exit 3
        (False, True, [(0, 100)]),  # --allow-untested: an incomplete run is accepted
    ],
)
def test_a_clean_run_that_left_a_clause_untested_tries_again_from_another_seed(
    monkeypatch, shows_late, allow, rounds
):
    """A verdict should not hang on one seed's luck: a clean run whose exploring left a
    clause untested adds a round from another seed with half the budget, twice at most."""
    from contract import runner
    from contract.clauses import CLAUSES
    from contract.verdicts import Recorder

    seen: list[tuple[int, int]] = []

    def explore_once(options, run, reseed=0, examples=0):
        seen.append((reseed, examples or options.max_examples))
        late = {"SUB-4"} if shows_late and len(seen) == 2 else set()
        run.recorder.exercise((set(CLAUSES) - {"SUB-4"}) | late)

    monkeypatch.setattr(runner, "_explore_once", explore_once)
    recorder = Recorder()
    runner.explore(Options(fuzz_cases=0, allow_untested=allow), recorder)
    assert seen == rounds
    assert ("SUB-4" in recorder.exercised) == shows_late
    added = [n for n in recorder.notes if "not exercised yet" in n]
    assert len(added) == len(rounds) - 1 and all(n.startswith("SUB-4 ") for n in added)


def test_the_report_points_out_lifecycle_states_a_run_never_saw():
    from contract.model import Status
    from contract.reporting.console import render
    from contract.verdicts import Recorder

    recorder = Recorder()
    recorder.reached(None, Status.NOT_STARTED)
    text = render(recorder.verdicts(), recorder, target="t", seed=1, seconds=0.0)
    assert "never saw InProgress, Completed, Failed, Cancelled, expired" in text
    for status in Status:
        recorder.reached(None, status)
    assert "never saw" not in render(recorder.verdicts(), recorder, target="t", seed=1, seconds=0.0)
