"""Options from the command line, LRO_* variables and [tool.lro-conformance], with sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contract.settings import SETTINGS, Options, SettingError, resolve

ROOT = Path(__file__).resolve().parent.parent


def pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.lro-conformance]\n{body}\n", encoding="utf-8")
    return path


def test_command_line_beats_environment_beats_config_beats_default(tmp_path):
    pyproject(tmp_path, 'seed = 1\nsteps = 7\nmax-examples = 9\nprofile = "openapi-v1"')
    env = {"LRO_SEED": "2", "LRO_STEPS": "8"}
    options = resolve({"seed": 3}, env, tmp_path)
    assert (options.seed, options.steps, options.max_examples) == (3, 8, 9)
    assert options.token_ttl == Options().token_ttl
    assert options.sources["seed"] == "command line"
    assert options.sources["steps"] == "environment LRO_STEPS"
    assert options.sources["max-examples"] == "pyproject.toml [tool.lro-conformance]"
    assert options.sources["token-ttl"] == "default"


def test_repeatable_options_from_each_source(tmp_path):
    pyproject(tmp_path, 'skip-clause = ["EXP-3=slow tenant"]\nfault = "start-202"')
    options = resolve({}, {"LRO_SESSION_TOKEN": "tok-a, tok-b"}, tmp_path)
    assert options.session_tokens == ("tok-a", "tok-b")
    assert options.skip_clauses == {"EXP-3": "slow tenant"}
    assert options.faults == ("start-202",)
    assert options.shrink is True
    assert resolve({}, {"LRO_NO_SHRINK": "yes"}, tmp_path).shrink is False


def test_secrets_are_masked_wherever_they_come_from(tmp_path):
    pyproject(tmp_path, 'session-token = ["from-config"]')
    for given, env in (({"session-token": ["from-cli"]}, {}), ({}, {"LRO_SESSION_TOKEN": "x,y"})):
        lines = "\n".join(resolve(given, env, tmp_path).settings_lines())
        assert "session-token = ***" in lines and "from-" not in lines and "x" not in lines
    lines = resolve({}, {}, tmp_path).settings_lines()
    assert lines == ["session-token = *** (pyproject.toml [tool.lro-conformance])"]


@pytest.mark.parametrize(
    "given, env, config, says",
    [
        (
            {},
            {"LRO_SEED": "soon"},
            "",
            "seed (environment LRO_SEED): expected an integer, got 'soon'",
        ),
        (
            {},
            {"LRO_MAX_EXAMPLES": "-4"},
            "",
            "max-examples (environment LRO_MAX_EXAMPLES): must be positive",
        ),
        ({}, {"LRO_NO_SHRINK": "perhaps"}, "", "expected true or false, got 'perhaps'"),
        (
            {},
            {"LRO_LONG_POLL": "-1"},
            "",
            "long-poll (environment LRO_LONG_POLL): must be 0 or more",
        ),
        (
            {},
            {},
            "token-ttl = nan",
            "token-ttl (pyproject.toml [tool.lro-conformance]): must be positive",
        ),
        ({}, {"LRO_LONG_POLL": "inf"}, "", "long-poll (environment LRO_LONG_POLL): must be 0 or"),
        (
            {},
            {},
            'seed = "three"',
            "seed (pyproject.toml [tool.lro-conformance]): expected an integer",
        ),
        ({}, {}, "sede = 3", "unknown key(s) sede in [tool.lro-conformance]"),
        ({}, {}, 'skip-clause = ["NOPE-1"]', "unknown clause 'NOPE-1'"),
        ({"config": "missing.toml"}, {}, "", "config: no such file: missing.toml"),
        ({}, {}, "seed = [", "config: cannot read"),
        ({"ca-bundle": "no-such.pem"}, {}, "", "ca-bundle (command line): no such file"),
    ],
)
def test_a_bad_value_names_the_option_and_where_it_came_from(tmp_path, given, env, config, says):
    if config:
        (tmp_path / "pyproject.toml").write_text(f"[tool.lro-conformance]\n{config}\n")
    with pytest.raises(SettingError) as err:
        resolve(given, env, tmp_path)
    assert says in str(err.value)


def test_a_named_config_file_and_LRO_CONFIG(tmp_path):
    other = tmp_path / "gate.toml"
    other.write_text("[tool.lro-conformance]\nseed = 11\n")
    assert resolve({"config": str(other)}, {}, tmp_path).sources["seed"] == (
        "gate.toml [tool.lro-conformance]"
    )
    assert resolve({}, {"LRO_CONFIG": str(other)}, tmp_path).seed == 11


def test_every_setting_is_an_options_field_and_an_lro_variable():
    for s in SETTINGS:
        assert hasattr(Options(), s.field), s.name
        assert s.env == "LRO_" + s.name.upper().replace("-", "_")


def run(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


def test_the_command_prints_each_source_and_a_bad_variable_is_exit_2(tmp_path):
    pyproject(tmp_path, "max-examples = 3")
    result = run(
        [sys.executable, "-m", "contract.cli", "--steps", "5"],
        tmp_path,
        {"LRO_SEED": "4", "LRO_ALLOW_UNTESTED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seed = 4 (environment LRO_SEED)" in result.stdout
    assert "steps = 5 (command line)" in result.stdout
    assert "max-examples = 3 (pyproject.toml [tool.lro-conformance])" in result.stdout
    bad = run([sys.executable, "-m", "contract.cli"], tmp_path, {"LRO_STEPS": "many"})
    assert bad.returncode == 2
    assert "steps (environment LRO_STEPS): expected an integer" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_pytest_with_the_plugin_reads_the_same_sources(tmp_path):
    pyproject(tmp_path, "max-examples = 3")
    suite = ROOT / "contract" / "suite"
    result = run(
        [sys.executable, "-m", "pytest", str(suite), "-p", "no:cacheprovider", "--lro-steps", "5"],
        tmp_path,
        {"LRO_SEED": "4", "LRO_ALLOW_UNTESTED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "seed = 4 (environment LRO_SEED)" in result.stdout
    assert "steps = 5 (command line)" in result.stdout
