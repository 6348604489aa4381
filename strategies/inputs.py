"""Bad input: unknown and malformed tokens, malformed start requests."""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st


def unknown_tokens(sample: str | None) -> st.SearchStrategy[str]:
    """Tokens this server never issued, shaped like `sample` (one it did issue) when known."""
    if not sample:
        return st.uuids().map(str)

    def mutate(rnd_chars: list[str]) -> str:
        out, i = [], 0
        for ch in sample:
            if ch in string.hexdigits or ch.isalnum():
                out.append(rnd_chars[i % len(rnd_chars)])
                i += 1
            else:
                out.append(ch)
        return "".join(out)

    alphabet = (
        "0123456789abcdef"
        if all(c in string.hexdigits or not c.isalnum() for c in sample)
        else string.ascii_letters + string.digits
    )
    return (
        st.lists(st.sampled_from(alphabet), min_size=8, max_size=8)
        .map(mutate)
        .filter(lambda t: t != sample)
    )


@cache
def malformed_tokens() -> st.SearchStrategy[str]:
    """Strings no server would issue as a token."""
    return st.one_of(
        st.sampled_from(["not-a-token", "0", "-1", "..", "%00", "' OR '1'='1", "токен", "x" * 600]),
        st.text(alphabet="!$&'()*+,;=@ ~", min_size=1, max_size=12),
        st.uuids().map(lambda u: str(u) + "-x"),
    )


@dataclass(frozen=True)
class MalformedStart:
    """A start request broken in one way: `description` says how."""

    description: str
    kind: str  # "copy" or "delete"
    body: Any = None  # JSON body, when `raw` is None
    raw: bytes | None = None
    bad_path_id: str | None = None  # replaces the destination / entry id in the path

    @property
    def malformed_path(self) -> bool:
        return self.bad_path_id is not None


def malformed_starts(
    source: int, name: str, *, delete_comment: str | None = None
) -> st.SearchStrategy[MalformedStart]:
    """Start requests that a server must reject with 400 (or 404 for a non-integer path id).
    With `delete_comment` (a dialect whose delete takes an optional body: the name of its
    comment member), deletes of a real entry whose body is broken too: the body is
    optional, not ignorable."""
    M = MalformedStart
    good = {"sourceId": source, "name": name}
    bodies = [
        M("a delete body that is not JSON", "delete", raw=b"{not json"),
        M("a delete body that is a JSON array", "delete", body=["comment"]),
        M("auditReasonId as a string", "delete", body={"auditReasonId": "abc"}),
        M(f"{delete_comment} as a number", "delete", body={delete_comment: 12345}),
    ]
    return st.sampled_from(
        (bodies if delete_comment else [])
        + [
            M("a body that is not JSON", "copy", raw=b"{not json"),
            M("a JSON array instead of an object", "copy", body=[source, name]),
            M("JSON null", "copy", raw=b"null"),
            M("no sourceId", "copy", body={"name": name}),
            M("no name", "copy", body={"sourceId": source}),
            M("sourceId as a string", "copy", body={**good, "sourceId": "abc"}),
            M("sourceId as a fraction", "copy", body={**good, "sourceId": source + 0.5}),
            M("sourceId as a boolean", "copy", body={**good, "sourceId": True}),
            M("name as a number", "copy", body={**good, "name": 12345}),
            M("a non-integer destination id", "copy", body=good, bad_path_id="abc"),
            M("a fractional destination id", "copy", body=good, bad_path_id="1.5"),
            M("a non-integer entry id", "delete", bad_path_id="not-an-id"),
        ]
    )


def fresh_suffix() -> str:
    return uuid.uuid4().hex[:8]
