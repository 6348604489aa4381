"""Hypothesis strategies for the gate: entry names, fixture trees, clock steps, bad input.

Everything a run sends that is not dictated by the contract is drawn from here,
so that shrinking makes counterexamples small and readable. A strategy that takes
no input is made once (`functools.cache`): building one anew for each draw made
Hypothesis validate it again every time, a quarter of a mock run's time.
"""

from .inputs import malformed_starts, malformed_tokens, unknown_tokens
from .names import AREA_PREFIX, MARK_LENGTH, case_variants, entry_names, marked_names
from .timing import cancel_leads, clock_steps, expiry_offsets, first_waits, poll_spacings
from .trees import DEEP, WIDE, Shape, tree_shapes
from .weights import mostly

__all__ = [
    "AREA_PREFIX",
    "DEEP",
    "MARK_LENGTH",
    "Shape",
    "WIDE",
    "cancel_leads",
    "case_variants",
    "clock_steps",
    "entry_names",
    "expiry_offsets",
    "first_waits",
    "malformed_starts",
    "malformed_tokens",
    "marked_names",
    "mostly",
    "poll_spacings",
    "tree_shapes",
    "unknown_tokens",
]
