"""Stopping a run on a signal: never lost, never cutting a clean-up in half, in bounded time.

Ctrl-C (SIGINT), SIGTERM (a CI timeout, a cancelled job, a pod being stopped) and
SIGHUP (a closed terminal or SSH session) all stop a run the same way: the example in
progress ends its operations and removes its sandbox, the report says "interrupted",
and the gate exits 2. That clean-up gets `GRACE` seconds from the signal; what it could
not remove by then is named in the report, not waited for.

Python raises KeyboardInterrupt wherever the main thread happens to be when the
signal arrives. If that is a weakref callback or a `__del__` (Hypothesis and
httpx run both), the exception is printed as "ignored" and the run goes on as
if nothing happened. So the handler also remembers the request, and
`checkpoint()` (called before every request) raises it again. While clean-up
runs, a signal is only remembered; it is raised when the clean-up is done.

A second signal (`AGAIN` seconds or more after the first) stops the process at once,
exit 128 + the signal's number, after naming on stderr the folders the run made that
still exist (`holding`).

The gate's command passes each signal on to its pytest-xdist workers with signals of
their own (`RELAY`: stop; `RELAY_NOW`: stop at once), never with the one it heard: a
terminal's Ctrl-C reaches the workers from the process group as well, and a passed-on
copy that arrived a second late (a loaded machine) was taken for a second signal, so
the worker exited without removing its sandbox. A `RELAY` is never a second signal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

#: The signals that stop a run, where the platform has them.
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
GRACE = 20.0  # seconds an interrupted run's clean-up may take (30 s with the last requests)
AGAIN = 1.0  # a signal this soon after the first is the same one, delivered twice
#: What the gate's command passes on to its workers (POSIX; elsewhere it has no workers
#: to signal that way): stop as on Ctrl-C, unless already stopping; stop at once.
RELAY = getattr(signal, "SIGUSR1", None)
RELAY_NOW = getattr(signal, "SIGUSR2", None)
_RELAYS = tuple(s for s in (RELAY, RELAY_NOW) if s is not None)


class _State:
    requested = False
    deferring = 0
    watching = False  # a run is watching: outside one, nothing is raised again
    at: float | None = None  # time.monotonic() of the first signal
    holding: dict[int, str] = {}  # folders the run made that exist now: id -> description
    forward: list[Callable[[int], None]] = []  # who else must hear it (pytest-xdist workers)
    capture: Any = None  # pytest's capture manager: what is said must get past it


def _on_signal(signum: int, frame: Any) -> None:
    now = time.monotonic()
    if signum == RELAY_NOW or (
        signum != RELAY and _State.at is not None and now - _State.at >= AGAIN
    ):
        _stop_now(signum)
    first = _State.at is None
    _State.requested = True
    _State.at = _State.at if _State.at is not None else now
    if first and RELAY is not None:
        for forward in _State.forward:
            forward(RELAY)
    if first and not _State.deferring:
        raise KeyboardInterrupt


def _stop_now(signum: int) -> None:
    """The second signal: say what stays on the server, and exit without cleaning up."""
    name = "passed on by the gate's command" if signum in _RELAYS else signal.Signals(signum).name
    left = "; ".join(_State.holding.values())
    if not left:
        left = "what the workers name" if _State.forward else "nothing the run made is known"
    message = f"lro-conformance: stopped at once on a second signal ({name}); left behind: {left}\n"
    capture = _State.capture
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        os.write(2, message.encode("utf-8", "replace"))
    if RELAY_NOW is not None:
        for forward in _State.forward:
            forward(RELAY_NOW)
    os._exit(128 + signum)


def _quiet_unraisable(previous: Any) -> Any:
    """An unraisable hook that drops a KeyboardInterrupt the handler has remembered."""

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _State.requested:
            return  # raised again at the next checkpoint
        previous(unraisable)

    return hook


def requested() -> bool:
    return _State.requested


def grace_left() -> float | None:
    """Seconds the interrupted run's clean-up has left (never below 0), or None when no
    signal came."""
    if _State.at is None:
        return None
    return max(0.0, _State.at + GRACE - time.monotonic())


def checkpoint() -> None:
    """Raise the pending signal, unless a clean-up is running or no run is watching."""
    if _State.watching and _State.requested and not _State.deferring:
        raise KeyboardInterrupt


def _install() -> dict[int, Any]:
    return {s: signal.signal(s, _on_signal) for s in SIGNALS + _RELAYS}


def _restore(previous: dict[int, Any]) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler)


@contextmanager
def watching() -> Iterator[None]:
    """Catch the stopping signals for the duration of a run (main thread only; elsewhere a
    no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.requested, _State.deferring, _State.at = False, 0, None
    previous = _install()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    _State.watching = True
    try:
        yield
    finally:
        _State.watching = False  # `requested()` still tells the caller what happened
        sys.unraisablehook = previous_hook
        _restore(previous)


@contextmanager
def session(forward: Callable[[int], None] | None = None) -> Iterator[None]:
    """For a whole pytest session (the CLI's, or a pytest-xdist controller's): SIGTERM and
    SIGHUP stop it as Ctrl-C does (pytest then finishes, and the report is written), and
    `forward` is handed the signal to pass on (`RELAY`, `RELAY_NOW`) to the workers,
    which clean up after themselves."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.at = None
    if forward is not None:
        _State.forward.append(forward)
    previous = _install()
    try:
        yield
    finally:
        _restore(previous)
        if forward is not None:
            _State.forward.remove(forward)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a signal that arrives inside the block until the block is done: a half-done
    clean-up would leave the sandbox behind."""
    _State.deferring += 1
    try:
        yield
    finally:
        _State.deferring -= 1
    checkpoint()


def for_this_worker() -> None:
    """A pytest-xdist worker hears a terminal's Ctrl-C twice (from the process group, and
    passed on by the command as `RELAY`): for the rest of its life the stopping signals
    go through `_on_signal`, so the relay is known as the same stop, also once the run is
    over and the process is exiting (Python's own handler would print a KeyboardInterrupt
    there). A relay that comes before this (the worker's first moments) ends the worker:
    it had made nothing yet."""
    if threading.current_thread() is threading.main_thread():
        _install()


def speak_past(capture: Any) -> None:
    """pytest captures stderr during a run (`capture` is its capture manager, or None):
    the last words of a process stopped at once must reach the real one."""
    _State.capture = capture


def holding(folder: int, description: str) -> None:
    """The run made `folder` on the server: name it if the process is stopped at once."""
    _State.holding[folder] = description


def released(folder: int) -> None:
    """`folder` is gone from the server."""
    _State.holding.pop(folder, None)
