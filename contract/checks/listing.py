"""Checks of a listing of several tasks (a dialect that names its tasks in a query list,
v2): LST-1 and LST-2. What each listed task says is judged as any poll's answer (the
model steps each of the session's tasks; a live one left out is gone too early).

A run knows only the tasks it started: a session's listing of everything may rightly
hold tasks the run never saw (an earlier example's on a live server, another client's
with the same credentials). So LST-2 holds against it only what the run knows to be
wrong: a task twice, another session's task."""

from __future__ import annotations

from collections import Counter

from .registry import Context, Failure, check, fail, short


def _listed(ctx: Context) -> list[object] | None:
    if ctx.exchange.status != ctx.profile.entry_read:  # a listing answers 200
        return None
    return ctx.profile.listed_ids(ctx.exchange)


@check("LST-1", "poll-several")
def several_ids_each_listed_once(ctx: Context) -> list[Failure] | None:
    """Named ids: each of the session's listed once; no other id listed (one not named,
    another session's, one never issued)."""
    ids = _listed(ctx)
    if ids is None or not ctx.facts["asked"]:
        return None
    allowed = set(ctx.facts["asked"]) & set(ctx.facts["mine"])
    return _once(ids) or _strays([i for i in ids if i not in allowed])


@check("LST-2", "poll-several")
def no_id_lists_the_sessions_tasks(ctx: Context) -> list[Failure] | None:
    """No id named: every task listed once, none of them another session's."""
    ids = _listed(ctx)
    if ids is None or ctx.facts["asked"]:
        return None
    foreign = set(ctx.facts["others"])
    return _once(ids) or _strays([i for i in ids if i in foreign])


def _once(ids: list[object]) -> list[Failure]:
    twice = sorted(str(i) for i, n in Counter(map(str, ids)).items() if n > 1)
    if twice:
        return fail(
            "a task listed more than once", "each task once", short(f"listed again: {twice}")
        )
    return []


def _strays(strays: list[object]) -> list[Failure]:
    if strays:
        return fail(
            "a listing holds a task it must leave out",
            "only the session's live tasks named (none named: all of them, and no other session's)",
            short(f"also listed: {strays}"),
            sound=True,
        )
    return []
