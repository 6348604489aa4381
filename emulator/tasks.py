"""Endpoints of long operations: start a copy or a delete, poll its token, cancel it.

The starts serve every dialect; the poll and cancel here are v1's (one token in the
path); v2's Tasks collection, several tasks at once, is `task_lists.py`.

The engine keeps the truth about each operation; this module decides what a
client is told about it. That is also where most seeded faults live, since
most realistic bugs of such a server misreport rather than misbehave: each
one is a short `if world.faults.has(...)` branch next to the clean behaviour.
"""

from __future__ import annotations

from contract.model import RUNNING, Status

from . import inputs
from .dialect import TASK_TYPES, Progress, json_response, precise_iso, progress_of
from .entries import existing_entry, existing_folder
from .messages import Response
from .operations import COPY, DELETE, Operation, Order
from .problems import Problem
from .tree import FOLDER, ROOT_ID, Entry
from .world import Call, World

BUSY_TITLE = "Operation limit or request limit reached."
ENDED_TITLE = "Cannot cancel ended operation"
OTHER_REPO = "r0-other"  # where the location-wrong-repo fault points


def start_copy(world: World, call: Call) -> Response:
    """POST .../Entries/{destId}/Laserfiche.Repository.Folder/CopyAsync?autoRename=
    (`.../Folder/children/CopyAsync` in guide-v1, `.../Folder/CopyAsync` with autoRename in
    the body in v2: the dialect's route and `auto_rename_in`)"""
    body = call.request.body
    if world.faults.has("rejected-start-leaks") and world.engine.is_busy(call.session, call.now):
        # The bug: the copy's first step runs before the per-session limit is checked.
        leak_requested_folder(world, call.params["id"], body, call.session.user, call.now)
    _refuse_if_busy(world, call)
    rename = inputs.auto_rename_of(world.dialect.auto_rename_in, call.query, body)
    if world.faults.has("malformed-start-leaks") and inputs.has_bad_source_id(body):
        # The bug: the destination folder is created before sourceId is validated.
        leak_requested_folder(world, call.params["id"], body, call.session.user, call.now)
    volume = inputs.volume_name(body)
    if world.faults.has("volume-name-crash") and volume is not None:
        # The bug: volumeName is used as a string before its type is checked.
        volume.strip()  # type: ignore[attr-defined]  # a number or a list raises: 500
    wanted = inputs.copy_request(
        body, world.faults.has("accept-missing-name"), world.faults.has("accept-null-name")
    )
    dest = existing_folder(world.tree, call.params["id"])
    source = world.tree.get(wanted.source_id)
    if world.faults.has("deep-entry-404"):
        _lose_deep(world, dest, source)
    if world.variants.has("eager-validation"):
        _validate_copy_at_start(world, source, dest, wanted.name, rename)
    # A missing source is not refused here: the operation starts and fails at step 0.
    plan = world.tree.pre_order(source.id) if source else [wanted.source_id]
    name = wanted.name
    if name is None:  # only under accept-missing-name or accept-null-name
        name = source.name if source else f"Copy of {wanted.source_id}"
    order = Order(
        COPY,
        tuple(plan),
        source_id=wanted.source_id,
        dest_id=dest.id,
        name=name,
        auto_rename=rename,
    )
    return _accepted(world, world.engine.start(order, call.session, call.now))


#: deep-entry-404: the levels below the root an id lookup's path cache holds.
CACHED_LEVELS = 5


def _lose_deep(world: World, *entries: Entry | None) -> None:
    """deep-entry-404: an entry deeper than the path cache is not found."""
    for entry in entries:
        if entry is not None and world.tree.depth_below(entry.id, ROOT_ID) > CACHED_LEVELS:
            raise Problem(404, "Entry not found.", f"No entry with id {entry.id} exists.")


def _validate_copy_at_start(
    world: World, source: Entry | None, dest: Entry, name: str | None, rename: bool
) -> None:
    """eager-validation: what would make the copy fail is refused before it starts."""
    if source is None:
        raise Problem(404, "Entry not found", "The source entry does not exist.")
    if dest.id in world.tree.pre_order(source.id):
        raise Problem(400, "Invalid destination", "A folder cannot be copied into itself.")
    if name is not None and not rename and world.tree.find_child(dest.id, name) is not None:
        raise Problem(409, "Conflict", f"An entry named {name!r} already exists.")


