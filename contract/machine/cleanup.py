"""Leaving a shared target as it was found: end the example's operations, remove its sandbox.

Plain requests, judged by nothing: the example is over. What cannot be ended
within the budget is a harness error (the next example could not trust its
sessions to be free), never a verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import RUNNING

if TYPE_CHECKING:
    from .base import MachineBase

POLLS = 40


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
    step = 1.0
    for _ in range(POLLS):
        ex = machine.api.start_delete(first, sandbox, action="cleanup")
        if ex.status != machine.conn.profile.busy:
            break
        # An operation whose start was interrupted in flight holds the session: wait for it.
        machine.conn.clock.advance(step)
        step = min(step * 2, 60.0)
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
