"""The emulator's sense of time: a virtual clock the tests drive, or the wall clock.

Times are float seconds since the Unix epoch everywhere inside the emulator;
`iso` turns one into the ISO-8601 UTC text the wire carries. The virtual clock
starts at a fixed instant and moves only when told to, so a test can cross a
15-minute TTL without waiting.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

#: Where a virtual clock starts: 2026-01-01T00:00:00Z.
VIRTUAL_EPOCH: float = datetime(2026, 1, 1, tzinfo=UTC).timestamp()

#: The clock cannot pass this instant: ISO-8601 text (and datetime) end at year 9999.
LATEST: float = datetime(9999, 1, 1, tzinfo=UTC).timestamp()

CLOCK_MODES: tuple[str, ...] = ("virtual", "wall")


class Clock(Protocol):
    """Something that says what time it is."""

    mode: str

    def now(self) -> float: ...


class VirtualClock:
    """A clock that stands still until `advance` moves it forward."""

    mode = "virtual"

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` (>= 0) and return the new time."""
        if not 0 <= seconds <= LATEST - self._now:  # also refuses NaN
            raise ValueError(
                f"a clock cannot move by {seconds!r} seconds; use a number from 0 "
                f"to {LATEST - self._now} (the clock stops at year 9999)"
            )
        self._now += seconds
        return self._now


class WallClock:
    """The machine's real time; cannot be moved."""

    mode = "wall"

    def now(self) -> float:
        return time.time()


def make_clock(mode: str) -> VirtualClock | WallClock:
    """The clock for a configured mode ("virtual" or "wall")."""
    if mode == "virtual":
        return VirtualClock()
    if mode == "wall":
        return WallClock()
    raise ValueError(f"unknown clock mode {mode!r}; use one of {', '.join(CLOCK_MODES)}")


def iso(t: float) -> str:
    """ISO-8601 UTC text with a Z, e.g. "2026-01-01T00:00:01Z" (fractions only when present)."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")
