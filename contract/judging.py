"""One answer judged, the same way wherever it comes from (a step of an example, the fuzz
phase, a replay): the model steps the answer's observation (`model.step`), then every
registered check that applies runs on it (`checks.run_checks`). What is found is handed
back; each caller records it its own way (the run's recorder, a replay's summary) and
decides what a failure stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import Context, Failure, run_checks, violation_failure
from .model import Model, Observation, Outcome, Violation, step
from .profiles import Profile


@dataclass
class Found:
    """What judging found."""

    failures: list[Failure] = field(default_factory=list)  # the model's first, then checks'
    exercised: set[str] = field(default_factory=set)  # clauses exercised (violated ones too)
    undeclared: dict[str, set[str]] = field(default_factory=dict)  # SCH-1's notes

    def __iadd__(self, other: Found) -> Found:
        self.failures += other.failures
        self.exercised |= other.exercised
        for schema, names in other.undeclared.items():
            self.undeclared.setdefault(schema, set()).update(names)
        return self


def stepped(model: Model, result: Outcome | Violation, profile: Profile) -> tuple[Model, Found]:
    """The model's verdict on an observation (`step`'s or `step_together`'s result): the
    model moved on, or a failure (worded with `profile`'s status codes) and the model as
    it was."""
    if isinstance(result, Violation):
        return model, Found([violation_failure(result, profile)], {result.clause})
    return result.model, Found([], set(result.exercised))


def checked(ctx: Context) -> Found:
    """The registered checks on one answer."""
    failures, exercised = run_checks(ctx)
    return Found(failures, exercised, ctx.undeclared)


def judge(model: Model, obs: Observation | None, ctx: Context) -> tuple[Model, Found]:
    """Step `model` with `obs` (when there is one and the request was answered), then run
    the checks on the answer in `ctx`, whose `op` is the operation as known before it."""
    found = Found()
    if obs is not None and ctx.exchange.status is not None:
        model, found = stepped(model, step(model, obs), ctx.profile)
    found += checked(ctx)
    return model, found
