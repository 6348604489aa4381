"""The long-operation lifecycle as data, and a pure model that judges observations.

Rules of the lifecycle (guide, "Long Operations (V1)"; vendor OpenAPI v1):

* A start answers at once with a token; the operation is then NotStarted or
  InProgress ("running").
* A running operation ends exactly once: Completed, Failed or Cancelled.
* Ended states are absorbing: status never changes again until the token
  expires, 15 minutes (the TTL) after the operation ended; after that the
  token is gone (v1 answers 404).
* Status only moves forward along the table below.

Nothing here does I/O or reads a clock: times are numbers handed in by the
caller (seconds on the server's clock).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Status(enum.Enum):
    """Where an operation is in its lifecycle. Values are the wire names."""

    NOT_STARTED = "NotStarted"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "expired"  # not a wire status: the token is gone


S = Status


class Said(enum.StrEnum):
    """The answers the model's texts name. They are words, not a wire: a failure's text
    gets the dialect's status code in each one's place (`worded`, `Profile.said`), so the
    model reads the same whatever the dialect answers with."""

    BUSY = "<busy>"  # a start refused: the session's slot is taken
    GONE = "<gone>"  # an unknown or expired token
    CANCEL_ACCEPTED = "<cancel accepted>"
    CANCEL_REFUSED = "<cancel refused>"  # the operation had ended


def worded(text: str, codes: Mapping[Said, str]) -> str:
    """`text` with each answer the model names put as the dialect says it."""
    for said, code in codes.items():
        text = text.replace(said.value, str(code))
    return text


#: state -> states it may move to next (besides staying where it is).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NOT_STARTED: frozenset({S.IN_PROGRESS, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.EXPIRED}),
    S.FAILED: frozenset({S.EXPIRED}),
    S.CANCELLED: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
}

RUNNING: frozenset[Status] = frozenset({S.NOT_STARTED, S.IN_PROGRESS})
ENDED: frozenset[Status] = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
WIRE_STATUSES: frozenset[str] = frozenset(s.value for s in Status if s is not S.EXPIRED)

#: The clauses a violation of the model cites (the checks cite the others).
JUDGES: frozenset[str] = frozenset(
    {
        "SUB-2",
        "STA-1",
        "STA-4",
        "STA-7",
        "CON-1",
        "CON-2",
        "CON-3",
        "CON-4",
        "CAN-1",
        "CAN-3",
        "CAN-4",
        "EXP-1",
        "EXP-2",
        "EXP-3",
        "ISO-1",
        "AUT-1",
    }
)


# --- operations and observations -------------------------------------------------
#
# Times are seconds on the server's clock. Every observation carries the interval
# `at = (sent, received)`: the server answered at some instant inside it. With a
# virtual clock both ends are equal; on a wall clock they differ by the latency.
# A virtual clock cannot order two requests made at the same instant, so each
# observation also carries `order = (sent, received)` event numbers from the
# client: "A was answered before B was sent" is `A.order[1] < B.order[0]`.

from dataclasses import dataclass, field, replace  # noqa: E402
from typing import Literal  # noqa: E402

Kind = Literal["copy", "delete"]
#: "received": the owner's cancel was received (v2) when the operation may have ended
#: already; it becomes "accepted" once a poll sent after it still sees it running.
CancelState = Literal["none", "accepted", "refused", "received"]
Interval = tuple[float, float]
Order = tuple[int, int]


@dataclass(frozen=True)
class Timing:
    """How long tokens live after their operation ended, and how exact the clock is."""

    ttl: float = 900.0
    tolerance: float = 0.5
    # An operation still running this long after its start was answered is stuck (STA-7).
    operation_timeout: float = 900.0
    # Seconds a correct server may hold a poll back (LST-3); None: the profile's
    # (`Profile.long_poll`, v2's 60), a number: --long-poll.
    long_poll: float | None = None
    # The slack around a hold, which is real time also with clock hooks (a slow network
    # is not a held answer): --ttl-tolerance, else the wall clock's.
    hold_tolerance: float = 2.0


@dataclass(frozen=True)
class Operation:
    """What this run knows about one long operation, keyed by its token.

    `possible` is the set of states consistent with everything observed at the
    last observation. The operation ended after `running_until` (it was seen
    running then, or started then) and, once seen ended, at or before `ended_by`.
    """

    token: str
    kind: Kind
    session: str
    requested: float  # the start request was sent
    accepted: float  # the start answer was received
    order: Order  # event numbers of the start request and its answer
    possible: frozenset[Status] = RUNNING
    running_until: float = 0.0
    ended_by: float | None = None
    terminal: Status | None = None
    percent: int | None = None
    cancel: CancelState = "none"
    cancel_order: int = 0  # the event number of the answer to the owner's received cancel
    foreign_cancel: bool = False
    unauth_cancel: bool = False  # a cancel without valid credentials was sent
    # The event number at which the latest poll that saw it running was sent: it was
    # still running after everything answered before then.
    seen_running: int = 0
    # When the latest poll that found it retrievable (any status) was sent.
    seen_alive: float = 0.0


@dataclass(frozen=True)
class Started:
    token: str
    kind: Kind
    session: str
    at: Interval
    order: Order = (0, 0)


@dataclass(frozen=True)
class Rejected:
    """A start in `session` answered 'too many operations' (busy); `together`: it was one of
    several starts of the session sent at once (CON-4)."""

    session: str
    at: Interval
    together: bool = False


@dataclass(frozen=True)
class Seen:
    """The owner polled `token` and was told `status`."""

    token: str
    status: Status
    at: Interval
    percent: int | None = None
    order: Order = (0, 0)


@dataclass(frozen=True)
class Gone:
    """A poll or cancel of `token` answered 'not found'."""

    token: str
    at: Interval
    via: Literal["poll", "cancel"] = "poll"


@dataclass(frozen=True)
class Unplaced:
    """A poll or cancel of `token` answered with a status no situation of the lifecycle
    allows (`answer`: "410", "403", "200", ...; `allowed`: what the profile
    lists for a poll or a cancel). The model does not set it aside: it is a violation of
    the clause of the situation the operation was in (see `_unplaced`)."""

    token: str
    at: Interval
    via: Literal["poll", "cancel"]
    answer: str
    allowed: str


@dataclass(frozen=True)
class CancelAccepted:
    token: str
    at: Interval


@dataclass(frozen=True)
class CancelRefused:
    """The owner's cancel was refused because the operation had ended."""

    token: str
    at: Interval


