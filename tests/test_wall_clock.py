"""Wall-clock mode: no clock hooks, so the TTL clauses are checked by waiting a (short) TTL
against `lro-emulator --clock wall`, with the expiry probe running beside the exploration."""

from __future__ import annotations

import subprocess
import sys

import pytest
from served import ROOT, root_children

from emulator import FAULTS
from emulator.server import gate_options, running

TTL = "4"  # seconds: long enough for the expiry probe and an example, short enough for CI
SPEED = ("--step-seconds", "0.06", "--start-delay", "0.05")


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
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)


def verdict(stdout: str, clause: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith(f"{clause} "))
    return line.split()[1]


def test_the_clean_server_passes_every_expiry_clause_by_waiting():
    with running("--clock", "wall", "--token-ttl", TTL, *SPEED) as base:
        result = wall_gate(base)
        assert result.returncode == 0, result.stdout + result.stderr
        for clause in ("EXP-1", "EXP-2", "EXP-3", "CAN-4"):
            assert verdict(result.stdout, clause) == "pass", (clause, result.stdout)
        assert "(openapi-v1, wall clock)" in result.stdout
        assert "exploring stopped when the expiry probe was done" in result.stdout
        assert root_children(base) == [], "a sandbox folder was left behind"


@pytest.mark.parametrize("fault", ["ttl-short", "no-expiry", "ttl-from-start"])
def test_a_wrong_ttl_is_caught_on_the_wall_clock(fault):
    with running("--clock", "wall", "--token-ttl", TTL, *SPEED, "--fault", fault) as base:
        result = wall_gate(base, "--max-examples", "1")
        assert result.returncode == 1, result.stdout + result.stderr
        failed = {c for c in FAULTS[fault].clauses if verdict(result.stdout, c) == "FAIL"}
        assert failed, f"{fault} breaks {FAULTS[fault].clauses}; the gate said:\n{result.stdout}"
        assert root_children(base) == [], "a sandbox folder was left behind"


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
