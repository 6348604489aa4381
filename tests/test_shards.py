"""The gate under pytest-xdist (`pytest -n N`): how a run is cut into shards, how the
shards' verdicts merge into one report, and the whole thing run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.checks import Failure
from contract.settings import Options
from contract.shards import ShardResult, merge, plan, shard_seed
from contract.verdicts import Recorder

ROOT = Path(__file__).resolve().parent.parent


def live(tokens: int, **extra: object) -> Options:
    return Options(
        base_url="http://127.0.0.1:1",
        repo_id="r1",
        parent_id=1,
        session_tokens=tuple(f"t{i}" for i in range(tokens)),
        **extra,  # type: ignore[arg-type]
    )


def test_mock_mode_gives_every_worker_a_shard_with_a_seed_from_the_run_and_its_share():
    run = plan(Options(seed=7, max_examples=100, fuzz_cases=0), 3)
    assert [s.options.seed for s in run.shards] == [7, shard_seed(7, 1), shard_seed(7, 2)]
    assert len({s.options.seed for s in run.shards}) == 3
    assert plan(Options(seed=7), 3).shards == plan(Options(seed=7), 3).shards  # reproducible
    assert {s.options.max_examples for s in run.shards} == {34}
    assert {s.options.fuzz_cases for s in run.shards} == {0}
    assert plan(Options(seed=7), 1).shards[0].options == Options(seed=7)  # -n 1: the plain run


def test_live_shards_never_share_a_session_and_too_few_tokens_mean_fewer_shards():
    four = plan(live(4, wall_clock=True), 2)
    assert [s.options.session_tokens for s in four.shards] == [("t0", "t2"), ("t1", "t3")]
    three = plan(live(3, wall_clock=True), 2)
    assert [s.options.session_tokens for s in three.shards] == [("t0", "t1", "t2")]
    assert "1 of the 2 workers ran the gate" in three.notes[1]
    assert "give 4" in three.notes[1]
    one = plan(live(1, wall_clock=True), 4)
    assert [s.options.session_tokens for s in one.shards] == [("t0",)]


def test_a_shared_virtual_clock_is_driven_by_one_shard_only():
    run = plan(live(4, clock_url="http://127.0.0.1:1/_test/clock"), 2)
    assert len(run.shards) == 1 and run.shards[0].options.session_tokens == ("t0", "t1", "t2", "t3")
    assert "clock hooks move one clock" in run.notes[1]


def result(index: int, exercised: list[str], failures: list[Failure] = ()) -> ShardResult:
    recorder = Recorder()
    recorder.exercise(set(exercised))
    for failure in failures:
        recorder.fail(failure)
    return ShardResult(index, recorder, "t", 100.0 + index, 5.0, True, None)


def verdict(merged, cid: str) -> str:  # type: ignore[no-untyped-def]
    return next(v.outcome for v in merged.recorder.verdicts() if v.clause.id == cid)


def test_a_clause_fails_if_any_shard_failed_it_and_passes_if_one_passed_it_and_none_failed():
    long = Failure("CAN-1", "ignored", "Cancelled", "Completed", exchanges=[None] * 5)  # type: ignore[list-item]
    short = Failure("CAN-1", "ignored", "Cancelled", "Completed", exchanges=[None] * 2)  # type: ignore[list-item]
    merged = merge(
        plan(Options(seed=1), 3),
        [
            result(0, ["CAN-1", "SUB-1"], [long]),
            result(1, ["CAN-1", "ISO-1"]),
            result(2, ["CAN-1"], [short]),
        ],
        [],
    )
    assert verdict(merged, "CAN-1") == "fail"
    assert len(merged.recorder.failures["CAN-1"].exchanges) == 2  # the shortest evidence
    assert merged.recorder.occurrences["CAN-1"] == 2
    assert verdict(merged, "SUB-1") == "pass" and verdict(merged, "ISO-1") == "pass"
    assert verdict(merged, "CON-4") == "not tested"
    assert merged.harness_error is None
    assert (merged.started, merged.seconds) == (100.0, 7.0)


def test_a_shard_that_did_not_report_makes_the_run_unjudgeable():
    merged = merge(plan(Options(seed=1), 2), [result(0, ["SUB-1"])], ["worker gw1 stopped: boom"])
    assert merged.harness_error == "shard 2/2 did not run; worker gw1 stopped: boom"


def pytest_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`pytest ARGS` in a checkout, as a user runs the gate; not inside this worker's xdist."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
        env=env,
    )


def verdicts(folder: Path) -> dict[str, str]:
    report = json.loads((folder / "conformance.json").read_text())
    return {cid: c["verdict"] for cid, c in report["clauses"].items()}


@pytest.mark.slow
def test_two_workers_and_the_plain_run_give_the_same_verdicts_in_one_report(tmp_path):
    # Seed 1 at 40 examples passes every clause in both (a run is reproducible from its seed).
    budget = ("--lro-seed", "1", "--lro-max-examples", "40")
    plain = pytest_run(*budget, f"--lro-report-dir={tmp_path / 'plain'}")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    two = pytest_run("-n", "2", *budget, f"--lro-report-dir={tmp_path / 'two'}")
    assert two.returncode == 0, two.stdout + two.stderr
    assert verdicts(tmp_path / "two") == verdicts(tmp_path / "plain")
    assert two.stdout.count("CONFORMANT") == 1  # one verdict table, the controller's
    assert "pytest-xdist: 2 shard(s) on 2 worker(s)" in two.stdout
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "conformance.json",
        "junit.xml",
        "report.html",
        "report.md",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profile", "fault", "says"),
    [("openapi-v1", "start-202", "expected: 201"), ("v2", "v2-start-201", "expected: 202")],
)
def test_a_seeded_fault_fails_under_two_workers_too(tmp_path, profile, fault, says):
    args = ["-n", "2", "--lro-seed", "1", "--lro-max-examples", "20", "--lro-fuzz-cases", "0"]
    args += ["--lro-profile", profile, "--lro-fault", fault, f"--lro-report-dir={tmp_path}"]
    run = pytest_run(*args)
    assert run.returncode == 1, run.stdout + run.stderr
    assert verdicts(tmp_path)["SUB-1"] == "fail"
    assert "SUB-1 violated" in run.stdout and says in run.stdout
    assert (tmp_path / "repro" / "SUB-1.py").is_file()


@pytest.mark.slow
def test_a_run_the_workers_could_not_judge_is_exit_2_with_the_reason(tmp_path):
    live_args = ["--lro-base-url", "http://127.0.0.1:9", "--lro-repo-id", "r1"]
    live_args += ["--lro-parent-id", "1", "--lro-wall-clock"]
    live_args += ["--lro-session-token", "tok-alpha", "--lro-session-token", "tok-beta"]
    run = pytest_run("-n", "2", *live_args, f"--lro-report-dir={tmp_path}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "error: shard 1/1: " in run.stdout and "127.0.0.1:9" in run.stdout
    assert "1 of the 2 workers ran the gate" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
def test_live_shards_on_the_wall_clock_use_their_own_sessions_and_judge_a_correct_server_right(
    tmp_path,
):
    """Two shards against one server at once, each with two of its four sessions: were a
    session shared, one shard's operation would make the other's start answer 429."""
    from emulator.server import gate_options, running

    tokens = ("tok-a1", "tok-b2", "tok-c3", "tok-d4")
    quick = ["--clock", "wall", "--token-ttl", "5", "--step-seconds", "0.05"]
    with running(
        *(f"--session-token={t}" for t in tokens), *quick, "--start-delay", "0.05"
    ) as base:
        gate = [o.replace("--", "--lro-", 1) for o in gate_options(base, tokens, wall=True)]
        run = pytest_run(
            "-n", "2", *gate, "--lro-token-ttl", "5", "--lro-seed", "1",
            "--lro-max-examples", "10", "--lro-fuzz-cases", "0", f"--lro-report-dir={tmp_path}",
            "--lro-allow-untested",
        )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "each with its own sandboxes and sessions (2, 2)" in run.stdout
    assert "FAIL" not in run.stdout
    assert "EXP-2   pass" in run.stdout  # the expiry probe of each shard


def test_lro_conformance_runs_in_shards_with_n(tmp_path):
    command = [sys.executable, "-m", "contract.cli", "-n", "2", "--seed", "2"]
    command += ["--max-examples", "6", "--fuzz-cases", "0", "--report-dir", str(tmp_path)]
    command += ["--allow-untested"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("CONFORMANT") == 1 and "pytest-xdist: 2 shard(s)" in run.stdout
    bad = subprocess.run([*command[:3], "-n", "none"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "expected a number of workers" in bad.stderr
