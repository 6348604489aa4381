"""Runs the gate against the emulator with one seeded fault, for the mutation-gate tests."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from contract.machine import ClauseViolation
from contract.runner import Options, explore
from contract.verdicts import Recorder


@dataclass
class FaultRun:
    fault: str
    clauses: set[str]  # clauses that failed
    checks: set[str]  # names of the checks that fired
    model_clauses: set[str]  # clauses the model's violations cited


def run_with_fault(fault: str | None, *, seed: int = 0, max_examples: int = 300) -> FaultRun:
    recorder = Recorder()
    options = Options(
        seed=seed,
        max_examples=max_examples,
        faults=(fault,) if fault else (),
        shrink=False,
        rounds=1,
    )
    with contextlib.suppress(ClauseViolation, ExceptionGroup):
        explore(options, recorder)
    checks = set(recorder.fired)  # not only the kept (shortest) failure's check per clause
    model = {f.clause for f in recorder.failures.values() if f.check == "lifecycle_is_consistent"}
    return FaultRun(fault or "clean", set(recorder.failures), checks, model)
