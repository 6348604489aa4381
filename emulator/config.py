"""How an emulator build is configured, and the checks that refuse a bad configuration.

`EmulatorConfig` is plain data; `check` runs when an `Emulator` is built and
raises `ValueError` naming the bad value and what would be accepted, so a
typo in a command line or a test fails loudly instead of running a different
emulator than the one asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .clock import CLOCK_MODES
from .dialect import DIALECTS
from .faults import FAULTS, FaultSet
from .variants import expand


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that makes one emulator build: repository, users, timing, clock, faults,
    and the dialect it speaks."""

    repo_id: str = "r1"
    session_tokens: tuple[str, ...] = ("alice", "bob")  # bearer tokens, one per user session
    token_ttl: float = 900.0  # seconds a token lives after its operation ended
    clock: str = "virtual"  # "virtual" (moved by the test hooks) or "wall"
    start_delay: float = 1.0  # seconds an operation stays NotStarted
    step_seconds: float = 1.0  # seconds per step (one entry copied or deleted)
    faults: frozenset[str] = frozenset()  # names from FAULTS
    variants: frozenset[str] = frozenset()  # names from variants.VARIANTS (or "all")
    profile: str = "openapi-v1"  # the dialect it speaks, a name in dialect.DIALECTS
    # v2 on the wall clock: seconds a poll of running tasks may wait for one to end (0: none)
    long_poll: float = 60.0
    # Operations one session may run at once (v1's guide and the API-limits page: one; v2's
    # guide: "a limited number"); a start beyond it is refused with 429.
    operation_limit: int = 1


#: The v2 document: a Tasks poll answers "after at most 60 seconds".
MAX_LONG_POLL = 60.0


def check(config: EmulatorConfig) -> None:
    """Raise ValueError for the first setting that an emulator cannot run with."""
    if config.profile not in DIALECTS:
        known = ", ".join(DIALECTS)
        raise ValueError(f"profile {config.profile!r} is unknown; use one of {known}")
    if not isinstance(config.repo_id, str) or not config.repo_id or "/" in config.repo_id:
        raise ValueError(f"repo_id {config.repo_id!r} must be a non-empty string without '/'")
    _check_tokens(config.session_tokens)
    _check_seconds("token_ttl", config.token_ttl, allow_zero=False)
    _check_seconds("start_delay", config.start_delay, allow_zero=True)
    _check_seconds("step_seconds", config.step_seconds, allow_zero=True)
    _check_seconds("long_poll", config.long_poll, allow_zero=True)
    if config.long_poll > MAX_LONG_POLL:
        raise ValueError(
            f"long_poll {config.long_poll!r} is not allowed; use at most {MAX_LONG_POLL:g} "
            "seconds (the v2 document: a poll answers after at most 60 seconds)"
        )
    limit = config.operation_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"operation_limit {limit!r} is not allowed; use a whole number >= 1")
    if config.clock not in CLOCK_MODES:
        raise ValueError(f"clock {config.clock!r} is unknown; use one of {', '.join(CLOCK_MODES)}")
    _check_faults(config.faults)
    if config.clock != "wall":
        inert = sorted(name for name in config.faults if FAULTS[name].clock == "wall")
        if inert:
            raise ValueError(
                f"fault(s) {', '.join(map(repr, inert))} show only on the wall clock (on a "
                f"virtual clock no poll is held back): serve with lro-emulator --clock wall"
            )
    expand(config.variants)  # a ValueError names an unknown one


def _check_tokens(tokens: object) -> None:
    if isinstance(tokens, str) or not isinstance(tokens, tuple | list):
        # Tokens are secrets: describe the value, never show it.
        kind = type(tokens).__name__
        raise ValueError(f"session_tokens must be a tuple of bearer tokens, not a {kind}")
    if not tokens:
        raise ValueError("session_tokens is empty; give at least one bearer token")
    for position, token in enumerate(tokens, start=1):
        if not isinstance(token, str) or not token or token != token.strip() or " " in token:
            raise ValueError(f"session token #{position} must be a non-empty string without spaces")
    if len(set(tokens)) != len(tokens):
        raise ValueError("session_tokens has duplicates; each token is one user session")


def _check_seconds(name: str, value: object, allow_zero: bool) -> None:
    low = ">= 0" if allow_zero else "> 0"
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        raise ValueError(f"{name} {value!r} is not allowed; use a finite number of seconds {low}")


def _check_faults(faults: object) -> None:
    if isinstance(faults, str):
        raise ValueError(f"faults {faults!r} must be a set of fault names, not one string")
    if not isinstance(faults, frozenset | set | tuple | list):
        raise ValueError(f"faults must be a set of fault names, not a {type(faults).__name__}")
    FaultSet(faults)  # raises ValueError naming unknown faults and the known ones
