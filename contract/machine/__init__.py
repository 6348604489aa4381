"""The Hypothesis state machine that explores the long-operation lifecycle.

Rules act on the target through `RepositoryApi`; every answer goes through
`judge` (in `base.py`), which feeds the model and the registered checks. Rules
only choose what to do and what they expect; the rules of the contract live in
`model.py` and `checks/`.

Each example builds its own sandbox folder under the target's parent folder,
with one area (sub-folder) per session; a session's operations stay inside its
area, so the run always knows which changes an operation may make.
"""

from .base import ClauseViolation, Run, ShrinkCut, TimeUp, violation_type
from .parallel import ParallelRules
from .strangers import StrangerRules


class LongOperationMachine(ParallelRules, StrangerRules):
    """All rules together: what `run_state_machine_as_test` explores. (`ParallelRules`
    extends `LifecycleRules` with requests sent together.)"""


__all__ = [
    "ClauseViolation",
    "LongOperationMachine",
    "Run",
    "ShrinkCut",
    "TimeUp",
    "violation_type",
]
