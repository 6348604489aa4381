"""Self-tests import their helpers (tests/mutation.py) as top-level modules.

Tests marked `slow` run the gate end to end (a subprocess, a served emulator, the wall
clock, the mutation gate): `pytest tests -m "not slow"` leaves them out for a quick
look while iterating; the README's command runs them all. They are collected first,
and under `-n` a worker that has run out of tests takes half of what another still has
queued (xdist's work-stealing scheduler, which `--dist` may override): the workers end
together instead of one of them running the last long tests alone.
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


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    if config.getvalue("dist") != "load":  # the default of -n; another --dist is obeyed
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)
