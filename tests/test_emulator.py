"""Self-tests of the emulator: the clean build keeps the contract, each seeded fault breaks it.

Everything goes through `Emulator.handle`, as the suite's mock mode does, and
time moves only through the virtual clock's test hooks (no sleeping). With the
default timing (start_delay 1 s, step_seconds 1 s) an operation over n entries
started at t ends at t + 1 + n.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import FAULTS, Emulator, EmulatorConfig, Fault, Request, Response

ORIGIN = "https://emulator.invalid"
API = "/v1/Repositories/r1"
FOLDER_API = "Laserfiche.Repository.Folder"
RUNNING = {"NotStarted", "InProgress"}


class Driver:
    """A thin client over one emulator: JSON in, `Response` out, time via the hooks."""

    def __init__(self, **config: Any) -> None:
        self.emu = Emulator(EmulatorConfig(**config))

    def call(
        self, method: str, path: str, body: Any = None, user: str | None = "alice"
    ) -> Response:
        headers = {"authorization": f"Bearer {user}"} if user else {}
        if not isinstance(body, bytes):
            body = b"" if body is None else json.dumps(body).encode()
        return self.emu.handle(Request(method, ORIGIN + path, headers, body))

    def advance(self, seconds: float) -> None:
        response = self.call("POST", "/_test/clock/advance", {"seconds": seconds}, user=None)
        assert response.status == 200, response.body

    def folder(self, parent: int, name: str, user: str = "alice") -> int:
        response = self.create(parent, {"name": name, "entryType": "Folder"}, user=user)
        assert response.status == 201, response.body
        return int(response.json()["id"])

    def create(self, parent: int, body: Any, query: str = "", user: str = "alice") -> Response:
        return self.call("POST", f"{API}/Entries/{parent}/{FOLDER_API}/children{query}", body, user)

    def entry(self, entry_id: int) -> Response:
        return self.call("GET", f"{API}/Entries/{entry_id}")

    def children(self, folder: int) -> list[dict[str, Any]]:
        response = self.call("GET", f"{API}/Entries/{folder}/{FOLDER_API}/children")
        assert response.status == 200, response.body
        return list(response.json()["value"])

    def names(self, folder: int) -> list[str]:
        return [child["name"] for child in self.children(folder)]

    def copy(
        self, dest: int, source: int, name: str, auto: str = "", user: str = "alice"
    ) -> Response:
        query = f"?autoRename={auto}" if auto else ""
        body = {"sourceId": source, "name": name}
        return self.call("POST", f"{API}/Entries/{dest}/{FOLDER_API}/CopyAsync{query}", body, user)

    def delete(self, entry_id: int, body: Any = None, user: str = "alice") -> Response:
        return self.call("DELETE", f"{API}/Entries/{entry_id}", body, user)

    def poll(self, token: str, user: str = "alice") -> Response:
        return self.call("GET", f"{API}/Tasks/{token}", user=user)

    def cancel(self, token: str, user: str = "alice") -> Response:
        return self.call("DELETE", f"{API}/Tasks/{token}", user=user)

    def start(self, response: Response) -> str:
        assert response.status == 201, response.body
        return str(response.json()["token"])

    def run_to_end(self, token: str, user: str = "alice") -> Response:
        """Advance one step at a time until the operation has ended; its first ended poll."""
        for _ in range(100):
            self.advance(1)
            response = self.poll(token, user)
            if response.json()["status"] not in RUNNING:
                return response
        raise AssertionError("operation never ended")

    def sample_tree(self) -> tuple[int, int]:
        """A source folder S (S/a, S/a/c, S/b, S/link -> a) and an empty destination D."""
        source, dest = self.folder(1, "S"), self.folder(1, "D")
        a = self.folder(source, "a")
        self.folder(a, "c")
        self.folder(source, "b")
        shortcut = self.create(source, {"name": "link", "entryType": "Shortcut", "targetId": a})
        assert shortcut.status == 201
        return source, dest

    def shape(self, entry_id: int) -> list[Any]:
        """The subtree under a folder as nested (name, type, children), ids left out."""
        return [
            (c["name"], c["entryType"], c.get("targetId"), c["isContainer"] and self.shape(c["id"]))
            for c in self.children(entry_id)
        ]


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["type"] == "about:blank"
    return dict(problem)


# --- the tree and its fixtures ------------------------------------------------------------


def test_root_folder_is_entry_1() -> None:
    root = Driver().entry(1).json()
    assert (root["id"], root["name"], root["parentId"], root["fullPath"]) == (1, "", None, "\\")
    assert root["entryType"] == "Folder" and root["isContainer"] and not root["isLeaf"]


def test_create_folder_paths_and_children_by_id() -> None:
    d = Driver()
    a = d.folder(1, "A")
    b = d.folder(a, "B")
    entry = d.entry(b).json()
    assert entry["fullPath"] == "\\A\\B" and entry["folderPath"] == "\\A"
    assert entry["creator"] == "user-1" and entry["parentId"] == a
    assert "alice" not in json.dumps(entry)  # a bearer token is never echoed
    d.folder(1, "C", user="bob")
    assert [c["id"] for c in d.children(1)] == sorted(c["id"] for c in d.children(1))
    assert d.children(1)[-1]["creator"] == "user-2"


def test_name_conflict_is_409_case_insensitively_unless_auto_renamed() -> None:
    d = Driver()
    d.folder(1, "Docs")
    assert_problem(d.create(1, {"name": "DOCS", "entryType": "Folder"}), 409)
    body = {"name": "docs", "entryType": "Folder"}
    assert d.create(1, body, "?autoRename=true").json()["name"] == "docs (2)"
    assert d.create(1, body, "?autoRename=TRUE").json()["name"] == "docs (3)"
    assert_problem(d.create(1, body, "?autoRename=yes"), 400)


@pytest.mark.parametrize(
    "name", ["", "a/b", "a\\b", "a:b", "a*b", "a?b", 'a"b', "a<b", "a>b", "a|b", "x" * 256, 5, None]
)
def test_invalid_names_are_400(name: Any) -> None:
    d = Driver()
    assert_problem(d.create(1, {"name": name, "entryType": "Folder"}), 400)
    assert d.children(1) == []


def test_create_child_errors() -> None:
    d = Driver()
    a = d.folder(1, "A")
    link = d.create(1, {"name": "l", "entryType": "Shortcut", "targetId": a}).json()
    assert (link["targetId"], link["targetType"], link["isLeaf"]) == (a, "Folder", True)
    assert_problem(d.create(1, {"name": "m", "entryType": "Shortcut"}), 400)
    assert_problem(d.create(1, {"name": "m", "entryType": "Shortcut", "targetId": 999}), 404)
    assert_problem(d.create(1, {"name": "m", "entryType": "Document"}), 400)
    assert_problem(d.create(999, {"name": "m", "entryType": "Folder"}), 404)
    assert_problem(d.create(link["id"], {"name": "m", "entryType": "Folder"}), 400)
    assert_problem(d.call("GET", f"{API}/Entries/{link['id']}/{FOLDER_API}/children"), 400)
    assert_problem(d.entry(999), 404)


# --- routing and authentication -----------------------------------------------------------


@pytest.mark.parametrize("user", [None, "mallory", "alice extra"])
def test_missing_or_wrong_bearer_is_401(user: str | None) -> None:
    problem = assert_problem(Driver().call("GET", f"{API}/Entries/1", user=user), 401)
    assert problem["instance"] == f"{API}/Entries/1"


def test_basic_scheme_is_401() -> None:
    request = Request("GET", ORIGIN + f"{API}/Entries/1", {"authorization": "Basic alice"})
    assert_problem(Driver().emu.handle(request), 401)


def test_route_method_repo_and_id_checks_in_order() -> None:
    d = Driver()
    assert_problem(d.call("GET", "/v1/Nope", user=None), 404)  # route before auth
    response = d.call("PUT", f"{API}/Entries/1", user=None)  # method before auth
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, DELETE"
    assert_problem(d.call("GET", f"{API}/Entries/1", user="nobody"), 401)  # auth before repo
    assert_problem(d.call("GET", "/v1/Repositories/r2/Entries/1"), 404)
    assert_problem(d.call("GET", f"{API}/Entries/one"), 400)
    assert_problem(d.call("GET", f"{API}/Entries/{'9' * 5000}"), 404)


# --- copy -----------------------------------------------------------------------------


def test_copy_lifecycle_reproduces_the_source_subtree() -> None:
    d = Driver()
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S copy"))
    first = d.poll(token)
    assert first.status == 202 and first.json()["status"] == "NotStarted"
    percents, response = [], first
    while response.json()["status"] in RUNNING:
        assert response.status == 202
        percents.append(response.json()["percentComplete"])
        d.advance(0.5)
        response = d.poll(token)
    assert percents == sorted(percents) and 0 < max(percents) < 100
    body = response.json()
    assert response.status == 201 and body["status"] == "Completed"
    assert body["percentComplete"] == 100 and body["errors"] == []
    assert body["operationType"] == "CopyEntry" and body["operationToken"] == token
    location = response.headers["location"]
    assert location == body["redirectUri"] == f"{ORIGIN}{API}/Entries/{body['entryId']}"
    new = d.call("GET", location.removeprefix(ORIGIN)).json()
    assert (new["name"], new["parentId"], new["entryType"]) == ("S copy", dest, "Folder")
    assert d.shape(new["id"]) == d.shape(source)
    assert body["statusTimestamp"] > body["startTimestamp"]


def test_copy_of_a_single_shortcut() -> None:
    d = Driver()
    a = d.folder(1, "A")
    link = d.create(1, {"name": "l", "entryType": "Shortcut", "targetId": a}).json()["id"]
    done = d.run_to_end(d.start(d.copy(a, link, "l2")))
    copied = d.entry(done.json()["entryId"]).json()
    assert (copied["entryType"], copied["targetId"], copied["parentId"]) == ("Shortcut", a, a)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'"x"',
        {"name": "x"},
        {"sourceId": True, "name": "x"},
        {"sourceId": "2", "name": "x"},
        {"sourceId": 2},
        {"sourceId": 2, "name": 5},
        {"sourceId": 2, "name": "a/b"},
        {"sourceId": 2, "name": "x", "volumeName": 5},
    ],
)
def test_malformed_copy_start_is_400_and_starts_nothing(body: Any) -> None:
    d = Driver()
    d.folder(1, "S")
    assert_problem(d.call("POST", f"{API}/Entries/1/{FOLDER_API}/CopyAsync", body), 400)
    assert d.names(1) == ["S"]
    assert d.copy(1, 2, "fine").status == 201  # the session's slot is still free


def test_copy_start_refusals() -> None:
    d = Driver()
    s = d.folder(1, "S")
    link = d.create(1, {"name": "l", "entryType": "Shortcut", "targetId": s}).json()["id"]
    assert_problem(d.copy(999, s, "x"), 404)
    assert_problem(d.copy(link, s, "x"), 400)
    assert_problem(d.copy(1, s, "x", auto="maybe"), 400)
    extra = {"sourceId": s, "name": "x", "volumeName": None, "extra": [1]}
    assert d.call("POST", f"{API}/Entries/1/{FOLDER_API}/CopyAsync", extra).status == 201


def failed_copy(d: Driver, dest: int, source: int, name: str, auto: str = "") -> dict[str, Any]:
    done = d.run_to_end(d.start(d.copy(dest, source, name, auto)))
    assert done.status == 200 and "location" not in done.headers
    body = done.json()
    assert body["status"] == "Failed" and body["errors"] and body["entryId"] == 0
    assert all(e["errorMessage"] and isinstance(e["objectId"], int) for e in body["errors"])
    return dict(body)


def test_copy_into_its_own_subtree_fails() -> None:
    d = Driver()
    source, _ = d.sample_tree()
    inner = d.children(source)[0]["id"]
    failed_copy(d, inner, source, "loop")
    failed_copy(d, source, source, "self")
    assert d.names(inner) == ["c"]


def test_copy_of_a_missing_source_starts_and_fails() -> None:
    d = Driver()
    body = failed_copy(d, 1, 999, "ghost")
    assert body["errors"][0]["objectId"] == 999
    assert d.names(1) == []


def test_copy_name_conflict_fails_unless_auto_renamed() -> None:
    d = Driver()
    source, dest = d.sample_tree()
    d.folder(dest, "taken")
    failed_copy(d, dest, source, "TAKEN")
    done = d.run_to_end(d.start(d.copy(dest, source, "taken", auto="true")))
    assert d.entry(done.json()["entryId"]).json()["name"] == "taken (2)"


def test_copy_fails_when_a_source_entry_vanishes_midway() -> None:
    d = Driver(session_tokens=("alice", "bob"))
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    last = d.children(source)[-1]["id"]  # the shortcut, copied at the last step
    d.start(d.delete(last, user="bob"))
    body = d.run_to_end(token).json()
    assert body["status"] == "Failed" and body["errors"][0]["objectId"] == last


# --- delete ------------------------------------------------------------------------------


def test_delete_lifecycle_removes_the_subtree() -> None:
    d = Driver()
    source, _ = d.sample_tree()
    ids = [source] + [c["id"] for c in d.children(source)]
    token = d.start(d.delete(source, {"auditReasonId": 1, "comment": "bye"}))
    assert d.poll(token).status == 202
    done = d.run_to_end(token)
    body = done.json()
    assert done.status == 200 and "location" not in done.headers
    assert (body["status"], body["operationType"], body["percentComplete"]) == (
        "Completed",
        "DeleteEntry",
        100,
    )
    assert body["entryId"] == 0 and body["redirectUri"] is None
    for entry_id in ids:
        assert_problem(d.entry(entry_id), 404)
    assert d.names(1) == ["D"]


def test_delete_start_refusals() -> None:
    d = Driver()
    a = d.folder(1, "A")
    assert_problem(d.delete(999), 404)
    assert assert_problem(d.delete(1), 400)["title"] == "The root folder cannot be deleted"
    assert_problem(d.delete(a, b"[]"), 400)
    assert_problem(d.delete(a, {"comment": 5}), 400)
    assert_problem(d.delete(a, {"auditReasonId": True}), 400)
    assert d.delete(a, b"").status == 201


# --- sessions, cancel, expiry ----------------------------------------------------------------


def test_busy_session_gets_429_until_its_operation_ends() -> None:
    d = Driver()
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "one"))
    busy = assert_problem(d.copy(dest, source, "two"), 429)
    assert busy["title"] == "Operation limit or request limit reached."
    assert_problem(d.delete(dest), 429)
    d.run_to_end(token)
    assert d.copy(dest, source, "two").status == 201
    assert d.names(dest) == ["one"]  # the refused start changed nothing


def test_failed_operation_frees_the_slot() -> None:
    d = Driver()
    failed_copy(d, 1, 999, "ghost")
    assert d.copy(1, 1, "x").status == 201


def test_sessions_are_independent_and_isolated() -> None:
    d = Driver()
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "alice's"))
    bob_token = d.start(d.delete(source, user="bob"))
    assert_problem(d.poll(token, user="bob"), 404)
    assert_problem(d.cancel(token, user="bob"), 404)
    assert_problem(d.poll(bob_token), 404)
    assert d.poll(token).status == 202


def test_cancel_leaves_partial_results_and_frees_the_slot() -> None:
    d = Driver()
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "half"))
    d.advance(3)  # steps 0 and 1 done: the root copy and S/a
    cancelled = d.cancel(token)
    assert cancelled.status == 204 and cancelled.body == b""
    d.advance(100)
    body = d.poll(token).json()
    assert body["status"] == "Cancelled" and body["percentComplete"] == 40
    assert d.poll(token).status == 200
    copy = d.children(dest)[0]["id"]
    assert d.names(copy) == ["a"] and d.names(d.children(copy)[0]["id"]) == []
    assert d.copy(dest, source, "again").status == 201


def test_cancel_of_an_ended_operation_is_400_and_changes_nothing() -> None:
    d = Driver()
    token = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(token)
    problem = assert_problem(d.cancel(token), 400)
    assert problem["title"] == "Cannot cancel ended operation"
    assert d.poll(token).json()["status"] == "Completed"


def test_unknown_tokens_are_404() -> None:
    d = Driver()
    assert_problem(d.poll("00000000-0000-4000-8000-000000000000"), 404)
    assert_problem(d.cancel("nope"), 404)


def test_token_lives_exactly_ttl_after_the_end() -> None:
    d = Driver(token_ttl=900.0)
    token = d.start(d.delete(d.folder(1, "A")))
    d.advance(2)  # start_delay 1 + one step: ended now
    assert d.poll(token).json()["status"] == "Completed"
    d.advance(899.5)
    assert d.poll(token).status == 200
    d.advance(0.5)
    assert_problem(d.poll(token), 404)
    assert_problem(d.cancel(token), 404)


# --- clock hooks and configuration -----------------------------------------------------------


def test_clock_hooks() -> None:
    d = Driver()
    now = d.call("GET", "/_test/clock", user=None).json()
    assert now == {"now": "2026-01-01T00:00:00Z", "mode": "virtual"}
    advanced = d.call("POST", "/_test/clock/advance", {"seconds": 61}, user=None).json()
    assert advanced == {"now": "2026-01-01T00:01:01Z"}
    for bad in ({"seconds": -1}, {"seconds": True}, {"seconds": "1"}, {}, b"NaN", b"{"):
        assert_problem(d.call("POST", "/_test/clock/advance", bad, user=None), 400)
    assert_problem(d.call("POST", "/_test/clock/advance", b'{"seconds": 1e300}', user=None), 400)
    assert_problem(d.call("POST", "/_test/clock/advance", b'{"seconds": NaN}', user=None), 400)


def test_wall_clock_has_no_hooks() -> None:
    d = Driver(clock="wall")
    assert_problem(d.call("GET", "/_test/clock", user=None), 404)
    assert d.entry(1).status == 200


@pytest.mark.parametrize(
    ("settings_", "mentions"),
    [
        ({"faults": frozenset({"nope"})}, "'nope'"),
        ({"faults": "start-202"}, "not one string"),
        ({"session_tokens": ()}, "session_tokens"),
        ({"session_tokens": ("a", "a")}, "duplicates"),
        ({"token_ttl": 0}, "token_ttl 0"),
        ({"start_delay": -1}, "start_delay -1"),
        ({"step_seconds": -0.5}, "step_seconds -0.5"),
        ({"step_seconds": float("nan")}, "step_seconds nan"),
        ({"clock": "sundial"}, "'sundial'"),
        ({"repo_id": ""}, "repo_id"),
    ],
)
def test_bad_configuration_is_refused(settings_: dict[str, Any], mentions: str) -> None:
    with pytest.raises(ValueError) as raised:
        Emulator(EmulatorConfig(**settings_))
    assert mentions in str(raised.value)


def test_a_session_runs_as_many_operations_at_once_as_its_limit() -> None:
    d = Driver(operation_limit=2)
    a, b = d.folder(1, "A"), d.folder(1, "B")
    assert [d.delete(a).status, d.delete(b).status] == [201, 201]
    assert d.delete(d.folder(1, "C")).status == 429
    assert d.delete(d.folder(1, "E", user="bob"), user="bob").status == 201


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "2"])
def test_an_operation_limit_must_be_a_whole_number_from_one(limit: Any) -> None:
    with pytest.raises(ValueError, match="operation_limit"):
        Emulator(EmulatorConfig(operation_limit=limit))


def test_bad_configuration_messages_list_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="start-202"):
        Emulator(EmulatorConfig(faults=frozenset({"nope"})))
    with pytest.raises(ValueError, match="virtual, wall"):
        Emulator(EmulatorConfig(clock="sundial"))


def test_fault_catalogue_is_well_formed() -> None:
    for name, fault in FAULTS.items():
        assert isinstance(fault, Fault) and fault.name == name
        assert fault.clauses and all("-" in clause for clause in fault.clauses)
        assert fault.description and "\n" not in fault.description


# --- bad input never earns a 5xx ----------------------------------------------------------

_segments = st.sampled_from(["1", "2", "-1", "x", "9" * 30, "%2F", "", "r1", "Tasks", "Entries"])
_paths = st.one_of(
    st.sampled_from(
        [
            f"{API}/Entries/{{}}",
            f"{API}/Entries/{{}}/{FOLDER_API}/children",
            f"{API}/Entries/{{}}/{FOLDER_API}/CopyAsync?autoRename={{}}",
            f"{API}/Tasks/{{}}",
            "/v1/Repositories/{}/Entries/1",
            "/_test/clock/advance",
        ]
    ).flatmap(lambda t: st.tuples(_segments, _segments).map(lambda s: t.format(*s))),
    st.text(max_size=30).map(lambda s: "/" + s),
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
_bodies = st.one_of(
    st.binary(max_size=20),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"sourceId": st.integers(-2, 6), "name": st.text(max_size=5)},
        optional={"seconds": st.floats() | st.integers(), "entryType": st.text(max_size=9)},
    ).map(lambda v: json.dumps(v).encode()),
)
_requests = st.tuples(
    st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "get"]),
    _paths,
    _bodies,
    st.sampled_from([None, "Bearer alice", "Bearer bob", "Bearer x", "bearer alice", ""]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_requests, min_size=1, max_size=8))
def test_no_input_earns_a_5xx(requests: list[tuple[str, str, bytes, str | None]]) -> None:
    emu = Emulator(EmulatorConfig(step_seconds=0.0, start_delay=0.0))
    for method, path, body, auth in requests:
        headers = {"authorization": auth} if auth is not None else {}
        response = emu.handle(Request(method, ORIGIN + path, headers, body))
        assert response.status < 500, response.body
        if response.status >= 400:
            assert_problem(response, response.status)


# --- every seeded fault changes what a client sees -------------------------------------------


def _start_statuses(d: Driver) -> tuple[int, int]:
    copy = d.copy(1, d.folder(1, "S"), "S2").status
    return copy, d.delete(d.folder(1, "T"), user="bob").status


def _start_token_present(d: Driver) -> bool:
    return bool(d.copy(1, d.folder(1, "S"), "S2").json()["token"])


def _token_reused(d: Driver) -> bool:
    first = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(first)
    return d.start(d.delete(d.folder(1, "B"))) == first


def _copy_without_name(d: Driver) -> int:
    body = {"sourceId": d.folder(1, "S")}
    return d.call("POST", f"{API}/Entries/1/{FOLDER_API}/CopyAsync", body).status


def _copy_with_null_name(d: Driver) -> int:
    body = {"sourceId": d.folder(1, "S"), "name": None}
    return d.call("POST", f"{API}/Entries/1/{FOLDER_API}/CopyAsync", body).status


def _copy_with_odd_volume_names(d: Driver) -> list[int]:
    source = d.folder(1, "S")
    return [
        d.call("POST", f"{API}/Entries/1/{FOLDER_API}/CopyAsync", body).status
        for body in (
            {"sourceId": source, "name": "a", "volumeName": 7},
            {"sourceId": "x", "name": "b", "volumeName": [1]},
        )
    ]


def _missing_source_outcome(d: Driver) -> str:
    return str(d.run_to_end(d.start(d.copy(1, 999, "ghost"))).json()["status"])


def _running_poll_status(d: Driver) -> int:
    return d.poll(d.start(d.copy(1, d.folder(1, "S"), "S2"))).status


def _delete_operation_type(d: Driver) -> str:
    return str(d.run_to_end(d.start(d.delete(d.folder(1, "A")))).json()["operationType"])


def _in_progress_percents(d: Driver) -> list[int]:
    source, dest = d.sample_tree()  # 5 entries: steps due at +2 … +6
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(1.5)
    percents = []
    for _ in range(3):
        d.advance(1)
        percents.append(d.poll(token).json()["percentComplete"])
    return percents


def _completed_copy(d: Driver) -> tuple[int, int, str, Response]:
    """Source S (a subtree), destination D, the copy's token and its first Completed poll."""
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    return source, dest, token, d.run_to_end(token)


