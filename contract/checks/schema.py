"""Checks of an answer's body against the profile's schemas: SCH-1.

The profile names, per call and 2xx status, the schema of the vendor document (patched,
see contract/schemas/) that the body must validate against; an answer the document does
not describe (another status, no content) is not judged here. Properties the schema
does not declare are allowed (compatible evolution) and named in the run's notes.
"""

from __future__ import annotations

import json
from functools import lru_cache

from .. import schemas
from .registry import Context, Failure, check, fail, short

#: Every action whose request may be answered 2xx with a documented body: the machine's
#: own calls and the requests that a correct server refuses (a 2xx there is judged too).
#: Left out: the clock hook, and steps that re-judge an exchange already judged.
SCHEMA_ACTIONS = (
    "start-copy",
    "start-delete",
    "start-busy",
    "start-malformed",
    "poll",
    "poll-foreign",
    "poll-unknown",
    "poll-malformed",
    "cancel",
    "cancel-foreign",
    "cancel-unknown",
    "cancel-malformed",
    "create-folder",
    "list",
    "follow-location",
    "unauthenticated",
)


@lru_cache(maxsize=1024)
def _problem(document: str, schema: str, text: str) -> tuple[str | None, tuple[str, ...]]:
    """Why a body does not validate (None: it does; "" when it is not JSON at all), and
    the properties it carries that the schema does not declare (allowed: compatible
    evolution). Cached by text: a run lists the same unchanged folders over and over."""
    try:
        body = json.loads(text)
    except ValueError:
        return "", ()
    problem = schemas.body_problem(document, schema, body)
    extra = () if problem is not None else tuple(schemas.undeclared(document, schema, body))
    return problem, extra


@check("SCH-1", *SCHEMA_ACTIONS)
def body_matches_schema(ctx: Context) -> list[Failure] | None:
    ex, profile = ctx.exchange, ctx.profile
    status = ex.status or 0
    call = profile.call_of(ex.method, ex.url) if 200 <= status < 300 else None
    name = profile.response_schema(call, status) if call else None
    if name is None or not profile.schema_document:
        return None
    expected = f"a body valid against {name} ({profile.name})"
    problem, extra = _problem(profile.schema_document, name, ex.response_body)
    if problem is None:
        if extra:  # a note, not a failure: a newer build may add fields
            ctx.undeclared.setdefault(f"{name} ({profile.schema_document})", set()).update(extra)
        return []
    if not problem:
        return fail(
            f"a {status} answer to {call} is not JSON",
            expected,
            short(ex.response_body, 200) or "an empty body",
        )
    return fail(f"a {status} answer to {call} does not match {name}", expected, short(problem, 200))
