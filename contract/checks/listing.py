"""Checks of a listing of several tasks (a dialect that names its tasks in a query list,
v2): LST-1 and LST-2. What each listed task says is judged as any poll's answer (the
model steps each of the session's tasks; a live one left out is gone too early)."""

from __future__ import annotations

from collections import Counter

from .registry import Context, Failure, check, fail, short


def _listed(ctx: Context) -> list[object] | None:
    if ctx.exchange.status != ctx.profile.entry_read:  # a listing answers 200
        return None
    return ctx.profile.listed_ids(ctx.exchange)


@check("LST-1", "poll-several")
def several_ids_each_listed_once(ctx: Context) -> list[Failure] | None:
    """Named ids: each of the session's listed once; no other id listed."""
    ids = _listed(ctx)
    if ids is None or not ctx.facts["asked"]:
        return None
    return _only_the_sessions(ctx, ids, set(ctx.facts["asked"]) & set(ctx.facts["mine"]))


@check("LST-2", "poll-several")
def no_id_lists_the_sessions_tasks(ctx: Context) -> list[Failure] | None:
    """No id named: every task listed is the session's, once."""
    ids = _listed(ctx)
    if ids is None or ctx.facts["asked"]:
        return None
    return _only_the_sessions(ctx, ids, set(ctx.facts["mine"]))


def _only_the_sessions(ctx: Context, ids: list[object], allowed: set[str]) -> list[Failure]:
    twice = sorted(str(i) for i, n in Counter(map(str, ids)).items() if n > 1)
    if twice:
        return fail(
            "a task listed more than once", "each task once", short(f"listed again: {twice}")
        )
    strays = [i for i in ids if i not in allowed]
    if strays:
        return fail(
            "a listing holds a task it must leave out",
            "only the session's live tasks named (none named: all of them)",
            short(f"also listed: {strays}"),
            sound=True,
        )
    return []
