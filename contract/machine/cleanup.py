"""Leaving a shared target as it was found: end the example's operations, remove its sandbox.

Plain requests, judged by nothing: the example is over. What cannot be ended
within the budget is a harness error (the next example could not trust its
sessions to be free), never a verdict.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..model import RUNNING

if TYPE_CHECKING:
    from .base import MachineBase

POLLS = 40


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives during clean-up until it is done, then raise it:
    a half-done clean-up would leave the sandbox behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


def clean_up(machine: MachineBase) -> None:
    for token in machine.tracked:
        if _may_run(machine, token):
            machine.api.cancel(machine.owner(token), token, action="cleanup")
    for token in machine.tracked:
        _wait(machine, machine.owner(token), token)
    first = machine.conn.sessions[0]
    ex = machine.api.start_delete(first, machine.sandbox, action="cleanup")
    body = ex.json()
    token = body.get("token") if isinstance(body, dict) else None
    if ex.status is None or not 200 <= ex.status < 300 or not isinstance(token, str) or not token:
        raise_harness(f"could not remove the sandbox folder #{machine.sandbox}: {ex.describe()}")
    _wait(machine, first, token)


def _may_run(machine: MachineBase, token: str) -> bool:
    return machine.model.may_be_running(machine.model.ops[token], machine.now)


def _wait(machine: MachineBase, session, token: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until the operation has ended (or its token is gone), moving the clock on."""
    step = 1.0
    for _ in range(POLLS):
        ex = machine.api.poll(session, token, action="cleanup")
        body = ex.json()
        status = body.get("status") if isinstance(body, dict) else None
        if ex.status == machine.conn.profile.not_found or status not in {s.value for s in RUNNING}:
            return
        machine.conn.clock.advance(step)
        step = min(step * 2, 60.0)
    raise_harness(f"operation {token!r} did not end within {POLLS} polls during clean-up")


def raise_harness(message: str) -> None:
    from ..targets import HarnessError

    raise HarnessError(message)