def _statuses_after_completion(d: Driver) -> list[tuple[int, str]]:
    token = _completed_copy(d)[2]
    return [(r.status, r.json()["status"]) for r in (d.poll(token), d.poll(token))]


def _failed_errors(d: Driver) -> int:
    return len(d.run_to_end(d.start(d.copy(1, 999, "ghost"))).json()["errors"])


def _entries_after_polls(d: Driver) -> int:
    _, dest, token, _ = _completed_copy(d)
    d.poll(token), d.poll(token)
    return len(d.children(dest))


def _names_new_after_polls(d: Driver) -> list[str]:
    _, dest, token, _ = _completed_copy(d)
    before = d.names(dest)
    d.poll(token), d.poll(token)
    return sorted(set(d.names(dest)) - set(before))


def _location_repo(d: Driver) -> str:
    done = _completed_copy(d)[3]
    assert done.headers["location"] == done.json()["redirectUri"]
    return done.headers["location"].split("/")[5]


def _location_names_source(d: Driver) -> bool:
    source, _, _, done = _completed_copy(d)
    return done.headers["location"].endswith(f"/Entries/{source}")


def _entry_id_matches_location(d: Driver) -> bool:
    done = _completed_copy(d)[3]
    return done.headers["location"].endswith(f"/Entries/{done.json()['entryId']}")


