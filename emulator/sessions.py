"""User sessions: who is calling, read from the bearer token.

Each configured bearer token is one user session; the long-operation limit
and the isolation of tokens are per session. Bearer tokens are secrets: they
are compared here and never appear in any response (entries name their
creator "user-1", "user-2", … by session position instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .faults import FaultSet


@dataclass(frozen=True)
class Session:
    """One user session: its position among the configured tokens and its user name."""

    index: int

    @property
    def user(self) -> str:
        return f"user-{self.index + 1}"


def authenticate(
    headers: Mapping[str, str], tokens: Sequence[str], faults: FaultSet
) -> Session | None:
    """The session a request's `authorization: Bearer <token>` header names, or None."""
    value = _header(headers, "authorization")
    if value is None:
        # The bug: an anonymous request is served as if the first user sent it.
        return Session(0) if faults.has("missing-auth-accepted") else None
    token = _bearer_token(value)
    return Session(tokens.index(token)) if token in tokens else None


def has_wrong_bearer(headers: Mapping[str, str], tokens: Sequence[str]) -> bool:
    """True when the request carries a non-empty bearer token that names no session."""
    value = _header(headers, "authorization")
    token = _bearer_token(value) if value is not None else None
    return bool(token) and token not in tokens


def _bearer_token(value: str) -> str | None:
    """The token of an `authorization` value, or None when its scheme is not Bearer."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110 §11.1)
        return None
    return token.strip()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Keys should already be lower case; a stray capital must not turn a user away.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
