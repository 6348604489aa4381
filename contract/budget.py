"""The run's time budget (`--max-duration`): its default in each mode, how the phases
share it, and where the time went.

A CI step has a time limit; a run over a slow network sends its requests one round
trip at a time. So the whole run (profile probe, exploring and shrinking, fuzzing,
clean-up) ends within the budget, plus `GRACE` for the clean-up of the example in
progress when time runs out: past that, a clean-up stops waiting for the server
(`overrun`), charges no clause for what it could not end, and names what it leaves.
What time did not reach is "not tested"; a counterexample whose shrinking was cut short
says so.

How it is shared: fuzzing gets `FUZZ_SHARE` of it (at the end on a virtual clock, at
the start on the wall clock, where the expiry probe's tokens age meanwhile); exploring
the rest. Shrinking one failure may take `SHRINK_SHARE` of the exploring time left when
it was found (`SHRINK_ALONE` seconds in a run without a budget); then the round ends
with the counterexample as shrunk so far and the next round explores on. On the wall
clock the run cannot end before the expiry probe's last look (a TTL and a little more):
a shorter budget is a configuration error.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

GRACE = 30.0  # seconds past the budget the last example's clean-up may take
HOOKS_DEFAULT = 600.0  # a live run with clock hooks
WALL_EXTRA = 300.0  # a wall-clock run: what the expiry probe needs and this much more
PROBE_EXTRA = 60.0  # the expiry probe's own operations and looks, past TTL and tolerance
FUZZ_SHARE = 0.15
SHRINK_SHARE = 0.25
#: Seconds shrinking one failure may take in a run without a budget (the embedded
#: emulator's): less than Hypothesis' own limit (300 s), which ends in a warning that
#: asks its users to report a slow shrink.
SHRINK_ALONE = 240.0


def probe_needs(token_ttl: float, tolerance: float) -> float:
    """Seconds a wall-clock run needs at least: the expiry probe watches a token from its
    operation's end until surely past the TTL."""
    return token_ttl + 2 * tolerance + PROBE_EXTRA


def default_duration(live: bool, wall_clock: bool, needs: float) -> float | None:
    """The budget when none is given: none with the embedded emulator (it is bounded by
    the examples and takes seconds), `HOOKS_DEFAULT` against a server with clock hooks,
    and on the wall clock what the expiry probe needs (`needs`) and `WALL_EXTRA`."""
    if not live:
        return None
    return needs + WALL_EXTRA if wall_clock else HOOKS_DEFAULT


#: Round trips an example takes, and a fuzzed request with what follows it (its clean-up,
#: the sandbox listed before and after), about: the gate's own figures at 50 ms (seed 0,
#: 10 examples: 79 s exploring, 52 s fuzzing 200 cases), where requests sent together
#: take one round trip. Only for the estimate printed before a live run.
TRIPS_PER_EXAMPLE = 150
TRIPS_PER_FUZZ_CASE = 5


def estimate(round_trip: float, examples: int, fuzz_cases: int, seconds: float | None) -> str:
    """What a live run will take, from the round trip measured at preflight."""
    unbounded = round_trip * (TRIPS_PER_EXAMPLE * examples + TRIPS_PER_FUZZ_CASE * fuzz_cases)
    bound = (
        f"; the time budget ({seconds:g} s) bounds it"
        if seconds is not None and seconds < unbounded
        else ""
    )
    return (
        f"round trip to the target {round_trip * 1000:.0f} ms (at preflight): {examples} "
        f"examples and {fuzz_cases} fuzzed requests would take about {_minutes(unbounded)}"
        f"{bound}"
    )


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def too_short(seconds: float, needs: float) -> str:
    return (
        f"max-duration {seconds:g} s is shorter than a wall-clock run needs ({needs:g} s: "
        "the expiry probe watches a token until its TTL has surely passed); give at least "
        f"{needs:g}, a shorter --token-ttl if the server's is, or clock hooks (--clock-url)"
    )


@dataclass
class Budget:
    """The run's time, on `time.monotonic()`; `seconds` None: no limit."""

    seconds: float | None
    started: float = field(default_factory=time.monotonic)
    spent: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def end(self) -> float | None:
        return None if self.seconds is None else self.started + self.seconds

    def left(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def share_end(self, share: float) -> float | None:
        """When a phase that may use `share` of what is left must end."""
        left = self.left()
        return None if left is None else time.monotonic() + share * left

    def add(self, phase: str, seconds: float) -> None:
        self.spent[phase] += seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the time the block takes as `name`'s."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - began)

    def summary(self) -> str:
        """Where the time went, for the run's notes."""
        took = time.monotonic() - self.started
        limit = f" of a {self.seconds:g} s budget" if self.seconds is not None else ""
        parts = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in self.spent.items())
        return f"time: {took:.0f} s{limit}" + (f" ({parts})" if parts else "")


class _Bound:
    ends: float | None = None  # time.monotonic() past which a clean-up waits no more


@contextmanager
def bounding(run_budget: Budget) -> Iterator[None]:
    """While a run with this budget lasts, its clean-ups wait for the server only until
    `GRACE` past the budget's end (no limit without a budget)."""
    previous = _Bound.ends
    _Bound.ends = None if run_budget.end is None else run_budget.end + GRACE
    try:
        yield
    finally:
        _Bound.ends = previous


def overrun() -> bool:
    """The run's budget and its clean-up grace are spent."""
    return _Bound.ends is not None and time.monotonic() >= _Bound.ends