def _copied_entries(d: Driver) -> int:
    done = _completed_copy(d)[3]

    def size(shape: list[Any]) -> int:
        return sum(1 + (size(grandchildren) if grandchildren else 0) for *_, grandchildren in shape)

    return 1 + size(d.shape(done.json()["entryId"]))


def _second_start_while_running(d: Driver) -> int:
    d.start(d.copy(1, d.folder(1, "S"), "S2"))
    return d.delete(d.folder(1, "T")).status


def _start_after_cancel(d: Driver) -> int:
    token = d.start(d.copy(1, d.folder(1, "S"), "S2"))
    assert d.cancel(token).status == 204
    return d.delete(d.folder(1, "T")).status


def _starts_after_a_cancel_before_the_start(d: Driver) -> tuple[int, int]:
    token = d.start(d.copy(1, d.folder(1, "S"), "S2"))  # NotStarted for the first second
    assert d.cancel(token).status == 204
    first = d.delete(d.folder(1, "T"))
    if first.status == 201:
        d.run_to_end(first.json()["token"])
    d.advance(2000)
    return first.status, d.delete(d.folder(1, "U")).status


def _stuck_copy_after_cancel(d: Driver) -> tuple[int, str]:
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(600)
    answer = d.cancel(token).status
    d.advance(1)
    return answer, str(d.poll(token).json()["status"])


