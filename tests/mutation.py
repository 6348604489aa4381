"""Runs the gate against the emulator with one seeded fault, for the mutation-gate tests.

A fault's run is the gate's own phases at the budget the mutation gate has always given
them (300 examples, 200 fuzzed requests, no shrinking, one round), in an order that stops
as soon as a clause the fault breaks has failed: a first slice of exploring (most faults
show within a few examples), then fuzzing (what only malformed requests show), then the
rest of exploring (each part stops at its first failure, as the gate's round does). A run
against the clean emulator goes through every phase; so can a fault's, phase by phase,
when a check is looked for that the stopped run did not need to reach.

`FaultRuns` keeps each run's outcome, and under pytest-xdist shares it between the
workers (a file per run, made under a lock), so the tests that look at every fault's run
(every check fires, the model cites each of its clauses) reuse the runs the per-fault
tests made instead of making them again."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from filelock import FileLock, Timeout

from contract.fuzz import fuzz
from contract.machine import ClauseViolation
from contract.runner import Options, explore, make_target
from contract.verdicts import Recorder
from emulator import FAULTS

#: The faults an in-process run can show: not those that show only on the wall clock (a
#: long poll held too long), which tests/test_wall_clock.py runs against a served emulator.
IN_PROCESS = sorted(name for name, fault in FAULTS.items() if fault.clock is None)

EXAMPLES = 300  # exploring's budget per run
FIRST_SLICE = 30  # examples explored before fuzzing is tried
FUZZ_CASES = 200  # the gate's default


@dataclass
class FaultRun:
    fault: str
    clauses: set[str]  # clauses that failed
    checks: set[str]  # names of the checks that fired
    model_clauses: set[str]  # clauses the model's violations cited
    phases: list[str] = field(default_factory=list)  # the phases it went through

    def __or__(self, other: FaultRun) -> FaultRun:
        return FaultRun(
            self.fault,
            self.clauses | other.clauses,
            self.checks | other.checks,
            self.model_clauses | other.model_clauses,
            self.phases + other.phases,
        )


PHASES = ("first slice", "fuzzing", "the rest")


def run_with_fault(
    fault: str | None,
    *,
    seed: int = 0,
    max_examples: int = EXAMPLES,
    only: str | None = None,
    variants: tuple[str, ...] = (),
    fuzz_cases: int = FUZZ_CASES,
) -> FaultRun:
    """The fault's run, stopped when a clause it breaks has failed; `only`: that phase
    alone, not stopped. The clean emulator's run (with `variants`, behaviours a correct
    server may have) explores, then fuzzes, as the gate does."""
    recorder = Recorder()
    options = Options(
        profile=(FAULTS[fault].profile if fault else None) or "openapi-v1",
        seed=seed,
        max_examples=max_examples,
        faults=(fault,) if fault else (),
        variants=variants,
        shrink=False,
        rounds=1,
        fuzz_cases=0,
    )
    tied = set(FAULTS[fault].clauses) if fault and only is None else set()
    slice_ = min(FIRST_SLICE, max_examples)
    done: list[str] = []

    def explore_part(part: Options) -> None:
        with contextlib.suppress(ClauseViolation, ExceptionGroup):
            explore(part, recorder)

    if fault is None:  # the clean emulator: the gate's phases as it runs them
        explore_part(options)
        fuzz(make_target(options), recorder, fuzz_cases, seed)
        return FaultRun("clean", set(recorder.failures), set(recorder.fired), set(), ["all"])
    for phase in PHASES:
        if only not in (None, phase) or tied & set(recorder.failures):
            continue
        if phase == "the rest" and max_examples == slice_:
            continue  # the slice was the whole budget
        done.append(phase)
        if phase == "first slice":
            explore_part(replace(options, max_examples=slice_))
        elif phase == "fuzzing":
            fuzz(make_target(options), recorder, fuzz_cases, seed)
        else:  # from a seed of its own: the same seed would mostly explore the slice again
            explore_part(replace(options, seed=seed + 7_919, max_examples=max_examples - slice_))
    checks = set(recorder.fired)  # not only the kept (shortest) failure's check per clause
    model = {f.clause for f in recorder.failures.values() if f.check == "lifecycle_is_consistent"}
    return FaultRun(fault, set(recorder.failures), checks, model, done)


class FaultRuns:
    """Each fault's runs (a stopped run, or one phase of a seed), made once per test
    session and shared between xdist workers through `folder` (None: this process only)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.made: dict[tuple[str, int, str | None], FaultRun] = {}
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def get(
        self, fault: str, seed: int, *, upto: str | None = None, wait: bool = True
    ) -> FaultRun | None:
        """The seed's run, stopped at the fault's clause; with `upto`, and every phase up
        to that one which the stopped run left out. None, unless `wait`, when another
        worker is making it."""
        run = self._made(fault, seed, None, wait)
        for phase in PHASES[: PHASES.index(upto) + 1] if upto else ():
            if run is not None and phase not in run.phases:
                more = self._made(fault, seed, phase, wait)
                run = None if more is None else run | more
        return run

    def _made(self, fault: str, seed: int, phase: str | None, wait: bool) -> FaultRun | None:
        key = (fault, seed, phase)
        if key not in self.made:
            run = self._shared(fault, seed, phase, wait)
            if run is None:
                return None
            self.made[key] = run
        return self.made[key]

    def _shared(self, fault: str, seed: int, phase: str | None, wait: bool) -> FaultRun | None:
        if self.folder is None:
            return run_with_fault(fault, seed=seed, only=phase)
        name = f"{fault}-{seed}" + (f"-{phase.replace(' ', '-')}" if phase else "")
        path = self.folder / f"{name}.json"
        lock = FileLock(str(path) + ".lock")
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            return None
        try:
            if path.exists():
                data = json.loads(path.read_text())
                sets = (set(data[k]) for k in ("clauses", "checks", "model_clauses"))
                return FaultRun(data["fault"], *sets, data["phases"])
            run = run_with_fault(fault, seed=seed, only=phase)
            data = {k: sorted(v) if isinstance(v, set) else v for k, v in asdict(run).items()}
            path.write_text(json.dumps(data))
            return run
        finally:
            lock.release()
