"""The v1 wire (`openapi-v1` and `guide-v1`): one token per poll, in the path; the status
document is the vendor's OperationProgress (`operationToken`, `operationType`,
`percentComplete`, `status`, `errors` of `{objectId, errorMessage}`, `redirectUri`,
`entryId`); a completed copy's result is in the `Location` header, which the guide's
302 carries without any document; an unknown token answers 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import Said
from . import MISSING, Answer, CancelSaid, Claim, Members, PollReport

if TYPE_CHECKING:
    from ..profiles import Profile

MEMBERS = Members(
    start_token="token",
    token="operationToken",
    kind="operationType",
    percent="percentComplete",
    errors="errors",
    error_message="errorMessage",
    link="Location",
)


def read_poll(profile: Profile, answer: Answer, token: str | None) -> PollReport:
    """A poll's answer about `token` (v1 names one token per poll: the path's)."""
    status = answer.status
    if status is None:
        return PollReport()
    if status == profile.not_found:
        return PollReport(gone=True)
    location = answer.header("location") or None
    if profile.completion_redirects and status == profile.poll_completed_copy and location:
        # The guide's 302: a Completed copy, and its body (if any) is no status report.
        return PollReport(status="Completed", link=location)
    body = answer.json()
    if not 200 <= status < 300 or not isinstance(body, dict):
        return PollReport(link=location)
    wire = body.get("status")
    errors = body.get(MEMBERS.errors)
    messages = (
        tuple(
            e[MEMBERS.error_message]
            for e in errors or ()
            if isinstance(e, dict)
            and isinstance(e.get(MEMBERS.error_message), str)
            and e[MEMBERS.error_message].strip()
        )
        if isinstance(errors, list)
        else ()
    )
    return PollReport(
        status=wire if isinstance(wire, str) else None,
        document=True,
        token=body.get(MEMBERS.token),
        kind=body.get(MEMBERS.kind),
        percent=body.get(MEMBERS.percent, MISSING),
        errors=errors,
        errors_valid=isinstance(errors, list),
        error_messages=messages,
        link=location,
        claims=_claims(body),
    )


def _claims(body: dict[str, Any]) -> tuple[Claim, ...]:
    """`redirectUri` and `entryId`, where the document states them (empty ones do not)."""
    claims = []
    uri, entry = body.get("redirectUri"), body.get("entryId")
    if isinstance(uri, str) and uri:
        claims.append(Claim("redirectUri", "uri", uri))
    if isinstance(entry, int) and entry:
        claims.append(Claim("entryId", "entry", entry))
    return tuple(claims)


def read_cancel(profile: Profile, answer: Answer, token: str) -> CancelSaid | None:
    """A cancel's answer: 204 accepted, 400 refused (it had ended), 404 gone; None for
    any other (the caller tells an unknown outcome from a status no situation allows)."""
    return {
        profile.cancel_accepted: CancelSaid.ACCEPTED,
        profile.cancel_ended: CancelSaid.REFUSED,
        profile.not_found: CancelSaid.GONE,
    }.get(answer.status or 0)


def allowed(profile: Profile) -> dict[str, str]:
    """What a poll's and a cancel's answers may be, for the model's texts (`Unplaced`)."""
    poll = f"{profile.poll_running} or {profile.poll_ended} with a status body"
    if profile.completion_redirects:
        poll += f", {profile.poll_completed_copy} for a Completed copy"
    return {
        "poll": f"{poll}; {profile.not_found} once expired",
        "cancel": f"{profile.cancel_accepted} while running, {profile.cancel_ended} once "
        f"ended, {profile.not_found} once expired",
    }


def said(profile: Profile) -> dict[Said, str]:
    """The answer each of the model's words stands for: a status code."""
    return {
        Said.BUSY: str(profile.busy),
        Said.GONE: str(profile.not_found),
        Said.CANCEL_ACCEPTED: str(profile.cancel_accepted),
        Said.CANCEL_REFUSED: str(profile.cancel_ended),
    }


def listed_ids(answer: Answer) -> list[Any] | None:
    """v1 has no task listing."""
    return None


def started_token(status: int | None, body: Any) -> str | None:
    """The token a start's answer hands out: a 2xx answer's non-empty string `token`."""
    if status is None or not 200 <= status < 300 or not isinstance(body, dict):
        return None
    token = body.get(MEMBERS.start_token)
    return token if isinstance(token, str) and token else None
