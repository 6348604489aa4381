"""Profiles: one dialect of the long-operation contract each (paths, status codes and
the schema of each documented answer).

The guide and the vendor's OpenAPI document disagree (FACTS.md, "The guide (v1)
versus the vendor document (v1)"); a profile says which one a target speaks.
Checks ask the profile what to expect and never hard-code a status, a path or a schema.

To add a profile: one `Profile(...)` below, named in `PROFILES`. Everything else (the
checks, the machine, `--profile auto`'s probe, the reports) reads it from there; the
emulator serves a profile of the same name from `emulator/dialect.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .dialects import Answer, CancelSaid, Members, PollReport, v1, v2
from .model import Said

#: The module that reads each wire (`Profile.wire`): see `contract/dialects/`.
WIRES = {"v1": v1, "v2": v2}

#: Where a dialect's repository paths start (under the base URL): `{API_ROOT}/{repoId}/...`.
API_ROOT = "v1/Repositories"


@cache
def _repository_pattern(api_root: str) -> re.Pattern[str]:
    """The part of a request path after `/{api_root}/{repoId}/` (a base URL may add a
    prefix)."""
    return re.compile(rf"/{re.escape(api_root)}/[^/]+/(?P<rest>.+)$")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    # Paths relative to {api_root}/{repoId}/ under the base URL
    copy_path: str  # .format(dest=...)
    delete_path: str  # .format(entry=...)
    task_path: str  # .format(token=...); a `?name={token}` names the token in the query
    entry_path: str  # .format(entry=...)
    children_path: str  # .format(entry=...)
    # Status codes per situation
    start_accepted: int
    poll_running: int
    poll_completed_copy: int  # a Completed copy, answered with Location (3xx: a redirect)
    poll_ended: int  # every other ended state
    cancel_accepted: int
    cancel_ended: int
    entry_created: int = 201  # a fixture folder created (the sandbox)
    entry_read: int = 200  # an entry read, a page of a folder's listing
    not_found: int = 404
    busy: int = 429
    unauthorized: int = 401
    bad_request: int = 400
    # A delete start takes an optional JSON body (v1's DeleteEntryInfo {auditReasonId,
    # comment}, v2's StartDeleteEntryRequest {auditReasonId, auditReasonComment}): the name
    # of its comment member, None when it takes none. A malformed one is bad input like a
    # copy's (SUB-3).
    delete_comment: str | None = None
    # SCH-1: the bundled document whose schemas describe this dialect's bodies (a name in
    # contract/schemas/, patched), and the schema of each 2xx answer it documents, by the
    # call made (see `call_of`) and the status. An answer not listed is not judged.
    schema_document: str = ""
    response_schemas: Mapping[tuple[str, int], str] = field(default_factory=dict, hash=False)
    # Clauses this dialect gives nothing to judge: clause id -> why. A run in this profile
    # reports them skipped with the reason (not "not tested", which would ask for more).
    inapplicable: Mapping[str, str] = field(default_factory=dict, hash=False)
    api_root: str = API_ROOT
    wire: str = "v1"  # the module of `contract/dialects/` that reads its answers (WIRES)
    # A copy's and a folder creation's autoRename goes in the JSON body (v2), not the query.
    rename_in_body: bool = False
    # Seconds a correct server may hold a poll's answer back (v2's long poll: "immediately
    # … or after at most 60 seconds"); a live run waits that much longer for an answer.
    long_poll: float = 0.0

    @property
    def members(self) -> Members:
        """How the dialect names its documents' members (for the checks' messages)."""
        return WIRES[self.wire].MEMBERS

    def read_poll(self, answer: Answer, token: str | None) -> PollReport:
        """What a poll's answer says about `token`: the status it reports, whether the
        token is gone, the status document's statements (the one reader of a poll)."""
        return WIRES[self.wire].read_poll(self, answer, token)

    def read_cancel(self, answer: Answer, token: str) -> CancelSaid | None:
        """What a cancel's answer says about `token`; None when it says none of that."""
        return WIRES[self.wire].read_cancel(self, answer, token)

    def tasks_query(self) -> tuple[str, str] | None:
        """(path, query parameter) when the dialect names its tasks in a query list (v2):
        one poll (or cancel) may name several tasks, or none for every one of the session."""
        path, _, query = self.task_path.partition("?")
        return (path, query.partition("=")[0]) if query else None

    def listed_ids(self, answer: Answer) -> list[Any] | None:
        """The ids a task listing holds, in order and repeats kept (None: no listing)."""
        return WIRES[self.wire].listed_ids(answer)

    def allowed(self, call: str) -> str:
        """What the answers to a "poll" or a "cancel" may be, in words (for `Unplaced`)."""
        return WIRES[self.wire].allowed(self)[call]

    def with_rename(self, body: Any, auto_rename: bool | None) -> tuple[Any, dict[str, str] | None]:
        """A copy's or creation's JSON body and query, with autoRename where the dialect
        reads it (nothing added when it is None or the body is no object)."""
        if auto_rename is None:
            return body, None
        if not self.rename_in_body:
            return body, {"autoRename": str(auto_rename).lower()}
        return ({**body, "autoRename": auto_rename} if isinstance(body, dict) else body), None

    def repository_path(self, repo_id: str) -> str:
        """The path (no leading slash, a trailing one) under which a repository's calls
        lie, for `repo_id` as it goes on the wire (quoted by the caller if need be)."""
        return f"{self.api_root}/{repo_id}/"

    def calls(self) -> tuple[tuple[str, str, str], ...]:
        """(method, path template, call name) of every request the gate makes."""
        return (
            ("POST", self.copy_path, "start-copy"),
            ("DELETE", self.delete_path, "start-delete"),
            ("GET", self.task_path, "poll"),
            ("DELETE", self.task_path, "cancel"),
            ("POST", self.children_path, "create-folder"),
            ("GET", self.children_path, "list"),
            ("GET", self.entry_path, "get-entry"),
        )

    def call_of(self, method: str, url: str) -> str | None:
        """Which call a request is, from its method and path (whatever the machine's reason
        for making it: a busy start, a followed Location, a listing's next page)."""
        found = _repository_pattern(self.api_root).search(urlsplit(url).path)
        if found is None:
            return None
        for verb, template, call in self.calls():
            path = template.partition("?")[0]
            if verb == method.upper() and _template_pattern(path).fullmatch(found["rest"]):
                return call
        return None

    def task_token(self, url: str) -> str | None:
        """The token a poll's or a cancel's URL names (as the server handed it out), or None
        for any other request."""
        path, _, query = self.task_path.partition("?")
        if query:  # the token is a query parameter's (one token: a poll or cancel of it)
            if self.call_of("GET", url) != "poll":
                return None
            named = parse_qs(urlsplit(url).query).get(query.partition("=")[0], [])
            one = len(named) == 1 and "," not in named[0]
            return named[0] if one and named[0] else None
        found = _repository_pattern(self.api_root).search(urlsplit(url).path)
        head, _, tail = self.task_path.partition("{token}")
        named = found and re.fullmatch(
            re.escape(head) + "(?P<token>[^/]+)" + re.escape(tail), found["rest"]
        )
        return unquote(named["token"]) if named else None

    @property
    def unavailable(self) -> frozenset[int]:
        """Answers to a poll or cancel that say nothing about the operation: a gateway's
        or an overloaded tenant's 502/503/504, a rate limit's 429, and a 401 to the
        session's own credentials (a bearer token that expired during a long run is the
        set-up's problem, not the server's): the outcome is unknown, neither pass nor fail."""
        return frozenset({self.busy, self.unauthorized, 502, 503, 504})

    @property
    def completion_redirects(self) -> bool:
        """A Completed copy is answered with a redirect to its result, not a status body."""
        return 300 <= self.poll_completed_copy < 400

    def started_token(self, status: int | None, body: Any) -> str | None:
        """The token a start's answer hands out, or None (no operation the run can
        follow): the dialect's reader is the one place that knows where it is."""
        return WIRES[self.wire].started_token(status, body)

    def created_entry(self, status: int | None, body: Any) -> int | None:
        """The id of the entry a create answer made, or None."""
        created = status == self.entry_created and isinstance(body, dict)
        entry = body.get("id") if created else None
        return entry if isinstance(entry, int) and not isinstance(entry, bool) else None

    def entries_named(self, url: str, body: str | None) -> set[int]:
        """The entries a request names: in its path, and a copy's source in its body."""
        named = {int(i) for i in re.findall(r"/Entries/(\d+)", urlsplit(url).path)}
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            sent = None
        source = sent.get("sourceId") if isinstance(sent, dict) else None
        if isinstance(source, int) and not isinstance(source, bool):
            named.add(source)
        return named

    def said(self) -> dict[Said, str]:
        """What each answer the model's texts name is on this wire (`model.worded`)."""
        return WIRES[self.wire].said(self)

    def response_schema(self, call: str, status: int) -> str | None:
        """The schema name of a documented 2xx answer to `call`; None if none is documented."""
        return self.response_schemas.get((call, status))

    def entry_location(self) -> re.Pattern[str]:
        """Where a completed copy's Location must point (path part)."""
        return re.compile(rf"^/{re.escape(self.api_root)}/(?P<repo>[^/]+)/Entries/(?P<entry>\d+)$")


