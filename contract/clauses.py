"""The clause catalogue: every rule of the long-operation contract the gate can judge.

Each check cites exactly one clause id from here. Sources: G = the guide
("Long Operations (V1)"), O = the vendor's OpenAPI v1 document, R = RFC 9110 /
9457, P = platform practice, V = the vendor's v2 document and its tests (DESIGN §4;
FACTS.md for the evidence).

The texts say the rules in v1's words (tokens, status codes, Location). A wire that says
them otherwise restates them (`RESTATED`, by `Profile.wire`): the same rule, judged by
the same checks through the dialect's reader; a run's reports give its wire's texts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class Clause:
    id: str
    text: str
    sources: str  # letters from G, O, R, P
    level: Literal["MUST", "SHOULD"] = "MUST"
    # Profiles this clause applies to; empty means every profile.
    profiles: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.id.split("-")[0]

    def in_wire(self, wire: str) -> Clause:
        """This clause as `wire` says it (`RESTATED`); itself where the words are the same."""
        text = RESTATED.get(wire, {}).get(self.id)
        return replace(self, text=text) if text else self


_CATALOGUE = [
    (
        "SUB-1",
        "Starting a copy or delete answers at once with the profile's accepted status and a JSON body holding a non-empty string `token`.",
        "GO",
    ),
    ("SUB-2", "A token is never reused for another operation while the first is retrievable.", "G"),
    (
        "SUB-3",
        "A start with malformed input (bad JSON, missing or ill-typed fields, non-integer ids) is rejected with 400, starts nothing and changes nothing.",
        "O",
    ),
    (
        "SUB-4",
        "A start that names a missing source or destination either fails at once with 404, or starts an operation that ends Failed with at least one error; never Completed, never 5xx.",
        "O",
    ),
    (
        "STA-1",
        "Polling a live token answers with status in {NotStarted, InProgress, Completed, Failed, Cancelled}; NotStarted and InProgress answer 202.",
        "GO",
    ),
    ("STA-2", "The status body echoes the token and names the right `operationType`.", "G"),
    (
        "STA-3",
        "`percentComplete` is an integer in 0..100, never decreases, and is 100 when Completed.",
        "G",
    ),
    (
        "STA-4",
        "Status only moves forward along the lifecycle; a terminal state never changes until expiry.",
        "G",
    ),
    (
        "STA-5",
        "A Failed operation carries at least one error with a message; `errors` is always an array.",
        "O",
    ),
    ("STA-6", "Polling has no side effects.", "R"),
    (
        "STA-7",
        "An operation ends (Completed, Failed or Cancelled) within a bounded time of its start (`--operation-timeout`, default 15 min); one stuck running holds its session's slot forever.",
        "P",
    ),
    (
        "RED-1",
        "A Completed copy answers with the profile's completion status and a `Location` pointing at `/v1/Repositories/{repoId}/Entries/{newId}` on the same origin and repository.",
        "GO",
    ),
    (
        "RED-2",
        "Following `Location` gives 200 and the new entry: requested name (or its auto-renamed form), parent = destination, same type as the source.",
        "G",
    ),
    ("RED-3", "Where the body carries `redirectUri` / `entryId`, they agree with `Location`.", "O"),
    (
        "RED-4",
        "A Completed copy reproduces the source subtree; a Completed delete leaves the entry and its subtree gone (404).",
        "G",
    ),
    (
        "CON-1",
        "While a session runs its limit of operations (one; --operation-limit), another start in that session is rejected with 429 and changes nothing.",
        "GO",
    ),
    (
        "CON-2",
        "A session's slot frees when its operation ends (Completed, Failed or Cancelled): below its limit, a start is accepted.",
        "G",
    ),
    (
        "CON-3",
        "Sessions are independent: one session's running operation never blocks another session.",
        "G",
    ),
    (
        "CON-4",
        "Of several simultaneous starts in a session that runs nothing, at least one and at most its limit (one; --operation-limit) are accepted.",
        "G",
    ),
    (
        "CAN-1",
        "Cancelling a running operation answers 204, and the operation then reports Cancelled.",
        "GO",
    ),
    (
        "CAN-2",
        "A cancelled operation may leave partial results, but only inside its own destination (copy) or target subtree (delete).",
        "G",
    ),
    (
        "CAN-3",
        "Cancelling an ended operation is refused (400) and leaves its status unchanged.",
        "O",
    ),
    ("CAN-4", "Cancelling an unknown or expired token answers 404.", "O"),
    (
        "EXP-1",
        "A token stays retrievable, with the same terminal status, for the whole TTL (15 min) after its operation ended.",
        "G",
    ),
    ("EXP-2", "After the TTL (plus tolerance) the token is gone: poll and cancel answer 404.", "G"),
    ("EXP-3", "The TTL counts from the end of the operation, not its start.", "G"),
    (
        "ERR-1",
        "Every 4xx/5xx body is a problem document: JSON with `status` equal to the HTTP status and a non-empty `title`.",
        "OR",
    ),
    ("ERR-2", "An unknown or malformed token answers 404 (or 400 when malformed), never 5xx.", "O"),
    ("ERR-3", "No request the suite can generate makes the server answer 5xx.", "P"),
    ("AUT-1", "A request with no or an invalid bearer token answers 401 and changes nothing.", "O"),
    ("ISO-1", "A session cannot read or cancel another session's operation.", "P"),
    (
        "ISO-2",
        "An operation never touches entries outside its source and destination subtrees.",
        "P",
    ),
    (
        "LST-1",
        "A poll or cancel of several task ids lists each of the session's live tasks it names exactly once (duplicates once), and nothing else: unknown, expired and other sessions' ids are left out.",
        "V",
    ),
    (
        "LST-2",
        "A poll that names no task id lists exactly the session's live tasks.",
        "V",
    ),
    (
        "LST-3",
        "A poll answers within the long poll (60 s) plus tolerance, and at once when a task it names has already ended.",
        "V",
    ),
    (
        "SCH-1",
        "Every 2xx body validates against the profile's schema (properties it does not declare are allowed).",
        "O",
    ),
]

#: wire -> clause id -> the clause in that wire's words. v2 (FACTS.md, "API v2"): the same
#: rules, said in tasks, `taskIds` lists and `result`.
RESTATED: dict[str, dict[str, str]] = {
    "v2": {
        "SUB-1": "Starting a copy or delete answers at once with 202 and a JSON body holding a non-empty string `taskId`.",
        "SUB-2": "A task id is never reused for another task while the first is retrievable.",
        "STA-1": "Polling a live task id (`GET .../Tasks?taskIds=`) answers 200 and lists it with status in {NotStarted, InProgress, Completed, Failed, Cancelled}.",
        "STA-2": "A listed task names its own `id` and the right `taskType`.",
        "STA-5": "A Failed task carries at least one error (a ProblemDetails with a title or detail); `errors` is null or an array.",
        "RED-1": "A Completed copy's task carries `result.uri` pointing at `/v2/Repositories/{repoId}/Entries/{newId}` on the same origin and repository.",
        "RED-2": "Following `result.uri` gives 200 and the new entry: requested name (or its auto-renamed form), parent = destination, same type as the source.",
        "RED-3": "Where the task carries `result.entryId`, it agrees with `result.uri`.",
        "CAN-1": "Cancelling a running task answers `result: true` for it, and the task then reports Cancelled, never Completed.",
        "CAN-3": "Cancelling an ended task leaves its status unchanged (its `result` may be true or false).",
        "CAN-4": "Cancelling an unknown or expired task id leaves it out of the answer's list (or answers 400 when malformed).",
        "EXP-1": "A task id stays retrievable, with the same terminal status, for the whole TTL (15 min) after its task ended.",
        "EXP-2": "After the TTL (plus tolerance) the task id is gone: polls and cancels leave it out of their lists.",
        "ERR-2": "An unknown or malformed task id is left out of the list (or answered 400 when malformed), never 5xx.",
        "ISO-1": "A session cannot read or cancel another session's task: its id is left out of the lists it gets.",
    },
}

CLAUSES: dict[str, Clause] = {cid: Clause(cid, text, src) for cid, text, src in _CATALOGUE}


def clause(clause_id: str) -> Clause:
    """The clause with this id; a KeyError names the known ids."""
    try:
        return CLAUSES[clause_id]
    except KeyError:
        raise KeyError(f"unknown clause {clause_id!r}; known: {', '.join(CLAUSES)}") from None
