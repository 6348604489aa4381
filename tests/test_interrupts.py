"""Ctrl-C handling of a run: never lost, never printed as an "ignored" traceback."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from typing import Any

import pytest

from contract import interrupts


class _InterruptedFinalizer:
    """Stands for a `__del__` (or gc callback) that a Ctrl-C lands in."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the handler raises KeyboardInterrupt here


@pytest.fixture
def reported(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What reaches the interpreter's unraisable hook (Python prints it with a traceback)."""
    seen: list[BaseException] = []

    def hook(unraisable: Any) -> None:
        seen.append(unraisable.exc_value)

    monkeypatch.setattr(sys, "unraisablehook", hook)
    return seen


def test_a_ctrl_c_inside_a_finalizer_is_postponed_silently(reported: list[BaseException]):
    with interrupts.watching():
        _InterruptedFinalizer()  # dropped at once: __del__ runs, Python "ignores" the raise
        gc.collect()
        assert interrupts.requested()
        with pytest.raises(KeyboardInterrupt):
            interrupts.checkpoint()
    assert reported == []


def test_other_unraisable_errors_are_still_reported(reported: list[BaseException]):
    class Broken:
        def __del__(self) -> None:
            raise ValueError("a real bug in a finalizer")

    with interrupts.watching():
        Broken()
        gc.collect()
    assert [str(e) for e in reported] == ["a real bug in a finalizer"]


def test_a_ctrl_c_during_clean_up_is_raised_when_it_is_done():
    done = []
    with interrupts.watching(), pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("clean-up finished")
    assert done == ["clean-up finished"]


def test_a_ctrl_c_of_a_finished_run_does_not_stop_the_next_one():
    """What one run was told is its own: requests made after it (another run in the same
    process, as under pytest-xdist) are not interrupted by it."""
    with interrupts.watching(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
    assert interrupts.requested()  # the caller can still tell the run was interrupted
    interrupts.checkpoint()  # no run is watching: nothing is raised


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_a_run_as_ctrl_c_does(signame: str):
    done = []
    with interrupts.watching(), pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), getattr(signal, signame))
        done.append("clean-up finished")
    assert done == ["clean-up finished"] and interrupts.requested()


def test_a_signal_delivered_twice_at_once_is_one_signal():
    """A process group's SIGTERM and the same one passed on to a pytest-xdist worker arrive
    together: the worker cleans up, it is not stopped at once."""
    with interrupts.watching(), pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)  # within interrupts.AGAIN: the same stop
    assert interrupts.requested()


def test_an_interrupted_clean_up_has_a_grace_period(monkeypatch: pytest.MonkeyPatch):
    from contract.machine import cleanup
    from contract.targets import WallClock

    monkeypatch.setattr(interrupts, "GRACE", 0.0)
    with interrupts.watching(), pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        assert interrupts.grace_left() == 0
        assert list(cleanup.pauses(WallClock())) == []  # no more waiting for the server


def test_the_gate_command_passes_signals_on_to_its_workers(monkeypatch: pytest.MonkeyPatch):
    from contract import cli

    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, signum: sent.append((pid, signum)))
    outcome = cli._Outcome()
    outcome.workers = [101, 102]
    outcome.forward(interrupts.RELAY)
    assert sent == [(101, interrupts.RELAY), (102, interrupts.RELAY)]


def test_a_relayed_signal_is_never_a_second_one(monkeypatch: pytest.MonkeyPatch):
    """A terminal's Ctrl-C reaches a pytest-xdist worker from the process group and again,
    passed on, from the gate's command, which on a loaded machine may be seconds later:
    the worker still cleans up rather than stop at once."""
    stopped: list[int] = []
    monkeypatch.setattr(interrupts, "_stop_now", stopped.append)
    with interrupts.watching(), pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        monkeypatch.setattr(interrupts._State, "at", time.monotonic() - 5)  # long ago
        os.kill(os.getpid(), interrupts.RELAY)
        assert stopped == []
        os.kill(os.getpid(), interrupts.RELAY_NOW)  # the command was stopped at once
        assert stopped == [interrupts.RELAY_NOW]


def test_the_gate_command_relays_a_first_signal_to_stop_and_a_second_to_stop_now(
    monkeypatch: pytest.MonkeyPatch,
):
    heard: list[int] = []
    monkeypatch.setattr(interrupts.os, "_exit", lambda code: heard.append(-code))
    monkeypatch.setattr(interrupts._State, "capture", None)  # its last words stay captured
    with interrupts.session(forward=heard.append), interrupts.watching():
        with pytest.raises(KeyboardInterrupt), interrupts.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
        monkeypatch.setattr(interrupts._State, "at", time.monotonic() - 5)
        os.kill(os.getpid(), signal.SIGTERM)
    assert heard == [interrupts.RELAY, interrupts.RELAY_NOW, -(128 + signal.SIGTERM)]