def start_delete(world: World, call: Call) -> Response:
    """DELETE .../Entries/{id}, with an optional {auditReasonId, comment} body (v2:
    {auditReasonId, auditReasonComment})."""
    _refuse_if_busy(world, call)
    if not world.faults.has("delete-ignores-body"):  # the bug: the body is never read
        inputs.delete_request(call.request.body, world.dialect.delete_comment)
    target = existing_entry(world.tree, call.params["id"])
    if world.faults.has("deep-entry-404"):
        _lose_deep(world, target)
    if target.id == ROOT_ID:
        raise Problem(400, "The root folder cannot be deleted", "Entry 1 is the root folder.")
    plan = world.tree.post_order(target.id)  # children before their parents
    order = Order(DELETE, tuple(plan), target_parent_id=target.parent_id)
    return _accepted(world, world.engine.start(order, call.session, call.now))


def leak_requested_folder(world: World, dest: str, body: bytes, creator: str, now: float) -> None:
    """What the faults that run a refused copy leave: an empty folder named as asked.

    Nothing happens unless the destination folder exists and the body names a valid name;
    a taken name is auto-renamed. Never raises, so the refusal still answers as usual.
    """
    name = inputs.requested_name(body)
    try:
        folder = existing_folder(world.tree, dest)
    except Problem:
        return  # no such folder, or a malformed id: nowhere to leak into
    if name is not None:
        world.tree.add(folder.id, world.tree.free_name(folder.id, name), FOLDER, creator, now)


def _refuse_if_busy(world: World, call: Call) -> None:
    if world.engine.is_busy(call.session, call.now):
        raise Problem(429, BUSY_TITLE, "This session already has a long operation running.")


def _accepted(world: World, op: Operation) -> Response:
    status = 202 if world.faults.has("start-202") else world.dialect.start_accepted
    if world.faults.has("v2-start-201"):
        status = 201  # the bug: v1's "Created" kept when the start route moved to v2
    token = "" if world.faults.has("start-empty-token") else op.token
    if world.faults.has("v2-start-token-member"):
        # The bug: the start answer is still serialized from v1's AcceptedOperation.
        return json_response(status, {"token": token})
    return json_response(status, world.dialect.start_body(token))


def poll(world: World, call: Call) -> Response:
    """GET .../Tasks/{token}: the operation's OperationProgress."""
    op = _visible_operation(world, call, cancelling=False)
    progress = progress_of(op, call.now)
    if world.variants.has("coarse-progress"):
        progress.percent = coarse(progress.percent)
    if op.order.kind == COPY and op.outcome is not None:
        op.ended_polls += 1
        _leave_lock(world, op, call)
    if op.order.kind == COPY and op.outcome is Status.COMPLETED:
        _duplicate_result(world, op, call)
        if world.faults.has("completed-flaps") and op.ended_polls == 2:
            # The bug: a stale replica answers once more that the copy is still running.
            progress.status, progress.percent = Status.IN_PROGRESS.value, 99
        else:
            _link_result(world, op, call, progress)
    _misreport(world, op, progress)
    dialect = world.dialect
    if progress.status in {s.value for s in RUNNING}:
        code = 200 if world.faults.has("running-200") else dialect.poll_running
    else:
        code = dialect.poll_copy_done if progress.location else dialect.poll_ended
    headers = {"location": progress.location} if progress.location else {}
    if progress.location and dialect.copy_done_redirects:
        return Response(code, headers)  # a redirect: Location says it all (the guide)
    body = progress.body()
    if world.variants.has("precise-timestamps"):
        body |= {
            "startTimestamp": precise_iso(progress.start_time),
            "statusTimestamp": precise_iso(progress.status_time),
        }
    if world.faults.has("timestamps-as-numbers"):
        # The bug: the clock's raw epoch seconds go out instead of date-time strings.
        body |= {"startTimestamp": progress.start_time, "statusTimestamp": progress.status_time}
    return json_response(code, body, headers)


def _link_result(world: World, op: Operation, call: Call, progress: Progress) -> None:
    """Point a Completed copy's report at its result: Location, redirectUri, entryId."""
    result = op.result_id or 0
    if world.faults.has("location-points-to-source"):
        result = op.order.source_id
    repo = OTHER_REPO if world.faults.has("location-wrong-repo") else world.config.repo_id
    origin = "" if world.variants.has("relative-location") else call.origin
    progress.location = world.dialect.entry_location(origin, repo, result)
    progress.entry_id = result
    if world.faults.has("entry-id-mismatch"):
        progress.entry_id = op.order.dest_id


def _duplicate_result(world: World, op: Operation, call: Call) -> None:
    """poll-duplicates-result: every poll after the first re-runs the copy's final commit."""
    if not world.faults.has("poll-duplicates-result") or op.ended_polls < 2:
        return
    tree = world.tree
    result = tree.get(op.result_id or 0)
    dest = tree.get(op.order.dest_id)
    if result is None or dest is None or not dest.is_folder:
        return
    name = tree.free_name(dest.id, result.name)
    tree.add(dest.id, name, result.entry_type, op.creator, call.now, result.target_id)