@dataclass(frozen=True)
class CancelReceived:
    """The owner's cancel was received (v2's `result: true`): a running operation then
    ends Cancelled, an ended one keeps its status."""

    token: str
    at: Interval
    order: Order = (0, 0)


@dataclass(frozen=True)
class ForeignCancel:
    """Another session (`via` "session"), or a request without valid credentials (`via`
    "credentials"), tried to cancel `token` (whatever it was answered)."""

    token: str
    at: Interval
    via: Literal["session", "credentials"] = "session"


Observation = (
    Started
    | Rejected
    | Seen
    | Gone
    | Unplaced
    | CancelAccepted
    | CancelRefused
    | CancelReceived
    | ForeignCancel
)


@dataclass(frozen=True)
class Violation:
    """An observation no behaviour allowed by the contract explains."""

    clause: str
    title: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Model:
    """Everything the run knows about its operations. Immutable: `step` returns a new one."""

    timing: Timing = field(default_factory=Timing)
    ops: dict[str, Operation] = field(default_factory=dict)
    # How many operations one session may run at once (CON-1/CON-4; --operation-limit).
    limit: int = 1

    def session_ops(self, session: str) -> list[Operation]:
        return [op for op in self.ops.values() if op.session == session]

    def may_be_running(self, op: Operation, at: Interval) -> bool:
        return bool(possible_at(op, at, self.timing) & RUNNING)

    def session_may_run(self, session: str, at: Interval) -> bool:
        """Whether any operation of `session` may be running at `at`."""
        return any(self.may_be_running(op, at) for op in self.session_ops(session))

    def session_may_be_busy(self, session: str, at: Interval) -> bool:
        """Whether `session` may be running as many operations as its limit at `at`, so
        that a start may be refused."""
        running = sum(self.may_be_running(op, at) for op in self.session_ops(session))
        return running >= self.limit


@dataclass(frozen=True)
class Outcome:
    """A consistent step: the new model and the clause ids the observation exercised."""

    model: Model
    exercised: frozenset[str] = frozenset()


def closure(states: frozenset[Status]) -> frozenset[Status]:
    """Every state reachable from `states` through the transition table (time may pass)."""
    seen = set(states)
    frontier = list(states)
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return frozenset(seen)


