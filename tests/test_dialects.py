"""The dialect layer: each wire's answers read into what the model and the checks reason
about, and the v2 cancel's "received" in the model."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from contract.checks import REGISTRY, Context, Held, allowance, location_entry
from contract.checks.facts import PollFacts
from contract.clauses import CLAUSES, RESTATED
from contract.client import Exchange
from contract.dialects import MISSING, CancelSaid
from contract.model import (
    CancelReceived,
    ForeignCancel,
    Model,
    Operation,
    Seen,
    Started,
    Status,
    Timing,
    Violation,
)
from contract.profiles import PROFILES, profile
from contract.verdicts import Recorder
from tests.test_model import order, run

V1, V2 = profile("openapi-v1"), profile("v2")
S = Status


class Answer:
    def __init__(self, status: int | None, body: Any = None, **headers: str) -> None:
        self.status, self._body, self.headers = status, body, headers

    def json(self) -> Any:
        return json.loads(json.dumps(self._body)) if self._body is not None else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def task(token: str, status: str = "InProgress", **extra: Any) -> dict[str, Any]:
    return {"id": token, "taskType": "CopyEntry", "percentComplete": 40, "status": status, **extra}


def test_a_v2_poll_reads_the_tasks_item_and_an_id_left_out_is_gone():
    answer = Answer(200, {"value": [task("other"), task("t1"), task("t1", "Completed")]})
    report = V2.read_poll(answer, "t1")
    assert (report.status, report.document, report.token, report.kind) == (
        "InProgress",
        True,
        "t1",
        "CopyEntry",
    )
    assert report.errors_valid and report.errors is None and report.link is None
    assert V2.read_poll(Answer(200, {"value": [task("other")]}), "t1").gone
    assert V2.read_poll(Answer(200, {"value": []}), "t1").gone
    unreadable = V2.read_poll(Answer(200, {"tasks": []}), "t1")
    assert not unreadable.gone and unreadable.status is None and not unreadable.document


def test_a_v2_completed_copy_links_result_uri_and_claims_its_entry_id():
    done = {
        **task("t1", "Completed"),
        "percentComplete": 100,
        "errors": None,
        "result": {"entryId": 7, "uri": "/v2/Repositories/r1/Entries/7"},
    }
    report = V2.read_poll(Answer(200, {"value": [done]}), "t1")
    assert report.link == "/v2/Repositories/r1/Entries/7"
    assert [(c.field, c.kind, c.value) for c in report.claims] == [("result.entryId", "entry", 7)]


@pytest.mark.parametrize(
    ("link", "entry"),
    [
        ("/v2/Repositories/r1/Entries/7", ("r1", 7)),
        ("https://emulator.invalid/v2/Repositories/r1/Entries/7", ("r1", 7)),
        # Another origin names no entry of the target: the run must not follow it there
        # with its bearer token (RED-1 fails it; v2-result-uri-other-origin).
        ("https://api.laserfiche.com/v2/Repositories/r1/Entries/7", None),
        ("http://emulator.invalid/v2/Repositories/r1/Entries/7", None),
    ],
)
def test_a_result_link_names_an_entry_only_on_the_targets_origin(link, entry):
    assert location_entry("https://emulator.invalid", V2, link) == entry


def test_v2_errors_are_problem_details_and_may_be_null():
    failed = {**task("t1", "Failed"), "errors": [{"title": "Entry not found.", "status": 404}]}
    report = V2.read_poll(Answer(200, {"value": [failed]}), "t1")
    assert report.error_messages == ("Entry not found.",) and report.errors_valid
    broken = {**task("t1", "Failed"), "errors": "oops"}
    assert not V2.read_poll(Answer(200, {"value": [broken]}), "t1").errors_valid


def test_a_v1_poll_is_read_from_the_body_and_the_location():
    body = {"operationToken": "t1", "status": "Completed", "redirectUri": "/x", "entryId": 7}
    report = V1.read_poll(Answer(201, body, location="/v1/Repositories/r1/Entries/7"), "t1")
    assert report.status == "Completed" and report.link == "/v1/Repositories/r1/Entries/7"
    assert [c.field for c in report.claims] == ["redirectUri", "entryId"]
    assert report.percent is MISSING and not report.errors_valid  # no errors array
    assert V1.read_poll(Answer(404, {"status": 404}), "t1").gone
    guide = profile("guide-v1").read_poll(Answer(302, None, location="/e/7"), "t1")
    assert guide.status == "Completed" and not guide.document


@pytest.mark.parametrize(
    ("wire", "answer", "said"),
    [
        (V1, Answer(204), CancelSaid.ACCEPTED),
        (V1, Answer(400, {"status": 400}), CancelSaid.REFUSED),
        (V1, Answer(404, {"status": 404}), CancelSaid.GONE),
        (V1, Answer(200, {}), None),
        (V2, Answer(200, {"value": [{"id": "t1", "result": True}]}), CancelSaid.RECEIVED),
        (V2, Answer(200, {"value": [{"id": "t1", "result": False}]}), CancelSaid.REFUSED),
        (V2, Answer(200, {"value": [{"id": "x", "result": True}]}), CancelSaid.GONE),
        (V2, Answer(200, {"value": [{"id": "t1"}]}), None),
        (V2, Answer(500, {"status": 500}), None),
    ],
)
def test_a_cancels_answer_is_read_by_its_wire(wire, answer, said):
    assert wire.read_cancel(answer, "t1") is said


def test_a_v2_task_path_names_one_token_in_the_query():
    url = "https://t.example/v2/Repositories/r1/Tasks?taskIds=a%2Bb"
    assert V2.task_token(url) == "a+b" and V2.call_of("DELETE", url) == "cancel"
    assert V2.task_token("https://t.example/v2/Repositories/r1/Tasks?taskIds=a,b") is None
    assert V2.task_token("https://t.example/v2/Repositories/r1/Entries/5") is None
    body, query = V2.with_rename({"name": "n"}, True)
    assert body == {"name": "n", "autoRename": True} and query is None
    assert V1.with_rename({"name": "n"}, True) == ({"name": "n"}, {"autoRename": "true"})


# --- v2's "received" cancel in the model ------------------------------------------------


def seen(status: Status, t: float) -> Seen:
    return Seen("t1", status, (t, t), None, order())


def started() -> Started:
    return Started("t1", "copy", "s1", (0.0, 0.0), order())


def received(t: float) -> CancelReceived:
    return CancelReceived("t1", (t, t), order())


def test_a_received_cancel_of_an_ended_task_keeps_its_status():
    model = run(started(), seen(S.COMPLETED, 1), received(2), seen(S.COMPLETED, 3))
    assert isinstance(model, Model)
    assert isinstance(
        run(started(), seen(S.COMPLETED, 1), received(2), seen(S.CANCELLED, 3)), Violation
    )


def test_a_received_cancel_may_have_come_after_the_end_until_the_task_is_seen_running():
    # Seen running, then the cancel: it may have completed in between, so Completed stands.
    assert isinstance(
        run(started(), seen(S.IN_PROGRESS, 1), received(2), seen(S.COMPLETED, 3)), Model
    )
    # Still running after the cancel was answered: it must end Cancelled (CAN-1).
    broken = run(
        started(), seen(S.IN_PROGRESS, 1), received(2), seen(S.IN_PROGRESS, 3), seen(S.COMPLETED, 4)
    )
    assert isinstance(broken, Violation) and broken.clause == "CAN-1"


def test_a_cancelled_end_after_the_owners_received_cancel_blames_no_stranger():
    steps = [started(), ForeignCancel("t1", (1, 1)), seen(S.IN_PROGRESS, 1)]
    assert isinstance(run(*steps, received(2), seen(S.CANCELLED, 3)), Model)
    blamed = run(*steps, seen(S.CANCELLED, 3))
    assert isinstance(blamed, Violation) and blamed.clause == "ISO-1"


def test_a_received_cancel_of_an_expired_task_is_can_4():
    late = run(started(), seen(S.COMPLETED, 1), received(2000))
    assert isinstance(late, Violation) and late.clause == "CAN-4"


# --- clauses in each wire's words -------------------------------------------------------


def test_every_restated_clause_exists_and_a_v2_run_reports_v2_words():
    assert {w for w in RESTATED} <= {p.wire for p in PROFILES.values()}
    assert all(cid in CLAUSES for texts in RESTATED.values() for cid in texts)
    v2 = {v.clause.id: v.clause.text for v in Recorder().verdicts(wire="v2")}
    v1 = {v.clause.id: v.clause.text for v in Recorder().verdicts()}
    assert "result.uri" in v2["RED-1"] and "Location" in v1["RED-1"]
    assert v2["STA-4"] == v1["STA-4"]  # the same words where the wire does not matter


def test_a_live_run_waits_for_a_poll_as_long_as_a_correct_server_may_hold_it():
    """v2's long poll may answer after 60 s: reading an answer may take that much longer
    than the other phases of a request; under auto, whichever dialect it turns out to be."""
    from contract.profiles import OPENAPI_V1, V2
    from contract.targets import LiveTarget

    def timeouts(profile, auto=False, long_poll=None):  # type: ignore[no-untyped-def]
        target = LiveTarget(
            profile, "http://127.0.0.1:9", "r1", ["a"], 1, None, auto=auto, long_poll=long_poll
        )
        return target._timeouts()

    assert timeouts(OPENAPI_V1).read == 30.0 and timeouts(OPENAPI_V1).connect == 30.0
    assert timeouts(V2).read == 90.0 and timeouts(V2).connect == 30.0
    assert timeouts(OPENAPI_V1, auto=True).read == 90.0
    assert timeouts(V2, auto=True, long_poll=120.0).read == 150.0  # --long-poll


# --- the long poll (LST-3) ------------------------------------------------------------------


def _ended(token: str = "t1", seen_running: float = 10.0, seen_ended: float = 12.0) -> Model:
    op = Operation(
        token, "copy", "s1", 0.0, 1.0, (1, 2), frozenset({S.COMPLETED}), seen_running, seen_ended
    )
    return Model(Timing(ttl=900.0, tolerance=2.0), {token: op})


def _poll(sent: float, took: float, status: int | None = 200) -> Exchange:
    return Exchange(
        1,
        "poll",
        "s1",
        "GET",
        "http://x/Tasks?taskIds=t1",
        {},
        None,
        sent,
        sent + took,
        status=status,
        took=took,
    )


def test_a_poll_may_be_held_the_long_poll_and_not_when_it_names_a_task_seen_ended():
    assert allowance(V1, _ended(), ["t1"], _poll(20.0, 0.0)) is None  # v1 does not long-poll
    held = allowance(V2, _ended(), ["t1", "t1", "unknown"], _poll(20.0, 0.0))
    assert held == Held(62.0, 32.0, ("t1",))
    assert allowance(V2, _ended(), ["t1"], _poll(11.0, 0.0)).ended == ()  # the end came later
    # Its answer may come after the task expired: nothing is known of what it had to say.
    assert allowance(V2, _ended(), ["t1"], _poll(900.0, 10.0)).ended == ()
    longer = replace(_ended(), timing=Timing(tolerance=2.0, long_poll=120.0))  # --long-poll
    assert allowance(V2, longer, [], _poll(20.0, 0.0)) == Held(122.0, 62.0, ())


@pytest.mark.parametrize(
    ("named", "took", "failed"),
    [
        ([], 61.9, set()),  # held the long poll: allowed
        ([], 62.5, {"long_poll_answers_in_time"}),
        (["t1"], 31.0, set()),  # a slow answer is not a held one
        (["t1"], 40.0, {"long_poll_answers_ended_at_once"}),
    ],
)
def test_the_long_poll_checks(named: list[str], took: float, failed: set[str]) -> None:
    ex = _poll(20.0, took)
    held = allowance(V2, _ended(), named, ex)
    ctx = Context("poll", ex, V2, "r1", "http://x", facts=PollFacts(held=held), token="t1")
    found = {c.name for c in REGISTRY if c.clause == "LST-3" and c.fn(ctx)}
    assert found == failed
    still = replace(ex, received=ex.sent)  # a virtual clock stood still meanwhile
    ctx = Context("poll", still, V2, "r1", "http://x", facts=PollFacts(held=held), token="t1")
    assert {c.name for c in REGISTRY if c.clause == "LST-3" and c.fn(ctx)} == failed
    timed_out = Context(
        "poll", _poll(20.0, 99.0, None), V2, "r1", "http://x", facts=PollFacts(held=held)
    )
    assert all(c.fn(timed_out) is None for c in REGISTRY if c.clause == "LST-3")


@pytest.mark.parametrize(("took", "held"), [(1.9, False), (2.5, True)])
def test_a_server_that_never_long_polls_may_answer_as_slowly_as_a_network(took, held):
    """--long-poll 0 with clock hooks (whose tolerance is 0.5 s): the time is real, so an
    answer is held only past the wall clock's slack, 2 s (or --ttl-tolerance's)."""
    model = Model(Timing(tolerance=0.5, long_poll=0.0), {})
    ex = _poll(20.0, took)
    facts = PollFacts(held=allowance(V2, model, [], ex))
    ctx = Context("poll", ex, V2, "r1", "http://x", facts=facts, token="t1")
    failed = {c.name for c in REGISTRY if c.clause == "LST-3" and c.fn(ctx)}
    assert failed == ({"long_poll_answers_in_time"} if held else set())
