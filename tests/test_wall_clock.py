"""Wall-clock mode: no clock hooks, so the TTL clauses are checked by waiting a (short) TTL
against `lro-emulator --clock wall`, with the expiry probe running beside the exploration."""

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
#: name -> (lro-emulator options, gate options) of each run
RUNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "clean": ((), ()),
    **{fault: (("--fault", fault), ("--max-examples", "1")) for fault in WRONG_TTLS},
    "auto, guide-v1": (("--profile", "guide-v1"), ("--profile", "auto")),
}


def wall_run(name: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    """One of RUNS: the gate on the wall clock against a server of its own; its output,
    and what it left in the server's root folder."""
    server, gate = RUNS[name]
    with running("--clock", "wall", "--token-ttl", TTL, *SPEED, *server) as base:
        return wall_gate(base, *gate), root_children(base)


def test_expiry_is_judged_by_waiting_each_wrong_ttl_is_caught_and_auto_picks_the_dialect():
    """Every run against a server of its own, all at once: a wall-clock run mostly waits
    for its TTL, and five waits in turn took a worker 80 s."""
    with ThreadPoolExecutor(max_workers=len(RUNS)) as pool:
        runs = dict(zip(RUNS, pool.map(wall_run, RUNS), strict=True))

    clean, left = runs["clean"]
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for clause in ("EXP-1", "EXP-2", "EXP-3", "CAN-4"):
        assert verdict(clean.stdout, clause) == "pass", (clause, clean.stdout)
    assert "(openapi-v1, wall clock)" in clean.stdout
    assert "exploring stopped when the expiry probe was done" in clean.stdout
    assert left == [], "a sandbox folder was left behind"

    for fault in WRONG_TTLS:
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