def _leave_lock(world: World, op: Operation, call: Call) -> None:
    """poll-leaves-lock: each status lookup after the first that found the copy ended
    writes a lock document it never removes."""
    dest = world.tree.get(op.order.dest_id)
    if not world.faults.has("poll-leaves-lock") or op.ended_polls < 2:
        return
    if dest is None or not dest.is_folder:
        return
    world.tree.add(
        dest.id, world.tree.free_name(dest.id, "~task.lock"), "Document", op.creator, call.now
    )


def _misreport(world: World, op: Operation, progress: Progress) -> None:
    """The faults that bend an otherwise truthful progress report."""
    faults = world.faults
    if faults.has("progress-backwards") and progress.status == Status.IN_PROGRESS.value:
        if op.reported_progress and not op.went_backwards:
            op.went_backwards = True
            progress.percent = 0  # the bug: a restarted worker reports from scratch, once
        op.reported_progress = op.reported_progress or progress.percent > 0
    if faults.has("failed-without-errors") and progress.status == Status.FAILED.value:
        progress.errors = []
    if faults.has("wrong-operation-type") and op.order.kind == DELETE:
        progress.operation_type = TASK_TYPES[COPY]


def cancel(world: World, call: Call) -> Response:
    """DELETE .../Tasks/{token}: cancel a running operation (204), refuse an ended one (400)."""
    if world.faults.has("cancel-unknown-204") and world.engine.find(call.params["token"]) is None:
        return Response(world.dialect.cancel_accepted)  # the bug: "already gone" taken for success
    op = _visible_operation(world, call, cancelling=True)
    if op.ended:
        if world.faults.has("cancel-ended-204"):
            op.outcome = Status.CANCELLED  # the bug: rewrites an ended operation's history
            return Response(world.dialect.cancel_accepted)
        raise Problem(400, ENDED_TITLE, f"The operation ended as {op.status_at(call.now).value}.")
    if world.faults.has("cancel-ignored"):
        return Response(world.dialect.cancel_accepted)  # the bug: acknowledged, then forgotten
    if world.faults.has("stalls-uncancellable") and op.stalled:
        return Response(world.dialect.cancel_accepted)  # the bug: the hung worker never hears it
    world.engine.cancel(op, call.now)
    if world.faults.has("cancel-leaks-outside") and op.order.kind == COPY:
        _leave_partial_beside_source(world, op, call.now)
    if world.faults.has("cancel-200"):  # the bug: the status body, as if it were a poll
        return json_response(200, progress_of(op, call.now).body())
    return Response(world.dialect.cancel_accepted)


def coarse(percent: int) -> int:
    """coarse-progress: 0, 50 or 100."""
    return 0 if percent < 50 else 50 if percent < 100 else 100


def _leave_partial_beside_source(world: World, op: Operation, now: float) -> None:
    """cancel-leaks-outside: a scratch folder left next to the source, outside the copy."""
    source = world.tree.get(op.order.source_id)
    if source is None or source.parent_id is None:
        return
    name = world.tree.free_name(source.parent_id, f"{op.order.name}.partial")
    world.tree.add(source.parent_id, name, FOLDER, op.creator, now)


def _forgotten(op: Operation, now: float) -> bool:
    """running-token-forgotten: a status cache that drops in-flight entries after 3 s."""
    return not op.ended and now - op.created_at >= 3.0


def _visible_operation(world: World, call: Call, cancelling: bool) -> Operation:
    """The operation a token names, if this session may see it and it has not expired."""
    token = call.params["token"]
    op = world.engine.find(token)
    if op is None:
        if not cancelling and world.faults.has("unknown-token-500"):
            raise Problem(500, "Internal Server Error", "Object reference not set to an instance.")
        raise Problem(404, "Request operationToken not found.", f"No operation '{token}'.")
    if op.session != call.session.index and not world.faults.has("tasks-shared"):
        if cancelling and world.faults.has("foreign-cancel-acts") and not op.ended:
            world.engine.cancel(op, call.now)  # the bug: acts first, checks ownership after
        if world.variants.has("forbidden-foreign"):
            raise Problem(403, "Forbidden", "The operation belongs to another session.")
        # Same answer as an unknown token: another session's tokens must not leak.
        raise Problem(404, "Request operationToken not found.", f"No operation '{token}'.")
    if world.faults.has("running-token-forgotten") and _forgotten(op, call.now):
        raise Problem(404, "Request operationToken not found.", f"No operation '{token}'.")
    if world.engine.is_expired(op, call.now):
        if cancelling and world.faults.has("cancel-expired-400"):
            raise Problem(400, ENDED_TITLE, "The operation ended and its token expired.")
        if world.faults.has("expired-410"):
            raise Problem(410, "Gone", f"Operation '{token}' expired.")
        raise Problem(404, "Request operationToken not found.", f"Operation '{token}' expired.")
    return op
