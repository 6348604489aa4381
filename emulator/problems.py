"""Problem documents (RFC 9457): how every error answer of the emulator looks.

Handlers raise `Problem`; the emulator turns it into a response at one place,
so every 4xx and 5xx carries the same shape: `type`, `title`, `status`,
`detail` and `instance` (the request path), as `application/problem+json`.
"""

from __future__ import annotations

import json

from .faults import FaultSet
from .messages import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    """An error answer: raise it anywhere below `handle` to reply with a problem document."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def problem_response(problem: Problem, instance: str, faults: FaultSet) -> Response:
    """The HTTP answer for `problem` raised while serving the request at path `instance`."""
    body = {
        "type": "about:blank",
        "title": problem.title,
        # The bug: a hard-coded 400 where the real status belongs.
        "status": 400 if faults.has("problem-status-mismatch") else problem.status,
        "detail": problem.detail,
        "instance": instance,
    }
    headers = {"content-type": PROBLEM_CONTENT_TYPE, **problem.headers}
    return Response(problem.status, headers, json.dumps(body).encode())
