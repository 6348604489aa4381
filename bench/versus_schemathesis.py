"""`schemathesis run` against `lro-emulator`, as the comparison column of bench/detect.py.

Schemathesis judges answers against the vendor's OpenAPI document of the fault's API
version (`contract/schemas/`, the unpatched copy: v1's, or v2's for a fault of the `v2`
profile, served with `lro-emulator --profile v2`), not against the long-operation contract, so much of what it
reports against the clean emulator is about the document (its status codes, its
content types, its schemas' quirks). A fault counts as caught only by a failure
the clean emulator does not also produce: every failure is reduced to a
*signature* (operation, check code, HTTP status) and the signatures seen against
the clean emulator, over a few seeds, are subtracted.

How schemathesis is run (`command()`): every check, every phase (examples,
coverage, fuzzing and the stateful phase, whose links schemathesis infers from
the document), the bearer token as a header, `repoId` fixed to the served
repository (`schemathesis.toml`, else nearly every request is a 404), one worker,
a bounded number of examples per operation, and only the seven operations the
emulator serves (the v1 document's other 39, the v2 document's other 37, answer 404 on
a clean and a faulty build alike, so they cannot tell a fault apart and would only cost
time). In v2 the repository parameter is `repositoryId`; the paths sit under `/v2/`
and the scheme is the same bearer token, so the base URL and header are as in v1.

The emulator runs on the wall clock, because schemathesis cannot drive the
virtual clock's test hooks, with quick operations and a short TTL so that a
bounded run can see operations end and tokens expire.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path

from emulator.server import running

SCHEMAS = Path(__file__).resolve().parent.parent / "contract" / "schemas"


@dataclass(frozen=True)
class Document:
    """A vendor document schemathesis is given, for the emulator served in one profile."""

    file: str  # in contract/schemas/, exactly as copied (unpatched; NOTICE.md says from where)
    operations: tuple[str, ...]  # the operations of the document the emulator serves
    repo_parameter: str  # the path parameter naming the repository

    @property
    def path(self) -> Path:
        return SCHEMAS / self.file

    def config(self) -> str:
        """schemathesis.toml: the repository fixed to the one served."""
        return f'[parameters]\n"path.{self.repo_parameter}" = "r1"\n'


#: For each profile a fault is run in (`Fault.profile`, None meaning openapi-v1): the
#: document of that API version. Both have their paths under `/v1/` or `/v2/` and a
#: bearer scheme, as the emulator serves them, so the base URL and the header are alike.
DOCUMENTS = {
    "openapi-v1": Document(
        "lf-repository-v1-swagger.json",
        (
            "GetEntry",
            "DeleteEntryInfo",
            "GetEntryListing",
            "CreateOrCopyEntry",
            "CopyEntryAsync",
            "GetOperationStatusAndProgress",
            "CancelOperation",
        ),
        "repoId",
    ),
    "v2": Document(
        "lf-repository-v2-swagger.json",
        (
            "GetEntry",
            "StartDeleteEntry",
            "ListEntries",
            "CreateEntry",
            "StartCopyEntry",
            "ListTasks",
            "CancelTasks",
        ),
        "repositoryId",
    ),
}
PROFILES = tuple(DOCUMENTS)

#: How the emulator is served to schemathesis (see the module's docstring).
EMULATOR_OPTIONS = (
    "--clock",
    "wall",
    "--start-delay",
    "0.1",
    "--step-seconds",
    "0.1",
    "--token-ttl",
    "10",
)

TOKEN = "alice"
REPORT = "events.ndjson"
TIMEOUT = 900.0  # seconds one schemathesis run may take before it is stopped


@dataclass(frozen=True, order=True)
class Signature:
    """What tells two schemathesis failures apart here: where, which check, which answer."""

    operation: str
    code: str  # the check's failure code (ST105...), or "error" for a run error
    status: int | None  # the HTTP status of the answer that failed the check

    def __str__(self) -> str:
        method, _, path = self.operation.partition(" ")
        short = path.rsplit("/", 1)[-1] if path else ""
        status = f" → {self.status}" if self.status is not None else ""
        return f"{self.code} {method} …/{short}{status}"


@dataclass
class SchemathesisRun:
    """One schemathesis run: each signature it reported, with when it was first seen."""

    seconds: float
    first_seen: dict[Signature, float] = field(default_factory=dict)  # seconds from start
    timed_out: bool = False
    exit_code: int | None = None

    def new_against(self, known: set[Signature]) -> list[Signature]:
        return sorted(set(self.first_seen) - known, key=lambda s: self.first_seen[s])


def command(
    base: str,
    seed: int,
    max_examples: int,
    config: Path,
    report: Path,
    profile: str = "openapi-v1",
) -> list[str]:
    """The `schemathesis run` command line for the emulator served at `base` in `profile`."""
    document = DOCUMENTS[profile]
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        str(document.path),
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--include-operation-id-regex",
        f"^({'|'.join(document.operations)})$",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]


def version() -> str:
    return installed_version("schemathesis")


def emulator_options(profile: str = "openapi-v1") -> tuple[str, ...]:
    """`lro-emulator`'s options for schemathesis' runs in `profile`."""
    return (*EMULATOR_OPTIONS, *(("--profile", profile) if profile != "openapi-v1" else ()))


def shown_command(max_examples: int, profile: str = "openapi-v1") -> str:
    """The command as a reader would type it (the base URL and seed are filled in per run)."""
    document = DOCUMENTS[profile]
    return (
        "schemathesis --config-file schemathesis.toml run "
        f"contract/schemas/{document.file} --url http://127.0.0.1:PORT "
        '-H "Authorization: Bearer alice" --checks all '
        "--phases examples,coverage,fuzzing,stateful "
        f"--include-operation-id-regex '^({'|'.join(document.operations)})$' "
        f"--max-examples {max_examples} --seed SEED --workers 1"
    )


def run(
    fault: str | None, seed: int, max_examples: int, profile: str = "openapi-v1"
) -> SchemathesisRun:
    """Serve the emulator in `profile` (with `fault`, if any) and run schemathesis against
    it with that profile's document."""
    faults = ("--fault", fault) if fault else ()
    with tempfile.TemporaryDirectory(prefix="bench-st-") as scratch:
        folder = Path(scratch)
        config, report = folder / "schemathesis.toml", folder / REPORT
        config.write_text(DOCUMENTS[profile].config())
        with running(*emulator_options(profile), *faults) as base:
            started_wall, started = time.time(), time.monotonic()
            outcome = _run(command(base, seed, max_examples, config, report, profile), folder)
            seconds = time.monotonic() - started
        result = SchemathesisRun(seconds, timed_out=outcome is None, exit_code=outcome)
        if report.exists():
            for signature, at in signatures(report.read_text()):
                result.first_seen.setdefault(signature, max(0.0, at - started_wall))
    return result