def _descendant_after_delete(d: Driver) -> int:
    folder = d.folder(1, "A")
    child = d.folder(folder, "b")
    d.run_to_end(d.start(d.delete(folder)))
    assert d.names(1) == []
    return d.entry(child).status


def _status_after_unauthenticated_cancels(d: Driver) -> tuple[int, int, str]:
    token = d.start(d.delete(d.folder(1, "A")))
    wrong = d.cancel(token, user="mallory").status
    missing = d.call("DELETE", f"{API}/Tasks/{token}", user=None).status
    return wrong, missing, str(d.poll(token).json()["status"])


def _deep_copy_depth(d: Driver) -> int:
    chain = [d.folder(1, "S")]
    for level in range(6):
        chain.append(d.folder(chain[-1], f"l{level}"))
    token = d.start(d.copy(1, chain[0], "C"))
    d.run_to_end(token)
    copy = next(c["id"] for c in d.children(1) if c["name"] == "C")
    depth = 0
    while kids := d.children(copy):
        copy, depth = kids[0]["id"], depth + 1
    return depth


def _children_left_after_wide_delete(d: Driver) -> tuple[list[str], int]:
    wide = d.folder(1, "W")
    for i in range(12):
        d.folder(wide, f"c{i:02}")
    d.run_to_end(d.start(d.delete(wide)))
    left = d.children(wide) if d.entry(wide).status == 200 else []
    return d.names(1), len(left)


