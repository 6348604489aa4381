"""Leaving a shared target as it was found: end the example's operations, remove its sandbox.

Plain requests: the example is over. When the server's own misbehaviour stops the
clean-up, that is a verdict, not a harness error: an operation still running past
`--operation-timeout` breaks STA-7; a session whose operations all ended but whose
delete keeps answering 429 breaks CON-2. The failure is recorded with the example's
exchanges, the folder left behind is named (`Recorder.leftovers`), and `Blocked`
stops exploring (the next example could not trust its sessions to be free). Anything
else that stops it (a refusal the contract does not explain) stays a harness error,
naming the folder too. The helpers below take the API and the clock, not a machine,
so the profile probe (`contract/profile_probe.py`) leaves the target the same way.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import strategies as gen

from .. import budget, interrupts
from ..api import listed_entries
from ..checks import Failure
from ..model import RUNNING
from ..sandbox import Node, name_key
from ..verdicts import Leftover

if TYPE_CHECKING:
    from ..api import RepositoryApi
    from ..client import Exchange, Session
    from ..profiles import Profile
    from ..targets import Clock
    from .base import MachineBase

POLLS = 40
_OVERRUN = f"the time budget and its clean-up grace ({budget.GRACE:g} s) ran out"
WALL_BUDGET = 300.0  # seconds a clean-up waits for an operation to end on the wall clock
_RUNNING = {s.value for s in RUNNING}


class Blocked(BaseException):  # noqa: N818 - a signal, not an error
    """The server's misbehaviour stopped a clean-up; the clause it broke is recorded and
    the folder left behind named (by the machine; a caller without one, the profile
    probe, hands them over in `failure` and `leftover` for the runner to record). A
    BaseException, like `TimeUp`: Hypothesis stops at once instead of shrinking."""

    def __init__(
        self, message: str, failure: Failure | None = None, leftover: Leftover | None = None
    ) -> None:
        super().__init__(message)
        self.failure, self.leftover = failure, leftover


def clean_up(machine: MachineBase) -> None:
    api, clock, timeout = machine.api, machine.conn.clock, machine.model.timing.operation_timeout
    for token in machine.tracked:
        if _may_run(machine, token):
            api.cancel(machine.owner(token), token, action="cleanup")
    stuck = [
        token
        for token in machine.tracked
        if not wait_for_end(
            api, clock, machine.owner(token), token, machine.model.ops[token].accepted + timeout
        )
    ]
    first = machine.conn.sessions[0]
    sandbox = machine.sandbox
    if sandbox is None and machine.sandbox_name is not None:
        sandbox = find_folder(api, first, machine.conn.parent_id, machine.sandbox_name)
    if stuck and (cut := _time_cut()):  # its clean-up's time ran out: no verdict
        _left(machine, sandbox, f"{cut} before the example's operations ended")
    if stuck:
        _charge(
            machine,
            "STA-7",
            "an operation never ended (clean-up could not end it either)",
            f"an end within {timeout:g}s of its start; a cancel ends it",
            f"{', '.join(map(repr, stuck))} still running after the cancel and "
            f"{timeout:g}s and more",
        )
        _left(machine, sandbox, "an operation of the example never ended")
    if sandbox is None:
        return  # interrupted before the server created it
    # Every other session that ran an operation removes its own area first: its slot
    # must be free for the next example (a session the server keeps busy would make the
    # next example's starts there look like a fresh session's CON-4).
    for area in machine.areas.values():
        owner = area.session
        if owner is first or not any(machine.owner(t) is owner for t in machine.tracked):
            continue
        _removed(machine, owner, area.root, sandbox, timeout)
    _removed(machine, first, sandbox, sandbox, timeout)


def _removed(
    machine: MachineBase, session: Session, folder: int, sandbox: int, timeout: float
) -> None:
    """Remove `folder` in `session`, or charge what kept it (`refusal_failure`)."""
    refused = remove_folder(machine.api, machine.conn.clock, session, folder, timeout)
    if refused is None:
        return
    if cut := _time_cut():  # the time its clean-up had may have run out: no verdict
        _left(machine, sandbox, f"{cut} before it could be removed ({refused.describe()})")
    all_ended = not _unanswered_start(machine, session)
    evidence = _slot_evidence(machine, session) if refused.busy else _evidence(machine)
    failure = refusal_failure(refused, timeout, evidence, all_ended=all_ended)
    if failure is None:
        raise_harness(
            f"could not remove the sandbox folder #{sandbox}: {refused.describe()} "
            f"(left behind: {_leftover(machine, sandbox).describe()})"
        )
        return
    machine.run.recorder.fail(failure)
    _left(machine, sandbox, failure.title)


def new_marker() -> str:
    """A run's own marker: every name it asks for ends with it (`Run.marker`), so whatever
    the server puts where the sandboxes live is recognised as the run's (`marked`)."""
    return f"~{uuid.uuid4().hex[: gen.MARK_LENGTH - 1]}"


