"""The lifecycle model on its own: valid traces pass, broken ones name the right clause."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.checks import violation_failure
from contract.model import (
    ENDED,
    RUNNING,
    TRANSITIONS,
    CancelAccepted,
    CancelRefused,
    ForeignCancel,
    Gone,
    Model,
    Outcome,
    Rejected,
    Said,
    Seen,
    Started,
    Status,
    Timing,
    Unplaced,
    Violation,
    closure,
    step,
)
from contract.profiles import profile

S = Status
TIMING = Timing(ttl=900.0, tolerance=0.5)
_order = iter(range(1, 10**9))


def at(t: float) -> tuple[float, float]:
    return (t, t)


def order() -> tuple[int, int]:
    n = next(_order)
    return (2 * n, 2 * n + 1)


def run(*observations):
    """Feed observations in turn; the final model, or the first violation."""
    model = Model(TIMING)
    for obs in observations:
        result = step(model, obs)
        if isinstance(result, Violation):
            return result
        assert isinstance(result, Outcome)
        model = result.model
    return model


def start(token: str = "t1", t: float = 0.0, session: str = "s1", kind: str = "copy") -> Started:
    return Started(token, kind, session, at(t), order())  # type: ignore[arg-type]


def seen(status: Status, t: float, token: str = "t1", percent: int | None = None) -> Seen:
    return Seen(token, status, at(t), percent, order())


def test_transition_table_runs_forward_and_terminal_states_absorb():
    assert closure(frozenset({S.NOT_STARTED})) == frozenset(Status)
    for state in ENDED:
        assert TRANSITIONS[state] == {S.EXPIRED}
    assert TRANSITIONS[S.EXPIRED] == frozenset()


@st.composite
def valid_traces(draw):
    """A trace a correct server could produce: a walk along the table, polled at rising times."""
    path = [draw(st.sampled_from(sorted(RUNNING, key=lambda s: s.value)))]
    while path[-1] in RUNNING:
        nxt = sorted(TRANSITIONS[path[-1]] - {S.CANCELLED}, key=lambda s: s.value)
        path.append(draw(st.sampled_from(nxt)))
    t, observations, first_end = 0.0, [start(t=0.0)], None
    for state in path:
        for _ in range(draw(st.integers(1, 3))):
            t += draw(st.floats(0.1, 100.0))
            observations.append(seen(state, t))
            first_end = t if state in ENDED and first_end is None else first_end
    if draw(st.booleans()):  # polled again inside the TTL, then after it
        later = first_end + draw(st.floats(0.0, TIMING.ttl - 1.0))
        observations.append(seen(path[-1], max(t, later)))
        observations.append(Gone("t1", at(max(t, later) + TIMING.ttl + 1.0)))
    return observations


@given(valid_traces())
def test_any_valid_trace_is_accepted(trace):
    assert isinstance(run(*trace), Model)


@given(
    st.sampled_from(sorted(ENDED, key=lambda s: s.value)),
    st.sampled_from(sorted(set(Status) - {S.EXPIRED}, key=lambda s: s.value)),
)
def test_a_terminal_state_never_changes(first, then):
    result = run(start(), seen(first, 1.0), seen(then, 2.0))
    if then == first:
        assert isinstance(result, Model)
    else:
        assert isinstance(result, Violation) and result.clause == "STA-4"


def test_out_of_order_trace_is_rejected():
    result = run(start(), seen(S.IN_PROGRESS, 1.0), seen(S.NOT_STARTED, 2.0))
    assert isinstance(result, Violation) and result.clause == "STA-4"


def test_expiry_windows():
    ended = (start(), seen(S.IN_PROGRESS, 5.0), seen(S.COMPLETED, 10.0))
    assert run(*ended, Gone("t1", at(400.0))).clause == "EXP-1"
    assert isinstance(run(*ended, Gone("t1", at(10.0 + 900))), Model)  # within the uncertain edge
    assert run(*ended, seen(S.COMPLETED, 10.0 + 900 + 1)).clause == "EXP-2"
    assert isinstance(run(*ended, seen(S.COMPLETED, 10.0 + 900 - 1)), Model)


def test_ttl_counted_from_start_is_told_apart():
    """Seen just before a TTL counted from the start ends and gone just after: EXP-3."""
    ended = (start(t=0.0), seen(S.IN_PROGRESS, 60.0), seen(S.COMPLETED, 61.0))
    assert run(*ended, seen(S.COMPLETED, 899.2), Gone("t1", at(900.6))).clause == "EXP-3"


@pytest.mark.parametrize(
    "looks",
    [
        [Gone("t1", at(910.0))],  # never seen near the start's TTL: merely short fits
        [seen(S.COMPLETED, 899.2), Gone("t1", at(910.0))],  # gone long after that moment
        [seen(S.COMPLETED, 890.0), Gone("t1", at(900.6))],  # seen long before it
    ],
)
def test_a_token_gone_early_without_that_evidence_is_an_expiry_too_soon(looks):
    ended = (start(t=0.0), seen(S.IN_PROGRESS, 60.0), seen(S.COMPLETED, 61.0))
    assert run(*ended, *looks).clause == "EXP-1"


def test_a_live_token_must_not_vanish():
    assert run(start(), seen(S.IN_PROGRESS, 1.0), Gone("t1", at(2.0))).clause == "STA-1"


def test_a_token_gone_soon_after_an_accepted_cancel_expired_too_soon():
    """The cancel ends it, unseen: a vanishing is an expiry before the TTL, not a live
    token lost (the wall-clock run of the short-TTL fault cancels and polls 3 s later)."""
    cancelled = (start(), CancelAccepted("t1", at(0.7)), Gone("t1", at(3.8)))
    assert run(*cancelled).clause == "EXP-1"


def test_second_start_accepted_while_first_runs_is_caught():
    result = run(start("a"), start("b"), seen(S.IN_PROGRESS, 0.0, token="a"))
    assert isinstance(result, Violation) and result.clause == "CON-1"
    # ...but not when the first was seen ended before the second start
    assert isinstance(
        run(
            start("a"),
            seen(S.COMPLETED, 1.0, token="a"),
            start("b", 1.0),
            seen(S.IN_PROGRESS, 1.0, token="b"),
        ),
        Model,
    )


def test_slot_must_free_and_sessions_are_independent():
    done = (start("a"), seen(S.FAILED, 1.0, token="a"))
    assert run(*done, Rejected("s1", at(2.0))).clause == "CON-2"
    other_busy = (start("b", 1.0, session="s2"),)
    assert run(*other_busy, Rejected("s1", at(2.0))).clause == "CON-3"
    # A session that had an operation, refused while another session's runs: its slot not
    # freed (CON-2) or blocked by the other (CON-3)? One refusal cannot tell: nothing said.
    ended_then_other_busy = (*done, start("b", 1.0, session="s2"))
    assert isinstance(run(*ended_then_other_busy, Rejected("s1", at(2.0))), Model)
    assert isinstance(run(start("a"), Rejected("s1", at(0.0))), Model)


def test_token_reuse_while_retrievable_is_caught():
    assert run(start("a"), seen(S.COMPLETED, 1.0, token="a"), start("a", 2.0)).clause == "SUB-2"
    assert isinstance(
        run(
            start("a"),
            seen(S.COMPLETED, 1.0, token="a"),
            Gone("a", at(1.0 + 901)),
            start("a", 1.0 + 902),
        ),
        Model,
    )


def test_cancellation_rules():
    assert run(start(), CancelAccepted("t1", at(1.0)), seen(S.COMPLETED, 2.0)).clause == "CAN-1"
    assert isinstance(run(start(), CancelAccepted("t1", at(1.0)), seen(S.CANCELLED, 2.0)), Model)
    assert run(start(), seen(S.COMPLETED, 1.0), CancelAccepted("t1", at(2.0))).clause == "CAN-3"
    refused = (start(), seen(S.COMPLETED, 1.0), CancelRefused("t1", at(2.0)))
    assert run(*refused, seen(S.CANCELLED, 3.0)).clause == "CAN-3"
    assert (
        run(start(), seen(S.COMPLETED, 1.0), CancelRefused("t1", at(1.0 + 902))).clause == "CAN-4"
    )


def test_a_foreign_cancel_must_not_cancel():
    result = run(start(), ForeignCancel("t1", at(1.0)), seen(S.CANCELLED, 2.0))
    assert isinstance(result, Violation) and result.clause == "ISO-1"


# --- answers no situation allows are charged, never set aside --------------------------


def unplaced(t: float, via: str = "poll", answer: str = "410") -> Unplaced:
    return Unplaced("t1", at(t), via, answer, "what the profile lists")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("before", "via", "t", "clause"),
    [
        # Ended at 2, expired surely after 902.5: a 410 is a wrong "gone".
        ([seen(S.COMPLETED, 2.0)], "poll", 1000.0, "EXP-2"),
        ([seen(S.COMPLETED, 2.0)], "cancel", 1000.0, "CAN-4"),
        # Might have expired (the end is somewhere after 2, not seen): still the expiry's.
        ([seen(S.IN_PROGRESS, 2.0)], "poll", 1000.0, "EXP-2"),
        # Surely retrievable: a poll answers its status, a cancel 204 or 400.
        ([seen(S.IN_PROGRESS, 2.0)], "poll", 3.0, "STA-1"),
        ([seen(S.IN_PROGRESS, 2.0)], "cancel", 3.0, "CAN-1"),
        ([seen(S.FAILED, 2.0)], "cancel", 3.0, "CAN-3"),
        ([seen(S.FAILED, 2.0)], "poll", 3.0, "STA-1"),
    ],
)
def test_an_answer_no_situation_allows_is_charged_to_the_situation_s_clause(before, via, t, clause):
    result = run(start(), *before, unplaced(t, via))
    assert isinstance(result, Violation), result
    assert result.clause == clause and result.actual == "410", result


def test_a_cancel_without_credentials_that_acted_is_aut1_and_with_a_foreign_one_nobody_s():
    credentials = ForeignCancel("t1", at(1.0), "credentials")
    result = run(start(), credentials, seen(S.CANCELLED, 2.0))
    assert isinstance(result, Violation) and result.clause == "AUT-1", result
    assert run(start(), seen(S.IN_PROGRESS, 0.5), credentials, seen(S.IN_PROGRESS, 2.0)).ops
    # Another session and a credential-less request both tried: either may have done it.
    both = run(start(), credentials, ForeignCancel("t1", at(1.5)), seen(S.CANCELLED, 2.0))
    assert not isinstance(both, Violation), both


def test_the_model_names_answers_and_the_dialect_gives_their_codes():
    """The model is wire-free: its texts name an answer ("gone", "cancel accepted"), and a
    failure carries the profile's status code in its place."""
    expired = run(start(), seen(S.COMPLETED, 1.0), CancelAccepted("t1", at(1.0 + 902)))
    assert (expired.clause, expired.expected, expired.actual) == (
        "CAN-4",
        Said.GONE,
        Said.CANCEL_ACCEPTED,
    )
    failure = violation_failure(expired, profile("openapi-v1"))
    assert (failure.expected, failure.actual) == ("404", "204")
    ended = run(start(), seen(S.COMPLETED, 1.0), CancelAccepted("t1", at(2.0)))
    assert violation_failure(ended, profile("guide-v1")).expected.startswith("400 (the operation")
