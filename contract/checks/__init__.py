"""Named checks, registered by clause id (see `registry.py` for how a check works).

Importing this package registers every check; one module per part of the contract.
"""

from . import (  # noqa: F401
    answers,
    effects,
    facts,
    fuzzing,
    listing,
    polling,
    results,
    schema,
    submission,
)
from .effects import outside_changes, split_change
from .facts import Held, Intent, Suspect
from .listing import allowance
from .registry import (
    REGISTRY,
    Check,
    Context,
    Failure,
    check,
    run_checks,
    violation_failure,
)
from .results import location_entry, resolve_location

__all__ = [
    "REGISTRY",
    "Check",
    "Context",
    "Failure",
    "Held",
    "Intent",
    "Suspect",
    "allowance",
    "check",
    "facts",
    "location_entry",
    "outside_changes",
    "resolve_location",
    "run_checks",
    "split_change",
    "violation_failure",
]
