"""bench/detect.py, the fault-detection benchmark: it runs and writes the table it should
(without touching docs/BENCHMARKS.md), and reads schemathesis' reports right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import versus_schemathesis as st  # noqa: E402


@pytest.mark.slow
def test_detect_writes_the_table_for_the_faults_it_ran(tmp_path):
    doc = ROOT / "docs" / "BENCHMARKS.md"
    before = doc.read_text()
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept\n")
    command = [sys.executable, "bench/detect.py", "--faults", "start-202,entry-type-as-number"]
    command += ["--skip-schemathesis", "--max-examples", "10", "--output", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n"), "the rest of the file was not kept"
    rows = {line.split(" | ")[0]: line.split(" | ") for line in text.splitlines() if "| `" in line}
    assert set(rows) == {"| `start-202`", "| `entry-type-as-number`"}
    assert rows["| `start-202`"][1:4] == ["SUB-1", "killed", "SUB-1"]
    assert rows["| `entry-type-as-number`"][1:4] == ["SCH-1", "killed", "SCH-1"]
    for cells in rows.values():
        steps, seconds, shrunk = cells[4], cells[5], cells[6]
        assert int(steps) > 0 and float(seconds) > 0 and int(shrunk.split()[0]) > 0
    assert "| (clean, control) | – | quiet |" in text
    assert "| faults killed (kill rate) | 2 / 2 (100 %) |" in text
    assert (
        "`python bench/detect.py --faults start-202,entry-type-as-number --max-examples 10" in text
    )
    assert "| schemathesis |" not in text, "schemathesis was skipped: no column for it"
    assert doc.read_text() == before, "the smoke test must not rewrite docs/BENCHMARKS.md"


def test_schemathesis_failures_become_signatures():
    finished = {
        "ScenarioFinished": {
            "timestamp": 100.0,
            "recorder": {
                "label": "POST /v1/Repositories/{repoId}/Entries/{entryId}/x/CopyAsync",
                "checks": {
                    "c1": [
                        {"name": "not_a_server_error", "status": "success", "failure_info": None},
                        {
                            "name": "status_code_conformance",
                            "status": "failure",
                            "failure_info": {"failure": {"code": "ST103", "operation": "POST /a"}},
                        },
                    ]
                },
                "interactions": {"c1": {"response": {"status_code": 202}}},
            },
        }
    }
    log = json.dumps({"Initialize": {}}) + "\n" + json.dumps(finished) + "\n{truncat"
    assert list(st.signatures(log)) == [(st.Signature("POST /a", "ST103", 202), 100.0)]


@pytest.mark.slow
def test_schemathesis_sees_a_fault_the_clean_emulator_does_not_show():
    """One short real run each way: the installed schemathesis takes the options we pass."""
    clean = st.run(None, 0, 5)
    faulty = st.run("start-202", 0, 5)
    assert clean.first_seen, "schemathesis reported nothing against the clean emulator"
    new = faulty.new_against(set(clean.first_seen))
    assert any(s.status == 202 and s.operation.endswith("/CopyAsync") for s in new), new
