"""`lro-conformance replay FILE`: one failure's exchanges sent again, judged by the gate's
own model and checks; the violation shows against the faulty server and not against the
clean one, on a live server the replay leaves nothing behind, and bad input is exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.server import gate_options, running
from tests.served import root_children

ROOT = Path(__file__).resolve().parent.parent


def gate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contract.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def cancel_ignored(tmp_path_factory) -> Path:
    """A run's report folder with a CAN-1 failure (cancel answered 204, ignored)."""
    return failed_run(tmp_path_factory, "cancel-ignored", "--seed", "3", "--max-examples", "10")


def failed_run(tmp_path_factory, fault: str, *args: str) -> Path:  # type: ignore[no-untyped-def]
    """The report folder of a run against the emulator with `fault`, which it must fail."""
    folder = tmp_path_factory.mktemp(fault)
    result = gate(*args, "--no-shrink", "--fault", fault, "--report-dir", str(folder))
    assert result.returncode == 1, result.stdout + result.stderr
    return folder


@pytest.mark.parametrize("source", ["conformance.json", "repro/CAN-1.py"])
def test_replay_shows_the_violation_on_the_faulty_emulator_only(cancel_ignored, source):
    file = str(cancel_ignored / source)
    shown = gate("replay", file, "--fault", "cancel-ignored")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "CAN-1 still shows" in shown.stdout
    clean = gate("replay", file)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "CAN-1 does not show on replay" in clean.stdout


def test_replay_against_a_live_server_maps_ids_and_cleans_up(cancel_ignored):
    tokens = ("alice", "bob")
    args = [f"--session-token={t}" for t in tokens]
    for faults, code in ((("--fault", "cancel-ignored"), 1), ((), 0)):
        with running(*args, *faults) as base:
            result = gate("replay", str(cancel_ignored / "repro" / "CAN-1.py"), *gate_options(base))
            left = root_children(base)
        assert result.returncode == code, result.stdout + result.stderr
        assert left == [], "the replay left its sandbox behind"
        assert "alice" not in result.stdout + result.stderr


def test_a_replay_never_cancels_a_token_it_was_not_given(cancel_ignored, tmp_path):
    """On a shared target the replay goes through the API's guard: a cancel of a token
    neither the original run's answers nor the replay's own gave it is not sent."""
    report = json.loads((cancel_ignored / "conformance.json").read_text())
    exchanges = report["clauses"]["CAN-1"]["failure"]["exchanges"]
    task = next(e for e in reversed(exchanges) if "/Tasks/" in e["url"])
    stranger = dict(task, action="cancel", method="DELETE", request_body=None)
    stranger["url"] = stranger["url"].rsplit("/Tasks/", 1)[0] + "/Tasks/never-issued-token"
    stranger |= {"status": 404, "response_headers": {}, "response_body": None}
    exchanges.insert(len(exchanges) - 1, stranger)
    edited = tmp_path / "conformance.json"
    edited.write_text(json.dumps(report))
    with running("--session-token=alice", "--session-token=bob") as base:
        result = gate("replay", str(edited), *gate_options(base))
        left = root_children(base)
    assert "not sent: refused to cancel an operation" in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert left == [], "the replay left its sandbox behind"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.json", "cannot read"),
        (lambda d: _write(d / "x.json", "{not json"), "neither JSON nor a reproduction script"),
        (lambda d: _write(d / "x.json", '{"clauses": {}}'), "records no failure"),
        (lambda d: _write(d / "x.py", "print(1)\n"), "holds no PLAN"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, make, message):
    result = gate("replay", str(make(tmp_path)))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_clause_that_did_not_fail_is_exit_2(cancel_ignored):
    result = gate("replay", str(cancel_ignored / "conformance.json"), "--clause", "SUB-1")
    assert result.returncode == 2 and "no failure of SUB-1" in result.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_clause_only_the_sandbox_picture_shows_is_exit_2_not_a_false_all_clear(
    cancel_ignored, tmp_path
):
    """A failure found by comparing listings with the run's picture of the sandbox cannot
    be judged from single answers: the replay says so rather than "does not show"."""
    report = json.loads((cancel_ignored / "conformance.json").read_text())
    report["clauses"]["CAN-1"]["failure"]["check"] = "effects_stay_inside"
    edited = _write(tmp_path / "conformance.json", json.dumps(report))
    result = gate("replay", str(edited))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "CAN-1 cannot be judged on replay: its check effects_stay_inside" in result.stdout


# --- v2: task ids in the query, the dialect kept in the plan ---------------------------------


@pytest.fixture(scope="module")
def listed_twice(tmp_path_factory) -> Path:
    """A v2 run's report folder with an LST-1 failure (a task listed once per naming)."""
    return failed_run(
        tmp_path_factory,
        "list-duplicates",
        *("--profile", "v2", "--seed", "0", "--max-examples", "5", "--fuzz-cases", "0"),
    )


@pytest.mark.parametrize("source", ["conformance.json", "repro/LST-1.py"])
def test_a_v2_failure_replays_in_v2_with_its_task_ids_taken_from_the_answers(listed_twice, source):
    """The plan names the dialect (no --profile needed), a start's `taskId` is captured
    and the poll's `taskIds` query gets the replay's own id, and the listing's checks
    are told which ids the poll named and which tasks are the session's."""
    file = str(listed_twice / source)
    shown = gate("replay", file, "--fault", "list-duplicates")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "LST-1 still shows" in shown.stdout and "/v2/Repositories/" in shown.stdout
    clean = gate("replay", file)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "LST-1 does not show on replay" in clean.stdout
    script = (listed_twice / "repro" / "LST-1.py").read_text()
    assert "take(answer, ['taskId'])" in script and "taskIds={token_" in script


def test_a_replayed_cancel_of_several_knows_every_id_it_names():
    """Each id is judged as a cancel of it, and on a shared target each is guarded."""
    from contract.profiles import profile
    from contract.replay import _named

    url = "https://x/v2/Repositories/r1/Tasks?taskIds=a&taskIds=b,c&other=d"
    assert _named(profile("v2"), url) == ["a", "b", "c"]
    assert _named(profile("openapi-v1"), url) == []  # v1 names one token in the path


@pytest.mark.slow
def test_a_replayed_cancel_of_several_judges_the_other_session_s_task_it_names(tmp_path_factory):
    """The run judges what a cancel of several ids says of each: another session's task
    as a stranger's cancel (ISO-1), an unknown id as a cancel of one. So does a replay:
    a foreign cancel's evidence, its last step sent as a cancel of several (which it is,
    on v2's wire), still shows ISO-1 against the server that lists others' tasks."""
    folder = failed_run(
        tmp_path_factory,
        "list-foreign",
        *("--profile", "v2", "--seed", "0", "--max-examples", "10", "--fuzz-cases", "0"),
    )
    report = json.loads((folder / "conformance.json").read_text())
    last = report["clauses"]["ISO-1"]["failure"]["exchanges"][-1]
    assert last["action"] == "cancel-foreign" and "taskIds=" in last["url"]
    last["action"] = "cancel-several"
    edited = _write(folder / "several.json", json.dumps(report))
    shown = gate("replay", str(edited), "--clause", "ISO-1", "--fault", "list-foreign")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "ISO-1 still shows" in shown.stdout
    clean = gate("replay", str(edited), "--clause", "ISO-1")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ISO-1 does not show on replay" in clean.stdout
