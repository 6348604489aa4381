"""Input fuzzing with schemathesis: a phase of the run that sends generated requests,
valid and malformed, and judges them by the catalogue's clauses (see `phase.py`)."""

from .phase import fuzz

__all__ = ["fuzz"]