def possible_at(op: Operation, at: Interval, timing: Timing) -> frozenset[Status]:
    """The states `op` may be in at some instant of `at`, given what was observed before."""
    sent, received = at
    states = closure(op.possible)
    if (
        op.cancel == "accepted"
    ):  # an accepted cancel means it ends Cancelled, never Completed/Failed
        states -= {S.COMPLETED, S.FAILED}
    # Expired needs the end plus the TTL to have passed; the end is after running_until.
    if received <= op.running_until + timing.ttl - timing.tolerance:
        states -= {S.EXPIRED}
    # Seen ended at ended_by: once its TTL (plus tolerance) passed it must be gone.
    if op.ended_by is not None and sent >= op.ended_by + timing.ttl + timing.tolerance:
        states &= {S.EXPIRED}
    return states


def definitely_expired(op: Operation, at: Interval, timing: Timing) -> bool:
    return possible_at(op, at, timing) == {S.EXPIRED}


def step(model: Model, obs: Observation) -> Outcome | Violation:
    """Judge one observation against the model: the new model, or the violation."""
    handler = _HANDLERS[type(obs)]
    return handler(model, obs)


def _with(model: Model, op: Operation) -> Model:
    ops = dict(model.ops)
    ops[op.token] = op
    return replace(model, ops=ops)


def _started(model: Model, obs: Started) -> Outcome | Violation:
    old = model.ops.get(obs.token)
    if old is not None and possible_at(old, obs.at, model.timing) - {S.EXPIRED}:
        return Violation(
            "SUB-2",
            "token reused while the first operation is still retrievable",
            f"a fresh token (token {obs.token!r} belongs to a {old.kind} started at "
            f"t={old.requested:g} and may still be {_names(possible_at(old, obs.at, model.timing))})",
            f"the new {obs.kind} was given the same token",
        )
    sent, received = obs.at
    exercised = {"SUB-2"}
    mine = model.session_ops(obs.session)
    if mine and not any(model.may_be_running(op, obs.at) for op in mine):
        exercised.add("CON-2")
    others = [op for op in model.ops.values() if op.session != obs.session]
    if any(model.may_be_running(op, obs.at) for op in others):
        exercised.add("CON-3")
    op = Operation(obs.token, obs.kind, obs.session, sent, received, obs.order, running_until=sent)
    return Outcome(_with(model, op), frozenset(exercised))


def _rejected(model: Model, obs: Rejected) -> Outcome | Violation:
    if model.session_may_be_busy(obs.session, obs.at):
        return Outcome(model, frozenset({"CON-4" if obs.together else "CON-1"}))
    others_busy = any(
        model.may_be_running(op, obs.at) for op in model.ops.values() if op.session != obs.session
    )
    if others_busy and model.session_ops(obs.session):
        # Its slot not freed (CON-2), or blocked by the other session (CON-3)? One refusal
        # cannot tell them apart: say nothing; a refusal with no other session busy, or
        # in a session that never had an operation, will.
        return Outcome(model)
    if others_busy:
        return Violation(
            "CON-3",
            "a start was refused because of another session's operation",
            "the start accepted: this session has no running operation "
            "(another session's does, and sessions are independent)",
            f"{Said.BUSY} too many operations",
        )
    if obs.together and not model.session_ops(obs.session):
        return Violation(
            "CON-4",
            "none of several simultaneous starts was accepted",
            "one of them accepted: the session had no operation",
            f"{Said.BUSY} too many operations (and no other start of the batch accepted)",
        )
    if model.session_may_run(obs.session, obs.at):
        return Violation(
            "CON-2",
            f"a start was refused below the session's limit of {model.limit} operations",
            f"the start accepted: fewer than {model.limit} operations of this session may "
            "have been running",
            f"{Said.BUSY} too many operations",
        )
    return Violation(
        "CON-2",
        "the session's slot was not freed when its operation ended",
        "the start accepted: every operation of this session was seen ended",
        f"{Said.BUSY} too many operations",
    )


