"""Checks of answers to requests that must be refused or found: CAN-4, ERR-1, ERR-2,
AUT-1, ISO-1."""

from __future__ import annotations

from ..model import Said
from .facts import AuthFacts, FuzzFacts
from .registry import Context, Failure, check, fail, said_gone, short


@check("CAN-4", "cancel-unknown", "cancel-malformed")
def cancel_unknown_not_found(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if said_gone(ctx) or status == ctx.profile.bad_request:
        return []
    said = ctx.profile.said()[Said.GONE]
    return fail(
        f"cancel of an unknown token not answered {said}",
        f"{said} ({ctx.profile.bad_request} if the server finds it malformed)",
        f"{status}",
    )


@check("ERR-2", "poll-unknown", "cancel-unknown", "poll-malformed", "cancel-malformed")
def unknown_token_not_found(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if said_gone(ctx) or status == ctx.profile.bad_request:
        return []
    said = ctx.profile.said()[Said.GONE]
    return fail(
        f"an unknown token was not answered {said}",
        f"{said} (or {ctx.profile.bad_request} when malformed)",
        f"{status}",
    )


@check("ERR-1")
def errors_are_problem_documents(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if status < 400 or ctx.action == "clock":
        return None
    if isinstance(ctx.facts, FuzzFacts) and ctx.facts.odd_path:  # a front end may refuse it
        return None
    body = ctx.body()
    if not isinstance(body, dict):
        return fail(
            f"a {status} answer is not a problem document",
            "a JSON object (RFC 9457)",
            short(ctx.exchange.response_body) or "an empty body",
        )
    if body.get("status") != status or isinstance(body.get("status"), bool):
        return fail(
            "problem document status differs from the HTTP status",
            f'"status": {status}',
            f'"status": {body.get("status")!r}',
        )
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        return fail("problem document has no title", 'a non-empty "title"', repr(title))
    return []


@check("AUT-1", "unauthenticated")
def unauthenticated_rejected(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status
    if status == ctx.profile.unauthorized:
        return []
    auth = ctx.facts.auth if isinstance(ctx.facts, AuthFacts) else "no valid"
    return fail(
        f"a request with {auth} bearer token was not refused",
        f"{ctx.profile.unauthorized}",
        f"{status}",
        sound=not 200 <= (status or 0) < 300,  # it may have started or changed something
    )


@check("ISO-1", "poll-foreign", "cancel-foreign")
def foreign_session_refused(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    # A status reported (a document's, or the profile's completion redirect, which hands
    # over the result as a document would), or a 2xx that does not say "gone".
    told = ctx.action == "poll-foreign" and ctx.report.status is not None
    if told or (200 <= status < 300 and not said_gone(ctx)):
        return fail(
            "a session reached another session's operation",
            f"{ctx.profile.said()[Said.GONE]} or 403 (the token belongs to another session)",
            f"{status}",
            sound=ctx.action == "poll-foreign",  # a foreign cancel that worked changed state
        )
    return [] if status < 500 else None
