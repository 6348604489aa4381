"""Legitimate variants: behaviours a correct server may have that the clean emulator does
not, each of which the gate must pass (issue #16: "a correct server that is slower, names
things differently, adds fields or refuses bad input earlier must pass").

`lro-emulator --variant NAME` (repeatable, `all` for every one; `--list-variants`) and
`lro-conformance --variant NAME` (mock mode) build the emulator with them. The code asks
`world.variants.has("opaque-tokens")` at the one place each changes behaviour, as faults
do; a variant never breaks a clause (`tests/test_variants.py` runs the gate against each
and against all at once). To add one: an entry below, its branch, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from .faults import print_lines
from .messages import Response

ALL = "all"

#: What undeclared-properties adds to every JSON object it dresses.
UNDECLARED: dict[str, object] = {
    "@odata.context": "https://example.invalid/$metadata#Undeclared",
    "_links": {"self": {"href": "/undeclared"}},
    "apiVersion": "1.99",
}


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    source: str  # why a correct server may do this (FACTS.md, the vendor's documents)


_CATALOGUE: tuple[Variant, ...] = (
    Variant(
        "undeclared-properties",
        "Every JSON object it answers (2xx bodies and problem documents; in v2 also each "
        "listed task and cancel result) carries properties no document declares: "
        "@odata.context, _links, apiVersion.",
        "OData services and newer builds add fields; clients ignore what they do not know.",
    ),
    Variant(
        "connection-close",
        "Every answer carries Connection: close (no keep-alive).",
        "RFC 9112 §9.6: a server may close after any answer.",
    ),
    Variant(
        "retry-after",
        "A 429 carries Retry-After: 1.",
        "RFC 9110 §10.2.3; rate limits commonly say when to retry.",
    ),
    Variant(
        "opaque-tokens",
        "Operation tokens are opaque URL-safe strings (43 characters), not UUIDs.",
        "The vendor document types the token as a string, nothing more.",
    ),
    Variant(
        "forbidden-foreign",
        "A poll or cancel of another session's token answers 403 instead of 404.",
        "FACTS.md: the service may tell a foreign token from an unknown one (403).",
    ),
    Variant(
        "precise-timestamps",
        "Timestamps carry microseconds and +00:00 instead of Z.",
        "Both are RFC 3339 date-times; .NET writes seven fractional digits.",
    ),
    Variant(
        "coarse-progress",
        "percentComplete moves 0 → 50 → 100 only.",
        "The guide promises a percentage, not its granularity.",
    ),
    Variant(
        "slow-start",
        "Operations queue NotStarted for 5 s before they run (a busy tenant).",
        "NotStarted is a documented status; nothing bounds how long it lasts.",
    ),
    Variant(
        "eager-validation",
        "A copy that would fail is refused at its start: a missing source 404, a folder "
        "into itself 400, a taken name without autoRename 409.",
        "The vendor document lists 400, 404 and 409 for the start; SUB-4 allows 404 at once.",
    ),
    Variant(
        "copy-rename-scheme",
        'autoRename picks "name - Copy", "name - Copy (2)"… instead of "name (2)".',
        "The vendor does not document the renamed form.",
    ),
    Variant(
        "relative-location",
        "A completed copy's Location (and redirectUri; v2: result.uri) is a path, not an "
        "absolute URL.",
        "RFC 9110 §10.2.2: Location is a URI reference, resolved against the request's.",
    ),
    Variant(
        "large-ids",
        "New entries get large ids in no particular order (a later entry may get a "
        "smaller one; still 32-bit).",
        "Ids are opaque integers (int32 in the vendor document).",
    ),
    Variant(
        "no-long-poll",
        "v2: a poll of the Tasks collection always answers at once, also on the wall clock "
        "while every task it names is running (v1: no change).",
        'The v2 document: ListTasks "could return the result immediately ... or after at '
        'most 60 seconds"; at once is within that.',
    ),
    Variant(
        "cancel-ended-false",
        "v2: cancelling a task that had already ended answers result: false for it (its "
        "status is kept either way; v1: no change).",
        'The v2 document: result "indicates if the request to cancel the task has been '
        'received"; a server may decline one that has nothing left to cancel (the '
        "vendor's own tests expect true).",
    ),
)

VARIANTS: dict[str, Variant] = {v.name: v for v in _CATALOGUE}


def expand(names: Iterable[str]) -> frozenset[str]:
    """The names given, `all` standing for every variant; a ValueError names unknown ones."""
    chosen = set(names)
    if ALL in chosen:
        chosen = (chosen - {ALL}) | set(VARIANTS)
    unknown = sorted(chosen - VARIANTS.keys())
    if unknown:
        raise ValueError(
            f"unknown variant(s) {', '.join(map(repr, unknown))}; known variants: "
            f"{', '.join(VARIANTS)} (or {ALL})"
        )
    return frozenset(chosen)


class VariantSet:
    """The variants one emulator was built with; `has(name)` guards each branch."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = expand(names)

    def has(self, name: str) -> bool:
        assert name in VARIANTS, f"code asks for unregistered variant {name!r}"
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def dress(self, response: Response) -> Response:
        """What the variants change in every answer: headers, extra properties."""
        headers, body = dict(response.headers), response.body
        if self.has("connection-close"):
            headers["connection"] = "close"
        if self.has("retry-after") and response.status == 429:
            headers["retry-after"] = "1"
        if self.has("undeclared-properties") and body:
            try:
                value = json.loads(body)
            except ValueError:
                value = None
            if isinstance(value, dict):
                body = json.dumps(undeclared(value)).encode()
        return replace(response, headers=headers, body=body)


def undeclared(value: dict[str, Any]) -> dict[str, Any]:
    """undeclared-properties: `value` with the UNDECLARED properties added."""
    return value | UNDECLARED


def print_catalogue() -> int:
    """`--list-variants`: one variant a line (name, what it does)."""
    width = max(len(name) for name in VARIANTS) + 2
    return print_lines(f"{v.name:<{width}} {v.description}" for v in _CATALOGUE)