def _seen(model: Model, obs: Seen) -> Outcome | Violation:
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    if obs.status not in states:
        return _unexplained_status(op, obs, states)
    sent, received = obs.at
    exercised = {"STA-4"}
    if op.terminal is not None:
        exercised.add("EXP-1")
        if op.cancel == "refused":
            exercised.add("CAN-3")
    if op.cancel == "accepted" or (op.cancel == "received" and obs.status is S.CANCELLED):
        exercised.add("CAN-1")
    if op.foreign_cancel:
        exercised.add("ISO-1")
    if op.unauth_cancel:
        exercised.add("AUT-1")
    if _ttl_from_start_window(op, obs.at, model.timing):
        exercised.add("EXP-3")
    if obs.status in RUNNING:
        clash = _accepted_meanwhile(model, op, obs.order)
        if clash is not None:
            return clash
        age = sent - op.accepted
        if age > model.timing.operation_timeout:
            return Violation(
                "STA-7",
                "operation stuck",
                f"an end within {model.timing.operation_timeout:g}s of the start",
                f"still {obs.status.value} {age:g}s after the start was answered",
            )
        new = replace(
            op,
            possible=frozenset({obs.status}),
            running_until=max(op.running_until, sent),
            seen_running=max(op.seen_running, obs.order[0]),
        )
        if op.cancel == "received" and obs.order[0] > op.cancel_order:
            # Still running after the received cancel was answered: it ran when the cancel
            # came, so the cancel was accepted (it must end Cancelled).
            new = replace(new, cancel="accepted")
    else:
        exercised.add("STA-7")
        outsiders = op.cancel == "none" and obs.status is S.CANCELLED
        if outsiders and op.foreign_cancel and not op.unauth_cancel:
            return Violation(
                "ISO-1",
                "another session cancelled this session's operation",
                "the operation unaffected by another session's cancel",
                "status Cancelled although its own session never cancelled it",
            )
        if outsiders and op.unauth_cancel and not op.foreign_cancel:
            return Violation(
                "AUT-1",
                "a cancel without valid credentials cancelled the operation",
                "the operation unaffected by a cancel answered 401",
                "status Cancelled although its own session never cancelled it",
            )
        # Both tried: either may have done it, so neither is blamed (the gate says less).
        ended_by = received if op.ended_by is None else min(op.ended_by, received)
        new = replace(op, possible=frozenset({obs.status}), terminal=obs.status, ended_by=ended_by)
    if obs.percent is not None:
        new = replace(new, percent=obs.percent)
    new = replace(new, seen_alive=max(op.seen_alive, sent))
    return Outcome(_with(model, new), frozenset(exercised))


def _unexplained_status(op: Operation, obs: Seen, states: frozenset[Status]) -> Violation:
    expected = f"one of {_names(states)}"
    actual = f"status {obs.status.value}"
    if states == {S.EXPIRED}:
        return Violation(
            "EXP-2", "token still answers after its TTL", f"{Said.GONE} (expired)", actual
        )
    if op.cancel == "accepted":
        return Violation("CAN-1", "a cancelled operation did not end Cancelled", expected, actual)
    if op.terminal is not None and op.cancel in ("refused", "received"):
        # Seen ended, then cancelled (refused, or v2's "received", which for an ended task
        # leaves its status): a different terminal status is the cancel's doing.
        return Violation(
            "CAN-3",
            f"a {op.cancel} cancel changed an ended operation",
            f"status {op.terminal.value}",
            actual,
        )
    title = (
        f"status moved backwards from {op.terminal.value}"
        if op.terminal is not None
        else "status moved backwards"
    )
    return Violation("STA-4", title, expected, actual)


def _accepted_meanwhile(model: Model, op: Operation, order: Order) -> Violation | None:
    """CON-1/CON-4: `op` is running now (a poll sent at event `order[0]` saw it), and more
    operations of its session than its limit ran at one instant.

    An operation X of the session ran at the instant another one, Y, was accepted when X's
    start was answered before Y's was sent and a poll sent after Y's start was answered
    still saw X running (running never resumes: X ran all along in between). So Y and the
    X's ran together at Y's acceptance (CON-1). Starts in flight together have no such
    order; they all ran together once the last of them was answered when each was seen
    running by a poll sent after that (CON-4 when two of them were in flight together)."""
    ops = [o for o in model.session_ops(op.session) if o.order[1] < order[0]]
    seen = {o.token: o.seen_running for o in ops} | {op.token: max(op.seen_running, order[0])}
    for y in ops:  # at Y's acceptance
        running = [
            x
            for x in ops
            if x.token != y.token and x.order[1] < y.order[0] and seen[x.token] > y.order[1]
        ]
        if len(running) >= model.limit:
            return _too_many(model, y, running, together=False)
    for last in ops:  # once the last of several was answered
        mark = last.order[1]
        group = [o for o in ops if o.order[1] <= mark and seen[o.token] > mark]
        if len(group) > model.limit:
            together = any(
                not a.order[1] < b.order[0] and not b.order[1] < a.order[0]
                for a in group
                for b in group
                if a.token != b.token
            )
            later = max(group, key=lambda o: o.order[1])
            running = [o for o in group if o.token != later.token]
            return _too_many(model, later, running, together=together)
    return None


