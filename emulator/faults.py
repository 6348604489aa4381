"""The catalogue of seeded faults: realistic server bugs the emulator can be built with.

Each fault names the contract clauses (see DESIGN.md §4) it breaks, so the
mutation gate can require that running the suite against it fails one of
them. The emulator's code tests for a fault by name at the one place where it
changes behaviour (`faults.has("token-reuse")`), so the clean path stays the
obvious one and each bug is easy to find.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One seeded bug: its name, the clause ids it breaks, and what it does."""

    name: str
    clauses: tuple[str, ...]
    description: str
    # The dialect whose wire it breaks (the mutation gate runs it there); None: any, run
    # in the default (openapi-v1).
    profile: str | None = None
    # "wall": it shows only on the wall clock (a long poll waits there; on the virtual
    # clock no time passes inside a request), so tests/test_wall_clock.py runs it, not
    # the mutation gate's in-process runs. None: any clock.
    clock: str | None = None


_CATALOGUE: tuple[Fault, ...] = (
    Fault("start-202", ("SUB-1",), "Copy and delete starts answer 202 instead of 201."),
    Fault(
        "start-empty-token",
        ("SUB-1",),
        'Starts answer {"token": ""}; the operation still runs under a hidden token.',
    ),
    Fault(
        "token-reuse",
        ("SUB-2",),
        "A session's new operation reuses the token of its previous, ended but unexpired one.",
    ),
    Fault(
        "accept-missing-name",
        ("SUB-3",),
        'A copy start without "name" is accepted (the source\'s name is used) instead of 400.',
    ),
    Fault(
        "accept-null-name",
        ("SUB-3",),
        'A copy start whose "name" is null is accepted (the source\'s name is used) instead '
        "of 400.",
    ),
    Fault(
        "malformed-start-leaks",
        ("SUB-3",),
        "A copy start with a valid name but a non-integer sourceId creates an empty folder "
        "of that name in the destination, then answers 400.",
    ),
    Fault(
        "missing-source-completes",
        ("SUB-4",),
        "A copy of a missing source ends Completed, creating an empty folder, not Failed.",
    ),
    Fault("running-200", ("STA-1",), "Polls of running operations answer 200 instead of 202."),
    Fault("wrong-operation-type", ("STA-2",), 'Delete operations report "CopyEntry".'),
    Fault(
        "progress-backwards",
        ("STA-3",),
        "Once per operation, the poll after one that reported progress > 0 reports 0.",
    ),
    Fault(
        "completed-flaps",
        ("STA-4", "STA-3"),  # the stale 99% is progress going backwards too
        "The poll after a copy's first Completed poll answers InProgress (202, 99%) once.",
    ),
    Fault("failed-without-errors", ("STA-5",), 'Failed operations report "errors": [].'),
    Fault(
        "poll-duplicates-result",
        ("STA-6",),
        "Each poll of a completed copy after the first creates another copy of its root.",
    ),
    Fault(
        "poll-leaves-lock",
        ("STA-6",),
        'Each poll of an ended copy after the first leaves a document "~task.lock" in its destination.',
    ),
    Fault(
        "location-wrong-repo",
        ("RED-1",),
        'Location and redirectUri name repository "r0-other" instead of the real one.',
    ),
    Fault(
        "location-points-to-source",
        ("RED-2",),
        "Location, redirectUri and entryId name the source entry instead of the new one.",
    ),
    Fault(
        "entry-id-mismatch",
        ("RED-3",),
        "entryId in the body is the destination folder's id (Location stays right).",
    ),
    Fault(
        "shallow-copy",
        ("RED-4",),
        "A copy creates only the root of the subtree; later steps run but create nothing.",
    ),
    Fault(
        "no-operation-limit",
        ("CON-1", "CON-4"),  # simultaneous starts are all accepted too
        "No per-session limit: starts are never 429.",
    ),
    Fault(
        "rejected-start-leaks",
        ("CON-1", "CON-4"),  # a refusal among simultaneous starts leaks just the same
        "A copy start refused with 429 still creates an empty folder of the requested name "
        "in the destination.",
    ),
    Fault(
        "slot-leak-after-cancel",
        ("CON-2",),
        "A session whose operation was cancelled stays busy (429) until that token expires.",
    ),
    Fault(
        "slot-never-frees",
        ("CON-2",),
        "A session stays busy (429) forever once one of its operations was cancelled while "
        "NotStarted; a live run's clean-up cannot remove its sandbox.",
    ),
    Fault(
        "racy-slot-check",
        ("CON-4",),
        "A start's handler reads the session's slot, then awaits before registering the "
        "operation, with no lock: starts sent together are all accepted (one at a time, "
        "all is well).",
    ),
    Fault(
        "global-operation-limit",
        ("CON-3",),
        "A running operation in any session makes every start 429.",
    ),
    Fault(
        "stalls-uncancellable",
        ("STA-7",),
        "Like stalls-before-end, but a cancel of the stalled operation is answered 204 and "
        "changes nothing: it runs forever, and a live run's clean-up cannot end it.",
    ),
    Fault(
        "stalls-before-end",
        ("STA-7",),
        "An operation of three or more entries stops before its last one and stays "
        "InProgress forever, holding its session (cancel still ends it).",
    ),
    Fault(
        "cancel-ignored",
        ("CAN-1",),
        "Cancel of a running operation answers 204, but the operation carries on.",
    ),
    Fault(
        "cancel-leaks-outside",
        ("CAN-2", "ISO-2"),  # a leak outside its region breaks ISO-2 too
        'Cancelling a copy creates a "<name>.partial" folder in the source\'s parent.',
    ),
    Fault(
        "cancel-ended-204",
        ("CAN-3",),
        "Cancelling an ended operation answers 204 and turns its status to Cancelled.",
    ),
    Fault(
        "cancel-expired-400",
        ("CAN-4",),
        'Cancelling an expired token answers 400 "Cannot cancel ended operation", not 404.',
    ),
    Fault(
        "cancel-unknown-204",
        ("CAN-4", "ERR-2"),
        "Cancelling a token that was never issued answers 204 (expired ones still answer 404).",
    ),
    Fault(
        "ttl-short",
        ("EXP-1",),
        "Tokens expire 2/3 of the TTL after the end (600 s of 900 s), not the full TTL.",
    ),
    Fault(
        "no-expiry",
        ("EXP-2", "CAN-4"),
        "Tokens never expire: after the TTL a poll still answers and a cancel is refused "
        "with 400 instead of 404.",
    ),
    Fault(
        "ttl-from-start",
        ("EXP-3", "EXP-1"),
        "Expiry is counted from the operation's creation instead of its end.",
    ),
    Fault(
        "problem-status-mismatch",
        ("ERR-1",),
        'Every problem document says "status": 400 whatever the HTTP status.',
    ),
    Fault(
        "volume-name-crash",
        ("ERR-3",),
        'A copy start whose optional "volumeName" is neither a string nor null crashes the '
        "server (500) instead of answering 400.",
    ),
    Fault("unknown-token-500", ("ERR-2",), "Polling a token that was never issued answers 500."),
    Fault(
        "missing-auth-accepted",
        ("AUT-1",),
        "A request without an authorization header is served as the first session.",
    ),
    Fault(
        "unauthenticated-copy-runs",
        ("AUT-1",),
        "A copy start with a wrong bearer token creates an empty folder of the requested name "
        "in the destination, then answers 401.",
    ),
    Fault("tasks-shared", ("ISO-1",), "Any session can poll and cancel any other session's token."),
    Fault(
        "foreign-cancel-acts",
        ("ISO-1",),
        "Another session's cancel answers 404 but cancels the operation all the same.",
    ),
    Fault(
        "running-token-forgotten",
        ("STA-1",),
        "A running operation's token answers 404 once it has run for 3 s, until it ends.",
    ),
    Fault(
        "delete-takes-sibling",
        ("ISO-2",),
        "A completed delete also removes the target's next sibling and its subtree.",
    ),
    Fault(
        "completion-echo-to-other-session",
        ("ISO-2",),
        "A completed copy also creates an empty folder of its name in the folder of another "
        "session's latest operation.",
    ),
    Fault(
        "entry-type-as-number",
        ("SCH-1",),
        'A created entry is answered with "entryType" as its enum number (Folder is 0), not '
        "its name.",
    ),
    Fault(
        "delete-orphans-descendants",
        ("RED-4",),
        "A delete of a folder unlinks the folder only: the entries below it vanish from every "
        "listing but still answer GET by id (200).",
    ),
    Fault(
        "unauthenticated-cancel-acts",
        ("AUT-1",),
        "A cancel without a valid bearer token cancels the operation it names (credentials are "
        "checked after the handler ran), then answers 401.",
    ),
    Fault(
        "copy-depth-limit",
        ("RED-4",),
        "A copy stops descending four levels below its source (a recursion limit): deeper "
        "entries are not copied, and the copy still ends Completed.",
    ),
    Fault(
        "delete-first-ten",
        ("RED-4",),
        "A delete removes at most ten children of any folder (one page of a listing) and "
        "then the folder itself only once it is empty: a wide folder stays, the delete "
        "ends Completed.",
    ),
    Fault(
        "expired-410",
        ("EXP-2", "CAN-4"),
        "An expired token's poll and cancel answer 410 Gone (a problem document) instead of 404.",
    ),
    Fault(
        "cancel-200",
        ("CAN-1",),
        "A cancel of a running operation answers 200 with its status body instead of 204.",
    ),
    Fault(
        "deep-entry-404",
        ("SUB-1",),
        "A start naming an entry more than five levels below the root folder answers 404 "
        "(the id lookup goes through a path cache five levels deep).",
    ),
    Fault(
        "delete-ignores-body",
        ("SUB-3",),
        "A delete start never reads its optional body: a malformed one (not JSON, "
        "auditReasonId a string) starts the delete instead of answering 400.",
    ),
    Fault(
        "copy-staging-left",
        ("ISO-2",),
        "A copy is staged in the repository's root folder: once it Completed, an empty "
        "folder with the name it asked for is left there too (outside any sandbox).",
    ),
    Fault(
        "cancel-strands-copy",
        ("CAN-2",),
        "A cancelled copy's partial result is moved to the repository's root folder (its "
        "staging area) instead of staying in the destination.",
    ),
    Fault(
        "list-duplicates",
        ("LST-1",),
        "A v2 task listing names a task once for each time the poll named it.",
        "v2",
    ),
    Fault(
        "list-foreign",
        ("LST-1", "ISO-1"),
        "A v2 task listing, a poll's or a cancel's, also holds (and a cancel acts on) the "
        "other sessions' tasks that it names.",
        "v2",
    ),
    Fault(
        "list-all-sessions",
        ("LST-2",),
        "A v2 task listing that names no task holds every session's live tasks.",
        "v2",
    ),
    Fault("v2-start-201", ("SUB-1",), "v2 copy and delete starts answer 201 instead of 202.", "v2"),
    Fault(
        "v2-start-token-member",
        ("SUB-1",),
        'v2 starts answer v1\'s {"token": ...} instead of {"taskId": ...}.',
        "v2",
    ),
    Fault(
        "v2-status-backwards",
        ("STA-4",),
        "The second v2 listing of a Completed task lists it InProgress (at 100%) once.",
        "v2",
    ),
    Fault(
        "v2-progress-backwards",
        ("STA-3",),
        "Once per v2 task, the listing after one that reported progress > 0 reports 0.",
        "v2",
    ),
    Fault(
        "v2-completed-percent-short",
        ("STA-3",),
        "A Completed v2 task reports the share of its steps before the last (a one-step "
        "task 0%), not 100.",
        "v2",
    ),
    Fault(
        "v2-wrong-task-type",
        ("STA-2",),
        'v2 delete tasks are listed with taskType "CopyEntry".',
        "v2",
    ),
    Fault(
        "v2-failed-without-errors",
        ("STA-5",),
        'A Failed v2 task is listed with "errors": null.',
        "v2",
    ),
    Fault(
        "v2-running-task-left-out",
        ("STA-1",),
        "A v2 listing leaves out a running task once it has run for 3 s, until it ends.",
        "v2",
    ),
    Fault(
        "v2-result-uri-wrong-repo",
        ("RED-1",),
        'A completed copy\'s result.uri names repository "r0-other" instead of the real one.',
        "v2",
    ),
    Fault(
        "v2-result-uri-other-origin",
        ("RED-1",),
        "A completed copy's result.uri is built on a configured public host "
        "(https://api.laserfiche.com), not the origin the request reached.",
        "v2",
    ),
    Fault(
        "v2-result-uri-to-source",
        ("RED-2",),
        "A completed copy's result (entryId and uri) names the source entry, not the new one.",
        "v2",
    ),
    Fault(
        "v2-result-entry-id-mismatch",
        ("RED-3",),
        "A completed copy's result.entryId is the destination folder's id (result.uri stays "
        "right).",
        "v2",
    ),
    Fault(
        "v2-result-missing",
        ("RED-1",),
        'A Completed v2 copy is listed with "result": null.',
        "v2",
    ),
    Fault(
        "v2-cancel-ignored",
        ("CAN-1",),
        "A v2 cancel of a running task answers result true, but the task carries on.",
        "v2",
    ),
    Fault(
        "v2-cancel-completes",
        # The v2 wire cannot tell it from a task that ended just before the cancel (result
        # true is accepted-or-ended): what shows is a Completed copy or delete that did not
        # do its work (RED-4).
        ("CAN-1", "RED-4"),
        "A v2 cancel of a running task ends it Completed (the handler marks it done), not "
        "Cancelled.",
        "v2",
    ),
    Fault(
        "v2-cancel-rewrites-ended",
        ("CAN-3", "STA-4"),  # the ended task's terminal status changes too
        "A v2 cancel of an ended task turns its status to Cancelled.",
        "v2",
    ),
    Fault(
        "v2-cancel-lists-unknown",
        ("CAN-4", "ERR-2", "ISO-1"),  # an unknown id not left out; another session's either
        "A v2 cancel answers every id it was named, result false for those that name no "
        "task of the session (never issued, expired, another session's).",
        "v2",
    ),
    Fault(
        "v2-cancel-foreign-acts",
        ("ISO-1",),
        "A v2 cancel naming another session's running task cancels it, though the answer "
        "leaves it out.",
        "v2",
    ),
    Fault(
        "v2-expired-still-listed",
        ("EXP-2", "CAN-4"),  # a cancel naming the expired id lists it too
        "v2 listings and cancels still hold a session's task after its id expired.",
        "v2",
    ),
    Fault(
        "v2-unknown-id-500",
        ("ERR-2", "ERR-3"),
        "A v2 poll or cancel naming a task id never issued answers 500.",
        "v2",
    ),
    Fault(
        "v2-unauthenticated-cancel-acts",
        ("AUT-1",),
        "A v2 cancel without a valid bearer token cancels the running tasks it names "
        "(credentials are checked after the handler ran), then answers 401.",
        "v2",
    ),
    Fault(
        "v2-timestamps-as-numbers",
        ("SCH-1",),
        'v2 listings answer "startTime" and "lastUpdateTime" as epoch seconds (numbers), '
        "not date-time strings.",
        "v2",
    ),
    Fault(
        "v2-poll-leaves-lock",
        ("STA-6",),
        'Each v2 listing of an ended copy after the first leaves a document "~task.lock" in '
        "its destination.",
        "v2",
    ),
    Fault(
        "v2-cancel-first-only",
        ("CAN-1",),
        "A cancel naming several tasks cancels only the first one named; each is answered "
        "result: true.",
        "v2",
    ),
    Fault(
        "v2-long-poll-overstays",
        ("LST-3",),
        "A poll of running tasks is held up to twice the long poll (the deadline is armed "
        "again once), 120 s of the document's 60.",
        "v2",
        "wall",
    ),
    Fault(
        "v2-long-poll-holds-ended",
        ("LST-3",),
        "A long poll waits for news after it arrived: a poll naming only tasks that had "
        "already ended is held the whole long poll.",
        "v2",
        "wall",
    ),
    Fault(
        "timestamps-as-numbers",
        ("SCH-1",),
        'Polls answer "startTimestamp" and "statusTimestamp" as epoch seconds (numbers), not '
        "date-time strings.",
    ),
)

