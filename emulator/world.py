"""The emulator's state and one request in flight, as handed to every endpoint.

`World` is everything a request can read or change (tree, engine, clock,
faults, configuration) and the dialect it is answered in; `Call` is one authenticated request with its route
parameters and the single `now` it is served at, so that one request never
sees time move under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .clock import VirtualClock, WallClock
from .config import EmulatorConfig
from .dialect import Dialect
from .engine import Engine
from .faults import FaultSet
from .messages import Request
from .sessions import Session
from .tree import Tree
from .variants import VariantSet


@dataclass
class World:
    """The whole mutable state of one emulator, and the dialect it answers in."""

    config: EmulatorConfig
    dialect: Dialect
    clock: VirtualClock | WallClock
    faults: FaultSet
    tree: Tree
    engine: Engine
    variants: VariantSet = field(default_factory=lambda: VariantSet(()))


@dataclass(frozen=True)
class Call:
    """One request being served."""

    request: Request
    path: str  # the raw request path, echoed as a problem's "instance"
    query: str
    origin: str  # "scheme://host[:port]" of the request URL, for Location headers
    params: dict[str, str]  # route parameters, percent-decoded
    session: Session  # who is calling (hooks, which need no auth, get session 0)
    now: float
