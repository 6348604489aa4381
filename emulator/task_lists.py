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
from .dialect import (
    TASK_TYPES,
    cancel_result,
    json_response,
    precise_iso,
    task_progress,
    task_result,
)
from .messages import Response
from .operations import COPY, DELETE, Operation
from .problems import Problem
from .tasks import OTHER_REPO, coarse
from .variants import undeclared
from .world import Call, World

#: Where the v2-result-uri-other-origin fault builds result.uri: a configured public host.
PUBLIC_ORIGIN = "https://api.laserfiche.com"


def list_tasks(world: World, call: Call) -> Response:
    """GET .../Tasks?taskIds=: a TaskCollectionResponse of the tasks named."""
    listed = _listed(world, call)
    if world.faults.has("v2-running-task-left-out"):
        # The bug: the listing reads a status cache that drops in-flight tasks after 3 s.
        listed = [op for op in listed if op.ended or call.now - op.created_at < 3.0]
    body = [_progress(world, call, op) for op in listed]
    return json_response(world.dialect.tasks_listed, {"value": body})


def cancel_tasks(world: World, call: Call) -> Response:
    """DELETE .../Tasks?taskIds=: cancel the running tasks named; a CancelTasksResponse."""
    answers = []
    listed = _listed(world, call)
    for n, op in enumerate(listed):
        received = True
        if n and world.faults.has("v2-cancel-first-only"):
            pass  # the bug: only the first task named is cancelled; all are answered true
        elif not op.ended:
            received = _cancel_running(world, call, op)
        elif world.faults.has("v2-cancel-rewrites-ended"):
            op.outcome = Status.CANCELLED  # the bug: rewrites an ended task's history
        elif world.variants.has("cancel-ended-false"):
            received = False
        answers.append(_dressed(world, cancel_result(op, received)))
    if world.faults.has("v2-cancel-foreign-acts"):
        _cancel_foreign(world, call)
    if world.faults.has("v2-cancel-lists-unknown"):
        # The bug: every id named gets an answer; "not received" for those not found.
        found = {op.token for op in listed}
        unknown = [i for i in inputs.task_ids(call.query) if i not in found]
        answers += [_dressed(world, {"id": i, "result": False}) for i in unknown]
    return json_response(world.dialect.cancel_accepted, {"value": answers})


def _cancel_running(world: World, call: Call, op: Operation) -> bool:
    """Cancel a running task; whether the request to cancel it was received (true)."""
    if world.faults.has("v2-cancel-ignored"):
        return True  # the bug: acknowledged, then forgotten
    world.engine.cancel(op, call.now)
    if world.faults.has("v2-cancel-completes"):
        op.outcome = Status.COMPLETED  # the bug: the handler marks the task done
    return True


def _cancel_foreign(world: World, call: Call) -> None:
    """v2-cancel-foreign-acts: the cancel acts on every id named, then the answer is
    filtered by session."""
    for task_id in inputs.task_ids(call.query):
        op = world.engine.find(task_id)
        if op is not None and op.session != call.session.index and not op.ended:
            world.engine.cancel(op, call.now)  # the bug: acts before ownership is checked


def cancel_before_auth(world: World, query: str, now: float) -> None:
    """v2-unauthenticated-cancel-acts: the cancel runs before credentials are checked."""
    try:
        named = inputs.task_ids(query)
    except Problem:
        return
    for task_id in named:
        op = world.engine.find(task_id)
        if op is not None and not op.ended:
            world.engine.cancel(op, now)


def all_running(world: World, call: Call, arrived: float) -> bool:
    """Whether a long poll that arrived at `arrived` may hold this listing back: it names
    at least one task, and none of them has ended (call after the engine was advanced to
    `call.now`)."""
    listed = _listed(world, call)
    if world.faults.has("v2-long-poll-holds-ended"):
        # The bug: the poll waits for news after it arrived; a task ended before is none.
        return bool(listed) and not any(
            op.ended_at is not None and op.ended_at >= arrived for op in listed
        )
    return bool(listed) and not any(op.ended for op in listed)


