"""The fuzzing phase (`contract/fuzz/`): its document follows the profile, it judges only
what a clause forbids, each of its checks fires against a seeded fault and stays quiet
against the clean emulator, and on a shared target it never leaves its sandbox."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from served import root_children

from contract.checks import Context
from contract.checks.facts import AftermathFacts
from contract.checks.fuzzing import (
    no_server_error,
    refused_malformed_start_changed_nothing,
    refused_unauthenticated_request_changed_nothing,
)
from contract.client import Exchange
from contract.fuzz import fuzz, inputs
from contract.fuzz.document import CANCEL, POLL, SandboxIds, document
from contract.profiles import OPENAPI_V1, V2
from contract.targets import LiveTarget, MockTarget
from contract.verdicts import Recorder
from emulator.server import running

NAME = {"type": "string", "minLength": 1, "maxLength": 24}
IDS = SandboxIds(folders=[10, 13], sources=[11, 12], victims=[14])


def fuzzed(faults: frozenset[str] = frozenset(), seed: int = 1, budget: int = 200) -> Recorder:
    recorder = Recorder()
    fuzz(MockTarget(OPENAPI_V1, faults), recorder, budget, seed)
    return recorder


# --- the document ----------------------------------------------------------------------


def test_the_document_takes_paths_and_statuses_from_the_profile():
    other = dataclasses.replace(
        OPENAPI_V1,
        name="other",
        copy_path="Entries/{dest}/Laserfiche.Repository.Folder/children/CopyAsync",
        start_accepted=202,
        poll_completed_copy=302,
    )
    for profile in (OPENAPI_V1, other):
        paths = document(profile, "r1", IDS)["paths"]
        copy = paths["/v1/Repositories/r1/" + profile.copy_path]["post"]
        assert list(copy["responses"]) == [str(profile.start_accepted)]
        poll = paths["/v1/Repositories/r1/" + profile.task_path]["get"]
        expected = {profile.poll_running, profile.poll_completed_copy, profile.poll_ended}
        assert set(poll["responses"]) == {str(s) for s in expected}
        links = copy["responses"][str(profile.start_accepted)]["links"]
        assert {link["operationId"] for link in links.values()} == {POLL, CANCEL}
        assert all(
            link["parameters"] == {"path.token": "$response.body#/token"} for link in links.values()
        )


def test_a_v2_document_names_tasks_in_the_query_and_links_the_started_task_id():
    paths = document(V2, "r1", IDS)["paths"]
    tasks = paths["/v2/Repositories/r1/Tasks"]
    for method in ("get", "delete"):
        assert tasks[method]["parameters"] == [
            {"name": "taskIds", "in": "query", "required": True, "schema": {"type": "string"}}
        ]
    copy = paths["/v2/Repositories/r1/" + V2.copy_path]["post"]
    links = copy["responses"]["202"]["links"]
    assert all(
        link["parameters"] == {"query.taskIds": "$response.body#/taskId"} for link in links.values()
    )


def test_a_loose_twin_loosens_one_field_only():
    loose = document(OPENAPI_V1, "r1", IDS, loose="name")
    body = loose["paths"]["/v1/Repositories/r1/" + OPENAPI_V1.copy_path]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["required"] == ["sourceId", "name"]
    assert schema["properties"]["name"] == {"anyOf": [{**NAME}, {}], "nullable": True}
    assert schema["properties"]["sourceId"] == {"type": "integer", "enum": IDS.sources}


# --- what is malformed, what may be sent --------------------------------------------------


@pytest.mark.parametrize(
    "path_id, body, malformed",
    [
        ("5", {"sourceId": 3, "name": "x"}, False),
        (" +5 ", {"sourceId": "3", "name": 12}, False),  # a lenient reader takes these
        ("5", {"sourceId": 3.0, "name": True, "volumeName": 7}, False),
        ("abc", {"sourceId": 3, "name": "x"}, True),
        ("1.5", {"sourceId": 3, "name": "x"}, True),
        ("5", [3, "x"], True),
        ("5", {"name": "x"}, True),
        ("5", {"sourceId": 3.5, "name": "x"}, True),
        ("5", {"sourceId": True, "name": "x"}, True),
        ("5", {"sourceId": "abc", "name": "x"}, True),
        ("5", {"sourceId": 3}, True),
        ("5", {"sourceId": 3, "name": None}, True),
        ("5", {"sourceId": 3, "name": ["x"]}, True),
    ],
)
def test_only_what_sub3_names_is_malformed(path_id, body, malformed):
    assert (inputs.copy_malformation(path_id, body) is not None) is malformed


@pytest.mark.parametrize(
    "value, allowed",
    [
        (5, True),
        (6, False),
        ("5", True),
        (" 6", False),
        ("0006", False),
        ("abc", True),
        ("%36", False),
        ("x9", False),
        (5.0, True),
        (5.5, False),
        (True, True),
        ([6], True),
    ],
)
def test_the_guard_lets_through_only_owned_ids_or_no_id_at_all(value, allowed):
    assert inputs.owned_id(value, {5}) is allowed


def _aftermath(suspect, before, after, slot) -> Context:  # type: ignore[no-untyped-def]
    exchange = Exchange(1, "fuzz-aftermath", "s", "POST", "u", {}, None, 0.0, 0.0, status=429)
    facts = AftermathFacts(suspect, before, after, slot, "429")
    return Context("fuzz-aftermath", exchange, OPENAPI_V1, "r1", "u", facts=facts)


@pytest.mark.parametrize(
    "check, suspect",
    [
        (refused_malformed_start_changed_nothing, "SUB-3"),
        (refused_unauthenticated_request_changed_nothing, "AUT-1"),
    ],
)
def test_a_refused_start_must_leave_listing_and_slot_alone(check, suspect):
    same = frozenset({(1, "a")})
    assert check(_aftermath("ERR-3", same, same, True)) is None  # not this check's suspect
    assert check(_aftermath(suspect, same, same, True)) == []
    # the probe told nothing: not a failure
    assert check(_aftermath(suspect, same, same, None)) == []
    assert "busy" in check(_aftermath(suspect, same, same, False))[0].title
    changed = _aftermath(suspect, same, same | {(1, "b")}, True)
    assert "changed the sandbox" in check(changed)[0].title


@pytest.mark.parametrize("status, verdict", [(404, []), (500, "fail"), (501, "fail"), (503, None)])
def test_err3_judges_5xx_but_not_a_gateway_or_overload_answer(status, verdict):
    exchange = Exchange(1, "poll", "s", "GET", "u", {}, None, 0.0, 0.0, status=status)
    found = no_server_error(Context("poll", exchange, OPENAPI_V1, "r1", "u"))
    assert (
        (found[0].title == f"the server answered {status}")
        if verdict == "fail"
        else (found == verdict)
    )


# --- against the emulator ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_the_clean_emulator_gives_no_finding_and_err3_is_exercised(seed):
    recorder = fuzzed(seed=seed)
    assert recorder.failures == {}
    assert recorder.exercised["ERR-3"] > 0
    for clause in ("ERR-1", "ERR-2", "SUB-3", "AUT-1"):
        assert recorder.exercised[clause] > 0, clause
    assert any(
        note.startswith("fuzzing: ") and "linked sequences" in note for note in recorder.notes
    )


@pytest.mark.parametrize(
    "fault, clause, check",
    [
        ("volume-name-crash", "ERR-3", "no_server_error"),
        ("accept-null-name", "SUB-3", "fuzzed_malformed_start_refused"),
        ("malformed-start-leaks", "SUB-3", "refused_malformed_start_changed_nothing"),
        ("unauthenticated-copy-runs", "AUT-1", "refused_unauthenticated_request_changed_nothing"),
        ("missing-auth-accepted", "AUT-1", "fuzzed_unauthenticated_refused"),
        ("cancel-unknown-204", "ERR-2", "fuzzed_token_unknown"),
    ],
)
def test_each_fuzzing_check_catches_a_seeded_fault(fault, clause, check):
    for seed in range(3):
        recorder = fuzzed(frozenset({fault}), seed=seed)
        if clause in recorder.failures:
            break
    failure = recorder.failures[clause]
    assert failure.check == check
    assert failure.exchanges and all("Bearer mock-" not in str(e) for e in failure.exchanges)


# --- a shared target ----------------------------------------------------------------------


def test_live_fuzzing_stays_in_its_sandbox_and_removes_it():
    with running("--session-token", "alice", "--session-token", "bob") as base:
        api = f"{base}/v1/Repositories/r1/Entries"
        alice = {"authorization": "Bearer alice"}
        made = httpx.post(
            f"{api}/1/Laserfiche.Repository.Folder/children",
            json={"name": "bystander", "entryType": "Folder"},
            headers=alice,
        ).json()
        before = root_children(base)
        target = LiveTarget(OPENAPI_V1, base, "r1", ["alice", "bob"], 1, f"{base}/_test/clock")
        recorder = Recorder()
        fuzz(target, recorder, 120, 2)
        assert recorder.failures == {}
        assert root_children(base) == before, "fuzzing changed something outside its sandbox"
        assert httpx.get(f"{api}/{made['id']}", headers=alice).status_code == 200
        note = next(n for n in recorder.notes if n.startswith("fuzzing: "))
        assert "kept back by the sandbox guard" in note
