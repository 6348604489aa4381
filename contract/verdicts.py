"""Verdicts: what a run found, clause by clause. The only place pass/fail is decided.

The `Recorder` collects, over every example of a run (shrinking included), which
clauses some check exercised and every failure. A clause's verdict is

* fail       — at least one failure (the shortest reproduction is kept);
* pass       — exercised at least once and never failed;
* not tested — nothing in the run exercised it (never reported as pass);
* skipped    — opted out with --skip-clause, or given nothing to judge by the run's
               configuration (one session token; a dialect without the answer the
               clause is about): the reason is kept.

`decide` turns the verdicts into the run's outcome (exit code and reason): a clause
that applies and that nothing exercised leaves the run incomplete, never green.

It also notes when each clause was first seen failing (`first_failures`), so a
benchmark can tell how long a run took to find a bug.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .checks import Failure
from .clauses import CLAUSES, Clause
from .model import Status
from .profiles import Profile


@dataclass
class Verdict:
    clause: Clause
    outcome: str  # "pass" | "fail" | "not tested" | "skipped"
    exercised: int = 0
    failure: Failure | None = None
    occurrences: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Sighting:
    """How far a run had got when it first saw a clause fail."""

    at: float  # time.monotonic() when the failure was recorded
    examples: int  # examples begun, the failing one included
    steps: int  # steps run, the failing one included (an example's set-up counts as one)
    exchanges: int  # HTTP exchanges sent, the failing one included


@dataclass(frozen=True)
class Leftover:
    """A folder the run made and could not remove: the server refused (its clean-up was
    blocked) or the run was stopped first."""

    id: int | None  # None: its creation was asked for, its id never seen
    name: str
    parent: int

    def describe(self) -> str:
        which = f"folder #{self.id}" if self.id is not None else "a folder"
        return f"{which} {self.name!r} in folder #{self.parent}"


@dataclass
class Recorder:
    exercised: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Failure] = field(default_factory=dict)
    first_failures: dict[str, Sighting] = field(default_factory=dict)
    occurrences: Counter[str] = field(default_factory=Counter)
    # Every check that reported a failure, by name: the kept failure of a clause is only
    # its shortest, which may come from another check of the clause (a fuzzed request).
    fired: Counter[str] = field(default_factory=Counter)
    states: Counter[Status] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    together: Counter[str] = field(default_factory=Counter)  # batches sent at once, by kind
    # Simultaneous starts in one session (CON-4's batches): the largest batch sent, and
    # the most starts of one batch the target accepted (the limit it enforces, as seen).
    starts_together: int = 0
    accepted_together: int = 0
    examples: int = 0
    steps: int = 0
    exchanges: int = 0
    harness_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts about the run a reader should know
    profile: str | None = None  # the dialect judged in, when --profile auto picked it
    # Properties valid 2xx bodies carried that their schema does not declare, by schema
    # (allowed: compatible evolution; `all_notes` names them once per schema).
    undeclared: dict[str, set[str]] = field(default_factory=dict)
    leftovers: list[Leftover] = field(default_factory=list)  # folders it could not remove

    def merge(self, other: Recorder) -> None:
        """Add what another part of the same run (the expiry probe) recorded."""
        self.exercised.update(other.exercised)
        self.occurrences.update(other.occurrences)
        self.fired.update(other.fired)
        self.states.update(other.states)
        self.transitions.update(other.transitions)
        self.together.update(other.together)
        self.starts_together = max(self.starts_together, other.starts_together)
        self.accepted_together = max(self.accepted_together, other.accepted_together)
        self.examples += other.examples
        self.steps += other.steps
        self.exchanges += other.exchanges
        self.harness_errors += other.harness_errors
        self.notes += other.notes
        self.see_undeclared(other.undeclared)
        self.leftovers += other.leftovers
        for failure in other.failures.values():
            self._keep_shortest(failure)
        for clause, seen in other.first_failures.items():
            mine = self.first_failures.get(clause)
            if mine is None or seen.at < mine.at:
                self.first_failures[clause] = seen

    def exercise(self, clauses: set[str] | frozenset[str]) -> None:
        self.exercised.update(clauses)

    def see_undeclared(self, found: dict[str, set[str]]) -> None:
        for schema, names in found.items():
            self.undeclared.setdefault(schema, set()).update(names)

    def all_notes(self) -> list[str]:
        """The run's notes, then one per schema whose bodies carried undeclared properties."""
        return (
            self.notes
            + self._limit_seen()
            + [
                f"SCH-1: {schema} bodies carried properties the document does not declare "
                f"(allowed, compatible evolution): {', '.join(sorted(names))}"
                for schema, names in sorted(self.undeclared.items())
            ]
        )

    def _limit_seen(self) -> list[str]:
        """What the simultaneous starts showed of the session limit the target enforces."""
        sent, accepted = self.starts_together, self.accepted_together
        if sent < 2:
            return []
        if accepted < sent:
            return [
                f"operation limit: the target accepted at most {accepted} of up to {sent} "
                "starts sent together in one session (the limit it enforces, as far as "
                "simultaneous starts show)"
            ]
        return [
            f"operation limit: the target accepted all of up to {sent} starts sent together "
            f"in one session (it enforces no limit below {sent})"
        ]

    def fail(self, failure: Failure) -> None:
        self.occurrences[failure.clause] += 1
        self.fired[failure.check] += 1
        if failure.clause not in self.first_failures:
            # The step in progress has not been counted yet, nor this example's exchanges
            # (teardown adds them); the failure's evidence is the example's transcript so far.
            self.first_failures[failure.clause] = Sighting(
                time.monotonic(),
                self.examples,
                self.steps + 1,
                self.exchanges + len(failure.exchanges),
            )
        self._keep_shortest(failure)

    def _keep_shortest(self, failure: Failure) -> None:
        best = self.failures.get(failure.clause)
        if best is None or len(failure.exchanges) < len(best.exchanges):
            self.failures[failure.clause] = failure

    def reached(self, before: Status | None, after: Status) -> None:
        self.states[after] += 1
        if before is not None and before != after:
            self.transitions[(before.value, after.value)] += 1

    def verdicts(self, skipped: dict[str, str] | None = None, wire: str = "v1") -> list[Verdict]:
        """A verdict of every clause, its text in the run's `wire`'s words."""
        skipped = skipped or {}
        out = []
        for cid, clause in CLAUSES.items():
            v = Verdict(
                clause.in_wire(wire),
                "not tested",
                self.exercised[cid],
                self.failures.get(cid),
                self.occurrences[cid],
            )
            if cid in skipped:
                v.outcome, v.reason = "skipped", skipped[cid]
            elif v.failure is not None:
                v.outcome = "fail"
            elif v.exercised:
                v.outcome = "pass"
            out.append(v)
        return out


