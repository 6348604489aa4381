"""The emulator's transport-neutral request and response: what `handle` takes and gives.

Both the in-process respx route (mock mode) and the Starlette app convert to
and from these, so the emulator's behaviour is the same over either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str  # upper case
    url: str  # absolute URL with query string, e.g. "https://h/v1/Repositories/r1/Tasks/x?a=1"
    headers: dict[str, str] = field(default_factory=dict)  # keys lower case
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)