def _too_many(model: Model, y: Operation, running: list[Operation], *, together: bool) -> Violation:
    """`y` accepted while the operations of `running` ran (as many as the limit, or more)."""
    named = ", ".join(f"{x.kind} {x.token!r}" for x in running)
    if together:
        expected = (
            f"at most {model.limit} of the starts accepted, the others refused with {Said.BUSY}"
            if model.limit > 1
            else f"exactly one of the starts accepted, the others refused with {Said.BUSY}"
        )
        return Violation(
            "CON-4",
            "more of several simultaneous starts were accepted than ran at once may"
            if model.limit > 1
            else "two of several simultaneous starts were accepted and ran at once",
            expected,
            f"{y.kind} {y.token!r} and {named} were all accepted and all seen running afterwards",
        )
    return Violation(
        "CON-1",
        f"an operation was accepted while the session ran its limit of {model.limit}"
        if model.limit > 1
        else "a second operation was accepted while the session's operation ran",
        f"the start at t={y.requested:g} refused with {Said.BUSY} ({named} "
        f"{'were' if len(running) > 1 else 'was'} running)",
        f"it was accepted as {y.kind} {y.token!r}; {named} "
        f"{'were' if len(running) > 1 else 'was'} seen running afterwards",
    )


def _gone(model: Model, obs: Gone) -> Outcome | Violation:
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    if S.EXPIRED in states:
        exercised = {"EXP-2"} if states == {S.EXPIRED} else set()
        if obs.via == "cancel":
            exercised.add("CAN-4")
        new = replace(op, possible=frozenset({S.EXPIRED}))
        return Outcome(_with(model, new), frozenset(exercised))
    actual = f"{Said.GONE} on {obs.via} at t={obs.at[0]:g}"
    # Gone before its end was seen: vanished while live (STA-1) or ended and expired too
    # soon (EXP-1). After an accepted cancel the operation ends at once, so the second.
    if op.terminal is None and not (op.cancel == "accepted" and S.CANCELLED in states):
        return Violation(
            "STA-1",
            f"a live token answered {Said.GONE}",
            f"a status (the operation may still be {_names(states)})",
            actual,
        )
    if _expired_at_start_ttl(op, obs.at, model.timing):
        return Violation(
            "EXP-3",
            "token expired counting the TTL from the start, not the end",
            f"retrievable until {model.timing.ttl:g}s after the end (ended after "
            f"t={op.running_until:g}; started t={op.requested:g})",
            f"{actual}, seen retrievable at t={op.seen_alive:g}",
        )
    return Violation(
        "EXP-1",
        "token expired before its TTL",
        f"retrievable until {model.timing.ttl:g}s after the end (ended after t={op.running_until:g})",
        actual,
    )


def _unplaced(model: Model, obs: Unplaced) -> Violation:
    """An answer no situation allows is wrong whatever the operation's state; it is
    charged to the clause of the state it may be in. A token that may have expired:
    EXP-2 (a poll) or CAN-4 (a cancel), which say such a token is gone — a server answers such
    a status for tokens it has let go (410 Gone) far more often than for live ones.
    A token surely retrievable: STA-1 (a poll answers its status), CAN-1 (a cancel
    of a running operation is accepted) or CAN-3 (of an ended one, refused)."""
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    title = f"a {obs.via} answered {obs.answer}"
    if S.EXPIRED in states:
        clause = "EXP-2" if obs.via == "poll" else "CAN-4"
        may = "has" if states == {S.EXPIRED} else "may have"
        return Violation(clause, f"{title} for a token that {may} expired", Said.GONE, obs.answer)
    clause = "STA-1" if obs.via == "poll" else "CAN-1" if states & RUNNING else "CAN-3"
    return Violation(
        clause, title, f"{obs.allowed} (the operation may be {_names(states)})", obs.answer
    )