def conformant(verdicts: list[Verdict]) -> bool:
    return not any(v.outcome == "fail" for v in verdicts)


#: Exit codes: the gate's outcome, as the CLI, the pytest plugin and every report give it.
CONFORMANT, VIOLATION, NO_VERDICT, INCOMPLETE = 0, 1, 2, 3

#: Clauses about two sessions: a run with one session has nothing to judge them by.
TWO_SESSIONS = {
    "CON-3": "needs two sessions: give --session-token twice (one per user session)",
    "ISO-1": "needs two sessions: give --session-token twice (one per user session)",
}


def configuration_skips(profile: Profile, sessions: int | None) -> dict[str, str]:
    """Clauses the run's configuration gives nothing to judge, with why: the dialect's
    own (`Profile.inapplicable`) and, with one session token (`sessions`, None in mock
    mode, which has several), the clauses about two sessions."""
    skips = dict(profile.inapplicable)
    if sessions is not None and sessions < 2:
        skips.update(TWO_SESSIONS)
    return skips


#: What would exercise a clause a run left untested, for the ones a bigger budget alone
#: does not explain best; every other clause: `MORE_EXAMPLES`.
MORE_EXAMPLES = "more examples: a larger --max-examples or --max-duration, or another --seed"
FUZZED = frozenset({"SUB-3", "ERR-1", "ERR-2", "ERR-3", "AUT-1"})  # fuzzing exercises them
WHAT_EXERCISES = {
    **dict.fromkeys(
        ("EXP-1", "EXP-2", "EXP-3"),
        "tokens that age past the TTL: more examples (--max-examples, --max-duration), or "
        "on the wall clock a run that lasts one --token-ttl",
    ),
    **dict.fromkeys(
        sorted(FUZZED),
        "fuzzing (--fuzz-cases, 0 turns it off; its share of --max-duration) or a larger "
        "--max-examples",
    ),
}


def what_exercises(clause_id: str) -> str:
    return WHAT_EXERCISES.get(clause_id, MORE_EXAMPLES)


def decide(
    verdicts: list[Verdict], harness_error: str | None = None, allow_untested: bool = False
) -> tuple[int, str]:
    """(exit code, reason): 0 conformant, 1 a violation, 2 the gate could not judge,
    3 incomplete (a clause that applies was not tested; `allow_untested` accepts that)."""
    if harness_error:
        return NO_VERDICT, harness_error
    if not any(v.outcome in ("pass", "fail") for v in verdicts):
        return NO_VERDICT, "nothing was tested: no clause was exercised"
    if not conformant(verdicts):
        failed = [v.clause.id for v in verdicts if v.outcome == "fail"]
        return VIOLATION, f"violations of {', '.join(failed)}"
    untested = [v.clause.id for v in verdicts if v.outcome == "not tested"]
    if untested and not allow_untested:
        return INCOMPLETE, f"not tested: {untested_reason(untested)}"
    return CONFORMANT, "conformant"


def untested_reason(clause_ids: list[str]) -> str:
    """The clauses, grouped by what would exercise them: "EXP-2, EXP-3 (tokens ...)"."""
    by_hint: dict[str, list[str]] = {}
    for cid in clause_ids:
        by_hint.setdefault(what_exercises(cid), []).append(cid)
    return "; ".join(f"{', '.join(ids)} ({hint})" for hint, ids in by_hint.items())
