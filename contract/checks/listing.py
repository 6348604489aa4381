"""Checks of a listing of several tasks (a dialect that names its tasks in a query list,
v2: a poll's, a cancel's): LST-1 and LST-2, and the long poll that serves it (LST-3).
What each listed task says is judged as any poll's (or cancel's) answer (the model steps
each of the session's tasks; a live one left out is gone too early).

A run knows only the tasks it started: a session's listing of everything may rightly
hold tasks the run never saw (an earlier example's on a live server, another client's
with the same credentials). So LST-2 holds against it only what the run knows to be
wrong: a task twice, another session's task.

A long poll may hold its answer until a named task ends, for at most the long poll
(v2: 60 s); a task already ended is news at once. "At once" is less than half the long
poll (plus tolerance): a slow network or a busy server is not taken for a held answer,
while a server that waits out its long poll is. The time is real (`Exchange.took`), also
against a build with clock hooks, whose clock stands still while a request is held; the
embedded emulator never holds one, so there these checks hold trivially."""

from __future__ import annotations

from collections import Counter

from ..client import Exchange
from ..model import Model, Operation, Status, Timing
from ..profiles import Profile
from .facts import Held, ListingFacts, PollFacts
from .registry import Context, Failure, check, fail, short


def _listed(ctx: Context) -> list[object] | None:
    ok = ctx.profile.cancel_accepted if "cancel" in ctx.action else ctx.profile.entry_read
    if ctx.exchange.status != ok:  # a listing answers 200, a cancel's too (v2)
        return None
    return ctx.profile.listed_ids(ctx.exchange)


@check("LST-1", "poll-several", "cancel-several")
def several_ids_each_listed_once(ctx: Context) -> list[Failure] | None:
    """Named ids: each of the session's listed once; no other id listed (one not named,
    another session's, one never issued)."""
    ids, facts = _listed(ctx), ctx.facts
    if ids is None or not isinstance(facts, ListingFacts) or not facts.asked:
        return None
    allowed = set(facts.asked) & set(facts.mine)
    return _once(ids) or _strays([i for i in ids if i not in allowed])


@check("LST-2", "poll-several")
def no_id_lists_the_sessions_tasks(ctx: Context) -> list[Failure] | None:
    """No id named: every task listed once, none of them another session's."""
    ids, facts = _listed(ctx), ctx.facts
    if ids is None or not isinstance(facts, ListingFacts) or facts.asked:
        return None
    foreign = set(facts.others)
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


def allowance(profile: Profile, before: Model, named: list[str], ex: Exchange) -> Held | None:
    """How long a correct server may take to answer `ex`, a poll naming `named` (LST-3),
    from what the run knew when it sent it (`before`); None when the dialect does not
    long-poll. --long-poll (`Timing.long_poll`) overrides the profile's."""
    timing = before.timing
    if not profile.long_poll:
        return None
    long_poll = profile.long_poll if timing.long_poll is None else timing.long_poll
    ended = tuple(
        t
        for t in dict.fromkeys(named)
        if t in before.ops and _known_ended(before.ops[t], ex, timing)
    )
    slack = timing.hold_tolerance
    return Held(long_poll + slack, long_poll / 2 + slack, ended)


def _known_ended(op: Operation, ex: Exchange, timing: Timing) -> bool:
    """Whether `op` was seen ended before `ex` was sent and surely still retrievable when
    its answer came (its TTL counts from an end after `running_until`)."""
    return (
        op.ended_by is not None
        and op.ended_by <= ex.sent
        and Status.EXPIRED not in op.possible
        and ex.received < op.running_until + timing.ttl - timing.tolerance
    )


def _held(ctx: Context) -> tuple[Held, float] | None:
    """The poll's allowance and how long its answer took in real seconds (a virtual clock
    stands still while a server holds a request); None when it was not answered (a
    timeout is an unknown outcome) or its rule reckons no allowance."""
    held = ctx.facts.held if isinstance(ctx.facts, PollFacts | ListingFacts) else None
    if held is None or ctx.exchange.status is None:
        return None
    return held, ctx.exchange.took


@check("LST-3", "poll", "poll-several")
def long_poll_answers_in_time(ctx: Context) -> list[Failure] | None:
    """Any poll: answered within the long poll and its tolerance."""
    timed = _held(ctx)
    if timed is None:
        return None
    held, took = timed
    if took > held.most:
        return fail(
            "a poll was held back longer than the long poll",
            f"an answer within {held.most:g} s (the long poll and its tolerance)",
            f"answered after {took:.1f} s",
        )
    return []


@check("LST-3", "poll", "poll-several")
def long_poll_answers_ended_at_once(ctx: Context) -> list[Failure] | None:
    """A poll naming a task already seen ended: answered at once, not held."""
    timed = _held(ctx)
    if timed is None or not timed[0].ended:
        return None
    held, took = timed
    if took > held.prompt:
        return fail(
            "a poll naming an ended task was held back",
            f"an answer at once (within {held.prompt:g} s): "
            f"{', '.join(held.ended)} had already ended",
            f"answered after {took:.1f} s",
        )
    return []
