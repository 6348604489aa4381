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
from ..model import Kind, Operation, Violation, worded
from ..profiles import Profile
from ..sandbox import Tree


@dataclass(frozen=True)
class Intent:
    """What the run asked one operation to do, and the area as it was at the start."""

    kind: Kind
    session: str
    target: int  # copy source / delete target
    dest: int | None  # copy destination
    name: str | None
    auto_rename: bool
    missing: bool  # source, target or destination did not exist at the start
    before: Tree


@dataclass(frozen=True)
class Held:
    """How long a poll's answer may take (LST-3), as the rule that sent it reckons: `most`
    seconds (the long poll and its tolerance); `prompt` seconds when `ended` names tasks
    the run had seen ended before sending it, still retrievable until the answer came."""

    most: float
    prompt: float
    ended: tuple[str, ...] = ()


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
    facts: dict[str, Any] = field(default_factory=dict)
    # Filled by the checks: properties a valid body carries that its schema does not
    # declare, by schema (allowed; the run notes them once per schema).
    undeclared: dict[str, set[str]] = field(default_factory=dict)

    def body(self) -> Any:
        return self.exchange.json()

    @cached_property
    def report(self) -> PollReport:
        """What this answer says about the operation of the token it names, as the
        profile's dialect reads it (meaningful for a poll's answer)."""
        return self.profile.read_poll(self.exchange, self.facts.get("token"))


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


def run_checks(ctx: Context, *, lenient: bool = False) -> tuple[list[Failure], set[str]]:
    """Run every registered check that applies; the failures and the clauses exercised.
    `lenient` (a replay, which knows only the requests): a check that needs a fact only a
    run knows (the sandbox's picture, say) is left out rather than stop the others."""
    failures: list[Failure] = []
    exercised: set[str] = set()
    if ctx.exchange.status is None:  # unknown outcome (no answer): judge nothing
        return failures, exercised
    for c in REGISTRY:
        if c.actions and ctx.action not in c.actions:
            continue
        try:
            found = c.fn(ctx)
        except KeyError:
            if not lenient:
                raise
            continue
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
        token = ctx.facts.get("token") or ""
        return ctx.profile.read_cancel(ctx.exchange, token) is CancelSaid.GONE
    return ctx.report.gone


def progress(ctx: Context) -> PollReport | None:
    """A poll's report, when the answer carried a status document."""
    return ctx.report if ctx.action == "poll" and ctx.report.document else None
