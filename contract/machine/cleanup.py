"""Leaving a shared target as it was found: end the example's operations, remove its sandbox.

Plain requests, judged by nothing: the example is over. What cannot be ended
within the budget is a harness error (the next example could not trust its
sessions to be free), never a verdict.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..model import RUNNING

if TYPE_CHECKING:
    from .base import MachineBase

POLLS = 40
WALL_BUDGET = 300.0  # seconds a clean-up waits for an operation to end on the wall clock


def clean_up(machine: MachineBase) -> None:
    for token in machine.tracked:
        if _may_run(machine, token):
            machine.api.cancel(machine.owner(token), token, action="cleanup")
    for token in machine.tracked:
        _wait(machine, machine.owner(token), token)
    first = machine.conn.sessions[0]
    sandbox = machine.sandbox if machine.sandbox is not None else _find_sandbox(machine)
    if sandbox is None:
        return  # interrupted before the server created it
    for pause in _pauses(machine):
        ex = machine.api.start_delete(first, sandbox, action="cleanup")
        if ex.status != machine.conn.profile.busy:
            break
        # An operation whose start was interrupted in flight holds the session: wait for it.
        _pause(machine, pause)
    body = ex.json()
    token = body.get("token") if isinstance(body, dict) else None
    if ex.status is None or not 200 <= ex.status < 300 or not isinstance(token, str) or not token:
        raise_harness(f"could not remove the sandbox folder #{sandbox}: {ex.describe()}")
    _wait(machine, first, token)


def _find_sandbox(machine: MachineBase) -> int | None:
    """The sandbox folder by its unique name, when the run was interrupted after asking for
    it but before the answer came. Only that exact name is adopted."""
    first = machine.conn.sessions[0]
    for page in machine.api.list_children(first, machine.conn.parent_id):
        body = page.json()
        value = body.get("value") if isinstance(body, dict) and page.status == 200 else None
        for item in value if isinstance(value, list) else []:
            named = isinstance(item, dict) and item.get("name") == machine.sandbox_name
            if named and isinstance(item.get("id"), int):
                machine.api.owned_entries.add(item["id"])
                return item["id"]
    return None


def _may_run(machine: MachineBase, token: str) -> bool:
    return machine.model.may_be_running(machine.model.ops[token], machine.now)


def _wait(machine: MachineBase, session, token: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until the operation has ended (or its token is gone), moving the clock on."""
    for pause in _pauses(machine):
        ex = machine.api.poll(session, token, action="cleanup")
        body = ex.json()
        status = body.get("status") if isinstance(body, dict) else None
        if ex.status == machine.conn.profile.not_found or status not in {s.value for s in RUNNING}:
            return
        _pause(machine, pause)
    raise_harness(f"operation {token!r} did not end during clean-up")


def _pauses(machine: MachineBase) -> Iterator[float]:
    """How long to let pass between two looks, bounded in all: on a virtual clock 1 s
    doubling to 60 s of server time, 40 times; on the wall clock 0.2 s growing to 1 s,
    for at most WALL_BUDGET seconds."""
    if machine.conn.clock.virtual:
        yield from (min(2.0**i, 60.0) for i in range(POLLS))
        return
    deadline = time.monotonic() + WALL_BUDGET
    pause = 0.2
    while time.monotonic() < deadline:
        yield pause
        pause = min(pause * 1.5, 1.0)


def _pause(machine: MachineBase, seconds: float) -> None:
    """Let time pass: move a virtual clock, or wait on the wall clock."""
    clock = machine.conn.clock
    if clock.virtual:
        clock.advance(seconds)
    else:
        time.sleep(seconds)


def raise_harness(message: str) -> None:
    from ..targets import HarnessError

    raise HarnessError(message)
