"""Checks of answers to requests that must be refused or found: CAN-4, ERR-1, ERR-2,
AUT-1, ISO-1."""

from __future__ import annotations

from .registry import Context, Failure, check, fail, short


@check("CAN-4", "cancel-unknown", "cancel-malformed")
def cancel_unknown_not_found(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if status in (ctx.profile.not_found, ctx.profile.bad_request):
        return []
    return fail(
        "cancel of an unknown token not answered 404",
        "404 (400 if the server finds it malformed)",
        f"{status}",
    )


@check("ERR-2", "poll-unknown", "cancel-unknown", "poll-malformed", "cancel-malformed")
def unknown_token_not_found(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if status in (ctx.profile.not_found, ctx.profile.bad_request):
        return []
    return fail("an unknown token was not answered 404", "404 (or 400 when malformed)", f"{status}")


@check("ERR-1")
def errors_are_problem_documents(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if status < 400 or ctx.action == "clock":
        return None
    if ctx.facts.get("odd_path"):  # a fuzzed path a front end may refuse before the API
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
    return fail(
        f"a request with {ctx.facts['auth']} bearer token was not refused",
        f"{ctx.profile.unauthorized}",
        f"{status}",
        sound=not 200 <= (status or 0) < 300,  # it may have started or changed something
    )


@check("ISO-1", "poll-foreign", "cancel-foreign")
def foreign_session_refused(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    # A status reported (a document's, or the profile's completion redirect, which hands
    # over the result as a document would), or a 2xx that does not say the token is gone.
    reached = ctx.report.status is not None or (200 <= status < 300 and not ctx.report.gone)
    if reached:
        return fail(
            "a session reached another session's operation",
            "404 or 403 (the token belongs to another session)",
            f"{status}",
            sound=ctx.action == "poll-foreign",  # a foreign cancel that worked changed state
        )
    return [] if status < 500 else None
