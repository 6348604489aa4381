"""Ctrl-C that is never lost and never cuts a clean-up in half.

Python raises KeyboardInterrupt wherever the main thread happens to be when the
signal arrives. If that is a weakref callback or a `__del__` (Hypothesis and
httpx run both), the exception is printed as "ignored" and the run goes on as
if nothing happened. So the handler also remembers the request, and
`checkpoint()` (called before every request) raises it again. While clean-up
runs, a Ctrl-C is only remembered; it is raised when the clean-up is done.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _State:
    requested = False
    deferring = 0
    watching = False  # a run is watching: outside one, nothing is raised again


def _on_sigint(signum: int, frame: Any) -> None:
    _State.requested = True
    if not _State.deferring:
        raise KeyboardInterrupt


def _quiet_unraisable(previous: Any) -> Any:
    """An unraisable hook that drops a KeyboardInterrupt the handler has remembered."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _State.requested:
            return  # raised again at the next checkpoint
        previous(unraisable)

    return hook


def requested() -> bool:
    return _State.requested


def checkpoint() -> None:
    """Raise the pending Ctrl-C, unless a clean-up is running or no run is watching."""
    if _State.watching and _State.requested and not _State.deferring:
        raise KeyboardInterrupt


@contextmanager
def watching() -> Iterator[None]:
    """Catch Ctrl-C for the duration of a run (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.requested, _State.deferring = False, 0
    previous = signal.signal(signal.SIGINT, _on_sigint)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    _State.watching = True
    try:
        yield
    finally:
        _State.watching = False  # `requested()` still tells the caller what happened
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGINT, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block until the block is done: a half-done
    clean-up would leave the sandbox behind."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
    checkpoint()
