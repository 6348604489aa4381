"""Requests sent together: the client's async path through the one seam, simultaneous
starts in mock mode and over loopback (CON-4), and isolation with three sessions."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile

import pytest
from mutation import run_with_fault

from contract.api import AT_ONCE
from contract.client import Call, Client
from contract.machine import ClauseViolation
from contract.profiles import profile
from contract.runner import Options, explore
from contract.targets import LiveTarget, MockTarget
from contract.verdicts import Recorder
from emulator.server import gate_options, running

OPENAPI = profile("openapi-v1")


def _copies(conn, count: int) -> list[Call]:  # type: ignore[no-untyped-def]
    session = conn.sessions[0]
    source = conn.api.create_folder(session, conn.parent_id, "S").json()["id"]
    dest = conn.api.create_folder(session, conn.parent_id, "D").json()["id"]
    return [
        conn.api.copy_call(session, dest, {"sourceId": source, "name": f"c{i}"})
        for i in range(count)
    ]


def _accepted(exchanges) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for ex in exchanges if ex.status == 201)


def test_requests_sent_together_land_in_the_one_transcript_redacted():
    conn = MockTarget(OPENAPI).connect()
    calls = _copies(conn, 4)
    before = len(conn.client.transcript)
    exchanges = conn.client.send_together(calls)
    assert conn.client.transcript[before:] == exchanges
    assert [ex.seq for ex in exchanges] == list(range(before + 1, before + 5))
    assert sorted(ex.status for ex in exchanges) == [201, 429, 429, 429]
    token = conn.sessions[0].token
    for ex in exchanges:
        assert ex.sent_order < ex.received_order
        assert token not in str(conn.client.redacted(ex))
        assert ex.request_headers["authorization"] == "Bearer ***"


def test_a_racy_slot_check_lets_simultaneous_starts_all_win_in_mock_mode():
    conn = MockTarget(OPENAPI, frozenset({"racy-slot-check"})).connect()
    exchanges = conn.client.send_together(_copies(conn, 3))
    assert _accepted(exchanges) == 3
    # All were sent before any was answered: the model sees them in flight together.
    assert max(ex.sent_order for ex in exchanges) < min(ex.received_order for ex in exchanges)


def test_a_tree_levels_folders_are_created_together_a_few_at_a_time():
    """A fixture tree costs a round trip per level, not per folder (a slow network pays for
    every one), and a wide level goes at most `AT_ONCE` at a time, no burst."""
    conn = MockTarget(OPENAPI).connect()
    session = conn.sessions[0]
    root = conn.api.create_folder(session, conn.parent_id, "R").json()["id"]
    made = conn.api.create_folders(session, [(root, f"f{i}") for i in range(AT_ONCE + 3)])
    assert [ex.status for ex in made] == [201] * (AT_ONCE + 3)
    assert len({ex.json()["id"] for ex in made}) == AT_ONCE + 3
    first, rest = made[:AT_ONCE], made[AT_ONCE:]
    assert max(ex.sent_order for ex in first) < min(ex.received_order for ex in first)
    assert min(ex.sent_order for ex in rest) > max(ex.received_order for ex in first)
    assert {ex.json()["id"] for ex in made} <= conn.api.owned_entries


def test_a_client_without_an_async_client_says_so():
    import httpx

    client = Client(httpx.Client(), "https://emulator.invalid", lambda: 0.0)
    assert not client.can_send_together
    with pytest.raises(RuntimeError, match="cannot send requests together"):
        client.send_together([])


@pytest.mark.asyncio
async def test_send_together_works_from_inside_a_running_event_loop():
    conn = MockTarget(OPENAPI).connect()
    exchanges = conn.client.send_together(_copies(conn, 3))  # its own loop, in a thread
    assert sorted(ex.status for ex in exchanges) == [201, 429, 429]


@pytest.mark.asyncio
async def test_send_async_is_the_same_seam():
    conn = MockTarget(OPENAPI).connect()
    calls = _copies(conn, 3)
    assert conn.client.async_http is not None
    async with conn.client.async_http() as http:
        exchanges = await asyncio.gather(*(conn.client.send_async(http, c) for c in calls))
    assert sorted(ex.status for ex in exchanges) == [201, 429, 429]
    assert all(ex in conn.client.transcript for ex in exchanges)


@pytest.mark.parametrize("fault", [None, "racy-slot-check"])
def test_simultaneous_starts_over_loopback(fault):
    args = ("--fault", fault) if fault else ()
    with running("--session-token", "alice", *args) as base:
        target = LiveTarget(OPENAPI, base, "r1", ["alice"], 1, f"{base}/_test/clock")
        conn = target.connect()
        try:
            exchanges = conn.api.together(_copies(conn, 4))
        finally:
            conn.close()
    assert all(ex.error is None for ex in exchanges), [ex.error for ex in exchanges]
    if fault is None:
        assert sorted(ex.status for ex in exchanges) == [201, 429, 429, 429]
    else:  # the server awaits between its check and the registration: more than one wins
        assert _accepted(exchanges) > 1


# --- the gate: CON-4 killed, and isolation with three sessions ------------------------------


def _mock_run(fault: str | None, sessions: int, seed: int = 0) -> Recorder:
    recorder = Recorder()
    options = Options(seed=seed, max_examples=60, shrink=False, rounds=1, fuzz_cases=0)
    target = MockTarget(OPENAPI, frozenset({fault} if fault else ()), sessions=sessions)
    with contextlib.suppress(ClauseViolation, ExceptionGroup):
        explore(options, recorder, target)
    return recorder


def test_three_sessions_against_the_clean_emulator_pass_and_exercise_isolation():
    recorder = _mock_run(None, sessions=3)
    assert not recorder.failures, {c: f.title for c, f in recorder.failures.items()}
    for clause in ("CON-3", "CON-4", "ISO-1", "ISO-2"):
        assert recorder.exercised[clause], clause


@pytest.mark.parametrize(
    "fault, clause",
    [
        ("tasks-shared", "ISO-1"),
        ("global-operation-limit", "CON-3"),
        ("completion-echo-to-other-session", "ISO-2"),
        ("racy-slot-check", "CON-4"),
    ],
)
def test_three_sessions_catch_the_faults_that_cross_sessions(fault, clause):
    found: set[str] = set()
    for seed in range(3):
        found |= set(_mock_run(fault, sessions=3, seed=seed).failures)
        if clause in found:
            break
    assert clause in found, (fault, found)


def test_the_racy_slot_check_is_caught_by_the_model_and_named():
    run = run_with_fault("racy-slot-check", seed=0)
    assert "CON-4" in run.model_clauses


def _live_gate(base: str, *args: str) -> subprocess.CompletedProcess[str]:
    tokens = ("alice", "bob", "carol")
    cmd = [sys.executable, "-m", "contract.cli", *gate_options(base, tokens), "--seed", "1"]
    with tempfile.TemporaryDirectory(prefix="lro-test-conc-") as scratch:
        return subprocess.run(
            [*cmd, *args], capture_output=True, text=True, timeout=600, cwd=scratch
        )


@pytest.mark.slow
@pytest.mark.parametrize("fault", [None, "racy-slot-check"])
def test_live_gate_with_three_sessions_judges_con4_over_loopback(fault):
    tokens = ["--session-token", "alice", "--session-token", "bob", "--session-token", "carol"]
    with running(*tokens, *(("--fault", fault) if fault else ())) as base:
        result = _live_gate(base, "--max-examples", "20", "--fuzz-cases", "0", "--no-shrink")
    line = next(x for x in result.stdout.splitlines() if x.startswith("CON-4"))
    if fault is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert " pass " in line, line
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "CON-4 violated" in result.stdout


def test_the_evidence_says_which_requests_were_sent_together():
    from contract.reporting.console import render_exchanges

    conn = MockTarget(OPENAPI).connect()
    calls = _copies(conn, 3)
    conn.client.send_together(calls)
    conn.api.poll(conn.sessions[0], "after")
    text = "\n".join(render_exchanges(conn.client.transcript))
    assert "  3. " in text and "sent together with 4, 5" in text
    assert "sent together with 3, 4" in text
    assert text.count("sent together") == 3  # not the fixtures, not the poll after


# --- a session limit of more than one: --operation-limit ------------------------------------


def test_the_embedded_emulator_runs_as_many_at_once_as_the_limit_the_gate_expects():
    """Mock mode builds a correct server for the limit: CON-1/CON-4 exercised and passing,
    with simultaneous starts always more than the limit (so one must be refused)."""
    recorder = Recorder()
    options = Options(seed=0, max_examples=30, fuzz_cases=0, operation_limit=2, allow_untested=True)
    explore(options, recorder)
    assert not recorder.failures, recorder.failures
    assert recorder.exercised["CON-1"] and recorder.exercised["CON-4"]
    assert recorder.starts_together >= 3 and recorder.accepted_together == 2
    assert any("accepted at most 2 of up to" in note for note in recorder.all_notes())


@pytest.mark.slow
@pytest.mark.parametrize(
    "serves, expects, clause",
    [(2, 1, "CON-1"), (1, 2, "CON-2")],
)
def test_a_server_with_another_limit_than_expected_fails(serves, expects, clause):
    """A server that runs two at once fails a gate expecting one (CON-1/CON-4); one that
    refuses the second fails a gate expecting two (a start refused below the limit)."""
    tokens = ["--session-token", "alice", "--session-token", "bob", "--session-token", "carol"]
    with running(*tokens, "--operation-limit", str(serves)) as base:
        result = _live_gate(
            base,
            *("--operation-limit", str(expects), "--max-examples", "30", "--fuzz-cases", "0"),
            *("--no-shrink", "--allow-untested"),
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{clause} violated" in result.stdout, result.stdout
