"""Two dialects of one contract: the profiles, the emulator serving each, SCH-1 for guide-v1,
and the gate in each profile (clean runs pass)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from served import ROOT, root_children
from test_emulator import API, FOLDER_API, ORIGIN, Driver
from test_schema import GUIDE_ENTRY, GUIDE_PROGRESS

from contract import schemas
from contract.checks import Context
from contract.checks.schema import body_matches_schema
from contract.client import Exchange
from contract.profiles import GUIDE_V1, PROFILES
from contract.runner import explore
from contract.settings import Options
from contract.targets import HarnessError, MockTarget, _async_bridge, _bridge
from contract.verdicts import Recorder
from emulator import EmulatorConfig
from emulator.dialect import DIALECTS
from emulator.server import gate_options, running

GUIDE_COPY = f"{API}/Entries/{{dest}}/{FOLDER_API}/children/CopyAsync"
VENDOR_COPY = f"{API}/Entries/{{dest}}/{FOLDER_API}/CopyAsync"


# --- the profiles and the emulator's dialects ------------------------------------------


def test_every_profile_is_served_by_the_emulator_under_the_same_name():
    # The emulator may speak a dialect before the gate judges it (v2, a reference build).
    assert set(PROFILES) <= set(DIALECTS)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_emulator_answers_what_the_profile_expects(name):
    """Written apart on purpose (a wrong profile must not be mirrored): here they meet."""
    p, d = PROFILES[name], DIALECTS[name]
    assert p.copy_path.endswith("Folder/" + d.copy_route)
    assert p.api_root == f"{d.api}/Repositories"
    assert (p.start_accepted, p.poll_running, p.poll_completed_copy, p.poll_ended) == (
        d.start_accepted,
        d.poll_running,
        d.poll_copy_done,
        d.poll_ended,
    )
    assert (p.cancel_accepted, p.entry_created) == (d.cancel_accepted, d.entry_created)


def test_an_unknown_emulator_profile_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="profile 'nope' is unknown; use one of openapi-v1"):
        Driver(profile="nope")
    assert EmulatorConfig().profile == "openapi-v1"


def _copy(d: Driver, template: str, dest: int, source: int, name: str) -> Any:
    return d.call("POST", template.format(dest=dest), {"sourceId": source, "name": name})


def test_the_guide_dialect_copies_at_children_copyasync_and_redirects_when_done():
    d = Driver(profile="guide-v1")
    source = d.folder(1, "S")
    assert _copy(d, VENDOR_COPY, 1, source, "X").status == 404  # the document's path
    started = _copy(d, GUIDE_COPY, 1, source, "S2")
    assert started.status == 202
    token = started.json()["token"]
    running = d.poll(token)
    assert running.status == 202 and running.json()["status"] in {"NotStarted", "InProgress"}
    d.advance(60)
    done = d.poll(token)
    assert done.status == 302 and done.body == b""
    location = done.headers["location"]
    assert location.startswith(f"{ORIGIN}{API}/Entries/")
    entry = d.call("GET", location.removeprefix(ORIGIN))
    assert entry.status == 200 and entry.json()["name"] == "S2"
    assert d.poll(token).status == 302  # a terminal answer does not change


def test_the_guide_dialect_answers_other_ends_as_the_document_does():
    d = Driver(profile="guide-v1")
    gone = d.delete(d.folder(1, "D"))
    assert gone.status == 202
    d.advance(60)
    ended = d.poll(gone.json()["token"])
    assert (ended.status, ended.json()["status"]) == (200, "Completed")
    started = _copy(d, GUIDE_COPY, 1, d.folder(1, "C"), "C2")
    token = started.json()["token"]
    assert d.cancel(token).status == 204
    d.advance(60)
    assert (d.poll(token).status, d.poll(token).json()["status"]) == (200, "Cancelled")
    assert d.cancel(token).status == 400


# --- SCH-1 in guide-v1 -----------------------------------------------------------------


def judge(method: str, url: str, status: int, body: Any) -> Any:
    import json

    exchange = Exchange(1, "test", "s1", method, url, {}, None, 0.0, 0.0, status=status)
    exchange.response_body = body if isinstance(body, str) else json.dumps(body)
    return body_matches_schema(Context("test", exchange, GUIDE_V1, "r1", ORIGIN))


def test_the_guides_own_examples_validate_against_the_guide_schema():
    doc = GUIDE_V1.schema_document
    assert schemas.body_problem(doc, "Entry", GUIDE_ENTRY) is None
    assert schemas.body_problem(doc, "OperationProgress", GUIDE_PROGRESS) is None
    token = {"token": "12345678-abcd-efgh-ijkl-123456789012"}
    assert schemas.body_problem(doc, "AcceptedOperation", token) is None


def test_guide_v1_bodies_are_judged_with_extra_fields_allowed():
    url = ORIGIN + GUIDE_COPY.format(dest=1)
    assert judge("POST", url, 202, {"token": "t", "note": "extra"}) == []
    (failure,) = judge("POST", url, 202, {"token": ""})
    assert failure.expected == "a body valid against AcceptedOperation (guide-v1)"
    progress = GUIDE_PROGRESS | {"redirectUri": None, "startTimestamp": "2020-12-12T12:00:00Z"}
    assert judge("GET", f"{ORIGIN}{API}/Tasks/t", 202, progress) == []
    (failure,) = judge("GET", f"{ORIGIN}{API}/Tasks/t", 202, GUIDE_PROGRESS | {"status": "Done"})
    assert failure.actual.startswith("$.status: 'Done' is not one of")
    (failure,) = judge("GET", f"{ORIGIN}{API}/Entries/5", 200, {"id": "5", "name": "x"})
    assert "'parentId' is a required property" in failure.actual or "id" in failure.actual
    # Not in the guide: no schema, nothing judged.
    assert judge("GET", f"{ORIGIN}{API}/Tasks/t", 302, "") is None
    assert judge("GET", f"{ORIGIN}{API}/Entries/1/{FOLDER_API}/children", 200, "[]") is None


def _documented_2xx(template: str, method: str) -> dict[int, str]:
    paths = schemas.document(GUIDE_V1.schema_document)["paths"]
    answers = paths["/v1/Repositories/{repoId}/" + template][method.lower()]["responses"]
    return {
        int(status): r["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for status, r in answers.items()
        if status.startswith("2") and "content" in r
    }


def test_the_guide_profile_maps_exactly_what_its_document_describes():
    templates = {
        "start-copy": ("Entries/{entryId}/Laserfiche.Repository.Folder/children/CopyAsync", "POST"),
        "start-delete": ("Entries/{entryId}", "DELETE"),
        "get-entry": ("Entries/{entryId}", "GET"),
        "poll": ("Tasks/{operationToken}", "GET"),
        "cancel": ("Tasks/{operationToken}", "DELETE"),
    }
    for call, (template, method) in templates.items():
        mapped = {s: n for (c, s), n in GUIDE_V1.response_schemas.items() if c == call}
        assert mapped == _documented_2xx(template, method), call
    assert {c for c, _ in GUIDE_V1.response_schemas} <= set(templates)
    every_answer_says_where_it_came_from = [
        answer.get("x-source")
        for operations in schemas.document(GUIDE_V1.schema_document)["paths"].values()
        for operation in operations.values()
        for answer in operation["responses"].values()
    ]
    assert all(every_answer_says_where_it_came_from)


def test_the_clean_emulator_s_guide_bodies_validate():
    d = Driver(profile="guide-v1")
    source = d.folder(1, "S")
    started = _copy(d, GUIDE_COPY, 1, source, "S2")
    assert judge("POST", ORIGIN + GUIDE_COPY.format(dest=1), 202, started.body.decode()) == []
    token = started.json()["token"]
    url = f"{ORIGIN}{API}/Tasks/{token}"
    assert judge("GET", url, 202, d.poll(token).body.decode()) == []
    d.advance(60)
    location = d.poll(token).headers["location"]
    entry = d.call("GET", location.removeprefix(ORIGIN))
    assert judge("GET", location, 200, entry.body.decode()) == []
    cancelled = d.delete(source)
    d.advance(60)
    ended = d.poll(cancelled.json()["token"])
    assert judge("GET", url, ended.status, ended.body.decode()) == []


# --- the gate in each profile, mock mode ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(PROFILES) - {"openapi-v1"}))
def test_the_gate_passes_the_clean_emulator_in_each_profile(name):
    """The default profile's clean runs are the mutation gate's (`test_clean_emulator_passes`,
    20 seeds with and without the legitimate variants); here, every other profile's."""
    exercised: set[str] = set()
    for seed in range(3):
        recorder = Recorder()
        explore(Options(profile=name, seed=seed, max_examples=30, rounds=1), recorder)
        assert not recorder.failures, (seed, {c: f.title for c, f in recorder.failures.items()})
        exercised |= {v.clause.id for v in recorder.verdicts() if v.outcome == "pass"}
    # The clauses whose expectations differ between the profiles were judged.
    assert {"SUB-1", "STA-1", "RED-1", "RED-2", "SCH-1", "CAN-1", "ISO-1"} <= exercised


