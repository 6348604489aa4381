"""report.md, report.html and the reproduction scripts, as a new user meets them: the
gate finds a seeded fault, the generated curl and Python scripts show the same
violation against a served `lro-emulator` with that fault (and not without it), the
HTML loads nothing from anywhere and lists every clause, and no bearer token lands in
any file, whichever way it was given."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract.clauses import CLAUSES
from contract.model import TRANSITIONS
from emulator.server import gate_options, running
from tests.served import root_children
from tests.test_reports import GateRun, assert_no_secret

ROOT = Path(__file__).resolve().parent.parent
LAST_ANSWER = re.compile(r"now it answered (\d+)")


@pytest.fixture(scope="module")
def start_202(tmp_path_factory) -> GateRun:
    """The embedded emulator with starts answering 202 instead of 201 (SUB-1)."""
    folder = tmp_path_factory.mktemp("start-202")
    summary = folder.parent / "step-summary.md"
    summary.write_text("earlier step\n")
    result = subprocess.run(
        [sys.executable, "-m", "contract.cli", "--fault", "start-202", "--seed", "0"]
        + ["--max-examples", "20", "--report-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return GateRun(result, folder)


def test_the_folder_holds_the_pages_and_one_script_pair_per_failure(start_202):
    names = {p.relative_to(start_202.folder).as_posix() for p in start_202.folder.rglob("*.*")}
    assert {"report.md", "report.html", "repro/SUB-1.py", "repro/SUB-1.sh"} <= names
    failed = [c for c, e in start_202.conformance()["clauses"].items() if e["verdict"] == "fail"]
    assert {n for n in names if n.startswith("repro/")} == {
        f"repro/{c}.{ext}" for c in failed for ext in ("py", "sh")
    }


def test_the_html_loads_nothing_and_shows_every_clause(start_202):
    html = (start_202.folder / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "@import" not in html and "url(http" not in html
    for cid in CLAUSES:
        assert f'id="clause-{cid}"' in html, cid
    assert "<svg" in html and 'href="#failure-SUB-1"' in html


def test_the_pages_show_the_matrix_the_lifecycle_and_the_failure(start_202):
    md = (start_202.folder / "report.md").read_text()
    report = start_202.conformance()
    for cid, entry in report["clauses"].items():
        shown = "**FAIL**" if entry["verdict"] == "fail" else entry["verdict"]
        assert f"| {cid} | {shown} | {entry['checked']} |" in md
    for t in report["stats"]["transitions"]:
        assert f"| {t['from']} | {t['to']} | {t['count']} |" in md
    allowed = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    # Two states a poll apart that are not one step (NotStarted, then expired) are no
    # transition: the table counts single steps only.
    seen = {(t["from"], t["to"]) for t in report["stats"]["transitions"]}
    assert md.count("| not exercised |") == len(allowed - seen)
    failure = report["clauses"]["SUB-1"]["failure"]
    assert f"* expected: {failure['expected']}" in md and f"* actual: {failure['actual']}" in md
    assert "python repro/SUB-1.py" in md and "bash repro/SUB-1.sh" in md


def test_the_markdown_summary_is_appended_for_github_actions(start_202):
    summary = (start_202.folder.parent / "step-summary.md").read_text()
    assert summary.startswith("earlier step\n")
    assert (start_202.folder / "report.md").read_text() in summary


def run_script(command: list[str], base: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LRO_BASE_URL": base, "LRO_TOKEN_1": "alice", "LRO_TOKEN_2": "bob"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("kind", ["python", "curl"])
def test_a_reproduction_shows_the_violation_against_the_faulty_server_only(start_202, kind):
    if kind == "curl" and not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("the curl reproduction needs curl and jq, and this machine lacks one")
    script = start_202.folder / "repro" / ("SUB-1.py" if kind == "python" else "SUB-1.sh")
    command = [sys.executable, str(script)] if kind == "python" else ["bash", str(script)]
    text = script.read_text()
    assert "alice" not in text and "LRO_TOKEN_1" in text
    answers = {}
    for faults in (("--fault", "start-202"), ()):
        with running("--session-token", "alice", "--session-token", "bob", *faults) as base:
            result = run_script(command, base)
            left = root_children(base)
        assert result.returncode == 0, result.stdout + result.stderr
        if kind == "python":  # it ends what it started and removes its sandbox
            assert left == [] and "removed the sandbox folder" in result.stdout
        assert "alice" not in result.stdout + result.stderr
        answers[bool(faults)] = LAST_ANSWER.search(result.stdout).group(1)  # type: ignore[union-attr]
    assert answers == {True: "202", False: "201"}  # the violation, then the clean answer


def test_a_script_without_its_token_says_which_variable_to_set(start_202):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRO_")}
    script = start_202.folder / "repro" / "SUB-1.py"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "set LRO_TOKEN_1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("way", ["option", "environment", "config file"])
def test_no_bearer_token_in_any_file_or_the_console_whichever_way_it_came(tmp_path, way):
    tokens = ("s3cret-alpha-" + way[:3], "s3cret-bravo-" + way[:3])
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRO_")}
    extra: list[str] = []
    if way == "option":
        extra = [f"--session-token={t}" for t in tokens]
    elif way == "environment":
        env["LRO_SESSION_TOKEN"] = ",".join(tokens)
    else:
        config = tmp_path / "gate.toml"
        config.write_text(f"[tool.lro-conformance]\nsession-token = {json.dumps(list(tokens))}\n")
        extra = ["--config", str(config)]
    folder = tmp_path / "reports"
    with running(*(f"--session-token={t}" for t in tokens), "--fault", "cancel-ignored") as base:
        result = subprocess.run(
            [sys.executable, "-m", "contract.cli", *live_args(base), *extra]
            + ["--seed", "2", "--max-examples", "15", "--no-shrink", "--fuzz-cases", "20"]
            + ["--report-dir", str(folder)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            env=env,
        )
    run = GateRun(result, folder)
    assert result.returncode == 1, run.console
    assert (folder / "repro").is_dir() and (folder / "report.html").is_file()
    assert_no_secret(run, tokens)


def live_args(base: str) -> list[str]:
    """Target options without tokens (they come from the option under test)."""
    return gate_options(base, ())
