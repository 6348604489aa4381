"""Checks of what schemathesis' generated requests got back (`contract/fuzz/`): ERR-3 for
every request, and ERR-2, SUB-3 and AUT-1 for fuzzed requests and their aftermath.

Only what a clause forbids is a failure. A correct server may answer junk with 400,
404, 415 or 422, may route a strange path id to 404 before reading the body, and may
authenticate after routing: so a malformed start fails SUB-3 only when it is accepted,
and an unauthenticated valid request fails AUT-1 when it is served or refused with a
status no correct server gives it. What is malformed is decided from the request as
sent (`contract/fuzz/inputs.py`), not from the document.
"""

from __future__ import annotations

from ..model import Said
from .facts import AftermathFacts, FuzzFacts
from .registry import Context, Failure, check, fail, said_gone, short

#: Answers of a gateway in front of the server or of its load, not of the request: a
#: staging tenant behind a proxy may give them to any request, so they are not judged.
UNAVAILABLE = frozenset({502, 503, 504})
#: Actions that may have started or cancelled something when their outcome is unknown.
MUTATING = ("start-copy", "start-delete", "start-busy", "start-malformed", "cancel")


@check("ERR-3")
def no_server_error(ctx: Context) -> list[Failure] | None:
    """Any request the suite makes, the state machine's or the fuzzer's."""
    if ctx.action == "clock":
        return None
    status = ctx.exchange.status or 0
    if status < 500:
        return []
    if status in UNAVAILABLE:
        return None
    mutating = ctx.action.removeprefix("fuzz-") in MUTATING or "unauthenticated" in ctx.action
    return fail(
        f"the server answered {status}",
        "any answer but 5xx (a request the server cannot serve is a 4xx)",
        f"{status}: {short(ctx.exchange.response_body)}",
        sound=not mutating,  # whether it started or cancelled something is unknown
    )


@check("ERR-2", "fuzz-poll", "fuzz-cancel")
def fuzzed_token_unknown(ctx: Context) -> list[Failure] | None:
    """A generated token the server never issued (to an authenticated session)."""
    facts = ctx.facts
    if not isinstance(facts, FuzzFacts) or facts.token_issued or facts.auth != "session":
        return None
    status = ctx.exchange.status or 0
    if said_gone(ctx) or status == ctx.profile.bad_request:
        return []
    # A token with characters a URL or router may treat specially can be refused by the
    # routing layer (405, 414, ...): only an answer that serves it, or a 5xx, is wrong then.
    if not facts.plain_token and 400 <= status < 500:
        return None
    if status == ctx.profile.busy or status in UNAVAILABLE:  # a limit, a gateway: any call
        return None
    gone = ctx.profile.said()[Said.GONE]
    return fail(
        f"a token the server never issued was not answered {gone}",
        f"{gone} (or {ctx.profile.bad_request} when malformed), never 2xx or 5xx",
        f"{status} for token {ctx.token!r}",
        sound=ctx.action == "fuzz-poll" or status >= 300,
    )


@check("SUB-3", "fuzz-start-copy", "fuzz-start-delete")
def fuzzed_malformed_start_refused(ctx: Context) -> list[Failure] | None:
    """A generated start whose input is malformed, sent with a valid bearer token."""
    facts = ctx.facts
    if not isinstance(facts, FuzzFacts) or not facts.malformation or facts.auth != "session":
        return None
    malformation = facts.malformation
    status = ctx.exchange.status or 0
    if not 200 <= status < 300:
        return []
    return fail(
        "a malformed start was accepted",
        f"a refusal (400) of {malformation}",
        f"{status}: {short(ctx.exchange.response_body)}",
    )


@check(
    "AUT-1",
    *(
        f"fuzz-{call}"
        for call in ("start-copy", "start-delete", "poll", "cancel", "create-folder", "get-entry")
    ),
)
def fuzzed_unauthenticated_refused(ctx: Context) -> list[Failure] | None:
    """A generated request sent with no or an invalid bearer token. The fuzzer sends valid
    requests so: one that is served, or refused with another 4xx than 400 (a body a
    server reads before authenticating) or 429 (a request limit), breaks AUT-1."""
    facts = ctx.facts
    if not isinstance(facts, FuzzFacts) or facts.auth == "session":
        return None
    auth = facts.auth
    if facts.odd_path or facts.malformation:
        return None  # a front end, a route or a body check may refuse it first
    status = ctx.exchange.status or 0
    if status == ctx.profile.unauthorized:
        return []
    lenient = {ctx.profile.bad_request, ctx.profile.busy}
    if status >= 500 or status in lenient or 300 <= status < 400:
        return None
    served = 200 <= status < 300
    return fail(
        f"a request with {'no' if auth == 'none' else 'an invalid'} bearer token was "
        + ("served" if served else "not refused with 401"),
        f"{ctx.profile.unauthorized}",
        f"{status}",
    )


def _aftermath(facts: AftermathFacts, what: str) -> list[Failure]:
    before, after = facts.before, facts.after
    if before != after:
        added = sorted(after - before)
        gone = sorted(before - after)
        return fail(
            f"a refused {what} changed the sandbox",
            "the sandbox listing unchanged",
            f"added {added or 'nothing'}, removed {gone or 'nothing'}",
        )
    if facts.slot is False:
        return fail(
            f"a refused {what} left its session busy",
            "the next start in that session accepted",
            facts.slot_answer,
        )
    return []


@check("SUB-3", "fuzz-aftermath")
def refused_malformed_start_changed_nothing(ctx: Context) -> list[Failure] | None:
    if not isinstance(ctx.facts, AftermathFacts) or ctx.facts.suspect != "SUB-3":
        return None
    return _aftermath(ctx.facts, "malformed start")


@check("AUT-1", "fuzz-aftermath")
def refused_unauthenticated_request_changed_nothing(ctx: Context) -> list[Failure] | None:
    if not isinstance(ctx.facts, AftermathFacts) or ctx.facts.suspect != "AUT-1":
        return None
    return _aftermath(ctx.facts, "unauthenticated request")
