"""The dialects the emulator speaks: paths, status codes and JSON shapes on the wire.

Everything a client can see of the wire format lives here, so the rest of the
emulator speaks in entries and operations; which dialect one emulator speaks is
part of its configuration (`EmulatorConfig.profile`, `World.dialect`). Where the
vendor's guide and its OpenAPI document disagree (FACTS.md), `openapi-v1` follows
the document and the live service (starts answer 201, a completed copy 201 with a
Location, other ended operations 200) and `guide-v1` the "Long Operations" guide
(copy at `.../children/CopyAsync`, starts answer 202, a completed copy 302 Found
with a Location and no body). Where the guide is silent, `guide-v1` answers as the
document does.

`v2` is API v2 ("tasks"), from FACTS.md ("API v2: tasks") and the vendor's v2 document
(`contract/schemas/lf-repository-v2-swagger.json`, build 20230919): starts answer 202
`{"taskId"}`; a task's status is read, and it is cancelled, through the Tasks collection
(`GET|DELETE .../Tasks?taskIds=a,b`, always 200 with a list, no Location); a completed
copy names its entry in the TaskProgress's `result`. Its endpoints are
`task_lists.py`; the long poll of `GET .../Tasks` is `Emulator.handle_async`'s.

A dialect chooses by data, not by branches elsewhere: its route table (`paths`: which
routes exist and where; `app.ENDPOINTS` says what each route does), the status of each
situation, the start answer's property, where `autoRename` and the delete's comment are
read. Task types and failure causes are tables (`TASK_TYPES`, `ERROR_CAUSES`) from the
engine's words to the wire's, so another long operation (export, search) is a row.

This table is written from FACTS.md and the vendor's documents, not from
`contract/profiles.py`: the emulator is a reference build, so a profile the gate gets
wrong shows up as a failure against it instead of being mirrored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clock import iso
from .messages import Response
from .operations import CONFLICT, COPY, DELETE, INVALID, MISSING, Operation, OperationError
from .tree import DEFAULT_VOLUME, FOLDER, SHORTCUT, Entry, Tree

JSON_CONTENT_TYPE = "application/json"

#: The engine's operation kinds as the wire names them: v1's `operationType`, v2's
#: `taskType` (the v2 document's TaskType enum also has ExportEntry, ImportUploadedParts
#: and SearchEntry: a row each, once the engine runs them).
TASK_TYPES: dict[str, str] = {COPY: "CopyEntry", DELETE: "DeleteEntry"}

#: Why a step failed -> the status and title of v2's ProblemDetails in a task's `errors`
#: (v1's errors carry only the entry and the message). The statuses are those the start
#: routes list for the same refusal (404, 409, 400), a decision: the v2 document does not
#: say what a task's errors hold beyond "ProblemDetails".
ERROR_CAUSES: dict[str, tuple[int, str]] = {
    MISSING: (404, "Entry not found."),
    CONFLICT: (409, "Entry name conflict."),
    INVALID: (400, "Invalid or bad request."),
}

_V1 = "/v1/Repositories/(?P<repo>[^/]+)"
_V1_FOLDER = "/Entries/(?P<id>[^/]+)/Laserfiche\\.Repository\\.Folder"
_V2 = "/v2/Repositories/(?P<repo>[^/]+)"
_V2_FOLDER = "/Entries/(?P<id>[^/]+)/Folder"
#: Test hooks: the same in every dialect (and routed only on a virtual clock).
TEST_HOOK_PATHS: tuple[tuple[str, str], ...] = (
    ("clock", "/_test/clock"),
    ("clock-advance", "/_test/clock/advance"),
)
TEST_HOOK_ROUTES = frozenset(name for name, _ in TEST_HOOK_PATHS)


def v1_paths(copy_route: str) -> tuple[tuple[str, str], ...]:
    """API v1's routes; `copy_route` is where the copy call lives below the folder."""
    return (
        ("entry", _V1 + "/Entries/(?P<id>[^/]+)"),
        ("children", _V1 + _V1_FOLDER + "/children"),
        ("copy", _V1 + _V1_FOLDER + "/" + re.escape(copy_route)),
        ("task", _V1 + "/Tasks/(?P<token>[^/]+)"),  # one operation, its token in the path
    )


#: API v2's routes, as its document's paths (StartCopyEntry, StartDeleteEntry, GetEntry,
#: ListEntries, CreateEntry, ListTasks, CancelTasks).
V2_PATHS: tuple[tuple[str, str], ...] = (
    ("entry", _V2 + "/Entries/(?P<id>[^/]+)"),
    ("children", _V2 + _V2_FOLDER + "/Children"),
    ("copy", _V2 + _V2_FOLDER + "/CopyAsync"),
    ("tasks", _V2 + "/Tasks"),  # the collection: tasks named in the query (taskIds)
)


