"""A status line on the terminal while a run explores: which clause groups are being
checked, examples, steps and exchanges so far, and on the wall clock the time left until
the expiry probe's last look (the run ends with it).

Only on a terminal: given no stream, or one that is not a tty, or `--quiet`, it prints
nothing, so logs and CI output stay clean. A thread redraws the line from the
`Recorder`'s counters twice a second; it reads, never decides.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TextIO

from ..verdicts import Recorder

CLEAR = "\r\033[K"


class Progress:
    def __init__(
        self, recorder: Recorder, stream: TextIO | None, *, quiet: bool = False, every: float = 0.5
    ) -> None:
        self.recorder, self.stream, self.every = recorder, stream, every
        self.enabled = stream is not None and not quiet and _isatty(stream)
        self.deadline: float | None = None  # wall-clock time (targets.WallClock) of the end
        self._began = time.monotonic()
        self._seen: Counter[str] = Counter()
        self._groups: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def until(self, deadline: float | None) -> None:
        """The run ends at `deadline` (wall clock): show the time left."""
        self.deadline = deadline

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="lro-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._write(CLEAR)

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
            f"{time.monotonic() - self._began:.0f} s",
        ]
        if self.deadline is not None:
            from ..targets import WallClock

            left = max(0.0, self.deadline - WallClock().now)
            parts.append(f"TTL probe: {int(left // 60)} min {int(left % 60):02d} s left")
        return "lro-conformance: " + " · ".join(parts)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                line = self.line()
            except RuntimeError:  # a counter grew while it was read: next time
                continue
            self._write(CLEAR + line)

    def _write(self, text: str) -> None:
        try:
            assert self.stream is not None
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop quietly
            self._stop.set()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
