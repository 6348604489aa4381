"""Dialects: how each wire says what happened to an operation.

A dialect reads an answer into what the model and the checks reason about, so that
nothing above this layer reads a body's field or a header: a poll's answer becomes a
`PollReport` for one token, a cancel's a `CancelSaid` (the status it reports, whether the token is gone, the
document's statements about the operation and its result). `v1.py` reads both v1
dialects (`openapi-v1`, `guide-v1`: they differ in data, which `contract/profiles.py`
holds). A new dialect is one module here with the same readers and a `Profile` naming
it (`Profile.wire`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol


class Answer(Protocol):
    """What a dialect reads of an answer (a `client.Exchange` is one)."""

    status: int | None

    def json(self) -> Any: ...

    def header(self, name: str) -> str | None: ...


class _Missing(Enum):
    MISSING = "missing"


#: A member the status document does not carry at all.
MISSING = _Missing.MISSING


@dataclass(frozen=True)
class Claim:
    """One statement a status document makes about a copy's result, besides its link:
    `field` as the dialect names it, and the value sent. `kind` "uri" is compared with
    the link as a URL, "entry" with the entry id the link names."""

    field: str
    kind: str  # "uri" | "entry"
    value: Any


@dataclass(frozen=True)
class PollReport:
    """What one poll answer says about one operation, as its dialect reads it.

    `status` is the wire status name reported (None: the answer reports none); `gone`
    says the token is unknown to the server (v1: 404). `document` is true when the answer
    carries a status document, and only then are the members read from it set (their
    raw values, `MISSING` when absent: the checks judge their types). `link` is where the
    answer says a copy's result is (v1: the Location header); `claims` are the document's
    other statements of the result, which must agree with the link (RED-3)."""

    status: str | None = None
    gone: bool = False
    document: bool = False
    token: Any = MISSING  # the token the document names
    kind: Any = MISSING  # the operation type it names
    percent: Any = MISSING
    errors: Any = MISSING  # the errors member as sent
    errors_valid: bool = True  # the errors member has the dialect's shape
    error_messages: tuple[str, ...] = ()  # the non-empty messages among the errors
    link: str | None = None
    claims: tuple[Claim, ...] = ()


class CancelSaid(Enum):
    """What a cancel's answer says about one token."""

    ACCEPTED = "accepted"  # it ran: it will end Cancelled (v1 204)
    REFUSED = "refused"  # it had ended (v1 400; v2 `result: false`)
    RECEIVED = "received"  # accepted if it ran, its status kept if it had ended (v2 `true`)
    GONE = "gone"  # the token is unknown (v1 404; v2 left out of the list)


#: How a dialect names the members of its status document, for the checks' messages.
@dataclass(frozen=True)
class Members:
    start_token: str  # where a start's answer carries the token
    token: str
    kind: str
    percent: str
    errors: str
    error_message: str
    link: str  # where a completed copy's result is said to be
