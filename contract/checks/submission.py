"""Checks of starting an operation: SUB-1, SUB-3, SUB-4."""

from __future__ import annotations

from ..model import Status
from .facts import EndFacts, MalformedFacts, StartFacts
from .registry import Context, Failure, check, fail, short

STARTS = ("start-copy", "start-delete", "start-busy")


@check("SUB-1", *STARTS)
def start_answers_token(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    present = isinstance(ctx.facts, StartFacts) and ctx.facts.present
    if status == ctx.profile.not_found and present:
        named = [ctx.intent.target] if ctx.intent else []
        if ctx.intent and ctx.intent.dest is not None:
            named.append(ctx.intent.dest)
        return fail(
            "a start naming entries that exist answered 404",
            f"{ctx.profile.start_accepted} and a token: "
            + ", ".join(f"#{i}" for i in named)
            + " are in the sandbox",
            f"{status}",
        )
    if not 200 <= status < 300:
        return None
    if ctx.profile.started_token(status, ctx.body()) is None:  # one the run cannot follow
        return fail(
            "start answered without a token",
            f'a JSON body with a non-empty string "{ctx.profile.members.start_token}"',
            short(ctx.exchange.response_body),
            sound=False,
        )
    if status != ctx.profile.start_accepted:
        return fail(
            "start answered with the wrong status",
            f"{ctx.profile.start_accepted} ({ctx.profile.name})",
            f"{status}",
        )
    return []


@check("SUB-3", "start-malformed")
def malformed_start_rejected(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if status == ctx.profile.busy:
        return None  # refused as busy before the input was read: the model judges the slot
    facts = ctx.facts if isinstance(ctx.facts, MalformedFacts) else MalformedFacts()
    allowed = {ctx.profile.bad_request}
    if facts.malformed_path:  # a non-integer id may fail routing instead
        allowed.add(ctx.profile.not_found)
    if facts.missing:  # the entry named was removed: its 404 may come first
        allowed.add(ctx.profile.not_found)
    if status in allowed:
        return []
    return fail(
        "malformed start not rejected with 400",
        f"{' or '.join(map(str, sorted(allowed)))} for {facts.malformation}",
        f"{status}",
        sound=status < 200 or status >= 300,  # accepted: an operation the run cannot follow
    )


@check("SUB-4", "start-copy", "start-delete", "ended")
def missing_input_never_completes(ctx: Context) -> list[Failure] | None:
    if ctx.intent is None or not ctx.intent.missing:
        return None
    if ctx.action == "ended":
        if not isinstance(ctx.facts, EndFacts):
            return None
        status = ctx.facts.status
        if status is Status.COMPLETED:
            return fail(
                "an operation on a missing entry Completed",
                "404 at the start, or the operation ends Failed with an error",
                "status Completed",
            )
        return [] if status is Status.FAILED else None
    status = ctx.exchange.status or 0
    if status in (ctx.profile.not_found, ctx.profile.start_accepted):
        return []
    if status >= 500:
        return fail(
            "a start naming a missing entry answered 5xx",
            "404, or an accepted start",
            f"{status}",
            sound=False,  # whether it started something is unknown
        )
    return None