def _other_session_start(d: Driver) -> int:
    d.start(d.copy(1, d.folder(1, "S"), "S2"))
    return d.delete(d.folder(1, "T", user="bob"), user="bob").status


def _status_after_cancel(d: Driver) -> str:
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(3)
    assert d.cancel(token).status == 204
    d.advance(100)
    return str(d.poll(token).json()["status"])


def _stuck_copy(d: Driver) -> tuple[str, int]:
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(600)
    status = str(d.poll(token).json()["status"])
    return status, d.copy(dest, source, "S3").status


def _names_beside_source_after_cancel(d: Driver) -> list[str]:
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(3)
    d.cancel(token)
    return d.names(1)


def _cancel_after_end(d: Driver) -> tuple[int, str]:
    token = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(token)
    return d.cancel(token).status, d.poll(token).json()["status"]


def _cancel_after_expiry(d: Driver) -> int:
    token = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(token)
    d.advance(900)
    assert d.poll(token).status == 404
    return d.cancel(token).status


def _poll_and_cancel_after_expiry(d: Driver) -> tuple[int, int]:
    token = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(token)
    d.advance(901)
    return d.poll(token).status, d.cancel(token).status


def _cancel_running(d: Driver) -> tuple[int, Any]:
    token = d.start(d.delete(d.folder(1, "A")))
    answer = d.cancel(token)
    return answer.status, answer.json()["status"] if answer.body else answer.body