def marked(pages: list[Exchange], parent: int, marker: str, profile: Profile) -> list[Node] | None:
    """The entries of a listing of `parent` whose names carry `marker` (names a run asked
    for); None when the listing is not complete and readable."""
    entries = listed_entries(pages, parent, profile)
    return None if entries is None else [n for n in entries if marker in name_key(n.name)]


def remove_leak(
    api: RepositoryApi, clock: Clock, session: Session, node: Node, timeout: float
) -> Leftover | None:
    """Remove an entry the server put outside the sandbox, where the sandboxes live: it
    carries the run's marker, so the run asked for it (`MachineBase.look_outside`); what
    stays is returned, to be named as left behind."""
    api.owned_entries.add(node.id)
    if remove_folder(api, clock, session, node.id, timeout) is None:
        return None
    return Leftover(node.id, node.name, node.parent)


def refusal_failure(
    refused: Refused, timeout: float, evidence: list[Exchange], *, all_ended: bool
) -> Failure | None:
    """The clause a folder that could not be removed shows the server broke, or None when
    the contract does not explain the refusal (a harness error then): a delete answered
    429 throughout once every operation of the session was seen ended is CON-2
    (`all_ended`: none of its starts went unanswered either); a delete that started and
    never ended, STA-7. The profile probe, the fuzzer and the examples all judge so."""
    if refused.busy and all_ended:
        return slot_never_freed(f"{refused.describe()}, throughout", evidence)
    if refused.started:
        return Failure(
            "STA-7",
            "a delete of the run's own folder never ended",
            f"an end within {timeout:g}s of its start",
            f"{refused.describe()} still running",
            evidence,
            check="clean-up",
            sound=False,
        )
    return None


def slot_never_freed(actual: str, evidence: list[Exchange]) -> Failure:
    return Failure(
        "CON-2",
        "the session's slot never freed: its starts answered 429 after all its operations ended",
        "a start accepted once every operation of the session had ended",
        actual,
        evidence,
        check="clean-up",
        sound=False,
    )


def _first_listing_of(transcript: list[Exchange], profile: Profile, entry: int) -> Exchange | None:
    """The first listing of a folder's children whose answer holds `entry`."""
    for e in transcript:
        if profile.call_of(e.method, e.url) == "list":
            parent = next(iter(profile.entries_named(e.url, None)), 0)
            if any(node.id == entry for node in listed_entries([e], parent, profile) or []):
                return e
    return None


def _evidence(machine: MachineBase) -> list[Exchange]:
    client = machine.conn.client
    return [client.redacted(e) for e in client.transcript]


#: The calls a session's slot depends on (CON-2): its starts, its polls and cancels.
_SLOT_CALLS = frozenset({"start-copy", "start-delete", "poll", "cancel"})