@dataclass(frozen=True)
class Route:
    """A request path matched to a route, with its raw path parameters."""

    name: str
    params: dict[str, str]


@dataclass(frozen=True)
class Dialect:
    """One wire format of the long-operation API: its routes, the status code of each
    situation, and where the requests' options are read."""

    name: str
    summary: str  # one line for `lro-emulator --help`
    api: str  # the paths' version segment ("v1", "v2"): where an entry is fetched
    #: route name -> path pattern (named groups are the path parameters). Which methods
    #: each route takes is decided by the emulator's handler table (`app.ENDPOINTS`), so a
    #: known path with a wrong method can answer 405.
    paths: tuple[tuple[str, str], ...]
    # The copy call's path below the folder's (`.../Laserfiche.Repository.Folder`, v2 `.../Folder`).
    copy_route: str
    start_accepted: int  # a copy or delete started
    poll_running: int  # NotStarted or InProgress
    poll_copy_done: int  # Completed with a result entry, Location set (3xx: no body)
    poll_ended: int  # Completed without a result, Failed, Cancelled
    cancel_accepted: int = 204
    entry_created: int = 201  # a folder or shortcut created (synchronously)
    tasks_listed: int = 200  # v2: a Tasks listing, whatever its tasks' states
    start_key: str = "token"  # the start answer's one property: {"token": ...}
    auto_rename_in: str = "query"  # where copies and creations read autoRename: query or body
    delete_comment: str = "comment"  # the delete body's comment property
    routes: dict[str, re.Pattern[str]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        routes = {name: re.compile(path) for name, path in self.paths + TEST_HOOK_PATHS}
        object.__setattr__(self, "routes", routes)

    @property
    def copy_done_redirects(self) -> bool:
        """A completed copy is answered with a redirect (and no status body)."""
        return 300 <= self.poll_copy_done < 400

    def match_route(self, path: str) -> Route | None:
        """The route `path` names, or None when no route has that shape."""
        for name, pattern in self.routes.items():
            found = pattern.fullmatch(path)
            if found:
                return Route(name, found.groupdict())
        return None

    def entries_path(self, repo_id: str) -> str:
        """The path of a repository's entries: `/{api}/Repositories/{repo}/Entries`."""
        return f"/{self.api}/Repositories/{repo_id}/Entries"

    def entry_location(self, origin: str, repo_id: str, entry_id: int) -> str:
        """Where an entry can be fetched: `{origin}/{api}/Repositories/{repo}/Entries/{id}`."""
        return f"{origin}{self.entries_path(repo_id)}/{entry_id}"

    def start_body(self, token: str) -> dict[str, str]:
        """What a start answers: `{"token": ...}` (v1), `{"taskId": ...}` (v2)."""
        return {self.start_key: token}


OPENAPI_V1 = Dialect(
    name="openapi-v1",
    summary="the vendor's OpenAPI v1 document and the live service: copy at "
    ".../Folder/CopyAsync, starts 201, a completed copy 201 + Location",
    api="v1",
    paths=v1_paths("CopyAsync"),
    copy_route="CopyAsync",
    start_accepted=201,
    poll_running=202,
    poll_copy_done=201,
    poll_ended=200,
)
GUIDE_V1 = Dialect(
    name="guide-v1",
    summary='the "Long Operations" guide: copy at .../Folder/children/CopyAsync, '
    "starts 202, a completed copy 302 Found + Location",
    api="v1",
    paths=v1_paths("children/CopyAsync"),
    copy_route="children/CopyAsync",
    start_accepted=202,
    poll_running=202,
    poll_copy_done=302,
    poll_ended=200,  # the guide is silent: as the vendor document
)
V2 = Dialect(
    name="v2",
    summary="API v2 (tasks, the vendor's v2 document): starts 202 {taskId}, "
    "GET|DELETE .../Tasks?taskIds= 200 with a list (long polling on the wall clock)",
    api="v2",
    paths=V2_PATHS,
    copy_route="CopyAsync",
    start_accepted=202,
    # A Tasks listing (`tasks_listed`) answers 200 whatever its tasks' states; no Location.
    poll_running=200,
    poll_copy_done=200,
    poll_ended=200,
    cancel_accepted=200,
    start_key="taskId",
    auto_rename_in="body",  # StartCopyEntryRequest, CreateEntryRequest
    delete_comment="auditReasonComment",  # StartDeleteEntryRequest
)
DIALECTS: dict[str, Dialect] = {d.name: d for d in (OPENAPI_V1, GUIDE_V1, V2)}


def entry_json(tree: Tree, entry: Entry) -> dict[str, Any]:
    """An entry as the vendor's Entry schema (Folder or Shortcut subtype) shows it."""
    parent_path = tree.full_path(entry.parent_id) if entry.parent_id is not None else None
    body: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "parentId": entry.parent_id,
        "fullPath": tree.full_path(entry.id),
        "folderPath": parent_path,  # the parent folder's path; null for the root
        "creator": entry.creator,
        "creationTime": iso(entry.created),
        "lastModifiedTime": iso(entry.modified),
        "entryType": entry.entry_type,
        "isContainer": entry.is_folder,
        "isLeaf": not entry.is_folder,
        "templateName": "",
        "templateId": 0,
        "templateFieldNames": [],
        "volumeName": DEFAULT_VOLUME,
        "rowNumber": 0,
    }
    if entry.entry_type == FOLDER:
        body |= {"isRecordFolder": False, "isUnderRecordSeries": False}
    elif entry.entry_type == SHORTCUT:
        body |= {"targetId": entry.target_id, "targetType": entry.target_type}
    return body


