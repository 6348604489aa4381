"""On the wall clock, the TTL clauses are checked by waiting: the expiry probe.

Without clock hooks the only way to see a token expire is to wait one TTL after its
operation ended (15 minutes on a real tenant). The probe does that once per run,
in parallel with the exploration, so the whole gate takes about one TTL:

1. before the exploration starts (its sessions must be free then): a sandbox with
   one folder tree per session, and in every session at once a copy of it; the
   first is left to finish, the others are cancelled, so Completed and Cancelled
   tokens are both watched. Each is polled until it has ended;
2. while the exploration runs, a thread polls each token at moments chosen from
   what was seen: halfway through and just before a TTL counted from its end could
   be over (EXP-1: still there, same status); just before and just after a TTL
   counted from its start, when it ran long enough to tell the two apart (EXP-3);
   once the TTL has surely passed (EXP-2: poll and cancel answer 404);
3. its sandbox is removed as soon as every operation has ended, before the
   exploration starts: the tokens go on aging without it, and its clean-up (a
   delete of some hundred entries) does not add to the run's time at the end.

The probe is an ordinary machine driven by this script instead of by Hypothesis:
the same API, model, checks and `judge`, so what it finds is recorded like any
other finding. It polls only ended operations while the exploration runs, so it
never occupies a session the exploration uses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import strategies as gen

from .. import interrupts
from ..model import Timing
from ..targets import HarnessError, Target, WallClock
from ..verdicts import Recorder
from . import LongOperationMachine, cleanup
from .base import ClauseViolation, Run
from .cleanup import Blocked

#: A tree big enough that copying it takes a while: the longer an operation runs,
#: the better a TTL counted from its start can be told from one counted from its end.
PROBE_TREE = gen.Shape("ttl-probe", tuple(gen.Shape(f"folder-{i:02}") for i in range(40)))
#: What the other sessions copy: their copies are cancelled at once, so small will do.
SMALL_TREE = gen.Shape("ttl-probe", (gen.Shape("folder-00"),))
MARGIN = 0.25  # seconds kept from each edge of a window, for scheduling jitter


@dataclass(frozen=True, order=True)
class Probe:
    when: float
    token: str
    action: str  # "poll" or "cancel"


def schedule(machine: LongOperationMachine, tokens: list[str]) -> list[Probe]:
    """When to look at each ended token, from what the model knows of its end."""
    timing: Timing = machine.model.timing
    ttl, tol = timing.ttl, timing.tolerance
    probes = []
    for token in tokens:
        op = machine.model.ops[token]
        if op.ended_by is None:
            continue
        last_inside = op.running_until + ttl - tol - MARGIN
        probes.append(Probe(op.ended_by + (last_inside - op.ended_by) / 2, token, "poll"))
        probes.append(Probe(last_inside, token, "poll"))
        from_start = op.requested + ttl + tol + MARGIN
        if from_start < last_inside - MARGIN:
            # Seen just before a TTL counted from the start could be over, and gone just
            # after: that, and only that, tells EXP-3 from a TTL that is merely short.
            probes.append(Probe(op.requested + ttl - tol - MARGIN, token, "poll"))
            probes.append(Probe(from_start, token, "poll"))
        surely_gone = op.ended_by + ttl + tol + MARGIN
        probes.append(Probe(surely_gone, token, "poll"))
        probes.append(Probe(surely_gone + MARGIN, token, "cancel"))
    return sorted(probes)


class ExpiryProbe:
    def __init__(self, target: Target, timing: Timing) -> None:
        self.recorder = Recorder()
        self.machine = LongOperationMachine(Run(target, self.recorder, timing))
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.broken: set[str] = set()  # tokens a violation was found on: nothing more to learn
        self.done_at: float | None = None  # clock time of the last probe

    @property
    def clock(self) -> WallClock:
        clock = self.machine.conn.clock
        assert isinstance(clock, WallClock)
        return clock

    def begin(self) -> None:
        """Start one operation per session and see each end; then watch them in a thread."""
        m = self.machine
        first = m.conn.sessions[0]
        m.prepare(lambda session: PROBE_TREE if session is first else SMALL_TREE)
        tokens = [t for t in (self._start(i) for i in range(len(m.conn.sessions))) if t]
        for token in tokens:
            self._until_ended(token)
        m.check_ended()
        probes = schedule(m, [t for t in tokens if t not in self.broken])
        self.done_at = probes[-1].when if probes else None
        if probes and self._clear_fits(tokens, probes[0].when):
            self._clear()
        self.thread = threading.Thread(
            target=self._watch, args=(probes,), name="lro-expiry-probe", daemon=True
        )
        self.thread.start()

    def _clear_fits(self, tokens: list[str], first_probe: float) -> bool:
        """Whether removing the sandbox now surely ends before the first probe is due:
        nothing may still run, and the delete (about twice the entries the completed
        copy went through, at the speed it went) is given half the time there is."""
        m = self.machine
        ops = [m.model.ops[t] for t in tokens]
        if not ops or any(m.model.may_be_running(op, m.now) or op.ended_by is None for op in ops):
            return False
        took = max(op.ended_by - op.requested for op in ops)  # type: ignore[operator]
        return 2.5 * took + 2.0 < (first_probe - self.clock.now) / 2

    def _clear(self) -> None:
        """Remove the probe's sandbox now, while its tokens age: a token outlives the
        entries its operation touched (it names the task, not the folder), and removing
        them after the last probe would add that time to the run."""
        with interrupts.deferred():
            cleanup.clean_up(self.machine)
        self.machine.sandbox_name = None  # teardown has nothing left to remove

    def _start(self, index: int) -> str | None:
        m = self.machine
        session = m.conn.sessions[index]
        area = m.areas[session.label]
        source = next(iter(area.tree.children(area.root)), None)
        if source is None:
            return None  # the server refused the fixture names: nothing to copy
        try:
            token = m.start_copy_of(session, source.id, area.root, m.mark("ttl-probe-copy"))
            if token is not None and index > 0:
                m._cancel(token)
        except ClauseViolation:
            return None
        return token

    def _until_ended(self, token: str) -> None:
        """Poll about once a second until it ended, or until the model calls it stuck
        (STA-7: still running `operation_timeout` after its start)."""
        m = self.machine
        give_up = m.model.ops[token].accepted + m.model.timing.operation_timeout + 2.0
        while self.clock.now < give_up:
            try:
                m._poll(token)
            except ClauseViolation:
                self.broken.add(token)
                return
            if not m.model.may_be_running(m.model.ops[token], m.now):
                return
            self.clock.wait_until(self.clock.now + 1.0)

    def _watch(self, probes: list[Probe]) -> None:
        m = self.machine
        try:
            for probe in probes:
                if probe.token in self.broken:
                    continue
                if not self.clock.wait_until(probe.when, self.stop):
                    return
                try:
                    (m._cancel if probe.action == "cancel" else m._poll)(probe.token)
                except ClauseViolation:
                    self.broken.add(probe.token)
        except BaseException as exc:  # reported by finish(), in the main thread
            self.error = exc

    def finish(self, into: Recorder, *, wait: bool = True) -> None:
        """Wait for the last probe (or stop at once), clean up, and hand over what was seen."""
        if not wait:
            self.stop.set()
        try:
            while self.thread is not None and self.thread.is_alive():
                self.thread.join(0.2)  # short joins: a Ctrl-C still reaches the main thread
        finally:
            self.stop.set()
            with interrupts.deferred():  # the thread may be mid-request: let it finish first
                if self.thread is not None:
                    self.thread.join()
                try:
                    self.machine.teardown()
                except Blocked as exc:
                    self.error = self.error or exc
                if isinstance(self.error, Blocked):  # its clause's failure is recorded
                    self.recorder.notes.append(f"expiry probe: clean-up blocked: {self.error}")
                into.merge(self.recorder)
        if self.error is not None and not isinstance(self.error, KeyboardInterrupt | Blocked):
            raise HarnessError(f"the expiry probe stopped: {self.error!r}")


#: The virtual clock's script copies this: enough entries that the copy is seen running
#: for several seconds, so a TTL counted from its start can be told from one from its end.
SCRIPTED_TREE = gen.Shape("ttl-script", tuple(gen.Shape(f"folder-{i:02}") for i in range(8)))


def scripted_expiry(target: Target, recorder: Recorder, timing: Timing) -> None:
    """On a virtual clock, the probe's script in one go, for a run whose exploring left a
    TTL clause (EXP-*) untested: a copy watched from its start to its end, then looked at
    at the moments `schedule` picks, the clock leaping to each. What it sees is judged and
    recorded like an example's (a clause already found failing is not raised again)."""
    # Nothing muted: a failure seen again stops the script (`Run.muted` would ask
    # Hypothesis, which is not running it, to drop an example the model is unsure of).
    machine = LongOperationMachine(Run(target, recorder, timing))
    first = machine.conn.sessions[0]
    try:
        machine.prepare(lambda session: SCRIPTED_TREE if session is first else SMALL_TREE)
        area = machine.areas[first.label]
        source = next(iter(area.tree.children(area.root)), None)
        token = None
        if source is not None:
            token = machine.start_copy_of(first, source.id, area.root, machine.mark("ttl-copy"))
        if token is not None:
            give_up = machine.model.ops[token].accepted + timing.operation_timeout + 2.0
            machine._poll(token)
            while machine.conn.clock.now < give_up and machine.model.may_be_running(
                machine.model.ops[token], machine.now
            ):
                machine.advance(1.0)
                machine._poll(token)
            machine.check_ended()
            for probe in schedule(machine, [token]):
                if probe.when > machine.conn.clock.now:
                    machine.advance(probe.when - machine.conn.clock.now)
                (machine._cancel if probe.action == "cancel" else machine._poll)(token)
    except ClauseViolation:
        with interrupts.deferred():
            machine.teardown()  # as after a failed example: no more judging, only clean-up
        return
    with interrupts.deferred():
        machine.teardown()