def _slot_evidence(machine: MachineBase, session: Session) -> list[Exchange]:
    """What shows a session's slot held with nothing running: the session's starts and
    cancels, the last poll of each operation (its end), the first and last of the
    clean-up's refused deletes, the creations of the folders those name (with their
    parents: a replay takes the ids from their answers; of an entry an operation made, the
    listing that showed it) and the moves of a virtual clock. The example cannot be shrunk (the
    server keeps the session busy for every replay), and the rest of it (listings, the
    other sessions' operations, the polls before an end, other folders) has no say in
    this session's slot."""
    client, profile = machine.conn.client, machine.api.profile
    calls = [(e, profile.call_of(e.method, e.url)) for e in client.transcript]
    mine = [(e, call) for e, call in calls if e.session == session.label and call in _SLOT_CALLS]
    started = {
        profile.started_token(e.status, e.json())
        for e, call in mine
        if call in ("start-copy", "start-delete")
    } - {None}
    # Polls and cancels of tokens the session never got (unknown, malformed) say nothing.
    mine = [
        (e, call)
        for e, call in mine
        if call not in ("poll", "cancel") or profile.task_token(e.url) in started
    ]
    last_poll = {e.url: e.seq for e, call in mine if call == "poll"}
    refused = [e.seq for e, _ in mine if e.action == "cleanup" and e.status == profile.busy]
    ends = {refused[0], refused[-1]} if refused else set()
    # A start refused while the session was busy changed nothing: left out (it may name an
    # entry an operation made, which a replay would not know).
    busy = {e.seq for e, call in mine if call.startswith("start") and e.status == profile.busy}
    kept = [
        e
        for e, call in mine
        if (call == "poll" and last_poll[e.url] == e.seq)
        or (call != "poll" and (e.seq in ends or e.seq not in refused and e.seq not in busy))
    ]
    made: dict[int, tuple[Exchange, int | None]] = {}  # entry -> (its creation, parent)
    for e in client.transcript:
        entry = profile.created_entry(e.status, e.json()) if e.action == "create-folder" else None
        if entry is not None:
            made[entry] = (e, next(iter(profile.entries_named(e.url, None)), None))
    needed = set().union(*(profile.entries_named(e.url, e.request_body) for e in kept))
    found: dict[int, Exchange] = {}  # an entry an operation made -> the listing that showed it
    todo = list(needed)
    while todo:
        entry = todo.pop()
        parents = [made[entry][1]] if entry in made else []
        if entry not in made and entry not in found:
            shown_in = _first_listing_of(client.transcript, profile, entry)
            if shown_in is not None:  # a replay takes its id from that listing's answer
                found[entry] = shown_in
                parents = list(profile.entries_named(shown_in.url, None))
        for parent in parents:
            if parent is not None and parent not in needed:
                needed.add(parent)
                todo.append(parent)
    shown = {made[i][0].seq for i in needed if i in made} | {e.seq for e in kept}
    shown |= {e.seq for e in found.values()}
    # The clock's moves (clock hooks) up to the last of them: they ended the operations
    # whose next start was accepted, so a replay without them finds the slot still busy.
    last = max(shown, default=0)
    shown |= {
        e.seq
        for e in client.transcript
        if e.action == "clock" and e.method == "POST" and e.seq < last
    }
    return [client.redacted(e) for e in client.transcript if e.seq in shown]


def _charge(machine: MachineBase, clause: str, title: str, expected: str, actual: str) -> None:
    """Record what the server broke, with the example's exchanges as evidence."""
    failure = Failure(
        clause, title, expected, actual, _evidence(machine), check="clean-up", sound=False
    )
    machine.run.recorder.fail(failure)


def _leftover(machine: MachineBase, sandbox: int | None) -> Leftover:
    return Leftover(sandbox, machine.sandbox_name or "", machine.conn.parent_id)


def _left(machine: MachineBase, sandbox: int | None, why: str) -> None:
    leftover = _leftover(machine, sandbox)
    machine.run.recorder.leftovers.append(leftover)
    raise Blocked(f"{why}: exploring stopped; left behind: {leftover.describe()}")


def _unanswered_start(machine: MachineBase, session: Session) -> bool:
    """A start of `session` went unanswered (its outcome unknown): an operation the run
    cannot see may hold the slot, so a 429 proves nothing about CON-2."""
    profile = machine.api.profile
    return any(
        e.status is None
        and e.session == session.label
        and profile.call_of(e.method, e.url) in ("start-copy", "start-delete")
        for e in machine.conn.client.transcript
    )


class Refused:
    """Why a folder could not be removed: the last answer, whether it was the busy
    answer, and whether a delete started (and never ended)."""

    def __init__(self, exchange: Exchange, *, busy: bool, started: bool) -> None:
        self.exchange, self.busy, self.started = exchange, busy, started

    def describe(self) -> str:
        return self.exchange.describe()


def remove_folder(
    api: RepositoryApi, clock: Clock, session: Session, folder: int, timeout: float | None = None
) -> Refused | None:
    """Delete a folder the run made and wait until the delete has ended (at least
    `timeout` seconds, when given); None when it did, else the answer that stopped it
    (a start refused throughout, or a delete that never ended: `Refused.started`)."""
    for pause in pauses(clock):
        ex = api.start_delete(session, folder, action="cleanup")
        if ex.status != api.profile.busy:
            break
        # An operation whose start was interrupted in flight holds the session: wait for it.
        wait(clock, pause)
    token = api.profile.started_token(ex.status, ex.json())
    if token is None and _gone(api, session, folder, ex):
        interrupts.released(folder)  # removed already (a replayed plan may delete it itself)
        return None
    if token is None:
        return Refused(ex, busy=ex.status == api.profile.busy, started=False)
    overdue = None if timeout is None else clock.now + timeout
    if not wait_for_end(api, clock, session, token, overdue):
        return Refused(ex, busy=False, started=True)
    interrupts.released(folder)
    return None