#: v1 polls one token a request, in the path: no listing of tasks to judge.
V1_ONLY_ONE_TOKEN = {
    "LST-1": "v1 polls one token a request: there is no listing of several tasks",
    "LST-2": "v1 polls one token a request: there is no listing of the session's tasks",
    "LST-3": "v1's polls are not long polls: nothing documents how long one may be held",
}


OPENAPI_V1 = Profile(
    name="openapi-v1",
    description="the vendor's OpenAPI v1 document and the live service",
    copy_path="Entries/{dest}/Laserfiche.Repository.Folder/CopyAsync",
    delete_path="Entries/{entry}",
    task_path="Tasks/{token}",
    entry_path="Entries/{entry}",
    children_path="Entries/{entry}/Laserfiche.Repository.Folder/children",
    start_accepted=201,
    poll_running=202,
    poll_completed_copy=201,
    poll_ended=200,
    cancel_accepted=204,
    cancel_ended=400,
    delete_comment="comment",
    schema_document="lf-repository-v1-swagger",
    inapplicable=V1_ONLY_ONE_TOKEN,
    response_schemas={
        ("start-copy", 201): "AcceptedOperation",  # CopyEntryAsync
        ("start-delete", 201): "AcceptedOperation",  # DeleteEntryInfo
        ("poll", 200): "OperationProgress",  # GetOperationStatusAndProgress
        ("poll", 201): "OperationProgress",
        ("poll", 202): "OperationProgress",
        ("create-folder", 201): "Entry",  # CreateOrCopyEntry
        ("list", 200): "ODataValueContextOfIListOfEntry",  # GetEntryListing
        ("get-entry", 200): "Entry",  # GetEntry
        # CancelOperation answers 204 with no content: nothing to validate.
    },
)


