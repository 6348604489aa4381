"""Verdicts: what a run found, clause by clause. The only place pass/fail is decided.

The `Recorder` collects, over every example of a run (shrinking included), which
clauses some check exercised and every failure. A clause's verdict is

* fail       — at least one failure (the shortest reproduction is kept);
* pass       — exercised at least once and never failed;
* not tested — nothing in the run exercised it (never reported as pass);
* skipped    — opted out with --skip-clause (the reason is kept).

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
    examples: int = 0
    steps: int = 0
    exchanges: int = 0
    harness_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts about the run a reader should know
    profile: str | None = None  # the dialect judged in, when --profile auto picked it

    def merge(self, other: Recorder) -> None:
        """Add what another part of the same run (the expiry probe) recorded."""
        self.exercised.update(other.exercised)
        self.occurrences.update(other.occurrences)
        self.fired.update(other.fired)
        self.states.update(other.states)
        self.transitions.update(other.transitions)
        self.together.update(other.together)
        self.examples += other.examples
        self.steps += other.steps
        self.exchanges += other.exchanges
        self.harness_errors += other.harness_errors
        self.notes += other.notes
        for failure in other.failures.values():
            self._keep_shortest(failure)
        for clause, seen in other.first_failures.items():
            mine = self.first_failures.get(clause)
            if mine is None or seen.at < mine.at:
                self.first_failures[clause] = seen

    def exercise(self, clauses: set[str] | frozenset[str]) -> None:
        self.exercised.update(clauses)

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

    def verdicts(self, skipped: dict[str, str] | None = None) -> list[Verdict]:
        skipped = skipped or {}
        out = []
        for cid, clause in CLAUSES.items():
            v = Verdict(
                clause,
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
