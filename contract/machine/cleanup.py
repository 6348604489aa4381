"""Leaving a shared target as it was found: end the example's operations, remove its sandbox.

Plain requests, judged by nothing: the example is over. What cannot be ended
within the budget is a harness error (the next example could not trust its
sessions to be free), never a verdict. The helpers below take the API and the
clock, not a machine, so the profile probe (`contract/profile_probe.py`) leaves
the target the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..model import RUNNING

if TYPE_CHECKING:
    from ..api import RepositoryApi
    from ..client import Session
    from ..targets import Clock
    from .base import MachineBase

POLLS = 40
WALL_BUDGET = 300.0  # seconds a clean-up waits for an operation to end on the wall clock
_RUNNING = {s.value for s in RUNNING}


def clean_up(machine: MachineBase) -> None:
    api, clock = machine.api, machine.conn.clock
    for token in machine.tracked:
        if _may_run(machine, token):
            api.cancel(machine.owner(token), token, action="cleanup")
    for token in machine.tracked:
        wait_for_end(api, clock, machine.owner(token), token)
    first = machine.conn.sessions[0]
    sandbox = machine.sandbox
    if sandbox is None and machine.sandbox_name is not None:
        sandbox = find_folder(api, first, machine.conn.parent_id, machine.sandbox_name)
    if sandbox is None:
        return  # interrupted before the server created it
    remove_folder(api, clock, first, sandbox)


def remove_folder(api: RepositoryApi, clock: Clock, session: Session, folder: int) -> None:
    """Delete a folder the run made and wait until the delete has ended."""
    for pause in pauses(clock):
        ex = api.start_delete(session, folder, action="cleanup")
        if ex.status != api.profile.busy:
            break
        # An operation whose start was interrupted in flight holds the session: wait for it.
        wait(clock, pause)
    body = ex.json()
    token = body.get("token") if isinstance(body, dict) else None
    if ex.status is None or not 200 <= ex.status < 300 or not isinstance(token, str) or not token:
        raise_harness(f"could not remove the sandbox folder #{folder}: {ex.describe()}")
    wait_for_end(api, clock, session, token)


def find_folder(api: RepositoryApi, session: Session, parent: int, name: str) -> int | None:
    """A sandbox folder by its unique name, when the run was interrupted after asking for
    it but before the answer came. Only that exact name is adopted."""
    for page in api.list_children(session, parent):
        body = page.json()
        value = body.get("value") if isinstance(body, dict) and page.status == 200 else None
        for item in value if isinstance(value, list) else []:
            named = isinstance(item, dict) and item.get("name") == name
            if named and isinstance(item.get("id"), int):
                api.owned_entries.add(item["id"])
                return item["id"]
    return None


def _may_run(machine: MachineBase, token: str) -> bool:
    return machine.model.may_be_running(machine.model.ops[token], machine.now)


def wait_for_end(api: RepositoryApi, clock: Clock, session: Session, token: str) -> None:
    """Poll until the operation has ended (or its token is gone), moving the clock on."""
    for pause in pauses(clock):
        ex = api.poll(session, token, action="cleanup")
        body = ex.json()
        status = body.get("status") if isinstance(body, dict) else None
        if ex.status == api.profile.not_found or status not in _RUNNING:
            return
        wait(clock, pause)
    raise_harness(f"operation {token!r} did not end during clean-up")


def pauses(clock: Clock) -> Iterator[float]:
    """How long to let pass between two looks, bounded in all: on a virtual clock 1 s
    doubling to 60 s of server time, 40 times; on the wall clock 0.2 s growing to 1 s,
    for at most WALL_BUDGET seconds."""
    if clock.virtual:
        yield from (min(2.0**i, 60.0) for i in range(POLLS))
        return
    deadline = time.monotonic() + WALL_BUDGET
    pause = 0.2
    while time.monotonic() < deadline:
        yield pause
        pause = min(pause * 1.5, 1.0)


def wait(clock: Clock, seconds: float) -> None:
    """Let time pass: move a virtual clock, or wait on the wall clock."""
    if clock.virtual:
        clock.advance(seconds)
    else:
        time.sleep(seconds)


def raise_harness(message: str) -> None:
    from ..targets import HarnessError

    raise HarnessError(message)