def _listed(world: World, call: Call) -> list[Operation]:
    """The caller's unexpired tasks that `taskIds` names (all of them when it names none)."""
    wanted = inputs.task_ids(call.query)  # 400 when malformed
    if world.faults.has("v2-unknown-id-500") and any(
        world.engine.find(task_id) is None for task_id in wanted
    ):
        # The bug: the id's record is dereferenced before it is checked for null.
        raise Problem(500, "Internal Server Error", "Object reference not set to an instance.")
    # The bug (v2-expired-still-listed): the session's records are read without their expiry.
    stale = world.faults.has("v2-expired-still-listed")
    live = world.engine.of_session(call.session, call.now, with_expired=stale)
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
        result = _result(world, call, op)
    body = task_progress(op, call.now, result, world.dialect.entries_path(world.config.repo_id))
    if world.variants.has("coarse-progress"):
        body["percentComplete"] = coarse(body["percentComplete"])
    if world.variants.has("precise-timestamps"):
        body["startTime"] = precise_iso(op.created_at)
        body["lastUpdateTime"] = precise_iso(op.status_changed_at(call.now))
    if op.ended:
        op.ended_polls += 1  # read by the faults only
    _misreport(world, call, op, body)
    return _dressed(world, body)


def _result(world: World, call: Call, op: Operation) -> dict[str, Any] | None:
    """A Completed copy's TaskResult: the new entry, and where to fetch it."""
    faults = world.faults
    if faults.has("v2-result-missing"):
        return None  # the bug: read from a field only v1's status document fills
    entry = op.result_id or 0
    if faults.has("v2-result-uri-to-source"):
        entry = op.order.source_id  # the bug: the request's entry, not the one it made
    origin = "" if world.variants.has("relative-location") else call.origin
    if faults.has("v2-result-uri-other-origin"):
        origin = PUBLIC_ORIGIN  # the bug: a configured host, not the one the request reached
    # The bug (v2-result-uri-wrong-repo): a repository id from the wrong configuration.
    repo = OTHER_REPO if faults.has("v2-result-uri-wrong-repo") else world.config.repo_id
    uri = world.dialect.entry_location(origin, repo, entry)
    if faults.has("v2-result-entry-id-mismatch"):
        entry = op.order.dest_id  # the bug: the entry the task was started on
    return task_result(entry, uri)


def _misreport(world: World, call: Call, op: Operation, body: dict[str, Any]) -> None:
    """The faults that bend (or act on) an otherwise truthful TaskProgress."""
    faults, status = world.faults, body["status"]
    if faults.has("v2-progress-backwards") and status == Status.IN_PROGRESS.value:
        if op.reported_progress and not op.went_backwards:
            op.went_backwards = True
            body["percentComplete"] = 0  # the bug: a restarted worker reports from scratch
        op.reported_progress = op.reported_progress or body["percentComplete"] > 0
    if faults.has("v2-completed-percent-short") and status == Status.COMPLETED.value:
        steps = len(op.order.plan)  # the bug: the last step's share is never added
        body["percentComplete"] = 100 * (steps - 1) // steps
    completed = op.outcome is Status.COMPLETED
    if faults.has("v2-status-backwards") and completed and op.ended_polls == 2:
        body["status"] = Status.IN_PROGRESS.value  # the bug: a lagging replica, once
    if faults.has("v2-wrong-task-type") and op.order.kind == DELETE:
        body["taskType"] = TASK_TYPES[COPY]  # the bug: a copy-pasted serializer
    if faults.has("v2-failed-without-errors") and status == Status.FAILED.value:
        body["errors"] = None  # the bug: errors are kept only while the task runs
    if faults.has("v2-timestamps-as-numbers"):
        # The bug: the clock's raw epoch seconds go out instead of date-time strings.
        body["startTime"] = op.created_at
        body["lastUpdateTime"] = op.status_changed_at(call.now)
    if faults.has("v2-poll-leaves-lock") and op.order.kind == COPY and op.ended_polls >= 2:
        _leave_lock(world, call, op)


def _leave_lock(world: World, call: Call, op: Operation) -> None:
    """v2-poll-leaves-lock: a status lookup of an ended copy writes a lock document it
    never removes (each one after the first)."""
    dest = world.tree.get(op.order.dest_id)
    if dest is not None and dest.is_folder:
        name = world.tree.free_name(dest.id, "~task.lock")
        world.tree.add(dest.id, name, "Document", op.creator, call.now)


def _dressed(world: World, item: dict[str, Any]) -> dict[str, Any]:
    """undeclared-properties: each listed object carries them too (the answer itself gets
    them from `VariantSet.dress`)."""
    return undeclared(item) if world.variants.has("undeclared-properties") else item
