"""The operations engine: every operation by token, run lazily against the clock.

Nothing runs in the background. Before each request the emulator calls
`advance(now)`, which applies every step that fell due since the last request,
across all operations, in time order (ties go to the operation created first).
Because a step's effects are stamped with its due time, not the time it was
applied, the result is the same as if a server had run the steps on time.

The engine also answers the two questions that span operations: is a session
busy (the one-long-operation-per-session limit), and has a token expired.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from contract.model import Status

from .faults import FaultSet
from .operations import COPY, Operation, Order, run_step
from .sessions import Session
from .tree import FOLDER, ROOT_ID, Tree


@dataclass(frozen=True)
class Timing:
    """How fast operations go and how long their tokens live, in seconds."""

    start_delay: float
    step_seconds: float
    token_ttl: float


class Engine:
    """Starts, runs, cancels and expires the operations of one repository."""

    def __init__(
        self,
        tree: Tree,
        faults: FaultSet,
        timing: Timing,
        opaque_tokens: bool = False,
        limit: int = 1,
    ) -> None:
        self._tree = tree
        self._limit = limit  # operations one session may run at once
        self._opaque_tokens = opaque_tokens  # the opaque-tokens variant
        self._faults = faults
        self._timing = timing
        # Ended and expired records are kept: an expired token must still be told
        # apart from one never issued (see the unknown-token-500 fault).
        self._operations: dict[str, Operation] = {}
        self._running: list[Operation] = []
        self._serial = 0
        # racy-slot-check: the busy sessions as a start's handler read them before it
        # awaited; while set, the slot check answers from this stale read.
        self.slots_read: frozenset[int] | None = None

    def start(self, order: Order, session: Session, now: float) -> Operation:
        """Record a new operation for `order`, started by `session` at `now`."""
        self._serial += 1
        op = Operation(
            token=self._new_token(session, now),
            order=order,
            session=session.index,
            creator=session.user,
            serial=self._serial,
            created_at=now,
            started_at=now + self._timing.start_delay,
            step_seconds=self._timing.step_seconds,
        )
        self._operations[op.token] = op
        self._running.append(op)
        return op

    def _new_token(self, session: Session, now: float) -> str:
        if self._faults.has("token-reuse"):
            previous = self._latest_of(session.index)
            if previous is not None and previous.ended and not self.is_expired(previous, now):
                # The bug: the old record is dropped and its token handed out again.
                del self._operations[previous.token]
                return previous.token
        return secrets.token_urlsafe(32) if self._opaque_tokens else str(uuid.uuid4())

    def _latest_of(self, session: int) -> Operation | None:
        # Dicts keep insertion order, so the last match is the newest operation.
        mine = [op for op in self._operations.values() if op.session == session]
        return mine[-1] if mine else None

    def _latest_outside(self, session: int) -> Operation | None:
        others = [op for op in self._operations.values() if op.session != session]
        return others[-1] if others else None

    def advance(self, now: float) -> None:
        """Apply every step due at or before `now`, in global time order."""
        while moving := [o for o in self._running if not o.stalled]:
            op = min(moving, key=lambda o: (o.due(o.steps_done), o.serial))
            if op.due(op.steps_done) > now:
                return
            if self._stalls(op):
                op.stalled = True  # still running, holding its session, forever
                continue
            run_step(op, self._tree, self._faults)
            if op.ended:
                self._running.remove(op)
                if self._faults.has("completion-echo-to-other-session"):
                    self._echo_completion(op)
                if self._faults.has("copy-staging-left"):
                    self._leave_staging(op)

    def _stalls(self, op: Operation) -> bool:
        """stalls-before-end: a worker that waits forever before an operation's last step
        (of three or more)."""
        last = len(op.order.plan) - 1
        stalls = self._faults.has("stalls-before-end") or self._faults.has("stalls-uncancellable")
        return stalls and last >= 2 and op.steps_done == last

    def _leave_staging(self, op: Operation) -> None:
        """copy-staging-left: a Completed copy's staging folder stays in the root folder."""
        if op.order.kind == COPY and op.outcome is Status.COMPLETED:
            name = self._tree.free_name(ROOT_ID, op.order.name)
            self._tree.add(ROOT_ID, name, FOLDER, op.creator, op.ended_at or 0.0)

    def _echo_completion(self, op: Operation) -> None:
        """completion-echo-to-other-session: a worker reusing another session's job context."""
        result = self._tree.get(op.result_id or 0)
        if op.order.kind != COPY or op.outcome is not Status.COMPLETED or result is None:
            return
        other = self._latest_outside(op.session)
        folder = self._tree.get(other.order.home_id or 0) if other else None
        if folder is not None and folder.is_folder:
            # The bug: the copy's final commit also lands in the other job's folder.
            name = self._tree.free_name(folder.id, result.name)
            self._tree.add(folder.id, name, FOLDER, op.creator, op.ended_at or 0.0)

    def find(self, token: str) -> Operation | None:
        """The operation issued under `token`, expired or not."""
        return self._operations.get(token)

    def of_session(
        self, session: Session, now: float, with_expired: bool = False
    ) -> list[Operation]:
        """The session's operations whose tokens have not expired at `now`, oldest first
        (`with_expired`: the expired ones too, for the v2-expired-still-listed fault)."""
        return [
            op
            for op in self._operations.values()
            if op.session == session.index and (with_expired or not self.is_expired(op, now))
        ]

    def unexpired(self, now: float) -> list[Operation]:
        """Every session's operations whose tokens have not expired at `now` (the faults
        that leak other sessions' tasks into a listing)."""
        return [op for op in self._operations.values() if not self.is_expired(op, now)]

    def cancel(self, op: Operation, now: float) -> None:
        """End a running operation as Cancelled; steps already applied stay applied."""
        op.finish(Status.CANCELLED, now)
        self._running.remove(op)
        if self._faults.has("cancel-strands-copy") and op.result_id is not None:
            self._tree.move(op.result_id, ROOT_ID, now)  # the bug: back to the staging area

    def expires_at(self, op: Operation) -> float | None:
        """When the token stops answering, or None (running, or never under no-expiry)."""
        if op.ended_at is None or self._faults.has("no-expiry"):
            return None
        ttl = self._timing.token_ttl
        if self._faults.has("ttl-from-start"):
            return op.created_at + ttl
        if self._faults.has("ttl-short"):
            ttl = ttl * 2 / 3  # 600 s instead of 900 s with the vendor's TTL
        return op.ended_at + ttl

    def is_expired(self, op: Operation, now: float) -> bool:
        expiry = self.expires_at(op)
        return expiry is not None and now >= expiry

    def busy_sessions(self, now: float) -> frozenset[int]:
        """The indexes of the sessions whose starts must be refused now."""
        known = {op.session for op in self._operations.values()}
        return frozenset(i for i in known if self.is_busy(Session(i), now))

    def is_busy(self, session: Session, now: float) -> bool:
        """True when a start in `session` must be refused (429); call after `advance(now)`."""
        if self.slots_read is not None:
            return session.index in self.slots_read
        if self._faults.has("no-operation-limit"):
            return False
        if self._faults.has("global-operation-limit") and self._running:
            return True
        if sum(op.session == session.index for op in self._running) >= self._limit:
            return True
        if self._faults.has("slot-never-frees") and any(
            op.session == session.index and op.cancelled_before_start
            for op in self._operations.values()
        ):
            return True
        if self._faults.has("slot-leak-after-cancel"):
            return any(
                op.session == session.index
                and op.outcome is Status.CANCELLED
                and not self.is_expired(op, now)
                for op in self._operations.values()
            )
        return False
