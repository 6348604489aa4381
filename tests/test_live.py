"""Live mode over loopback: the gate against `lro-emulator` served by uvicorn."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator

import pytest
from served import ROOT, children, create_folder, example_under_way, root_children

from emulator.server import gate_options, running


def emulator_server(*args: str):  # type: ignore[no-untyped-def]
    return running("--session-token", "alice", "--session-token", "bob", *args)


def gate_command(
    base: str, tokens: tuple[str, ...] = ("alice", "bob"), *, wall: bool = False
) -> list[str]:
    return [sys.executable, "-m", "contract.cli", *gate_options(base, tokens, wall=wall)]


def gate(
    base: str, *args: str, tokens: tuple[str, ...] = ("alice", "bob")
) -> subprocess.CompletedProcess[str]:
    cmd = [*gate_command(base, tokens), "--seed", "2", *args]
    with tempfile.TemporaryDirectory(prefix="lro-test-live-") as scratch:  # for its reports
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=scratch)


@pytest.mark.slow
def test_live_gate_passes_a_correct_server_and_leaves_nothing_behind():
    """Served with every legitimate variant (`lro-emulator --variant all`): extra fields,
    opaque tokens, 403 for a foreign token, Connection: close, eager refusals, ... On a
    shared tenant, where another user adds entries beside the sandboxes all the while:
    theirs are never blamed (only names carrying the run's marker are its own)."""
    with emulator_server("--variant", "all") as base, another_user(base) as theirs:
        result = gate(base, "--max-examples", "25")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "CONFORMANT" in result.stdout
        left = [e["name"] for e in root_children(base)]
        assert theirs and sorted(left) == sorted(theirs), "a sandbox folder was left behind"
    for secret in ("alice", "bob"):
        assert f"Bearer {secret}" not in result.stdout + result.stderr


@contextlib.contextmanager
def another_user(base: str) -> Iterator[list[str]]:
    """Someone else working in the folder where the sandboxes are made: a folder every
    half second, named as the run's might be ("x", "x (2)"), until the block ends."""
    made: list[str] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(0.5):
            name = f"x ({len(made) + 2})" if made else "x"
            if create_folder(base, 1, name, user="bob") == 201:
                made.append(name)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        yield made
    finally:
        stop.set()
        worker.join()


@pytest.mark.slow
def test_what_the_server_puts_outside_the_sandbox_is_charged_and_removed(tmp_path):
    """A copy staged in the root folder and left there (`copy-staging-left`): outside every
    sandbox, so only the listing of `--parent-id` shows it. It carries the run's marker: it
    is charged (ISO-2) and removed; another user's entry there is left alone."""
    with emulator_server("--fault", "copy-staging-left") as base:
        assert create_folder(base, 1, "not the gate's") == 201
        budget = ("--max-examples", "30", "--no-shrink", "--fuzz-cases", "20")
        result = gate(base, *budget, "--report-dir", str(tmp_path))
        left = [e["name"] for e in root_children(base)]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ISO-2   FAIL" in result.stdout, result.stdout
    assert "an operation created entries outside the sandbox" in result.stdout
    assert left == ["not the gate's"], left


@pytest.mark.slow
def test_live_gate_fails_a_faulty_server_and_shrinks_its_counterexample():
    """Shrinking over HTTP (a live target's answers may differ on a replay). A fault seen
    at the first start shrinks in seconds; lifecycle faults over loopback are judged in
    the no-secret tests (cancel-ignored, test_reports.py and test_report_html.py)."""
    with emulator_server("--fault", "start-202") as base:
        result = gate(base, "--max-examples", "15", "--fuzz-cases", "0")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "SUB-1 violated" in result.stdout
        shrunk = re.search(r"shortest reproduction \((\d+) HTTP exchanges\)", result.stdout)
        assert shrunk and int(shrunk[1]) <= 6, result.stdout  # the sandbox, a tree, the start


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "clause"), [("slot-never-frees", "CON-2"), ("stalls-uncancellable", "STA-7")]
)
def test_a_server_that_blocks_the_clean_up_gets_a_verdict_that_names_what_was_left(
    tmp_path, fault, clause
):
    """A slot that never frees (the clean-up's delete answers 429 for ever) or an operation
    no cancel ends: the server broke a clause, so the run says which (exit 1, not 2) and
    names every folder it could not remove, in the console and the reports."""
    with emulator_server("--fault", fault) as base:
        budget = ("--max-examples", "20", "--fuzz-cases", "20")
        result = gate(base, *budget, "--report-dir", str(tmp_path))
        left = root_children(base)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{clause}   FAIL" in result.stdout, result.stdout
    assert left, "the fault should have kept the gate from removing its sandbox"
    report = json.loads((tmp_path / "conformance.json").read_text())
    assert report["clauses"][clause]["verdict"] == "fail"
    if clause == "CON-2":  # no replay can shrink it: the evidence is the session's slot's
        evidence = report["clauses"][clause]["failure"]["exchanges"]
        slot = [e for e in evidence if e["action"] not in ("create-folder", "clock")]
        assert len({e["session"] for e in slot}) == 1, evidence
        # A listing only where it shows an entry an operation made that a kept step names.
        listings = [e for e in evidence if e["method"] == "GET" and "/children" in e["url"]]
        named = " ".join(
            f"{e['url']} {e['request_body']}" for e in evidence if e["method"] != "GET"
        )
        for listing in listings:
            ids = {item["id"] for item in json.loads(listing["response_body"])["value"]}
            assert any(re.search(rf"\b{i}\b", named) for i in ids), listing
        # ... and the folders it was given, so that its reproduction replays (exit 1).
        with emulator_server("--fault", fault) as fresh:
            replayed = subprocess.run(
                [sys.executable, "-m", "contract.cli", "replay"]
                + [str(tmp_path / "repro" / "CON-2.py"), *gate_options(fresh)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            kept = root_children(fresh)
        assert replayed.returncode == 1, replayed.stdout + replayed.stderr
        assert "CON-2 still shows" in replayed.stdout
        # What the replay could not remove is named (another session may remove it all).
        said = "left behind (the server kept clean-up from it): folder #" in replayed.stdout
        assert said == bool(kept), (kept, replayed.stdout)
    named = {(item["id"], item["name"]) for item in report["leftovers"]}
    assert {(entry["id"], entry["name"]) for entry in left} <= named, (left, named)
    for entry in left:
        assert f"LEFT BEHIND on the server: folder #{entry['id']} {entry['name']!r}" in (
            result.stdout
        )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_one_session_token_skips_the_clauses_about_two_sessions_with_the_reason():
    with emulator_server() as base:
        result = gate(base, "--max-examples", "10", "--allow-untested", tokens=("alice",))
    assert result.returncode == 0, result.stdout + result.stderr
    for clause in ("CON-3", "ISO-1"):
        assert f"{clause}   skipped" in result.stdout
    assert "skipped: needs two sessions: give --session-token twice" in result.stdout


@pytest.mark.parametrize(
    "args, tokens, says",
    [
        ((), ("alice", "mallory"), "refused the bearer token of session-2 (401)"),
        (("--repo-id", "nope"), ("alice",), "repository 'nope' or parent folder #1 not found"),
        (("--wall-clock",), ("alice",), "--clock-url and --wall-clock exclude each other"),
        (("--parent-id", "999"), ("alice",), "parent folder #999 not found"),
    ],
)
def test_live_configuration_errors_are_exit_2_with_a_reason(args, tokens, says):
    with emulator_server() as base:
        result = gate(base, "--max-examples", "2", *args, tokens=tokens)
        assert result.returncode == 2, result.stdout + result.stderr
        assert says in result.stderr and "Traceback" not in result.stderr
        assert root_children(base) == []


def test_unreachable_target_is_exit_2():
    result = gate("http://127.0.0.1:9", "--max-examples", "2")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr


def test_emulator_server_refuses_bad_options_clearly():
    for args, says in (
        (["--fault", "nope"], "unknown fault"),
        (["--port", "70000"], "cannot listen"),
        (["--token-ttl", "0"], "token_ttl"),
        (["--latency-ms", "-5"], "--latency-ms -5 is not allowed"),
        (["--latency-jitter-ms", "inf"], "--latency-jitter-ms inf is not allowed"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "emulator.server", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert says in result.stderr and "Traceback" not in result.stderr


def test_emulator_latency_holds_each_exchange_back():
    import time

    with emulator_server("--latency-ms", "300") as base:
        started = time.monotonic()
        entries = children(base, 1)
        # A lower bound, not a speed figure: the answer cannot come before the latency.
        assert entries == [] and time.monotonic() - started >= 0.3


XDIST_TOKENS = ("alice", "bob", "carol", "dave")  # two per worker


def fuzzing_under_way(base: str) -> bool:
    """The fuzz phase's sandbox is there: the run is fuzzing."""
    return any(re.fullmatch(r"lro-fuzz-[0-9a-f]{10}", f["name"]) for f in root_children(base))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signame", "to_group", "wall", "workers", "phase"),
    [
        ("SIGINT", True, False, None, "exploring"),
        # The whole group: each worker hears it twice (from the terminal, and passed on by
        # the command), which is one signal, not a second one.
        ("SIGINT", True, False, "2", "exploring"),
        ("SIGTERM", False, False, None, "exploring"),
        ("SIGTERM", False, False, None, "fuzzing"),
        ("SIGTERM", False, False, "2", "exploring"),
        ("SIGHUP", False, True, None, "exploring"),
    ],
    ids=[
        "ctrl-c-virtual-clock",
        "ctrl-c-xdist-workers",
        "sigterm",
        "sigterm-while-fuzzing",
        "sigterm-to-the-xdist-controller",
        "sighup-wall-clock",
    ],
)
def test_a_stopping_signal_leaves_nothing_behind(tmp_path, signame, to_group, wall, workers, phase):
    """Ctrl-C (to the terminal's process group), SIGTERM (a CI timeout, a cancelled job, a
    pod being stopped: often to the gate's process alone) and SIGHUP: the example or the
    fuzz phase in progress cleans up after itself, the report says interrupted, exit 2,
    within 30 s of the signal."""
    import os
    import signal
    import time

    out_file, err_file = tmp_path / "out", tmp_path / "err"
    speed = ("--clock", "wall", "--step-seconds", "0.05") if wall else ("--step-seconds", "5")
    tokens = XDIST_TOKENS if workers else ("alice", "bob")
    more = [a for t in tokens[2:] for a in ("--session-token", t)]
    under_way = fuzzing_under_way if phase == "fuzzing" else example_under_way
    # Fuzzing comes after exploring: a small budget gets there soon.
    budget = ["--max-examples", "3", "--fuzz-cases", "2000"] if phase == "fuzzing" else []
    with (
        emulator_server(*speed, *more) as base,
        out_file.open("w") as out,
        err_file.open("w") as err,
    ):
        # Files, not pipes: a child that fills an unread pipe blocks.
        command = gate_command(base, tokens, wall=wall) + budget
        command += ["-n", workers] if workers else []
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, text=True, cwd=tmp_path, start_new_session=True
        )
        deadline = time.monotonic() + 120
        seen = False
        while not seen and proc.poll() is None and time.monotonic() < deadline:
            seen = under_way(base)
            time.sleep(0.02)  # wait until the phase has built its sandbox
        assert proc.poll() is None, f"the run ended early: {err_file.read_text()}"
        assert seen, f"the run never got to {phase}"
        signum = getattr(signal, signame)
        if to_group:
            os.killpg(proc.pid, signum)  # as a terminal's Ctrl-C or `timeout`: workers too
        else:
            os.kill(proc.pid, signum)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"still running 30 s after {signame}: {err_file.read_text()}")
        stderr = err_file.read_text()
        assert proc.returncode == 2, out_file.read_text() + stderr
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr
        left = root_children(base)
        assert left == [], f"the interrupted run left its sandbox behind: {left}; {stderr}"
    (report,) = tmp_path.glob("reports/*/conformance.json")  # an interrupted run reports too
    outcome = json.loads(report.read_text())["outcome"]
    assert outcome["exit_code"] == 2 and "interrupted" in outcome["reason"], outcome


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_names_what_stays(tmp_path):
    """A clean-up under way (on the wall clock, removing the sandbox takes a second per
    entry) is cut short by a second signal: exit at once, 128 + the signal's number,
    naming the sandbox left behind."""
    import os
    import signal
    import time

    err_file = tmp_path / "err"
    with (
        emulator_server("--clock", "wall") as base,
        err_file.open("w") as err,
    ):
        command = gate_command(base, wall=True)
        proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while not example_under_way(base) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(1.5)  # the clean-up's delete is under way
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        stderr = err_file.read_text()
        assert proc.returncode == 128 + signal.SIGTERM, stderr
        (sandbox,) = [f for f in root_children(base) if f["name"].startswith("lro-conformance-")]
        said = f"folder #{sandbox['id']} '{sandbox['name']}' in folder #1"
        assert "second signal (SIGTERM)" in stderr and said in stderr, stderr


@pytest.mark.slow
def test_tls_is_verified_and_a_ca_bundle_is_trusted(tmp_path):
    import trustme

    ca = trustme.CA()
    server_pem, ca_pem = tmp_path / "server.pem", tmp_path / "ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(server_pem)
    ca.cert_pem.write_to_path(ca_pem)
    with emulator_server("--tls-cert", str(server_pem), "--tls-key", str(server_pem)) as base:
        assert base.startswith("https://127.0.0.1:")
        untrusted = gate(base, "--max-examples", "2")
        assert untrusted.returncode == 2, untrusted.stdout + untrusted.stderr
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
        assert "Traceback" not in untrusted.stderr
        trusted = gate(base, "--max-examples", "10", "--ca-bundle", str(ca_pem))
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
        assert f"ca-bundle = {ca_pem} (command line)" in trusted.stdout
