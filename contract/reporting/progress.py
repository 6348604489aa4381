"""Progress while a run explores: which clause groups are being checked, examples, steps
and exchanges so far, how many clauses have been exercised, and on the wall clock the
time left until the expiry probe's last look (the run ends with it).

On a terminal, one status line redrawn twice a second. Elsewhere (a CI log, a pipe), one
plain line every `LOG_EVERY` seconds, so a reader of a long job's log sees it is alive.
Nothing with `--quiet` or without a stream. A thread reads the `Recorder`'s counters; it
reads, never decides.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TextIO

from ..budget import Budget
from ..clauses import CLAUSES
from ..verdicts import Recorder

CLEAR = "\r\033[K"
LOG_EVERY = 20.0  # seconds between two progress lines in a log


class _Ticker:
    """A thread that writes a line every `every` seconds while the block runs: on a
    terminal it redraws one line (`tty`), elsewhere it adds one."""

    def __init__(self, stream: TextIO | None, *, quiet: bool, every: float) -> None:
        self.stream, self.every = stream, every
        self.enabled = stream is not None and not quiet
        self.tty = stream is not None and _isatty(stream)
        self._began = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def line(self) -> str:
        raise NotImplementedError

    def __enter__(self) -> _Ticker:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="lro-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self.tty:
                self._write(CLEAR)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                line = self.line()
            except RuntimeError:  # a counter grew while it was read: next time
                continue
            self._write(CLEAR + line if self.tty else line + "\n")

    def _write(self, text: str) -> None:
        try:
            assert self.stream is not None
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop quietly
            self._stop.set()


class Progress(_Ticker):
    def __init__(
        self,
        recorder: Recorder,
        stream: TextIO | None,
        *,
        quiet: bool = False,
        every: float = 0.5,
        log_every: float | None = None,  # LOG_EVERY, as it is when the run starts
        budget: Budget | None = None,
    ) -> None:
        tty = stream is not None and _isatty(stream)
        log_every = LOG_EVERY if log_every is None else log_every
        super().__init__(stream, quiet=quiet, every=every if tty else log_every)
        self.recorder, self.budget = recorder, budget
        self.deadline: float | None = None  # wall-clock time (targets.WallClock) of the end
        self._seen: Counter[str] = Counter()
        self._groups: list[str] = []

    def until(self, deadline: float | None) -> None:
        """The run ends at `deadline` (wall clock): show the time left."""
        self.deadline = deadline

    def say(self, text: str) -> None:
        """A line of its own, now (above the status line on a terminal)."""
        if self.enabled:
            self._write((CLEAR if self.tty else "") + f"lro-conformance: {text}\n")

    def line(self) -> str:
        """The status as it stands now."""
        r = self.recorder
        now = Counter(r.exercised)
        moved = sorted({cid.split("-")[0] for cid in now if now[cid] > self._seen[cid]})
        self._seen = now
        self._groups = moved or self._groups
        parts = [
            f"checking {', '.join(self._groups)}" if self._groups else "starting",
            f"example {r.examples}",
            f"{r.steps} steps",
            f"{r.exchanges} exchanges",
            f"{sum(1 for c in CLAUSES if now[c])} of {len(CLAUSES)} clauses exercised",
            f"{time.monotonic() - self._began:.0f} s"
            + (
                f" of {self.budget.seconds:g} s"
                if self.budget is not None and self.budget.seconds is not None
                else ""
            ),
        ]
        if self.deadline is not None:
            from ..targets import WallClock

            left = max(0.0, self.deadline - WallClock().now)
            parts.append(f"TTL probe: {int(left // 60)} min {int(left % 60):02d} s left")
        return "lro-conformance: " + " · ".join(parts)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


class Heartbeat(_Ticker):
    """For a run in shards on pytest-xdist workers (whose counters stay with them until
    they end): every `LOG_EVERY` seconds, how many shards are done."""

    def __init__(
        self, stream: TextIO | None, *, quiet: bool = False, every: float | None = None
    ) -> None:
        super().__init__(stream, quiet=quiet, every=LOG_EVERY if every is None else every)
        self.tty = False  # a line each time, also on a terminal
        self.shards: int | None = None  # known once the workers have collected them
        self.done = 0

    def line(self) -> str:
        of = f" of {self.shards}" if self.shards is not None else ""
        took = time.monotonic() - self._began
        return f"lro-conformance: {self.done}{of} shards done · {took:.0f} s"