def _poll_after(seconds: float) -> Any:
    def scenario(d: Driver) -> int:
        token = d.start(d.delete(d.folder(1, "A")))
        d.run_to_end(token)  # ended 2 s after the start, now
        d.advance(seconds)
        return d.poll(token).status

    return scenario


def _problem_body_status(d: Driver) -> int:
    return int(d.entry(999).json()["status"])


def _never_issued_token_poll(d: Driver) -> int:
    return d.poll("00000000-0000-4000-8000-000000000000").status


def _anonymous_read(d: Driver) -> int:
    return d.call("GET", f"{API}/Entries/1", user=None).status


def _poll_by_other_session(d: Driver) -> int:
    token = d.start(d.copy(1, d.folder(1, "S"), "S2"))
    return d.poll(token, user="bob").status


def _status_after_foreign_cancel(d: Driver) -> tuple[int, str]:
    token = d.start(d.copy(1, d.folder(1, "S"), "S2"))
    refused = d.cancel(token, user="bob").status
    return refused, d.poll(token).json()["status"]


def _poll_of_long_running_copy(d: Driver) -> int:
    source, dest = d.sample_tree()  # 5 entries: runs until +6
    token = d.start(d.copy(dest, source, "S2"))
    d.advance(4)
    return d.poll(token).status


def _sibling_after_delete(d: Driver) -> int:
    a, b = d.folder(1, "A"), d.folder(1, "B")
    d.run_to_end(d.start(d.delete(a)))
    return d.entry(b).status


def _cancels_of_unknown_tokens(d: Driver) -> list[tuple[int, bool]]:
    """(status, empty body) of cancelling a never-issued, an expired and another session's token."""
    expired = d.start(d.delete(d.folder(1, "A")))
    d.run_to_end(expired)
    d.advance(900)
    foreign = d.start(d.copy(1, d.folder(1, "S", user="bob"), "S2", user="bob"))
    tokens = ["00000000-0000-4000-8000-000000000000", expired, foreign]
    return [(r.status, r.body == b"") for r in map(d.cancel, tokens)]


def _copy_path(dest: int, repo: str = "r1") -> str:
    return f"/v1/Repositories/{repo}/Entries/{dest}/{FOLDER_API}/CopyAsync"


def _names_after_busy_copies(d: Driver) -> tuple[list[int], list[str], list[str]]:
    """While a delete runs: copies named x, a taken name, a bad name, into a missing folder."""
    source, dest = d.folder(1, "S"), d.folder(1, "D")
    d.folder(dest, "taken")
    d.start(d.delete(d.folder(1, "T")))
    names = [(dest, "x"), (dest, "taken"), (dest, "a/b"), (999, "y")]
    statuses = [d.copy(folder, source, name).status for folder, name in names]
    return statuses, d.names(dest), d.names(1)


def _names_after_unauthenticated_copies(d: Driver) -> tuple[list[int], list[str]]:
    """Copies with a wrong bearer token, then with a missing and a non-bearer credential."""
    source, dest = d.folder(1, "S"), d.folder(1, "D")
    d.folder(dest, "taken")
    body = {"sourceId": source, "name": "y"}
    basic = {"authorization": "Basic alice"}
    refused = [
        d.copy(dest, source, "x", user="mallory"),
        d.copy(dest, source, "taken", user="mallory"),
        d.copy(dest, source, "a/b", user="mallory"),
        d.copy(999, source, "y", user="mallory"),
        d.call("POST", _copy_path(dest), b"[]", user="mallory"),
        d.call("POST", _copy_path(dest, repo="r2"), body, user="mallory"),
        d.call("POST", _copy_path(dest), body, user=None),
        d.emu.handle(Request("POST", ORIGIN + _copy_path(dest), basic, json.dumps(body).encode())),
    ]
    return [r.status for r in refused], d.names(dest)


