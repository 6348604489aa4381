"""The OpenAPI 3 document the fuzzer works from, written by the project from a profile.

It describes the long-operation endpoints of one dialect (start copy, start delete,
poll, cancel, create a folder, get an entry) with paths and success statuses read
from the `Profile`, never from the vendor's document: schemathesis generates requests
from it (valid ones and, in its negative mode, ones that break it), and its `links`
let schemathesis' stateful testing chain a start's token into a poll and a cancel.

Path ids are enumerated from the fuzz sandbox, so valid requests stay inside it; the
document states only what the contract says of a request (types and required
fields), and nothing here judges an answer: the response sections carry no schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..profiles import Profile

#: Operation ids: the call names `Profile.calls()` uses, so a case names its call.
START_COPY, START_DELETE, POLL, CANCEL = "start-copy", "start-delete", "poll", "cancel"
CREATE_FOLDER, GET_ENTRY = "create-folder", "get-entry"
CREATED = 201  # create-folder and get-entry answers are fixtures, the same in every dialect


def _path_id(name: str, ids: list[int]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "enum": ids},
    }


def token_parameter(profile: Profile) -> tuple[str, str]:
    """(name, where) of the parameter a poll and a cancel name their token in: v1's path
    (`Tasks/{token}`), or the dialect's query list (v2's `Tasks?taskIds=`), where any
    string, commas and all, is a list of ids to try."""
    listing = profile.tasks_query()
    return (listing[1], "query") if listing else ("token", "path")


def _token(profile: Profile) -> dict[str, Any]:
    name, where = token_parameter(profile)
    return {"name": name, "in": where, "required": True, "schema": {"type": "string"}}


def _json(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _answers(*statuses: int, links: dict[str, Any] | None = None) -> dict[str, Any]:
    answers: dict[str, Any] = {str(s): {"description": "documented success"} for s in statuses}
    if links:
        for status in statuses:
            answers[str(status)]["links"] = links
    return answers


def _token_links(profile: Profile) -> dict[str, Any]:
    name, where = token_parameter(profile)
    token = {f"{where}.{name}": f"$response.body#/{profile.members.start_token}"}
    return {
        "PollIt": {"operationId": POLL, "parameters": token},
        "CancelIt": {"operationId": CANCEL, "parameters": token},
    }


#: Body fields a loose twin of the document may loosen, by operation.
LOOSE_FIELDS = {
    "start-copy": ("sourceId", "name", "volumeName"),
    "create-folder": ("name", "entryType"),
}


def _body(required: list[str], fields: dict[str, Any], loose: str | None) -> dict[str, Any]:
    """An object body; the field named `loose` may be of any JSON type, null most of all
    (what a serializer writes for a value it does not have). A missing field is the
    negative mode's to try."""
    if loose in fields:
        fields = {**fields, loose: {"anyOf": [fields[loose], {}], "nullable": True}}
    body = {"type": "object", "properties": fields, "additionalProperties": False}
    return {**body, "required": required} if required else body


@dataclass(frozen=True)
class SandboxIds:
    """The ids valid requests may name, all inside the fuzzer's sandbox."""

    folders: list[int]  # copy into, create in
    sources: list[int]  # copy from
    victims: list[int]  # delete

    @property
    def every(self) -> list[int]:
        return sorted({*self.folders, *self.sources, *self.victims})


def document(profile: Profile, repo_id: str, ids: SandboxIds, *, loose: str | None = None) -> dict:
    """The document for `profile` on repository `repo_id`, its valid ids those of `ids`.

    `loose` names a body field (`LOOSE_FIELDS`) that the document's twin lets be null or
    of any JSON type: schemathesis' valid requests of that twin are requests of this
    one with just that field ill-typed (its negative mode mostly breaks a body whole:
    not JSON, not an object)."""
    base = "/" + profile.repository_path(quote(repo_id, safe=""))
    name = {"type": "string", "minLength": 1, "maxLength": 24}
    copy_body = _body(
        ["sourceId", "name"],
        {
            "sourceId": {"type": "integer", "enum": ids.sources},
            "name": name,
            "volumeName": {"type": "string", "nullable": True},
        },
        loose,
    )
    comment = profile.delete_comment or "comment"
    delete_body = _body(
        [], {"auditReasonId": {"type": "integer"}, comment: {"type": "string"}}, loose
    )
    folder_body = _body(
        ["name", "entryType"],
        {"name": name, "entryType": {"type": "string", "enum": ["Folder"]}},
        loose,
    )
    entry_links = {
        "ReadIt": {"operationId": GET_ENTRY, "parameters": {"entry": "$response.body#/id"}},
        "DeleteIt": {"operationId": START_DELETE, "parameters": {"entry": "$response.body#/id"}},
        "CopyInto": {"operationId": START_COPY, "parameters": {"dest": "$response.body#/id"}},
    }
    auto_rename = {"name": "autoRename", "in": "query", "schema": {"type": "boolean"}}
    ended = sorted({profile.poll_running, profile.poll_completed_copy, profile.poll_ended})
    paths: dict[str, dict[str, Any]] = {}

    def add(template: str, method: str, operation: dict[str, Any]) -> None:
        paths.setdefault(base + template, {})[method] = operation

    add(
        profile.copy_path,
        "post",
        {
            "operationId": START_COPY,
            "parameters": [_path_id("dest", ids.folders), auto_rename],
            "requestBody": _json(copy_body),
            "responses": _answers(profile.start_accepted, links=_token_links(profile)),
        },
    )
    add(
        profile.delete_path,
        "delete",
        {
            "operationId": START_DELETE,
            "parameters": [_path_id("entry", ids.victims)],
            "requestBody": _json(delete_body, required=False),
            "responses": _answers(profile.start_accepted, links=_token_links(profile)),
        },
    )
    tasks = profile.task_path.partition("?")[0]  # a query list is a parameter (_token)
    add(
        tasks,
        "get",
        {"operationId": POLL, "parameters": [_token(profile)], "responses": _answers(*ended)},
    )
    add(
        tasks,
        "delete",
        {
            "operationId": CANCEL,
            "parameters": [_token(profile)],
            "responses": _answers(profile.cancel_accepted),
        },
    )
    add(
        profile.children_path,
        "post",
        {
            "operationId": CREATE_FOLDER,
            "parameters": [_path_id("entry", ids.folders), auto_rename],
            "requestBody": _json(folder_body),
            "responses": _answers(CREATED, links=entry_links),
        },
    )
    add(
        profile.entry_path,
        "get",
        {
            "operationId": GET_ENTRY,
            "parameters": [_path_id("entry", ids.every)],
            "responses": _answers(200),
        },
    )
    return {
        "openapi": "3.0.3",
        "info": {"title": f"lro-conformance fuzzing ({profile.name})", "version": "1"},
        "paths": paths,  # the bearer token is the gate's to send (or leave out), not generated
    }
