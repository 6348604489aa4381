"""bench/detect.py, the fault-detection benchmark: it runs and writes the table it should
(without touching docs/BENCHMARKS.md), each fault in its own profile, and reads
schemathesis' reports right; bench/clean_soak.py's --profile reaches the gate and the
server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import clean_soak  # noqa: E402
import detect  # noqa: E402
import versus_schemathesis as st  # noqa: E402
from kept import Kept  # noqa: E402

from emulator.faults import FAULTS  # noqa: E402


@pytest.mark.slow
def test_detect_writes_the_table_for_the_faults_it_ran(tmp_path):
    doc = ROOT / "docs" / "BENCHMARKS.md"
    before = doc.read_text()
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\nkept\n")
    faults = "start-202,entry-type-as-number,v2-start-201"  # v2-start-201 runs in v2
    command = [sys.executable, "bench/detect.py", "--faults", faults]
    command += ["--skip-schemathesis", "--max-examples", "10", "--output", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nkept\n"), "the rest of the file was not kept"
    rows = {line.split(" | ")[0]: line.split(" | ") for line in text.splitlines() if "| `" in line}
    assert set(rows) == {"| `start-202`", "| `entry-type-as-number`", "| `v2-start-201`"}
    assert rows["| `start-202`"][1:4] == ["SUB-1", "killed", "SUB-1"]
    assert rows["| `entry-type-as-number`"][1:4] == ["SCH-1", "killed", "SCH-1"]
    assert rows["| `v2-start-201`"][1:4] == ["SUB-1", "killed", "SUB-1"]
    for cells in rows.values():
        steps, seconds, shrunk = cells[4], cells[5], cells[6]
        assert int(steps) > 0 and float(seconds) > 0 and int(shrunk.split()[0]) > 0
    assert "| (clean, control) | – | quiet |" in text, "no clean v1 control"
    assert "| (clean v2, control) | – | quiet |" in text, "no clean v2 control"
    assert "each fault in its own profile (openapi-v1, v2)" in text
    assert "| faults killed (kill rate) | 3 / 3 (100 %) |" in text
    assert f"`python bench/detect.py --faults {faults} --max-examples 10" in text
    assert "<!-- detect:begin -->" in text
    assert "| schemathesis |" not in text, "schemathesis was skipped: no column for it"
    assert doc.read_text() == before, "the smoke test must not rewrite docs/BENCHMARKS.md"


def test_profile_picks_that_profiles_faults_and_its_section():
    def args(*argv: str):
        return detect.parser().parse_args(list(argv))

    mock = [name for name, f in FAULTS.items() if f.clock != "wall"]  # the others: inert there
    v2 = detect.chosen(args("--profile", "v2"))
    assert v2 and v2 == [name for name in mock if FAULTS[name].profile == "v2"]
    v1 = detect.chosen(args("--profile", "openapi-v1"))
    assert v1 and not set(v1) & set(v2) and len(v1) + len(v2) == len(mock)
    assert detect.chosen(args()) == mock, "by default every fault, each in its profile"
    for name in (n for n, f in FAULTS.items() if f.clock == "wall"):
        with pytest.raises(SystemExit):
            detect.chosen(args("--faults", name))
    assert detect.section_name(args("--profile", "v2")) == "detect-v2"
    assert detect.section_name(args()) == "detect"
    assert detect.regenerate(args("--profile", "v2")) == "python bench/detect.py --profile v2"
    with pytest.raises(SystemExit):
        detect.chosen(args("--profile", "v2", "--faults", "start-202"))  # a v1 fault


def test_schemathesis_gets_the_document_and_server_of_the_profile(tmp_path):
    config, report = tmp_path / "schemathesis.toml", tmp_path / "events.ndjson"
    v1 = st.command("http://h", 0, 5, config, report)
    v2 = st.command("http://h", 0, 5, config, report, "v2")
    assert v1[v1.index("run") + 1].endswith("lf-repository-v1-swagger.json")
    assert v2[v2.index("run") + 1].endswith("lf-repository-v2-swagger.json")
    regex = v2[v2.index("--include-operation-id-regex") + 1]
    assert "StartCopyEntry" in regex and "ListTasks" in regex and "CopyEntryAsync" not in regex
    assert v2[v2.index("--header") + 1] == v1[v1.index("--header") + 1]
    assert st.DOCUMENTS["v2"].config() == '[parameters]\n"path.repositoryId" = "r1"\n'
    assert st.DOCUMENTS["openapi-v1"].config() == '[parameters]\n"path.repoId" = "r1"\n'
    assert st.emulator_options("v2")[-2:] == ("--profile", "v2")
    assert "--profile" not in st.emulator_options()
    assert "lf-repository-v2-swagger.json" in st.shown_command(5, "v2")
    # the operations named are the document's own, and the repository parameter its own
    for profile, document in st.DOCUMENTS.items():
        spec = json.loads(document.path.read_text())
        ops = {
            o["operationId"]: path
            for path, item in spec["paths"].items()
            for o in item.values()
            if isinstance(o, dict) and "operationId" in o
        }
        assert set(document.operations) <= set(ops), profile
        assert all(f"{{{document.repo_parameter}}}" in ops[o] for o in document.operations)


def test_soak_profile_reaches_the_gate_and_the_live_server(tmp_path, monkeypatch):
    """`--profile v2 --live`: the gate runs get --profile v2, the server speaks v2, and the
    section is live-soak-v2 (the gate itself is not run: a stand-in answers)."""
    import httpx

    doc = ROOT / "docs" / "BENCHMARKS.md"
    before = doc.read_text()
    calls: list[list[str]] = []

    def gate(args: list[str], keep: Path) -> Kept:
        calls.append(args)
        base = args[args.index("--base-url") + 1]
        entry = httpx.get(
            f"{base}/v2/Repositories/r1/Entries/1", headers={"Authorization": "Bearer alice"}
        )
        assert entry.status_code == 200, entry.text  # a v1 server has no /v2/ route
        out = "states reached: NotStarted 1, InProgress 1, Completed 1\n"
        return Kept(0, 1.0, out, {})

    monkeypatch.setattr(clean_soak, "run_kept", gate)
    out = tmp_path / "BENCHMARKS.md"
    argv = ["--profile", "v2", "--live", "--seeds", "2", "--output", str(out)]
    argv += ["--log-dir", str(tmp_path / "logs")]
    assert clean_soak.main(argv) == 0
    assert len(calls) == 2 and all(c[c.index("--profile") + 1] == "v2" for c in calls)
    text = out.read_text()
    assert "<!-- live-soak-v2:begin -->" in text
    assert "(`python bench/clean_soak.py --live --profile v2`)" in text
    assert "| runs with exit 0 | 2 / 2 |" in text
    assert doc.read_text() == before, "the test must not rewrite docs/BENCHMARKS.md"


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
@pytest.mark.parametrize(
    ("profile", "fault", "status"), [("openapi-v1", "start-202", 202), ("v2", "v2-start-201", 201)]
)
def test_schemathesis_sees_a_fault_the_clean_emulator_does_not_show(profile, fault, status):
    """One short real run each way: the installed schemathesis takes the options we pass,
    and the profile's document and server (a v1 path would be a 404 on a v2 server)."""
    clean = st.run(None, 0, 5, profile)
    faulty = st.run(fault, 0, 5, profile)
    assert clean.first_seen, "schemathesis reported nothing against the clean emulator"
    new = faulty.new_against(set(clean.first_seen))
    assert any(s.status == status and s.operation.endswith("/CopyAsync") for s in new), new