def _names_after_malformed_copies(d: Driver) -> tuple[list[int], list[str]]:
    dest = d.folder(1, "D")
    d.folder(dest, "taken")
    starts = [
        (dest, {"sourceId": "2", "name": "x"}),
        (dest, {"sourceId": 1.5, "name": "taken"}),
        (dest, {"sourceId": True, "name": "b"}),
        (dest, {"name": "m"}),
        (dest, {"sourceId": "2", "name": "a/b"}),
        (dest, {"sourceId": 1, "name": 5}),
        (999, {"sourceId": "2", "name": "z"}),
    ]
    statuses = [d.call("POST", _copy_path(folder), body).status for folder, body in starts]
    return statuses, d.names(dest)


def _names_after_copies_in_two_sessions(d: Driver) -> tuple[list[str], list[str], list[str]]:
    """The root, alice's folder D and bob's folder B after four operations, one at a time."""
    source, dest = d.folder(1, "S"), d.folder(1, "D")
    bobs = d.folder(1, "B", user="bob")
    d.run_to_end(d.start(d.copy(dest, source, "x")))  # bob has no operation yet
    d.run_to_end(d.start(d.delete(d.folder(1, "T", user="bob"), user="bob")), user="bob")
    d.run_to_end(d.start(d.copy(dest, source, "y")))  # bob's latest: a delete in the root
    d.run_to_end(d.start(d.copy(bobs, source, "y", user="bob")), user="bob")  # alice's: into D
    return d.names(1), d.names(dest), d.names(bobs)


def _starts_sent_together(d: Driver) -> tuple[list[int], list[int]]:
    """Three copies in one session served concurrently (as the Starlette app serves them),
    then three more one at a time after the first batch's operations ended."""
    source = d.folder(1, "S")
    path = f"{ORIGIN}{API}/Entries/1/{FOLDER_API}/CopyAsync?autoRename=true"

    def request(name: str) -> Request:
        body = json.dumps({"sourceId": source, "name": name}).encode()
        return Request("POST", path, {"authorization": "Bearer alice"}, body)

    async def together() -> list[Response]:
        return await asyncio.gather(*(d.emu.handle_async(request(f"c{i}")) for i in range(3)))

    concurrent = sorted(r.status for r in asyncio.run(together()))
    d.advance(60)
    one_by_one = [d.emu.handle(request(f"d{i}")).status for i in range(3)]
    return concurrent, one_by_one


def _starts_on_a_deep_entry(d: Driver) -> list[int]:
    """A copy into, and a delete of, a folder six levels below the root."""
    folder = 1
    for level in range(6):
        folder = d.folder(folder, f"L{level}")
    return [d.copy(folder, folder, "x").status, d.delete(folder).status]


def _deletes_with_broken_bodies(d: Driver) -> list[int]:
    """Delete starts whose optional body is not JSON, or has a string auditReasonId."""
    return [
        d.delete(d.folder(1, "A"), body=b"{not json").status,
        d.delete(d.folder(1, "B"), body={"auditReasonId": "abc"}).status,
    ]


def _root_after_copy_and_cancel(d: Driver) -> tuple[list[str], list[str]]:
    """The root folder after a Completed copy, then after a copy cancelled midway."""
    source, dest = d.sample_tree()
    d.run_to_end(d.start(d.copy(dest, source, "done")))
    after_copy = d.names(1)
    token = d.start(d.copy(dest, source, "half"))
    d.advance(3)  # steps 0 and 1 done: a partial copy in D
    d.cancel(token)
    return after_copy, d.names(1)


#: fault -> (scenario, what the clean emulator shows, what the faulty one shows).
def _created_entry_types(d: Driver) -> list[Any]:
    folder = d.create(1, {"name": "F", "entryType": "Folder"}).json()
    shortcut = d.create(1, {"name": "L", "entryType": "Shortcut", "targetId": folder["id"]})
    return [folder["entryType"], shortcut.json()["entryType"]]


def _poll_timestamp_types(d: Driver) -> list[str]:
    body = d.poll(d.start(d.copy(1, d.folder(1, "S"), "S2"))).json()
    return [type(body[key]).__name__ for key in ("startTimestamp", "statusTimestamp")]