GUIDE_V1 = Profile(
    name="guide-v1",
    description='the "Long Operations" guide (FACTS.md: guide vs vendor document)',
    copy_path="Entries/{dest}/Laserfiche.Repository.Folder/children/CopyAsync",
    delete_path="Entries/{entry}",  # "Delete follows the pattern"
    task_path="Tasks/{token}",
    entry_path="Entries/{entry}",
    children_path="Entries/{entry}/Laserfiche.Repository.Folder/children",
    start_accepted=202,
    poll_running=202,
    poll_completed_copy=302,  # Found, Location: /v1/Repositories/{repoId}/Entries/{newId}
    # The guide is silent on these; they are the vendor document's.
    poll_ended=200,
    cancel_accepted=204,
    cancel_ended=400,
    schema_document="guide-v1",  # written from the guide's examples (schemas/NOTICE.md)
    response_schemas={
        ("start-copy", 202): "AcceptedOperation",
        ("start-delete", 202): "AcceptedOperation",
        ("poll", 202): "OperationProgress",
        ("poll", 200): "OperationProgress",  # an ended operation other than a copy's result
        ("get-entry", 200): "Entry",  # following Location
        # The 302 carries no body; the guide shows no folder creation or listing.
    },
    inapplicable={
        "RED-3": "a completed copy answers 302 with no body: there is no redirectUri or "
        "entryId to compare with Location",
        **V1_ONLY_ONE_TOKEN,
    },
)


V2 = Profile(
    name="v2",
    description='API v2 (tasks): the vendor\'s v2 document (FACTS.md, "API v2")',
    copy_path="Entries/{dest}/Folder/CopyAsync",
    delete_path="Entries/{entry}",
    task_path="Tasks?taskIds={token}",  # ListTasks / CancelTasks, one task named
    entry_path="Entries/{entry}",
    children_path="Entries/{entry}/Folder/Children",
    start_accepted=202,
    # Every task listing answers 200, whatever its tasks' states; the result is in the
    # body (result.uri), and a cancel answers 200 with a result per task.
    poll_running=200,
    poll_completed_copy=200,
    poll_ended=200,
    cancel_accepted=200,
    cancel_ended=200,
    delete_comment="auditReasonComment",  # StartDeleteEntryRequest {auditReasonId, ...}
    schema_document="lf-repository-v2-swagger",
    response_schemas={
        ("start-copy", 202): "StartTaskResponse",  # StartCopyEntry
        ("start-delete", 202): "StartTaskResponse",  # StartDeleteEntry
        ("poll", 200): "TaskCollectionResponse",  # ListTasks
        ("poll-several", 200): "TaskCollectionResponse",
        ("cancel", 200): "CancelTasksResponse",  # CancelTasks
        ("create-folder", 201): "Entry",  # CreateEntry
        ("list", 200): "EntryCollectionResponse",  # ListEntries
        ("get-entry", 200): "Entry",  # GetEntry
    },
    api_root="v2/Repositories",
    wire="v2",
    rename_in_body=True,  # StartCopyEntryRequest, CreateEntryRequest
    long_poll=60.0,  # ListTasks
)


@cache
def _template_pattern(template: str) -> re.Pattern[str]:
    """A path template ("Entries/{entry}") as a pattern: each {name} one path segment."""
    parts = re.split(r"\{\w+\}", template)
    return re.compile("[^/]+".join(map(re.escape, parts)))


PROFILES: dict[str, Profile] = {p.name: p for p in (OPENAPI_V1, GUIDE_V1, V2)}


def profile(name: str) -> Profile:
    """The profile called `name`; a ValueError names the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r}; choose one of: {known}") from None
