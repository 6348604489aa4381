"""docs/ci.md: its GitHub Actions and GitLab CI examples parse as YAML and run the gate the
way the README documents (a service container of lro-emulator, a staging URL whose
tokens come from secrets), and the Dockerfile they build holds what lro-emulator needs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from contract.settings import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def parsed() -> tuple[dict, dict]:
    assert len(BLOCKS) == 2, "one GitHub Actions and one GitLab CI example"
    github, gitlab = (yaml.safe_load(b) for b in BLOCKS)
    return github, gitlab


def commands(job: dict, key: str) -> str:
    steps = job.get("steps", [])
    text = [s.get("run", "") for s in steps] if key == "steps" else job.get("script", [])
    return "\n".join(text)


def used_options(text: str) -> set[str]:
    return set(re.findall(r"--([a-z][a-z-]+)", text))


def test_the_github_workflow_parses_and_runs_the_gate_against_a_service_and_staging():
    github, _ = parsed()
    jobs = github["jobs"]
    service = jobs["against-emulator"]["services"]["emulator"]
    assert "lro-emulator" in service["image"] and "8765:8765" in service["ports"]
    assert jobs["against-emulator"]["needs"] == "emulator-image"
    for name in ("against-emulator", "against-staging"):
        run = commands(jobs[name], "steps")
        assert "lro-conformance" in run and "--report-dir" in run
        assert used_options(run) <= set(BY_NAME), used_options(run) - set(BY_NAME)
    staging = jobs["against-staging"]["steps"]
    env = next(s["env"] for s in staging if "env" in s)
    assert "secrets." in env["LRO_SESSION_TOKEN"]


def test_the_gitlab_pipeline_parses_and_runs_the_gate_against_a_service_and_staging():
    _, gitlab = parsed()
    service = gitlab["against-emulator"]["services"][0]
    image = service["name"].replace("$EMULATOR_IMAGE", gitlab["variables"]["EMULATOR_IMAGE"])
    assert service["alias"] == "emulator" and "lro-emulator" in image
    for name in ("against-emulator", "against-staging"):
        job = gitlab[name]
        script = commands(job, "script")
        assert "lro-conformance" in script and "--report-dir" in script
        assert used_options(script) <= set(BY_NAME)
        assert job["artifacts"]["reports"]["junit"].endswith("junit.xml")
    assert "LRO_SESSION_TOKEN" not in gitlab["against-staging"]["variables"]  # a CI secret


def test_the_dockerfile_copies_every_package_the_emulator_is_installed_from():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert f"COPY {package.rstrip('*')} " in dockerfile
    assert '"lro-emulator", "--host", "0.0.0.0", "--port", "8765"' in dockerfile