def _expired_at_start_ttl(op: Operation, at: Interval, timing: Timing) -> bool:
    """The token vanished right where a TTL counted from its start ends, inside the TTL
    counted from its end: seen retrievable within two tolerances before that moment and
    gone within two after. A token that is gone somewhere else in that window has a TTL
    that is merely short (EXP-1), which explains a vanishing there just as well."""
    from_start = op.requested + timing.ttl
    return (
        _ttl_from_start_window(op, at, timing)
        and op.seen_alive >= from_start - 2 * timing.tolerance
        and at[0] <= from_start + 2 * timing.tolerance
    )


def _ttl_from_start_window(op: Operation, at: Interval, timing: Timing) -> bool:
    """True when a TTL counted from the start would be over but one counted from the end not."""
    return (
        op.terminal is not None
        and at[0] >= op.requested + timing.ttl + timing.tolerance
        and at[1] <= op.running_until + timing.ttl - timing.tolerance
    )


def _cancel_accepted(model: Model, obs: CancelAccepted) -> Outcome | Violation:
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    if not states & RUNNING:
        if states == {S.EXPIRED}:
            return Violation(
                "CAN-4", "cancel of an expired token accepted", Said.GONE, Said.CANCEL_ACCEPTED
            )
        return Violation(
            "CAN-3",
            "cancel of an ended operation accepted",
            f"{Said.CANCEL_REFUSED} (the operation had ended: {_names(states)})",
            Said.CANCEL_ACCEPTED,
        )
    new = replace(op, possible=(states & RUNNING) | {S.CANCELLED}, cancel="accepted")
    exercised = {"CAN-1"}
    if op.terminal is not None:
        exercised.add("CAN-3")
    return Outcome(_with(model, new), frozenset(exercised))


def _cancel_refused(model: Model, obs: CancelRefused) -> Outcome | Violation:
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    if not states & ENDED:
        if states == {S.EXPIRED}:
            return Violation(
                "CAN-4",
                f"cancel of an expired token not answered {Said.GONE}",
                Said.GONE,
                Said.CANCEL_REFUSED,
            )
        return Violation(
            "CAN-1",
            "cancel of a running operation refused",
            Said.CANCEL_ACCEPTED,
            f"{Said.CANCEL_REFUSED} (operation ended)",
        )
    cancel: CancelState = "refused" if op.cancel == "none" else op.cancel
    new = replace(op, possible=states & ENDED, cancel=cancel)
    return Outcome(_with(model, new), frozenset({"CAN-3"}))


def _cancel_received(model: Model, obs: CancelReceived) -> Outcome | Violation:
    """Accepted if it may run, its end kept if it may have ended: where both may be, the
    states of both (a Completed seen later may have come before the cancel)."""
    op = model.ops[obs.token]
    states = possible_at(op, obs.at, model.timing)
    if states == {S.EXPIRED}:
        return Violation(
            "CAN-4", "cancel of an expired token received", Said.GONE, Said.CANCEL_ACCEPTED
        )
    if not states & RUNNING:
        return Outcome(_with(model, replace(op, possible=states & ENDED)), frozenset({"CAN-3"}))
    if not states & ENDED:
        return _cancel_accepted(model, CancelAccepted(obs.token, obs.at))
    new = replace(
        op,
        possible=(states & (RUNNING | ENDED)) | {S.CANCELLED},
        cancel="received" if op.cancel == "none" else op.cancel,
        cancel_order=obs.order[1],
    )
    return Outcome(_with(model, new), frozenset())


def _foreign_cancel(model: Model, obs: ForeignCancel) -> Outcome | Violation:
    op = model.ops[obs.token]
    if obs.via == "credentials":
        return Outcome(_with(model, replace(op, unauth_cancel=True)))
    return Outcome(_with(model, replace(op, foreign_cancel=True)))


def _names(states: frozenset[Status] | set[Status]) -> str:
    return "{" + ", ".join(sorted(s.value for s in states)) + "}"


_HANDLERS = {
    Started: _started,
    Rejected: _rejected,
    Seen: _seen,
    Gone: _gone,
    Unplaced: _unplaced,
    CancelAccepted: _cancel_accepted,
    CancelRefused: _cancel_refused,
    CancelReceived: _cancel_received,
    ForeignCancel: _foreign_cancel,
}
