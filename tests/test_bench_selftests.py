"""bench/selftests.py reads pytest's output right: the summary line, the time per test file
and the slowest tests (a canned run; timing the real suite is the script's job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import selftests  # noqa: E402

OUTPUT = """\
........                                                                 [100%]
============================= slowest durations ==============================
21.91s call     tests/test_wall_clock.py::test_expiry[a b]
7.50s setup    tests/test_live.py::test_one
2.50s call     tests/test_live.py::test_two
0.01s teardown tests/test_live.py::test_two
======================= 471 passed in 287.10s (0:04:47) ========================
"""


def test_the_section_has_the_summary_the_files_and_the_slowest(tmp_path):
    done = subprocess.CompletedProcess(["pytest"], 0, OUTPUT, "")
    text = selftests.section(done, 289.4, fresh=True)
    assert text.startswith("<!-- selftests:begin -->") and text.endswith("<!-- selftests:end -->")
    assert "| `pytest tests -n auto` | 471 passed in 287 s, exit 0 |" in text
    assert "| wall time of the command | 289 s (4.8 min) |" in text
    assert "| `tests/test_wall_clock.py` | 21.9 |" in text
    assert "| `tests/test_live.py` | 10.0 |" in text  # setup and teardown count too
    assert "21.91s call     tests/test_wall_clock.py::test_expiry[a b]" in text
    assert "`python bench/selftests.py --fresh`" in text
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nkept\n")
    selftests.write_section(selftests.NAME, text, doc)
    assert doc.read_text().startswith("# Benchmarks\n\nkept\n") and text in doc.read_text()
