"""API v2's Tasks collection: the status of several tasks at once, and their cancellation.

v2 names its tasks in the query (`GET|DELETE .../Tasks?taskIds=a,b`), not in the path,
and answers 200 with a list whatever it finds (FACTS.md "API v2: tasks"; the vendor's v2
document, ListTasks and CancelTasks):

* The list holds each named task once, in the order named; ids that name no task of the
  caller's session (never issued, expired, another session's) are left out, still 200.
  An absent or empty `taskIds` stands for every task of the session whose id has not
  expired (the document: "leave the taskIds query parameter empty to get the list of all
  the task IDs associated with the current access token"), the same for a cancel.
* A cancel answers, per task listed, `result: true`, "the request to cancel the task has
  been received": a running task ends Cancelled (steps already applied stay, as in v1),
  an ended one keeps its status (the vendor's tests expect true for a completed task; the
  `cancel-ended-false` variant answers false there, as a correct server may).
* `GET` is a long poll (the document: "could return the result immediately … or after at
  most 60 seconds"). The wait is `Emulator.handle_async`'s, on the wall clock only;
  `all_running` below says when it may hold the answer back. On the virtual clock no
  time passes inside a request, so the answer is immediate: the equivalent of a long
  poll there is the client moving the clock (`/_test/clock/advance`) and polling again.
"""

from __future__ import annotations

from typing import Any

from contract.model import Status

from . import inputs
from .dialect import cancel_result, json_response, precise_iso, task_progress, task_result
from .messages import Response
from .operations import COPY, Operation
from .tasks import coarse
from .variants import undeclared
from .world import Call, World


def list_tasks(world: World, call: Call) -> Response:
    """GET .../Tasks?taskIds=: a TaskCollectionResponse of the tasks named."""
    body = [_progress(world, call, op) for op in _listed(world, call)]
    return json_response(world.dialect.tasks_listed, {"value": body})


def cancel_tasks(world: World, call: Call) -> Response:
    """DELETE .../Tasks?taskIds=: cancel the running tasks named; a CancelTasksResponse."""
    answers = []
    for op in _listed(world, call):
        received = True
        if not op.ended:
            world.engine.cancel(op, call.now)
        elif world.variants.has("cancel-ended-false"):
            received = False
        answers.append(_dressed(world, cancel_result(op, received)))
    return json_response(world.dialect.cancel_accepted, {"value": answers})


def all_running(world: World, call: Call) -> bool:
    """Whether a long poll may hold this listing back: it names at least one task, and
    none of them has ended (call after the engine was advanced to `call.now`)."""
    listed = _listed(world, call)
    return bool(listed) and not any(op.ended for op in listed)


def _listed(world: World, call: Call) -> list[Operation]:
    """The caller's unexpired tasks that `taskIds` names (all of them when it names none)."""
    wanted = inputs.task_ids(call.query)  # 400 when malformed
    live = world.engine.of_session(call.session, call.now)
    everyone = world.engine.unexpired(call.now)
    if not wanted:
        # The bug: the listing is not filtered by the caller's session.
        return everyone if world.faults.has("list-all-sessions") else live
    if world.faults.has("list-duplicates"):  # the bug: the ids are not made unique
        wanted = inputs.task_ids(call.query, unique=False)
    # The bug: the ids named are looked up among every session's tasks.
    pool = everyone if world.faults.has("list-foreign") else live
    by_id = {op.token: op for op in pool}
    return [by_id[task_id] for task_id in wanted if task_id in by_id]


def _progress(world: World, call: Call, op: Operation) -> dict[str, Any]:
    result = None
    if op.order.kind == COPY and op.outcome is Status.COMPLETED and op.result_id is not None:
        origin = "" if world.variants.has("relative-location") else call.origin
        uri = world.dialect.entry_location(origin, world.config.repo_id, op.result_id)
        result = task_result(op.result_id, uri)
    body = task_progress(op, call.now, result, world.dialect.entries_path(world.config.repo_id))
    if world.variants.has("coarse-progress"):
        body["percentComplete"] = coarse(body["percentComplete"])
    if world.variants.has("precise-timestamps"):
        body["startTime"] = precise_iso(op.created_at)
        body["lastUpdateTime"] = precise_iso(op.status_changed_at(call.now))
    return _dressed(world, body)


def _dressed(world: World, item: dict[str, Any]) -> dict[str, Any]:
    """undeclared-properties: each listed object carries them too (the answer itself gets
    them from `VariantSet.dress`)."""
    return undeclared(item) if world.variants.has("undeclared-properties") else item
