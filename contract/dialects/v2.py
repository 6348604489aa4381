"""The v2 wire ("tasks", FACTS.md "API v2"): a start answers `{"taskId"}`; a poll is
`GET .../Tasks?taskIds=a,b`, one call for several tasks, answering 200
`{"value": [TaskProgress]}` and leaving out the ids it does not know (an unknown, expired
or other session's id is "gone", not a 404); TaskProgress is `{id, taskType,
percentComplete, status, errors (ProblemDetails, nullable), result ({entryId, uri},
nullable), startTime, lastUpdateTime}`, and a completed copy's result is `result.uri`
(no Location); a cancel is `DELETE .../Tasks?taskIds=`, answering 200
`{"value": [{id, taskType, result}]}` where `result: true` says the request to cancel
was received (a running task then ends Cancelled, an ended one keeps its status) and
`false` that it was not (a correct server may say so of an ended task)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import Said
from . import MISSING, Answer, CancelSaid, Claim, Members, PollReport

if TYPE_CHECKING:
    from ..profiles import Profile

MEMBERS = Members(
    start_token="taskId",
    token="id",
    kind="taskType",
    percent="percentComplete",
    errors="errors",
    error_message="title or detail",
    link="result.uri",
)

#: The query parameter that names the tasks of a poll or a cancel.
TASK_IDS = "taskIds"


def listed(answer: Answer) -> list[Any] | None:
    """The items of a 200 answer's `value` list; None when the answer is no such list."""
    body = answer.json()
    value = body.get("value") if isinstance(body, dict) else None
    return value if answer.status == 200 and isinstance(value, list) else None


def listed_ids(answer: Answer) -> list[Any] | None:
    """The `id` of each item a task listing holds, in order (repeats kept); None when
    the answer is no listing."""
    items = listed(answer)
    if items is None:
        return None
    return [item.get("id") if isinstance(item, dict) else None for item in items]


def _item(answer: Answer, token: str | None) -> dict[str, Any] | None | bool:
    """The first item about `token`; False when the list leaves it out; None when the
    answer is no list."""
    items = listed(answer)
    if items is None:
        return None
    found = [i for i in items if isinstance(i, dict) and i.get("id") == token]
    return found[0] if found else False


def read_poll(profile: Profile, answer: Answer, token: str | None) -> PollReport:
    """A poll's answer about `token`: its item in the list, or gone when left out."""
    if answer.status is None:
        return PollReport()
    if answer.status == profile.not_found:  # a server may refuse a list of unknown ids so
        return PollReport(gone=True)
    item = _item(answer, token)
    if item is None:
        return PollReport()
    if item is False:
        return PollReport(gone=True)
    assert isinstance(item, dict)
    wire, errors, result = item.get("status"), item.get(MEMBERS.errors), item.get("result")
    result = result if isinstance(result, dict) else {}
    uri, entry = result.get("uri"), result.get("entryId")
    messages = tuple(
        text
        for e in (errors if isinstance(errors, list) else ())
        if isinstance(e, dict)
        for text in (e.get("title"), e.get("detail"))
        if isinstance(text, str) and text.strip()
    )
    return PollReport(
        status=wire if isinstance(wire, str) else None,
        document=True,
        token=item.get(MEMBERS.token),
        kind=item.get(MEMBERS.kind),
        percent=item.get(MEMBERS.percent, MISSING),
        errors=errors,
        errors_valid=errors is None or isinstance(errors, list),
        error_messages=messages,
        link=uri if isinstance(uri, str) and uri else None,
        claims=(
            (Claim("result.entryId", "entry", entry),)
            if isinstance(entry, int) and not isinstance(entry, bool) and entry
            else ()
        ),
    )


def read_cancel(profile: Profile, answer: Answer, token: str) -> CancelSaid | None:
    """A cancel's answer about `token`: received (`result: true`), refused (`false`),
    gone (left out); None when the answer says nothing of it that way."""
    if answer.status == profile.not_found:
        return CancelSaid.GONE
    item = _item(answer, token)
    if item is None:
        return None
    if item is False:
        return CancelSaid.GONE
    assert isinstance(item, dict)
    said = item.get("result")
    if said is True:
        return CancelSaid.RECEIVED
    return CancelSaid.REFUSED if said is False else None


def started_token(status: int | None, body: Any) -> str | None:
    """A 2xx start answer's non-empty string `taskId`."""
    if status is None or not 200 <= status < 300 or not isinstance(body, dict):
        return None
    token = body.get(MEMBERS.start_token)
    return token if isinstance(token, str) and token else None


def said(profile: Profile) -> dict[Said, str]:
    """The answer each of the model's words stands for."""
    return {
        Said.BUSY: str(profile.busy),
        Said.GONE: "the id left out of the list",
        Said.CANCEL_ACCEPTED: "result true",
        Said.CANCEL_REFUSED: "result false",
    }


def allowed(profile: Profile) -> dict[str, str]:
    """What a poll's and a cancel's answers may be, for the model's texts (`Unplaced`)."""
    return {
        "poll": "200 listing the task; the id left out once expired",
        "cancel": "200 with result true while running (true or false once ended); the id "
        "left out once expired",
    }
