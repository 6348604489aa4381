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

This table is written from FACTS.md, not from `contract/profiles.py`: the emulator
is a reference build, so a profile the gate gets wrong shows up as a failure
against it instead of being mirrored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .clock import iso
from .messages import Response
from .operations import Operation
from .tree import DEFAULT_VOLUME, FOLDER, SHORTCUT, Entry, Tree

JSON_CONTENT_TYPE = "application/json"

_REPO = "/v1/Repositories/(?P<repo>[^/]+)"
_FOLDER = "/Entries/(?P<id>[^/]+)/Laserfiche\\.Repository\\.Folder"
TEST_HOOK_ROUTES = frozenset({"clock", "clock-advance"})


@dataclass(frozen=True)
class Route:
    """A request path matched to a route, with its raw path parameters."""

    name: str
    params: dict[str, str]


@dataclass(frozen=True)
class Dialect:
    """One wire format of the long-operation API: where the copy call lives, and the
    status code of each situation."""

    name: str
    summary: str  # one line for `lro-emulator --help`
    copy_route: str  # the copy call's path after the folder's `Laserfiche.Repository.Folder`
    start_accepted: int  # a copy or delete started
    poll_running: int  # NotStarted or InProgress
    poll_copy_done: int  # Completed with a result entry, Location set (3xx: no body)
    poll_ended: int  # Completed without a result, Failed, Cancelled
    cancel_accepted: int = 204
    entry_created: int = 201  # a folder or shortcut created (synchronously)
    #: route name -> path pattern. Which methods each route takes is decided by the
    #: emulator's handler table, so a known path with a wrong method can answer 405.
    routes: dict[str, re.Pattern[str]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        routes = {
            "entry": re.compile(_REPO + "/Entries/(?P<id>[^/]+)"),
            "children": re.compile(_REPO + _FOLDER + "/children"),
            "copy": re.compile(_REPO + _FOLDER + "/" + re.escape(self.copy_route)),
            "task": re.compile(_REPO + "/Tasks/(?P<token>[^/]+)"),
            "clock": re.compile("/_test/clock"),
            "clock-advance": re.compile("/_test/clock/advance"),
        }
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


OPENAPI_V1 = Dialect(
    name="openapi-v1",
    summary="the vendor's OpenAPI v1 document and the live service: copy at "
    ".../Folder/CopyAsync, starts 201, a completed copy 201 + Location",
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
    copy_route="children/CopyAsync",
    start_accepted=202,
    poll_running=202,
    poll_copy_done=302,
    poll_ended=200,  # the guide is silent: as the vendor document
)
DIALECTS: dict[str, Dialect] = {d.name: d for d in (OPENAPI_V1, GUIDE_V1)}


def entry_location(origin: str, repo_id: str, entry_id: int) -> str:
    """Where an entry can be fetched: `{origin}/v1/Repositories/{repo}/Entries/{id}`."""
    return f"{origin}/v1/Repositories/{repo_id}/Entries/{entry_id}"


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
        operation_type=op.order.kind,
        status=op.status_at(now).value,
        percent=op.percent(),
        errors=[{"objectId": e.object_id, "errorMessage": e.message} for e in op.errors],
        start_time=op.created_at,
        status_time=op.status_changed_at(now),
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer; `ensure_ascii` keeps odd names (lone surrogates) encodable."""
    head = {"content-type": JSON_CONTENT_TYPE, **(headers or {})}
    return Response(status, head, json.dumps(body, ensure_ascii=True).encode())