# --- the profile probe: a wrong profile, and --profile auto (mock mode) --------------------


def _served(serves: str, judged_in: str = "openapi-v1", **kwargs: Any) -> MockTarget:
    """The embedded emulator speaking `serves`, judged in `judged_in`, its dialect unknown
    to the gate (as a live target's is), so the probe looks."""
    target = MockTarget(PROFILES[judged_in], serves=serves, **kwargs)
    target.serves = None
    return target


@pytest.mark.parametrize("serves", sorted(PROFILES))
def test_a_wrong_profile_stops_the_run_naming_the_one_that_fits(serves):
    other = next(name for name in PROFILES if name != serves)
    recorder = Recorder()
    with pytest.raises(HarnessError) as stopped:
        explore(Options(profile=other, seed=1, max_examples=5), recorder, _served(serves, other))
    message = str(stopped.value)
    assert message.startswith(f"the target answers like {serves}, not {other} (")
    assert message.endswith(f"run with --profile {serves}")
    assert recorder.examples == 0 and not recorder.failures  # no verdict on the wrong terms


@pytest.mark.parametrize("serves", sorted(PROFILES))
def test_the_right_profile_is_confirmed_and_the_run_goes_on(serves):
    recorder = Recorder()
    options = Options(profile=serves, seed=1, max_examples=5, fuzz_cases=0, allow_untested=True)
    explore(options, recorder, _served(serves, serves))
    assert recorder.examples and not recorder.failures and not recorder.notes