#: Every seeded fault by name.
FAULTS: dict[str, Fault] = {fault.name: fault for fault in _CATALOGUE}


def print_catalogue() -> int:
    """`--list-faults` of both commands: one fault a line (name, clause ids, what it does).
    A reader that stops early (`| head`) is not an error."""
    width = max(len(name) for name in FAULTS) + 2
    return print_lines(
        f"{f.name:<{width}} {','.join(f.clauses):<14} "
        f"{'(wall clock only) ' if f.clock == 'wall' else ''}{f.description}"
        for f in _CATALOGUE
    )


def print_lines(lines: Iterable[str]) -> int:
    """Print a catalogue listing (exit code 0); a reader that stops early is no error."""
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


class FaultSet:
    """The faults one emulator was built with; `has(name)` guards each buggy branch."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)
        unknown = sorted(self._names - FAULTS.keys())
        if unknown:
            # Catching typos here matters: a misspelt fault would silently run clean.
            raise ValueError(
                f"unknown fault(s) {', '.join(map(repr, unknown))}; "
                f"known faults: {', '.join(sorted(FAULTS))}"
            )

    def has(self, name: str) -> bool:
        """True when the emulator carries fault `name` (which must be in FAULTS)."""
        assert name in FAULTS, f"code asks for unregistered fault {name!r}"
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))