def _gone(api: RepositoryApi, session: Session, folder: int, refused: Exchange) -> bool:
    """Whether a delete refused with "not found" meant it: reading the folder says so too."""
    if refused.status != api.profile.not_found:
        return False
    return api.get_entry(session, folder, action="cleanup").status == api.profile.not_found


def remove_or_raise(api: RepositoryApi, clock: Clock, session: Session, folder: int) -> None:
    """`remove_folder`, where a folder that stays is a harness error naming it."""
    refused = remove_folder(api, clock, session, folder)
    if refused is not None:
        raise_harness(f"could not remove the folder #{folder}: {refused.describe()}")


def find_folder(api: RepositoryApi, session: Session, parent: int, name: str) -> int | None:
    """A sandbox folder by its unique name, when the run was interrupted after asking for
    it but before the answer came. Only that exact name is adopted."""
    for page in api.list_children(session, parent):
        body = page.json()
        listed = isinstance(body, dict) and page.status == api.profile.entry_read
        value = body.get("value") if listed else None
        for item in value if isinstance(value, list) else []:
            named = isinstance(item, dict) and item.get("name") == name
            if named and isinstance(item.get("id"), int):
                api.owned_entries.add(item["id"])
                return item["id"]
    return None


def _may_run(machine: MachineBase, token: str) -> bool:
    return machine.model.may_be_running(machine.model.ops[token], machine.now)


def wait_for_end(
    api: RepositoryApi, clock: Clock, session: Session, token: str, overdue: float | None = None
) -> bool:
    """Poll until the operation has ended (or its token is gone), moving the clock on;
    False when it still ran after all the looks (on the wall clock, until the server's
    time `overdue`, when given, if that is later than the usual budget)."""
    for pause in pauses(clock, overdue):
        if _ended(api, session, token):
            return True
        wait(clock, pause)
    return _ended(api, session, token)  # a last look, after the last pause


def _ended(api: RepositoryApi, session: Session, token: str) -> bool:
    ex = api.poll(session, token, action="cleanup")
    report = api.profile.read_poll(ex, token)
    return report.gone or report.status not in _RUNNING


def pauses(clock: Clock, overdue: float | None = None) -> Iterator[float]:
    """How long to let pass between two looks, bounded in all: on a virtual clock 1 s
    doubling to 60 s of server time, 40 times (over half an hour), then every 60 s until
    the clock reads `overdue`; on the wall clock 0.2 s growing to 1 s, for WALL_BUDGET
    seconds or until `overdue`, whichever is later. After a signal, only while the
    clean-up's grace lasts (`interrupts.GRACE`); with a time budget, not past its end and
    `budget.GRACE`."""
    if clock.virtual:
        for pause in (min(2.0**i, 60.0) for i in range(POLLS)):
            if _cut():
                return
            yield pause
        while overdue is not None and clock.now <= overdue and not _cut():
            yield 60.0
        return
    deadline = time.monotonic() + WALL_BUDGET
    if overdue is not None:
        deadline = max(deadline, time.monotonic() + (overdue - clock.now))
    pause = 0.2
    while time.monotonic() < deadline and not _cut():
        yield pause
        pause = min(pause * 1.5, 1.0)


def _time_cut() -> str | None:
    """Why a clean-up may not have had all its time (a signal came, or the time budget
    and its grace are spent), so that what it could not end is no verdict; else None."""
    if interrupts.requested():
        return "interrupted"
    return _OVERRUN if budget.overrun() else None


def _cut() -> bool:
    """A clean-up's time is up: a signal's grace, or the time budget's, is spent."""
    return interrupts.grace_left() == 0 or budget.overrun()


def wait(clock: Clock, seconds: float) -> None:
    """Let time pass: move a virtual clock, or wait on the wall clock."""
    if clock.virtual:
        clock.advance(seconds)
    else:
        time.sleep(seconds)


def raise_harness(message: str) -> None:
    from ..targets import HarnessError

    raise HarnessError(message)