def test_a_faulty_build_is_never_sent_to_another_profile():
    """A build of openapi-v1 whose starts answer 202 (the guide's code) fits neither
    dialect: the gate claims nothing and judges it in the profile it was given."""
    recorder = Recorder()
    target = _served("openapi-v1", faults=frozenset({"start-202"}))
    with pytest.raises((AssertionError, ExceptionGroup)):
        explore(Options(seed=1, max_examples=10, rounds=1), recorder, target)
    assert "SUB-1" in recorder.failures


@pytest.mark.parametrize("serves", sorted(PROFILES))
def test_auto_picks_the_profile_the_target_speaks_and_says_why(serves):
    recorder = Recorder()
    target = MockTarget(
        GUIDE_V1 if serves == "openapi-v1" else PROFILES["openapi-v1"], serves=serves
    )
    explore(Options(profile="auto", seed=1, max_examples=10, fuzz_cases=0), recorder, target)
    assert target.profile.name == serves and f"({serves})" in target.description
    (note,) = recorder.notes
    assert note.startswith(f"profile {serves} picked by --profile auto: a copy at ")
    assert f"as {serves} says" in note and "\n" not in note
    assert not recorder.failures


class ServesV1AndV2(MockTarget):
    """A server that serves API v1 (openapi-v1) and v2 over one repository, as Laserfiche's
    does: two emulators, one per version, sharing the tree and the clock."""

    def __init__(self) -> None:
        super().__init__(PROFILES["openapi-v1"])
        self.serves = None  # unknown: the profile probe finds out

    def bridges(self):  # type: ignore[no-untyped-def]
        from emulator import Emulator

        v1 = Emulator(self.config)
        v2 = Emulator(replace(self.config, profile="v2"))
        v2.world.tree = v2.world.engine._tree = v1.world.tree
        v2.world.clock = v1.world.clock
        by_version = {"v1": _bridge(v1), "v2": _bridge(v2)}
        together = {"v1": _async_bridge(v1), "v2": _async_bridge(v2)}

        def version(request):  # type: ignore[no-untyped-def]
            return "v2" if "/v2/" in request.url.path else "v1"

        async def answer_async(request):  # type: ignore[no-untyped-def]
            return await together[version(request)](request)

        return (lambda request: by_version[version(request)](request)), answer_async


