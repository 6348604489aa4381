"""Wall-clock mode: no clock hooks, so the TTL clauses are checked by waiting a (short) TTL
against `lro-emulator --clock wall`, with the expiry probe running beside the exploration;
and v2's long poll (LST-3) by timing polls a served v2 emulator holds back."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from served import ROOT, root_children

from emulator import FAULTS
from emulator.server import gate_options, running

TTL = "4"  # seconds: long enough for the expiry probe and an example, short enough for CI
SPEED = ("--step-seconds", "0.06", "--start-delay", "0.05")

pytestmark = pytest.mark.slow  # the gate waiting TTLs on the wall clock


def wall_gate(base: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "contract.cli",
        *gate_options(base, wall=True),
        "--token-ttl",
        TTL,
        "--ttl-tolerance",
        "0.5",
        "--seed",
        "1",
        # A 4 s TTL leaves exploring a few seconds: these runs judge what they reach.
        "--allow-untested",
        *args,
    ]
    # In a scratch folder: the run writes its reports there, not into the checkout.
    with tempfile.TemporaryDirectory(prefix="lro-test-wall-") as scratch:
        return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=scratch)


def verdict(stdout: str, clause: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith(f"{clause} "))
    return line.split()[1]


WRONG_TTLS = ("ttl-short", "no-expiry", "ttl-from-start")
# v2's long poll, shortened as the TTL is: a held answer is one over 1.5 s + tolerance, a
# poll of an ended task held is one over 0.75 s + tolerance (contract/checks/listing.py).
# A longer TTL: a poll of an ended task is judged for promptness only while the task
# surely has not expired by its answer (a held one takes the long poll).
V2 = ("--profile", "v2", "--long-poll", "1.5", "--token-ttl", "12")
#: Faults only a wall clock shows (emulator.faults: clock "wall"), with server options
#: that let them show (a task that runs longer than the long poll, to hold a poll of it),
#: and no fuzzing: a server that holds polls makes the fuzzer's share of the TTL's time
#: run out before exploring, whose rules know when a poll may be held, has begun.
WALL_FAULTS = {"v2-long-poll-overstays": ("--start-delay", "5"), "v2-long-poll-holds-ended": ()}
WRONG = (*WRONG_TTLS, *WALL_FAULTS)
#: name -> (lro-emulator options, gate options) of each run
RUNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "clean": ((), ()),
    **{fault: (("--fault", fault), ("--max-examples", "1")) for fault in WRONG_TTLS},
    "auto, guide-v1": (("--profile", "guide-v1"), ("--profile", "auto")),
    "v2": (V2, V2),
    **{
        f: ((*V2, "--fault", f, *more), (*V2, "--fuzz-cases", "0"))
        for f, more in WALL_FAULTS.items()
    },
}


def wall_run(name: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    """One of RUNS: the gate on the wall clock against a server of its own; its output,
    and what it left in the server's root folder."""
    server, gate = RUNS[name]
    with running("--clock", "wall", "--token-ttl", TTL, *SPEED, *server) as base:
        return wall_gate(base, *gate), root_children(base)


def test_expiry_and_long_polls_are_judged_by_waiting_each_wrong_one_is_caught_and_auto_picks():
    """Every run against a server of its own, all at once: a wall-clock run mostly waits
    for its TTL, and five waits in turn took a worker 80 s. Each wall-clock-only fault
    fails its clause here (the mutation gate's in-process runs cannot show them)."""
    with ThreadPoolExecutor(max_workers=len(RUNS)) as pool:
        runs = dict(zip(RUNS, pool.map(wall_run, RUNS), strict=True))

    clean, left = runs["clean"]
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for clause in ("EXP-1", "EXP-2", "EXP-3", "CAN-4"):
        assert verdict(clean.stdout, clause) == "pass", (clause, clean.stdout)
    assert "(openapi-v1, wall clock)" in clean.stdout
    assert "exploring stopped when the expiry probe was done" in clean.stdout
    assert left == [], "a sandbox folder was left behind"

    v2, left = runs["v2"]
    assert v2.returncode == 0, v2.stdout + v2.stderr
    for clause in ("LST-3", "EXP-1", "EXP-2"):
        assert verdict(v2.stdout, clause) == "pass", (clause, v2.stdout)
    assert "(v2, wall clock)" in v2.stdout
    assert left == [], "v2: a sandbox folder was left behind"

    for fault in WRONG:
        result, left = runs[fault]
        assert result.returncode == 1, (fault, result.stdout + result.stderr)
        failed = {c for c in FAULTS[fault].clauses if verdict(result.stdout, c) == "FAIL"}
        assert failed, f"{fault} breaks {FAULTS[fault].clauses}; the gate said:\n{result.stdout}"
        assert left == [], f"{fault}: a sandbox folder was left behind"

    # --profile auto on the wall clock (the profile probe's copy ends on its own time)
    auto, left = runs["auto, guide-v1"]
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "note: profile guide-v1 picked by --profile auto: " in auto.stdout
    assert "(guide-v1, wall clock)" in auto.stdout
    assert left == [], "auto: a sandbox folder was left behind"


def test_wall_clock_needs_a_live_target():
    result = subprocess.run(
        [sys.executable, "-m", "contract.cli", "--wall-clock"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "--wall-clock needs --base-url" in result.stderr and "Traceback" not in result.stderr


def test_every_fault_only_a_wall_clock_shows_is_run_here():
    assert set(WALL_FAULTS) == {name for name, f in FAULTS.items() if f.clock == "wall"}
