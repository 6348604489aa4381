"""Which dialect a target speaks, seen from one tiny copy: the profile probe.

Before exploring, the run makes a uniquely named sandbox folder under the parent
folder, one small folder in it, and copies that folder on the copy path of each
profile (one copy at a time: a session runs one long operation). It watches each
copy to its end and removes the sandbox. A profile *fits* when everything it says
about the copy on its own path held: the start answered its accepted status with a token, every
poll while the copy ran answered its running status, and the end came as its
completion answer (a status that reports Completed, with a Location).

The probe serves two purposes (`settle`):

* `--profile auto`: the one profile that fits is picked, and the console report says
  which and why. A server that serves several API versions (one dialect of each fits)
  is judged in the newest, and the note names the others. None fitting, or several
  of one version, is exit 2: the gate will not guess.
* a named profile against a target whose dialect is unknown (live mode): if the
  profile does not fit and exactly one other does, the run stops (exit 2) naming it,
  instead of reporting violations a build of the other dialect does not commit. If
  no profile fits, the run goes on: what is wrong is then the target's, and the
  clauses say what. The claim "answers like X" is made only when X fits everything
  seen, so a faulty build of the named dialect is never sent to another one.

Nothing here judges a clause: the probe's exchanges are not evidence of anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from . import interrupts
from .api import RepositoryApi
from .checks import Failure
from .client import Exchange, Session
from .machine.cleanup import (
    Blocked,
    find_folder,
    marked,
    new_marker,
    pauses,
    raise_harness,
    refusal_failure,
    remove_folder,
    remove_leak,
    wait,
    wait_for_end,
)
from .model import ENDED, RUNNING, Timing
from .profiles import PROFILES, Profile
from .targets import Connection, HarnessError, Target, find_version
from .verdicts import Leftover

AUTO = "auto"
_RUNNING = {s.value for s in RUNNING}
_ENDED = {s.value for s in ENDED}


@dataclass
class Trial:
    """What one copy on one copy path showed."""

    path: str  # the copy path template tried
    start: int | None = None  # the start's HTTP status (None: no answer)
    token: str | None = None
    running: set[int] = field(default_factory=set)  # statuses of polls that reported running
    end: Exchange | None = None  # the poll that showed the copy ended, if one did
    link: str | None = None  # where that poll's answer said the result is
    root: str = "v1/Repositories"  # the API version the copy was tried in (`api_root`)
    link_name: str = "Location"  # what the dialect tried calls the result's link

    def fits(self, profile: Profile) -> bool:
        """Everything `profile` says about this copy held, its path included."""
        end = self.end
        report = profile.read_poll(end, self.token) if end is not None else None
        return (
            self.path == profile.copy_path
            and self.token is not None
            and self.start == profile.start_accepted
            and self.running <= {profile.poll_running}
            and end is not None
            and end.status == profile.poll_completed_copy
            and report is not None
            and bool(report.link)
            and report.status == "Completed"
        )

    def describe(self) -> str:
        """`a copy at /v1/.../Folder/CopyAsync answered 201, its end 201 with Location`."""
        where = short_path(self.root, self.path)
        text = f"a copy at {where} answered {self.start or 'nothing'}"
        if self.token is None:
            return text
        if self.running:
            text += f", polls while it ran {'/'.join(map(str, sorted(self.running)))}"
        if self.end is None:
            return text + ", and it was not seen to end"
        with_link = "with" if self.link else "without"
        return text + f", its end {self.end.status} {with_link} {self.link_name}"


def short_path(root: str, template: str) -> str:
    """The version and distinctive end of a copy path: `/v1/.../Folder/children/CopyAsync`."""
    tail = template.split("}/", 1)[-1].replace("Laserfiche.Repository.", "")
    return f"/{root.split('/')[0]}/.../{tail}"


def settle(
    profile_name: str, target: Target, operation_timeout: float = Timing.operation_timeout
) -> str | None:
    """Make sure the target is judged in a dialect it speaks; a one-line note for the
    report when `--profile auto` picked one. Raises HarnessError (exit 2) on a mismatch,
    or when auto finds no single fitting profile."""
    if target.serves is None or target.serves != target.profile.name:
        _version(target, auto=profile_name == AUTO)
    if profile_name != AUTO:
        if target.serves is None or target.serves != target.profile.name:
            _check(target, operation_timeout)
        return None
    trials = probe(target, list(PROFILES.values()), operation_timeout=operation_timeout)
    chosen, older = _pick(trials)
    target.speaking(chosen)
    fit = next(t for t in trials if t.path == chosen.copy_path)
    others = [t.describe().removeprefix("a copy ") for t in trials if t is not fit]
    elsewhere = f"; {', '.join(others)}" if others else ""
    also = "".join(
        f"; it serves {p.name} too (an older API version): gate that with --profile {p.name}"
        for p in older
    )
    return (
        f"profile {chosen.name} picked by --profile auto: {fit.describe()}, "
        f"as {chosen.name} says{elsewhere}{also}"
    )


def _version(target: Target, auto: bool) -> None:
    """Speak the API version that reads the parent folder (`targets.find_version`)."""
    conn = target.connect()
    try:
        found = find_version(conn.api, conn.sessions[0], conn.parent_id, auto)
    finally:
        conn.close()
    if found is not None:
        target.speaking(found)


def _check(target: Target, operation_timeout: float) -> None:
    given = target.profile
    others = [p for p in PROFILES.values() if p.name != given.name]
    trials = probe(target, [given, *others], stop_at_fit=given, operation_timeout=operation_timeout)
    if any(t.fits(given) for t in trials):
        return
    fitting = [p for p in others if any(t.fits(p) for t in trials)]
    if len(fitting) != 1:
        return  # no other dialect explains it either: the clauses will say what is wrong
    (other,) = fitting
    seen = "; ".join(t.describe() for t in trials)
    raise HarnessError(
        f"the target answers like {other.name}, not {given.name} ({seen}): "
        f"run with --profile {other.name}"
    )


def _pick(trials: list[Trial]) -> tuple[Profile, list[Profile]]:
    """The one profile that fits, and none older; or, when a dialect of each of several API
    versions fits (a server that serves v1 and v2 alike, as Laserfiche's does), the newest
    version's (PROFILES lists them oldest first) and the older ones that fit too."""
    fitting = [p for p in PROFILES.values() if any(t.fits(p) for t in trials)]
    if len(fitting) == 1:
        return fitting[0], []
    if len(fitting) > 1 and len({p.api_root for p in fitting}) == len(fitting):
        return fitting[-1], fitting[:-1]
    seen = "; ".join(t.describe() for t in trials)
    names = ", ".join(PROFILES)
    if not fitting:
        raise HarnessError(
            f"--profile auto: the target fits no known profile ({seen}); "
            f"name the closest with --profile ({names}) to see which clauses it breaks"
        )
    raise HarnessError(
        f"--profile auto: the target fits {' and '.join(p.name for p in fitting)} alike "
        f"({seen}); name one with --profile"
    )


def probe(
    target: Target,
    profiles: list[Profile],
    stop_at_fit: Profile | None = None,
    operation_timeout: float = Timing.operation_timeout,
) -> list[Trial]:
    """One copy on each distinct copy path of `profiles`, in order, inside a sandbox that
    is removed afterwards (also on an error or Ctrl-C). With `stop_at_fit`, no further
    path is tried once that profile fits."""
    conn = target.connect()
    session = conn.sessions[0]
    name = f"lro-conformance-profile-{uuid.uuid4().hex[:10]}"
    # The names it asks for carry a marker, like an example's: what the server puts beside
    # the sandbox is found and removed (`_remove`).
    marker = new_marker()
    sandbox: int | None = None
    held = False
    try:
        sandbox = _make_folder(conn.api, session, conn.parent_id, name)
        if conn.shared:
            interrupts.holding(sandbox, Leftover(sandbox, name, conn.parent_id).describe())
        source = _make_folder(conn.api, session, sandbox, f"probe-source{marker}")
        trials: list[Trial] = []
        for profile in profiles:
            if any(t.path == profile.copy_path for t in trials):
                continue
            api = conn.api.speaking(profile)
            trials.append(
                _copy(conn, api, session, sandbox, source, f"probe-copy{marker}", operation_timeout)
            )
            if stop_at_fit is not None and trials[-1].fits(stop_at_fit):
                break
        return trials
    except Blocked as exc:  # its session is held: the sandbox stays, named
        exc.leftover, held = Leftover(sandbox, name, conn.parent_id), True
        raise
    finally:
        with interrupts.deferred():
            try:
                if not held:
                    _remove(conn, session, sandbox, name, operation_timeout)
                    _remove_leaks(conn, session, marker, operation_timeout)
            finally:
                conn.close()


def _make_folder(api: RepositoryApi, session: Session, parent: int, name: str) -> int:
    ex = api.create_folder(session, parent, name)
    body = ex.json()
    if ex.status != api.profile.entry_created or not isinstance(body, dict):
        raise_harness(f"the profile probe could not create the folder {name!r}: {ex.describe()}")
    if not isinstance(body.get("id"), int):
        raise_harness(f"the profile probe's new folder {name!r} has no id: {ex.describe()}")
    return int(body["id"])


def _copy(
    conn: Connection,
    api: RepositoryApi,
    session: Session,
    dest: int,
    source: int,
    name: str,
    timeout: float,
) -> Trial:
    """Start a copy of `source` into `dest` on `api`'s copy path and watch it to its end."""
    trial = Trial(
        api.profile.copy_path, root=api.profile.api_root, link_name=api.profile.members.link
    )
    ex = api.start_copy(
        session,
        dest,
        {"sourceId": source, "name": name},
        auto_rename=True,
        action="profile-probe",
    )
    trial.start = ex.status
    token = api.profile.started_token(ex.status, ex.json())
    if token is None:
        return trial
    trial.token = token
    for pause in pauses(conn.clock):
        poll = api.poll(session, token, action="profile-probe")
        report = api.profile.read_poll(poll, token)
        redirect = poll.status is not None and 300 <= poll.status < 400
        if poll.status is not None and 200 <= poll.status < 300 and report.status in _RUNNING:
            trial.running.add(poll.status)
        elif (redirect and report.link) or report.status in _ENDED:
            trial.end, trial.link = poll, report.link
            return trial
        else:
            return trial  # gone, refused, unreadable: nothing more to learn from it
        wait(conn.clock, pause)
    # Still running after half an hour of looks: cancel it; one that runs on breaks STA-7.
    api.cancel(session, token, action="profile-probe")
    if wait_for_end(api, conn.clock, session, token, conn.clock.now + timeout):
        return trial
    failure = Failure(
        "STA-7",
        "the profile probe's copy never ended, not even when cancelled",
        f"an end within {timeout:g}s of its start",
        f"{token!r} still running",
        [conn.client.redacted(e) for e in conn.client.transcript],
        check="clean-up",
    )
    raise Blocked("the profile probe's copy never ended", failure)


def _remove_leaks(conn: Connection, session: Session, marker: str, timeout: float) -> None:
    """What the server put beside the sandbox (a copy of the probe's, by its name) is
    removed; the examples judge such leaks (ISO-2), the probe only tidies up."""
    pages = conn.api.list_children(session, conn.parent_id)
    for node in marked(pages, conn.parent_id, marker, conn.profile) or []:
        left = remove_leak(conn.api, conn.clock, session, node, timeout)
        if left is not None:
            raise_harness(f"could not remove what the profile probe's copy left: {left.describe()}")


def _remove(
    conn: Connection, session: Session, sandbox: int | None, name: str, timeout: float
) -> None:
    api = conn.api
    if sandbox is None:  # interrupted while asking for it, or refused: look for it by name
        sandbox = find_folder(api, session, conn.parent_id, name)
    if sandbox is None:
        return
    refused = remove_folder(api, conn.clock, session, sandbox, timeout)
    if refused is None:
        return
    left = Leftover(sandbox, name, conn.parent_id)
    evidence = [conn.client.redacted(e) for e in conn.client.transcript]
    # Its one copy was seen ended (a copy that never did stopped the probe before this).
    failure = refusal_failure(refused, timeout, evidence, all_ended=True)
    if failure is None:
        raise_harness(
            f"could not remove the profile probe's folder: {refused.describe()} "
            f"(left behind: {left.describe()})"
        )
        return
    raise Blocked(
        f"the profile probe's clean-up: {failure.title}; left behind: {left.describe()}",
        failure,
        left,
    )