def test_auto_judges_a_server_of_v1_and_v2_in_v2_and_names_v1():
    """Both versions' copies fit: not a guess between them, two APIs of one server. The run
    goes on in the newest; the note says how to gate the other."""
    recorder = Recorder()
    target = ServesV1AndV2()
    explore(Options(profile="auto", seed=1, max_examples=5, fuzz_cases=0), recorder, target)
    assert target.profile.name == "v2"
    (note,) = recorder.notes[:1]
    assert note.startswith("profile v2 picked by --profile auto: a copy at /v2/")
    assert (
        "it serves openapi-v1 too (an older API version): gate that with --profile openapi-v1"
        in note
    )
    assert not recorder.failures


def test_auto_refuses_to_guess_when_no_profile_fits():
    target = MockTarget(PROFILES["openapi-v1"], faults=frozenset({"start-202"}))
    with pytest.raises(HarnessError, match=r"^--profile auto: the target fits no known profile"):
        explore(Options(profile="auto", seed=1, max_examples=5), Recorder(), target)


# --- the same over loopback: lro-emulator --profile X, and the CLI --------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, from any folder
    command = [sys.executable, "-m", "contract.cli", "--seed", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


@pytest.mark.slow
@pytest.mark.parametrize("serves", sorted(PROFILES))
def test_live_each_profile_passes_the_other_is_named_and_auto_picks_right(serves, tmp_path):
    other = next(name for name in PROFILES if name != serves)
    with running("--profile", serves) as base:
        options = [*gate_options(base), "--max-examples", "10", "--fuzz-cases", "20"]
        right = cli(*options, "--profile", serves, cwd=tmp_path)
        assert right.returncode == 0, right.stdout + right.stderr
        assert f"({serves}, virtual clock)" in right.stdout
        assert root_children(base) == [], "a sandbox folder was left behind"

        wrong = cli(*options, "--profile", other, cwd=tmp_path)
        assert wrong.returncode == 2, wrong.stdout + wrong.stderr
        (line,) = [x for x in wrong.stderr.splitlines() if x.startswith("lro-conformance: error")]
        assert f"the target answers like {serves}, not {other}" in line
        assert line.endswith(f"run with --profile {serves}") and "Traceback" not in wrong.stderr
        assert root_children(base) == [], "the profile probe left its sandbox behind"

        reports = tmp_path / "auto"
        auto = cli(*options, "--profile", "auto", "--report-dir", str(reports), cwd=tmp_path)
        assert auto.returncode == 0, auto.stdout + auto.stderr
        assert f"note: profile {serves} picked by --profile auto: " in auto.stdout
        assert f"({serves}, virtual clock)" in auto.stdout
        assert root_children(base) == []
    report = json.loads((reports / "conformance.json").read_text())
    assert report["profile"] == serves  # the dialect judged in, not "auto"
    assert report["options"]["profile"] == {"value": "auto", "source": "command line"}


@pytest.mark.slow
def test_mock_mode_speaks_the_named_profile_and_auto_says_what_it_picked(tmp_path):
    small = ("--max-examples", "5", "--fuzz-cases", "20", "--allow-untested")
    guide = cli("--profile", "guide-v1", *small, cwd=tmp_path)
    assert guide.returncode == 0, guide.stdout + guide.stderr
    assert guide.stdout.startswith("Long-operation conformance: embedded emulator (guide-v1)")
    auto = cli("--profile", "auto", *small, cwd=tmp_path)
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "note: profile openapi-v1 picked by --profile auto: " in auto.stdout


def test_a_profile_fits_only_the_copy_made_on_its_own_path():
    """A build that answers the guide's codes on the document's path speaks neither
    dialect: telling its user to switch to guide-v1 would be a false claim."""
    from contract.profile_probe import Trial

    end = Exchange(1, "profile-probe", "s1", "GET", f"{ORIGIN}{API}/Tasks/t", {}, None, 0, 0)
    end.status, end.response_headers = 302, {"location": f"{API}/Entries/9"}
    on_guide_path = Trial(GUIDE_V1.copy_path, 202, "t", {202}, end, f"{API}/Entries/9")
    assert on_guide_path.fits(GUIDE_V1)
    on_document_path = Trial(PROFILES["openapi-v1"].copy_path, 202, "t", {202}, end)
    assert not on_document_path.fits(GUIDE_V1)
    assert not on_document_path.fits(PROFILES["openapi-v1"])
    assert on_guide_path.describe() == (
        "a copy at /v1/.../Folder/children/CopyAsync answered 202, polls while it ran 202, "
        "its end 302 with Location"
    )


@pytest.mark.parametrize(
    "fault", ["running-200", "location-wrong-repo", "cancel-ignored", "wrong-operation-type"]
)
def test_in_guide_v1_seeded_faults_are_still_caught_by_their_clauses(fault):
    """Not only does a clean guide build pass: the clauses keep their teeth in the dialect
    (a status code, the redirect's Location, the model, the status body). Faults that only
    break the vendor document's schema (timestamps-as-numbers) pass here, rightly: the
    guide shows no timestamps."""
    from emulator import FAULTS

    found: set[str] = set()
    for seed in range(3):
        recorder = Recorder()
        options = Options(profile="guide-v1", seed=seed, max_examples=100, faults=(fault,))
        with contextlib.suppress(AssertionError, ExceptionGroup):
            explore(replace(options, shrink=False, rounds=1), recorder)
        found |= set(recorder.failures)
        if found & set(FAULTS[fault].clauses):
            break
    assert found & set(FAULTS[fault].clauses), (fault, found)


# --profile auto on the wall clock: tests/test_wall_clock.py (its runs wait at once).


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_poll_or_cancel_url_gives_back_the_token_as_the_server_handed_it_out(name):
    """Tokens are opaque strings: one with reserved characters is quoted in the URL, and
    the clean-up's evidence and the replay's guard must still know it for the run's."""
    dialect = PROFILES[name]
    token = "a+b/c=="
    path = dialect.repository_path("r1") + dialect.task_path.format(token=quote(token, safe=""))
    extra = "&x=1" if "?" in path else "?x=1"  # a query the token is not in (v2's is)
    assert dialect.task_token(f"https://tenant.example/prefix/{path}{extra}") == token
    entry = dialect.repository_path("r1") + dialect.entry_path.format(entry=5)
    assert dialect.task_token(f"https://tenant.example/{entry}") is None