@dataclass
class Progress:
    """What one poll reports about an operation: the OperationProgress body, plus Location."""

    token: str
    operation_type: str
    status: str
    percent: int
    errors: list[dict[str, Any]]
    entry_id: int = 0  # the copy's result, when Completed
    location: str | None = None  # set for a Completed copy
    start_time: float = 0.0
    status_time: float = 0.0

    def body(self) -> dict[str, Any]:
        return {
            "operationToken": self.token,
            "operationType": self.operation_type,
            "percentComplete": self.percent,
            "status": self.status,
            "errors": self.errors,
            "redirectUri": self.location,
            "entryId": self.entry_id,
            "startTimestamp": iso(self.start_time),
            "statusTimestamp": iso(self.status_time),
        }


def progress_of(op: Operation, now: float) -> Progress:
    """The truthful report of `op` at `now`, before any result links are added."""
    return Progress(
        token=op.token,
        operation_type=TASK_TYPES[op.order.kind],
        status=op.status_at(now).value,
        percent=op.percent(),
        errors=[{"objectId": e.object_id, "errorMessage": e.message} for e in op.errors],
        start_time=op.created_at,
        status_time=op.status_changed_at(now),
    )


def precise_iso(t: float) -> str:
    """A timestamp with microseconds and an explicit +00:00 offset (precise-timestamps)."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="microseconds")


# --- API v2: TaskProgress and CancelTaskResult -------------------------------------------
#
# As the v2 document's schemas define them. Nothing in either is `required`; every
# property is sent. Decisions where the document leaves a choice:
# * `errors` is null until a step failed (the document makes it nullable, as `result`:
#   "none" is null in both), then a list of ProblemDetails, one per entry the task could
#   not handle: `status` and `title` from ERROR_CAUSES, the message as `detail`, the
#   entry's path as `instance`, the task id as `operationId`.
# * `result` is `{entryId, uri}` for a Completed copy (the new entry, `uri` where it is
#   fetched), null otherwise: a deleted entry has nothing left to point at.
# * `startTime` is when the task was accepted (v1's startTimestamp), `lastUpdateTime` when
#   its status or progress last changed.


def task_error(error: OperationError, task_id: str, entries_path: str) -> dict[str, Any]:
    """One of a v2 task's `errors`: a ProblemDetails about the entry it could not handle."""
    status, title = ERROR_CAUSES[error.cause]
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": error.message,
        "instance": f"{entries_path}/{error.object_id}",
        "operationId": task_id,
    }


def task_progress(
    op: Operation, now: float, result: dict[str, Any] | None, entries_path: str
) -> dict[str, Any]:
    """A v2 TaskProgress of `op` at `now`; `entries_path` is `/v2/Repositories/{repo}/Entries`."""
    errors = [task_error(e, op.token, entries_path) for e in op.errors]
    return {
        "id": op.token,
        "taskType": TASK_TYPES[op.order.kind],
        "percentComplete": op.percent(),
        "status": op.status_at(now).value,
        "errors": errors or None,
        "result": result,
        "startTime": iso(op.created_at),
        "lastUpdateTime": iso(op.status_changed_at(now)),
    }


def task_result(entry_id: int, uri: str) -> dict[str, Any]:
    """A v2 TaskResult: the entry a task made, and where to fetch it."""
    return {"entryId": entry_id, "uri": uri}


def cancel_result(op: Operation, received: bool) -> dict[str, Any]:
    """A v2 CancelTaskResult: whether "the request to cancel the task has been received"."""
    return {"id": op.token, "taskType": TASK_TYPES[op.order.kind], "result": received}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; `ensure_ascii` keeps odd names (lone surrogates) encodable."""
    head = {"content-type": JSON_CONTENT_TYPE, **(headers or {})}
    return Response(status, head, json.dumps(body, ensure_ascii=True).encode())
