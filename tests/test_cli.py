"""`lro-conformance` as a user runs it: verdicts, exit codes, clear errors."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from contract.clauses import CLAUSES

ROOT = Path(__file__).resolve().parent.parent


def gate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the CLI in `cwd`, by default a scratch folder (the run writes its reports there)."""
    with tempfile.TemporaryDirectory(prefix="lro-test-cli-") as scratch:
        return subprocess.run(
            [sys.executable, "-m", "contract.cli", *args],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=cwd or scratch,
        )


@pytest.mark.slow
def test_clean_emulator_is_conformant_and_every_clause_has_a_verdict(tmp_path):
    result = gate("--seed", "3", "--max-examples", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for cid in CLAUSES:
        assert any(line.startswith(f"{cid} ") for line in result.stdout.splitlines()), cid
    assert "CONFORMANT" in result.stdout
    con4 = next(line for line in result.stdout.splitlines() if line.startswith("CON-4 "))
    assert con4.split()[1] == "pass", con4  # simultaneous starts, sent together
    left = [p.name for p in tmp_path.iterdir()]
    assert left == ["reports"], f"the gate left more than its reports behind: {left}"


@pytest.mark.slow
def test_a_seeded_fault_fails_the_gate_with_its_evidence():
    result = gate(
        "--seed", "1", "--max-examples", "20", "--fuzz-cases", "20", "--fault", "start-202"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SUB-1 violated" in result.stdout
    assert "expected: 201" in result.stdout
    assert "shortest reproduction" in result.stdout


def test_skipped_clause_is_reported_with_its_reason():
    result = gate(
        "--seed", "1", "--max-examples", "5", "--skip-clause", "EXP-3=vendor waiver 42",
        "--allow-untested",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "EXP-3   skipped" in result.stdout and "vendor waiver 42" in result.stdout


def test_bad_input_is_exit_2_with_one_clear_line_and_no_traceback():
    for args, says in (
        (["--skip-clause", "NOPE-1"], "unknown clause 'NOPE-1'"),
        (["--fault", "no-such-fault"], "no-such-fault"),
        (["--profile", "nope"], "unknown profile 'nope'"),
        (["--max-examples", "0"], "must be positive"),
        (["--max-examples", "lots"], "invalid int value"),
    ):
        result = gate(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        output = result.stdout + result.stderr
        assert says in output, (args, output)
        assert "Traceback" not in output, output


def test_list_faults_names_each_fault_with_its_clauses():
    result = gate("--list-faults")
    assert result.returncode == 0
    assert "start-202" in result.stdout and "SUB-1" in result.stdout


@pytest.mark.slow
def test_pytest_in_a_checkout_runs_the_conformance_suite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--lro-seed", "2", "--lro-max-examples", "5", "-q"]
        + ["--lro-allow-untested"]
        # One token with "=": pytest would take a separate, existing folder for a test
        # path while it looks for its configuration (and run the self-tests instead).
        + [f"--lro-report-dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "long-operation conformance" in result.stdout and "CONFORMANT" in result.stdout
    assert f"reports: {tmp_path}" in result.stdout
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "conformance.json").is_file()


@pytest.mark.slow
def test_every_violated_clause_is_reported_not_just_the_first():
    faults = ("--fault", "start-202", "--fault", "cancel-ignored")
    result = gate(
        "--seed", "4", "--max-examples", "40", "--no-shrink", "--fuzz-cases", "0", *faults
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SUB-1 violated" in result.stdout and "CAN-1 violated" in result.stdout