FAULT_SCENARIOS: dict[str, tuple[Any, Any, Any]] = {
    "start-202": (_start_statuses, (201, 201), (202, 202)),
    "start-empty-token": (_start_token_present, True, False),
    "token-reuse": (_token_reused, False, True),
    "accept-missing-name": (_copy_without_name, 400, 201),
    "accept-null-name": (_copy_with_null_name, 400, 201),
    "volume-name-crash": (_copy_with_odd_volume_names, [400, 400], [500, 500]),
    "missing-source-completes": (_missing_source_outcome, "Failed", "Completed"),
    "running-200": (_running_poll_status, 202, 200),
    "wrong-operation-type": (_delete_operation_type, "DeleteEntry", "CopyEntry"),
    "progress-backwards": (_in_progress_percents, [20, 40, 60], [20, 0, 60]),
    "completed-flaps": (
        _statuses_after_completion,
        [(201, "Completed"), (201, "Completed")],
        [(202, "InProgress"), (201, "Completed")],
    ),
    "failed-without-errors": (_failed_errors, 1, 0),
    "poll-duplicates-result": (_entries_after_polls, 1, 3),
    "poll-leaves-lock": (_names_new_after_polls, [], ["~task.lock", "~task.lock (2)"]),
    "location-wrong-repo": (_location_repo, "r1", "r0-other"),
    "location-points-to-source": (_location_names_source, False, True),
    "entry-id-mismatch": (_entry_id_matches_location, True, False),
    "shallow-copy": (_copied_entries, 5, 1),
    "no-operation-limit": (_second_start_while_running, 429, 201),
    "slot-leak-after-cancel": (_start_after_cancel, 201, 429),
    "global-operation-limit": (_other_session_start, 201, 429),
    "racy-slot-check": (
        _starts_sent_together,
        ([201, 429, 429], [201, 429, 429]),
        ([201, 201, 201], [201, 429, 429]),
    ),
    "stalls-before-end": (_stuck_copy, ("Completed", 201), ("InProgress", 429)),
    "stalls-uncancellable": (_stuck_copy_after_cancel, (400, "Completed"), (204, "InProgress")),
    "slot-never-frees": (_starts_after_a_cancel_before_the_start, (201, 201), (429, 429)),
    "cancel-ignored": (_status_after_cancel, "Cancelled", "Completed"),
    "cancel-leaks-outside": (
        _names_beside_source_after_cancel,
        ["S", "D"],
        ["S", "D", "S2.partial"],
    ),
    "cancel-ended-204": (_cancel_after_end, (400, "Completed"), (204, "Cancelled")),
    "cancel-expired-400": (_cancel_after_expiry, 404, 400),
    "delete-orphans-descendants": (_descendant_after_delete, 404, 200),
    "unauthenticated-cancel-acts": (
        _status_after_unauthenticated_cancels,
        (401, 401, "NotStarted"),
        (401, 401, "Cancelled"),
    ),
    "copy-depth-limit": (_deep_copy_depth, 6, 4),
    "delete-first-ten": (_children_left_after_wide_delete, ([], 0), (["W"], 2)),
    "expired-410": (_poll_and_cancel_after_expiry, (404, 404), (410, 410)),
    "cancel-200": (_cancel_running, (204, b""), (200, "Cancelled")),
    "ttl-short": (_poll_after(700), 200, 404),
    "no-expiry": (_poll_after(900), 404, 200),
    "ttl-from-start": (_poll_after(899), 200, 404),
    "problem-status-mismatch": (_problem_body_status, 404, 400),
    "unknown-token-500": (_never_issued_token_poll, 404, 500),
    "missing-auth-accepted": (_anonymous_read, 401, 200),
    "tasks-shared": (_poll_by_other_session, 404, 202),
    "foreign-cancel-acts": (
        _status_after_foreign_cancel,
        (404, "NotStarted"),
        (404, "Cancelled"),
    ),
    "running-token-forgotten": (_poll_of_long_running_copy, 202, 404),
    "delete-takes-sibling": (_sibling_after_delete, 200, 404),
    "cancel-unknown-204": (
        _cancels_of_unknown_tokens,
        [(404, False), (404, False), (404, False)],
        [(204, True), (404, False), (404, False)],
    ),
    "rejected-start-leaks": (
        _names_after_busy_copies,
        ([429] * 4, ["taken"], ["S", "D", "T"]),
        ([429] * 4, ["taken", "x", "taken (2)"], ["S", "D", "T"]),
    ),
    "unauthenticated-copy-runs": (
        _names_after_unauthenticated_copies,
        ([401] * 8, ["taken"]),
        ([401] * 8, ["taken", "x", "taken (2)"]),
    ),
    "malformed-start-leaks": (
        _names_after_malformed_copies,
        ([400] * 7, ["taken"]),
        ([400] * 7, ["taken", "x", "taken (2)", "b", "m"]),
    ),
    "completion-echo-to-other-session": (
        _names_after_copies_in_two_sessions,
        (["S", "D", "B"], ["x", "y"], ["y"]),
        (["S", "D", "B", "y"], ["x", "y", "y (2)"], ["y"]),
    ),
    "deep-entry-404": (_starts_on_a_deep_entry, [201, 429], [404, 404]),
    "delete-ignores-body": (_deletes_with_broken_bodies, [400, 400], [201, 429]),
    "copy-staging-left": (
        _root_after_copy_and_cancel,
        (["S", "D"], ["S", "D"]),
        (["S", "D", "done"], ["S", "D", "done"]),
    ),
    "cancel-strands-copy": (
        _root_after_copy_and_cancel,
        (["S", "D"], ["S", "D"]),
        (["S", "D"], ["S", "D", "half"]),
    ),
    "entry-type-as-number": (_created_entry_types, ["Folder", "Shortcut"], [0, 3]),
    "timestamps-as-numbers": (_poll_timestamp_types, ["str", "str"], ["float", "float"]),
}


V1_FAULTS = sorted(name for name, fault in FAULTS.items() if fault.profile != "v2")


def test_every_fault_has_a_scenario() -> None:
    """v1's and any dialect's faults here; v2's own in test_emulator_v2.py."""
    assert set(FAULT_SCENARIOS) == set(V1_FAULTS)


@pytest.mark.parametrize("fault", V1_FAULTS)
def test_fault_changes_observable_behaviour(fault: str) -> None:
    scenario, clean, faulty = FAULT_SCENARIOS[fault]
    assert scenario(Driver()) == clean
    assert scenario(Driver(faults=frozenset({fault}))) == faulty
