"""Named checks, registered by clause id: each turns one step of a run into failures.

A check receives a `Context` (what the run did, the exchange, what the model knew
before) and returns None when the situation does not concern its clause, or a
list of `Failure`s: empty means the clause was exercised and held. Checks only
compare what the server said with what this run asked and observed; they never
assume ids, names, timings or message texts of any particular server.
Lifecycle rules that need the history (status order, expiry, slots) live in
`model.py`; the machine turns the model's violations into failures of the check
`lifecycle_is_consistent` (see `violation_failure`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..client import Exchange
from ..dialects import CancelSaid, PollReport
from ..model import Operation, Violation, worded
from ..profiles import Profile
from .facts import Facts, Intent, facts_type


@dataclass
class Failure:
    clause: str
    title: str
    expected: str
    actual: str
    exchanges: list[Exchange] = field(default_factory=list)
    check: str = ""
    # Does the run's bookkeeping still hold after this? Not when the server did something
    # the run could not follow (an operation started that it cannot track, say); a run
    # that has seen this clause fail before may go on past a sound failure, not past
    # an unsound one.
    sound: bool = True


@dataclass
class Context:
    action: str
    exchange: Exchange
    profile: Profile
    repo_id: str
    base_url: str
    op: Operation | None = None
    intent: Intent | None = None
    # What the rule knew (`facts.FACTS`: its action's type, or bare `Facts` when it is not
    # known, as in a replay: the checks that need them then leave the answer alone).
    facts: Facts = field(default_factory=Facts)
    token: str | None = None  # the operation the answer is judged for
    # Filled by the checks: properties a valid body carries that its schema does not
    # declare, by schema (allowed; the run notes them once per schema).
    undeclared: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        wanted = facts_type(self.action)
        if type(self.facts) is not Facts and not isinstance(self.facts, wanted):
            raise TypeError(f"{self.action} takes {wanted.__name__}, not {self.facts!r}")

    def body(self) -> Any:
        return self.exchange.json()

    @cached_property
    def report(self) -> PollReport:
        """What this answer says about the operation of the token it names, as the
        profile's dialect reads it (meaningful for a poll's answer)."""
        return self.profile.read_poll(self.exchange, self.token)


CheckFn = Callable[[Context], "list[Failure] | None"]


@dataclass(frozen=True)
class Check:
    name: str
    clause: str
    actions: frozenset[str]
    fn: CheckFn


REGISTRY: list[Check] = []


def check(clause: str, *actions: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check for `clause`, run after every step whose action is in `actions`
    (no actions: after every step)."""

    def register(fn: CheckFn) -> CheckFn:
        REGISTRY.append(Check(fn.__name__, clause, frozenset(actions), fn))
        return fn

    return register


def run_checks(ctx: Context) -> tuple[list[Failure], set[str]]:
    """Run every registered check that applies; the failures and the clauses exercised."""
    failures: list[Failure] = []
    exercised: set[str] = set()
    if ctx.exchange.status is None:  # unknown outcome (no answer): judge nothing
        return failures, exercised
    for c in REGISTRY:
        if c.actions and ctx.action not in c.actions:
            continue
        found = c.fn(ctx)
        if found is None:
            continue
        exercised.add(c.clause)
        for f in found:
            f.clause, f.check = c.clause, c.name
        failures.extend(found)
    return failures, exercised


def fail(title: str, expected: str, actual: str, *, sound: bool = True) -> list[Failure]:
    return [Failure("", title, expected, actual, sound=sound)]


def violation_failure(v: Violation, profile: Profile) -> Failure:
    """The model's verdict as a failure, its texts naming the profile's status codes; the
    model was not advanced past it: unsound."""
    title, expected, actual = (worded(t, profile.said()) for t in (v.title, v.expected, v.actual))
    return Failure(v.clause, title, expected, actual, check="lifecycle_is_consistent", sound=False)


def short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def reported(ctx: Context) -> str | None:
    """The status a poll answer reports, as the profile's dialect reads it (a status
    document's, or Completed for guide-v1's completion redirect); None for other actions."""
    return ctx.report.status if ctx.action == "poll" else None


def said_gone(ctx: Context) -> bool:
    """A poll's or a cancel's answer says its token is unknown, as the dialect says it
    (v1: 404; v2: the id left out of the list)."""
    if "cancel" in ctx.action:
        return ctx.profile.read_cancel(ctx.exchange, ctx.token or "") is CancelSaid.GONE
    return ctx.report.gone


def progress(ctx: Context) -> PollReport | None:
    """A poll's report, when the answer carried a status document."""
    return ctx.report if ctx.action == "poll" and ctx.report.document else None
