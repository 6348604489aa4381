"""Judging requests sent together: a batch's observations in every order the server may
have served them (`step_together`), on top of the one-at-a-time model in `model.py`.

A request answered before another was sent was served first (the client's event
numbers, `order`); requests in flight together may have been served either way. Pure,
like the model: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .model import CancelState, Model, Observation, Order, Outcome, Violation, step

#: The most orderings `step_together` tries (seven observations in flight together).
MAX_ORDERINGS = 5040

Timed = tuple[Observation, Order]  # an observation and its request's event numbers


@dataclass(frozen=True)
class Unordered:
    """Every order in which a batch may have been served breaks the contract, but not the
    same clause in each (a 429 beside another session's accepted start: a slot not freed,
    or one session blocking another?). Which clause depends on an order nobody saw, so the
    model names none: the requests one at a time will tell."""

    violations: tuple[Violation, ...]


def step_together(model: Model, timed: list[Timed]) -> Outcome | Violation | Unordered:
    """Judge observations whose requests may have been served in any order.

    A request answered before another was sent was served first (`order`); requests in
    flight together may have been served either way. Nothing is a violation that some
    such ordering explains: every ordering the event numbers allow is stepped, and the
    result is what all the consistent ones allow (the weakest of their models). Only
    when every ordering breaks the contract, and the same clause, is it a violation:
    that of the ordering closest to what the client saw (by answer order)."""
    by_answer = sorted(timed, key=lambda t: t[1][1])
    outcomes: list[Outcome] = []
    violations: list[Violation] = []
    for ordering in _orderings(by_answer):
        result: Outcome | Violation = Outcome(model)
        exercised: set[str] = set()
        for obs, _ in ordering:
            result = step(result.model, obs)
            if isinstance(result, Violation):
                break
            exercised |= result.exercised
        if isinstance(result, Violation):
            violations.append(result)
            continue
        outcomes.append(Outcome(result.model, frozenset(exercised)))
    if not outcomes:
        if len({v.clause for v in violations}) > 1:
            return Unordered(tuple(violations))
        return violations[0]
    joined = _join([o.model for o in outcomes])
    return Outcome(joined, frozenset().union(*(o.exercised for o in outcomes)))


def _orderings(timed: list[Timed]) -> list[list[Timed]]:
    """Every order of `timed` in which no request comes before one answered before it
    was sent (the first is `timed`'s own order, when it is one of them)."""
    found: list[list[Timed]] = []

    def extend(prefix: list[Timed], rest: list[Timed]) -> None:
        if len(found) >= MAX_ORDERINGS:
            return
        if not rest:
            found.append(prefix)
            return
        for i, item in enumerate(rest):
            others = rest[:i] + rest[i + 1 :]
            # `item` may go next unless some other request was answered before it was sent.
            if any(o[1][1] < item[1][0] for o in others):
                continue
            extend([*prefix, item], others)

    extend([], list(timed))
    return found


def _joined_cancel(cancels: set[CancelState]) -> CancelState:
    """An accepted cancel in some ordering; "received" (v2: accepted or ended, unknown)
    wherever one ordering had it, as it is the weaker."""
    if "received" in cancels:
        return "received"
    if "accepted" in cancels:
        return "accepted"
    return "refused" if "refused" in cancels else "none"


def _join(models: list[Model]) -> Model:
    """What every one of `models` allows: the union of states, the weakest bounds."""
    first = models[0]
    ops = dict(first.ops)
    for token in first.ops:
        versions = [m.ops[token] for m in models if token in m.ops]
        terminals = {v.terminal for v in versions}
        percents = [v.percent for v in versions]
        cancels = {v.cancel for v in versions}
        ops[token] = replace(
            versions[0],
            possible=frozenset().union(*(v.possible for v in versions)),
            running_until=min(v.running_until for v in versions),
            ended_by=None
            if any(v.ended_by is None for v in versions)
            else max(v.ended_by for v in versions if v.ended_by is not None),
            terminal=terminals.pop() if len(terminals) == 1 else None,
            percent=None if None in percents else min(p for p in percents if p is not None),
            cancel=_joined_cancel(cancels),
            cancel_order=max(v.cancel_order for v in versions),
            foreign_cancel=any(v.foreign_cancel for v in versions),
            unauth_cancel=any(v.unauth_cancel for v in versions),
            seen_running=min(v.seen_running for v in versions),
        )
    return replace(first, ops=ops)
