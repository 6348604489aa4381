"""The run's report folder: junit.xml and conformance.json, as CI and people read them.

Each produced file is validated against a schema (the committed JSON Schema, and
the Jenkins JUnit XSD in tests/schemas), every clause appears once in each, the
reports agree with the console, and no bearer token appears anywhere.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from contract.checks import Failure
from contract.clauses import CLAUSES
from contract.client import Exchange
from contract.reporting import json_report, junit
from contract.reporting.run import FinishedRun, option_values
from contract.settings import Options, resolve
from contract.verdicts import Recorder
from emulator.server import gate_options, running

ROOT = Path(__file__).resolve().parent.parent
JUNIT_XSD = xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit-10.xsd")
JSON_SCHEMA = json.loads(json_report.SCHEMA.read_text(encoding="utf-8"))
MOCK_SECRET = "zq7mocksecretzq7"
# Runs the CLI with the embedded emulator's bearer tokens made recognisable, so that
# a leak of them anywhere can be searched for.
WITH_KNOWN_MOCK_TOKENS = f"""
import sys, types
import contract.targets
contract.targets.secrets = types.SimpleNamespace(token_hex=lambda n: "{MOCK_SECRET}")
from contract.cli import main
sys.exit(main(sys.argv[1:]))
"""
# A bearer token written out; "Bearer ***" is masked, and the reproduction scripts name a
# variable ("Bearer $LRO_TOKEN_1", "Bearer " + tokens[1], HTML-escaped in report.html).
LEAKED_BEARER = re.compile(r"Bearer (?![*$\"{&])")


@dataclass
class GateRun:
    result: subprocess.CompletedProcess[str]
    folder: Path

    @property
    def console(self) -> str:
        return self.result.stdout + self.result.stderr

    def conformance(self) -> dict:
        return json.loads((self.folder / "conformance.json").read_text(encoding="utf-8"))

    def junit(self) -> ET.Element:
        return ET.parse(self.folder / "junit.xml").getroot()

    def testcases(self) -> dict[str, ET.Element]:
        """Clause id -> its test case (the extra run-error case has classname RUN)."""
        cases = self.junit().iter("testcase")
        return {c.get("name", "").split(":")[0]: c for c in cases if c.get("classname") != "RUN"}


def run_gate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITH_KNOWN_MOCK_TOKENS, *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def only_folder(parent: Path) -> Path:
    (folder,) = parent.iterdir()
    return folder


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> GateRun:
    """The clean emulator, one clause skipped, reports in the default place."""
    cwd = tmp_path_factory.mktemp("clean")
    result = run_gate(
        cwd, "--seed", "3", "--max-examples", "10", "--skip-clause", "SUB-2=vendor waiver 42",
        "--allow-untested",  # a small budget: what it leaves untested is shown, not failed
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return GateRun(result, only_folder(cwd / "reports"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> GateRun:
    """A seeded fault (cancel ignored), reports in a folder named on the command line."""
    folder = tmp_path_factory.mktemp("faulty") / "ci" / "lro"
    result = run_gate(
        ROOT,
        *("--seed", "3", "--max-examples", "10", "--no-shrink"),
        *("--fault", "cancel-ignored", "--report-dir", str(folder)),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return GateRun(result, folder)


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory) -> GateRun:
    """A run that stopped on a harness error (exit 2) after it began to explore."""
    folder = tmp_path_factory.mktemp("unreachable")
    result = run_gate(
        ROOT,
        *gate_options("http://127.0.0.1:9", ("s3cret-unreached",)),
        *("--max-examples", "2", "--report-dir", str(folder)),
    )
    assert result.returncode == 2, result.stdout + result.stderr
    return GateRun(result, folder)


def validate(run: GateRun) -> None:
    jsonschema.validate(run.conformance(), JSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    JUNIT_XSD.validate(str(run.folder / "junit.xml"))


def test_the_committed_json_schema_is_itself_valid():
    jsonschema.Draft202012Validator.check_schema(JSON_SCHEMA)


@pytest.mark.parametrize("name", ["clean", "faulty", "unreachable"])
def test_every_report_validates_against_its_schema(name, request):
    validate(request.getfixturevalue(name))


def test_default_folder_is_a_utc_timestamp_under_reports_and_the_cli_says_where(clean):
    assert re.fullmatch(r"\d{8}T\d{6}Z", clean.folder.name), clean.folder.name
    files = sorted(p.name for p in clean.folder.iterdir())
    assert files == ["conformance.json", "junit.xml", "report.html", "report.md"]  # no repro/
    assert f"reports: reports/{clean.folder.name}/" in clean.result.stdout.splitlines()


@pytest.mark.parametrize("name", ["clean", "faulty"])
def test_every_clause_appears_once_in_each_report_in_catalogue_order(name, request):
    run: GateRun = request.getfixturevalue(name)
    assert list(run.conformance()["clauses"]) == list(CLAUSES)
    cases = [c for c in run.junit().iter("testcase") if c.get("classname") != "RUN"]
    assert [c.get("name") for c in cases] == [f"{c.id}: {c.text}" for c in CLAUSES.values()]
    assert [c.get("classname") for c in cases] == [c.group for c in CLAUSES.values()]


@pytest.mark.parametrize("name", ["clean", "faulty"])
def test_reports_show_the_verdicts_the_console_shows(name, request):
    run: GateRun = request.getfixturevalue(name)
    console = console_verdicts(run.result.stdout)
    clauses = run.conformance()["clauses"]
    cases = run.testcases()
    for cid in CLAUSES:
        assert clauses[cid]["verdict"] == console[cid], cid
        assert junit_verdict(cases[cid]) == console[cid], cid


@pytest.mark.parametrize("name", ["clean", "faulty"])
def test_reports_count_the_batches_sent_together_as_the_console_does(name, request):
    run: GateRun = request.getfixturevalue(name)
    together = run.conformance()["stats"]["together"]
    line = next(x for x in run.result.stdout.splitlines() if x.startswith("sent together: "))
    assert line == "sent together: " + ", ".join(f"{k} {n}" for k, n in together.items())
    assert sum(together.values()) > 0  # the default mix sends batches: the figure is real
    markdown = (run.folder / "report.md").read_text(encoding="utf-8")
    assert all(f"{kind} {n}" in markdown for kind, n in together.items())


def console_verdicts(stdout: str) -> dict[str, str]:
    marks = {"pass": "pass", "FAIL": "fail", "not tested": "not tested", "skipped": "skipped"}
    out = {}
    for line in stdout.splitlines():
        cid = line.split(" ", 1)[0]
        if cid in CLAUSES and cid not in out:
            rest = line[len(cid) :].strip()
            out[cid] = next(v for k, v in marks.items() if rest.startswith(k))
    return out


def junit_verdict(case: ET.Element) -> str:
    if case.find("failure") is not None:
        return "fail"
    error = case.find("error")
    if error is not None:
        assert error.get("type") == "not tested" and error.get("message") == junit.NOT_TESTED
        return "not tested"
    skipped = case.find("skipped")
    if skipped is None:
        return "pass"
    message = skipped.get("message", "")
    if message == junit.NOT_TESTED:
        return "not tested"
    assert message.startswith("skipped: "), message
    return "skipped"


def test_skipped_and_not_tested_clauses_are_skipped_with_messages_that_tell_which(clean):
    cases = clean.testcases()
    assert cases["SUB-2"].find("skipped").get("message") == "skipped: vendor waiver 42"
    assert clean.conformance()["clauses"]["SUB-2"]["reason"] == "vendor waiver 42"
    # A short run leaves some clause unexercised (CAN-2 with this seed): marked not tested.
    clauses = clean.conformance()["clauses"]
    not_tested = [cid for cid, entry in clauses.items() if entry["verdict"] == "not tested"]
    for cid in not_tested:
        assert cases[cid].find("skipped").get("message") == junit.NOT_TESTED, cid


def test_a_failure_carries_the_clause_text_expected_actual_and_the_reproduction(faulty):
    failure = faulty.testcases()["CAN-1"].find("failure")
    assert failure is not None
    entry = faulty.conformance()["clauses"]["CAN-1"]["failure"]
    assert entry["expected"] in failure.get("message") and entry["actual"] in failure.get("message")
    body = failure.text or ""
    assert CLAUSES["CAN-1"].text in body
    assert f"expected: {entry['expected']}" in body and f"actual:   {entry['actual']}" in body
    assert "shortest reproduction" in body
    exchanges = entry["exchanges"]
    assert exchanges and any(ex["action"] == "cancel" and ex["status"] == 204 for ex in exchanges)
    for ex in exchanges:
        assert ex["session"] in ("session-1", "session-2", None)
        assert ex["request_headers"].get("authorization", "Bearer ***") == "Bearer ***"
    first = exchanges[0]
    assert f"{first['method']} {first['url']} -> {first['status']}" in body


def test_metadata_records_the_run_and_where_each_option_came_from(faulty):
    report = faulty.conformance()
    assert report["target"] == "embedded emulator (openapi-v1, faults: cancel-ignored)"
    assert (report["profile"], report["seed"]) == ("openapi-v1", 3)
    assert report["outcome"] == {
        "exit_code": 1,
        "label": "not conformant",
        "reason": "violations of CAN-1",
    }
    stats = report["stats"]
    line = f"{stats['examples']} examples · {stats['steps']} steps · {stats['exchanges']} HTTP"
    assert line in faulty.result.stdout and stats["examples"] > 0
    assert datetime.fromisoformat(report["started"]) <= datetime.now(UTC)
    assert set(report["versions"]) >= {"lro-conformance", "hypothesis", "httpx", "pytest"}
    options = report["options"]
    assert options["seed"] == {"value": 3, "source": "command line"}
    assert options["faults"] == {"value": ["cancel-ignored"], "source": "command line"}
    assert options["steps"] == {"value": 50, "source": "default"}
    assert options["report_dir"]["value"] == str(faulty.folder)
    assert report["summary"]["fail"] == 1


def test_a_run_that_could_not_judge_says_why_in_both_reports(unreachable):
    outcome = unreachable.conformance()["outcome"]
    assert outcome["exit_code"] == 2 and outcome["label"] == "no verdict"
    assert "cannot reach the clock hook http://127.0.0.1:9" in outcome["reason"]
    (error,) = [c for c in unreachable.junit().iter("testcase") if c.get("classname") == "RUN"]
    assert "cannot reach" in error.find("error").get("message")
    assert unreachable.junit().get("errors") == "1"


@pytest.mark.parametrize("name", ["clean", "faulty", "unreachable"])
def test_no_bearer_token_in_the_report_folder_or_the_console(name, request):
    run: GateRun = request.getfixturevalue(name)
    secrets = (MOCK_SECRET, "s3cret-unreached")
    assert_no_secret(run, secrets)


def assert_no_secret(run: GateRun, secrets: tuple[str, ...]) -> None:
    files = [p for p in run.folder.rglob("*") if p.is_file()]
    assert files, "no report was written"
    for text, where in [(run.console, "console")] + [(p.read_text(), p.name) for p in files]:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {where}"
        assert not LEAKED_BEARER.search(text), f"an unmasked bearer token in {where}"


@pytest.mark.slow
def test_live_mode_reports_hold_no_bearer_token(tmp_path):
    tokens = ("s3cret-alpha", "s3cret-bravo")
    args = [f"--session-token={t}" for t in tokens]
    with running(*args, "--fault", "cancel-ignored") as base:
        result = run_gate(
            ROOT,
            *gate_options(base, tokens),
            *("--seed", "2", "--max-examples", "15", "--no-shrink", "--fuzz-cases", "20"),
            *("--report-dir", str(tmp_path)),
        )
    run = GateRun(result, tmp_path)
    assert result.returncode == 1, run.console
    report = run.conformance()
    assert report["clauses"]["CAN-1"]["failure"]["exchanges"], "no evidence to search"
    assert report["options"]["session_tokens"]["value"] == ["***", "***"]
    validate(run)
    assert_no_secret(run, tokens)


def test_a_report_folder_that_cannot_be_made_is_a_usage_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_gate(tmp_path, "--max-examples", "2", "--report-dir", str(blocker / "reports"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"cannot create report folder {blocker / 'reports'}" in result.stderr
    assert f"{blocker} is a file" in result.stderr and "Traceback" not in result.stderr
    assert blocker.read_text() == "not a folder"


def test_reports_that_cannot_be_written_at_the_end_are_exit_2_with_the_reason(tmp_path):
    (tmp_path / "reports").write_text("a file where the default folder would go")
    result = run_gate(tmp_path, "--seed", "1", "--max-examples", "2", "--allow-untested")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "lro-conformance: error: cannot write the reports to" in result.stderr
    assert "Traceback" not in result.stderr
    assert "CONFORMANT" in result.stdout  # the verdicts are still shown


# --- the renderers on their own --------------------------------------------------


def finished(failure: Failure, options: Options) -> FinishedRun:
    recorder = Recorder()
    recorder.exercise({"SUB-1", "STA-1"})
    recorder.fail(failure)
    verdicts = recorder.verdicts({"EXP-3": "waived"})
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return FinishedRun(verdicts, recorder, options, "t", started, 1.5, 1, "violations of STA-1")


def test_text_xml_cannot_hold_is_escaped_and_every_secret_masked():
    secret = "s3cret-in-a-body"
    ex = Exchange(1, "poll", "session-1", "GET", "https://x/Tasks/1", {}, None, 0.0, 0.5)
    ex.status, ex.response_body = 200, f'{{"status": "Done\x00\x1b", "echo": "{secret}"}}'
    failure = Failure("STA-1", "bad status", "a lifecycle status", f"Done\x00 {secret}", [ex])
    run = finished(failure, Options(session_tokens=(secret,)))
    xml = junit.render(run)
    JUNIT_XSD.validate(ET.fromstring(xml.split("\n", 1)[1]))
    assert "\\x00" in xml and "\\x1b" in xml
    text = json_report.render(run)
    jsonschema.validate(json.loads(text), JSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert secret not in xml and secret not in text


def test_options_show_their_recorded_sources_and_mask_secrets(tmp_path):
    given = {"seed": 7, "session-token": ["tok-a", "tok-b"], "base-url": "http://h"}
    values = option_values(resolve(given, environ={"LRO_MAX_EXAMPLES": "9"}, cwd=tmp_path))
    assert values["session_tokens"] == {"value": ["***", "***"], "source": "command line"}
    assert values["seed"] == {"value": 7, "source": "command line"}
    assert values["max_examples"] == {"value": 9, "source": "environment LRO_MAX_EXAMPLES"}
    assert values["steps"] == {"value": 50, "source": "default"}
    assert "sources" not in values and "shown" not in values