def _run(cmd: list[str], cwd: Path) -> int | None:
    """Its exit code, or None if it ran out of time (the report so far is still read)."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    # 1 is "failures found"; no report at all means it could not run
    if done.returncode not in (0, 1) or not (cwd / REPORT).exists():
        raise RuntimeError(f"schemathesis exited {done.returncode}: {done.stderr[-2000:]}")
    return done.returncode


def signatures(ndjson: str) -> Iterator[tuple[Signature, float]]:
    """Every failure (and run error) in a schemathesis NDJSON event log, with its time."""
    for line in ndjson.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # the last line of a run that was stopped
            continue
        if "ScenarioFinished" in event:
            yield from _scenario_failures(event["ScenarioFinished"])
        elif "NonFatalError" in event:
            error = event["NonFatalError"]
            yield Signature(str(error.get("label")), "error", None), error["timestamp"]


def _scenario_failures(scenario: dict) -> Iterator[tuple[Signature, float]]:
    recorder = scenario.get("recorder") or {}
    interactions = recorder.get("interactions") or {}
    for case_id, checks in (recorder.get("checks") or {}).items():
        response = (interactions.get(case_id) or {}).get("response") or {}
        for check in checks:
            failure = (check.get("failure_info") or {}).get("failure")
            if failure:
                where = failure.get("operation") or recorder.get("label", "?")
                yield (
                    Signature(where, failure["code"], response.get("status_code")),
                    scenario["timestamp"],
                )
