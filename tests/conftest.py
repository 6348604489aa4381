"""Self-tests import their helpers (tests/mutation.py) as top-level modules.

Tests marked `slow` run the gate end to end (a subprocess, a served emulator, the wall
clock, the mutation gate): `pytest tests -m "not slow"` leaves them out for a quick
look while iterating; the README's command runs them all. They are collected first,
so that pytest-xdist hands the long ones out early and the workers finish together
instead of one of them ending the run alone on a long test it took last.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs the gate end to end; -m 'not slow' leaves it out"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable
