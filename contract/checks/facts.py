"""What a rule knew when it sent a request, handed to the checks with the answer: one type
per kind of action (`FACTS`), so a check reads named, typed fields, and a check whose
action's facts are not there (a replay knows only the requests, not the sandbox's
picture) sees another type and leaves the answer alone (it returns None).

A new action names its facts type in `FACTS` (or has none: `Facts`); a new fact is a field
of the type of the actions that know it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..model import Kind, Status
from ..sandbox import Node, Tree


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


@dataclass(frozen=True)
class Suspect:
    """A request that must change nothing, and what it would have changed had it acted:
    a listing's change it explains is charged to its clause."""

    clause: str
    action: str
    names: frozenset[str] = frozenset()  # name keys it would have created
    targets: frozenset[int] = frozenset()  # entries it would have removed


@dataclass(frozen=True)
class Facts:
    """No facts beyond the request and its answer (a listing, a clock move, a cancel...)."""


@dataclass(frozen=True)
class StartFacts(Facts):
    """A start (start-copy, start-delete, start-busy)."""

    present: bool = False  # every entry it names is surely there (a 404 is then SUB-1's)


@dataclass(frozen=True)
class MalformedFacts(Facts):
    """A start with malformed input (start-malformed)."""

    malformation: str | None = None  # what is wrong with it, for the failure's text
    malformed_path: bool = False  # a non-integer id in the path (routing may 404 it)
    missing: bool = False  # the entry it names was removed (its 404 may come first)


@dataclass(frozen=True)
class PollFacts(Facts):
    """A poll of one token (poll)."""

    operation_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    held: Held | None = None  # how long its answer may take (a long-polling dialect)


@dataclass(frozen=True)
class ListingFacts(Facts):
    """A poll or cancel of several tasks (poll-several, cancel-several)."""

    asked: tuple[str, ...]  # the ids named, as sent (none: every task of the session)
    mine: tuple[str, ...]  # the session's tasks the run started
    others: tuple[str, ...]  # other sessions' tasks
    held: Held | None = None


@dataclass(frozen=True)
class EndFacts(Facts):
    """The poll that first showed an operation's end (ended)."""

    status: Status


@dataclass(frozen=True, kw_only=True)
class LookFacts(Facts):
    """Two listings of an area and what may explain a change between them (repeat-polls,
    inspected, outside)."""

    before: Tree
    after: Tree
    suspects: tuple[Suspect, ...] = ()
    operations_ran: bool = False  # an operation may have run since `before`


@dataclass(frozen=True, kw_only=True)
class SettledFacts(LookFacts):
    """An ended operation's area, listed when its effects are checked (settled)."""

    status: Status
    result: int | None = None  # a Completed copy's new entry, as its result names it
    others_ran: bool = False  # another session's operation ran during its life


@dataclass(frozen=True)
class FollowFacts(Facts):
    """A completed copy's result, followed (follow-location)."""

    entry_id: int  # the entry its result names
    now: Tree  # the destination as known at the end
    unsure: bool = False  # ...which may miss what went unseen


@dataclass(frozen=True)
class LookupFacts(Facts):
    """An entry of a Completed delete's subtree, looked up by id (deleted-entry)."""

    gone: Node


@dataclass(frozen=True)
class AuthFacts(Facts):
    """A request sent without a valid bearer token (unauthenticated)."""

    auth: str  # "no" or "an invalid"


@dataclass(frozen=True)
class FuzzFacts(Facts):
    """A request the fuzz phase generated (fuzz-<operation>), as read from what it sent."""

    operation: str
    auth: str = "session"  # "session", "none" or "invalid"
    odd_path: bool = False  # a path value a front end may refuse before the API
    malformation: str | None = None  # a start's malformed input
    token_issued: bool = True  # a poll's or cancel's token was one the server issued
    plain_token: bool = False  # ...made only of characters no router treats specially


@dataclass(frozen=True)
class AftermathFacts(Facts):
    """A refused fuzzed start, and the sandbox and slot after it (fuzz-aftermath)."""

    suspect: str  # the clause the refusal falls under (SUB-3, AUT-1)
    before: frozenset
    after: frozenset
    slot: bool | None  # whether the session's next start was accepted (None: unknown)
    slot_answer: str


#: The facts each action's checks get (an action not named: `Facts`; "fuzz-" names any
#: fuzzed request but the aftermath).
FACTS: dict[str, type[Facts]] = {
    "start-copy": StartFacts,
    "start-delete": StartFacts,
    "start-busy": StartFacts,
    "start-malformed": MalformedFacts,
    "poll": PollFacts,
    "poll-several": ListingFacts,
    "cancel-several": ListingFacts,
    "ended": EndFacts,
    "settled": SettledFacts,
    "repeat-polls": LookFacts,
    "inspected": LookFacts,
    "outside": LookFacts,
    "follow-location": FollowFacts,
    "deleted-entry": LookupFacts,
    "unauthenticated": AuthFacts,
    "fuzz-aftermath": AftermathFacts,
    "fuzz-": FuzzFacts,
}


def facts_type(action: str) -> type[Facts]:
    if action in FACTS:
        return FACTS[action]
    return FACTS["fuzz-"] if action.startswith("fuzz-") else Facts
