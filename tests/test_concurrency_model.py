"""The model judging requests sent together: every order the event numbers allow is tried,
and only an outcome no ordering explains is a violation (CON-4, and the races of a cancel,
of polls and of a start around an operation's end)."""

from __future__ import annotations

from contract.model import (
    CancelAccepted,
    CancelRefused,
    Model,
    Outcome,
    Rejected,
    Seen,
    Started,
    Status,
    Timing,
    Violation,
    step,
)
from contract.together import Unordered, step_together

S = Status
AT = (0.0, 0.0)  # a virtual clock: one instant; only the event numbers order requests


class Trace:
    """Feeds observations to the model, numbering events as a client would."""

    def __init__(self, limit: int = 1) -> None:
        self.model = Model(Timing(), limit=limit)
        self.event = 0

    def _next(self) -> int:
        self.event += 1
        return self.event

    def one(self, obs_of):  # type: ignore[no-untyped-def]
        """One request, answered before the next is sent."""
        sent = self._next()
        order = (sent, self._next())
        return self._apply(step(self.model, obs_of(order)))

    def together(self, *obs_of):  # type: ignore[no-untyped-def]
        """Requests all sent before any was answered."""
        sent = [self._next() for _ in obs_of]
        orders = [(s, self._next()) for s in sent]
        timed = [(make(o), o) for make, o in zip(obs_of, orders, strict=True)]
        return self._apply(step_together(self.model, timed))

    def _apply(self, result):  # type: ignore[no-untyped-def]
        if isinstance(result, Outcome):
            self.model = result.model
        return result


def started(token: str, session: str = "s1"):  # type: ignore[no-untyped-def]
    return lambda order: Started(token, "copy", session, AT, order)


def refused(session: str = "s1", together: bool = True):  # type: ignore[no-untyped-def]
    return lambda order: Rejected(session, AT, together)


def seen(token: str, status: Status, percent: int | None = None):  # type: ignore[no-untyped-def]
    return lambda order: Seen(token, status, AT, percent, order)


def cancel_ok(token: str):  # type: ignore[no-untyped-def]
    return lambda order: CancelAccepted(token, AT)


def cancel_refused(token: str):  # type: ignore[no-untyped-def]
    return lambda order: CancelRefused(token, AT)


def test_one_accepted_the_others_refused_is_consistent_whatever_the_answer_order():
    trace = Trace()
    # The refusals were answered before the acceptance: still explained (served after it).
    result = trace.together(refused(), refused(), started("a"), refused())
    assert isinstance(result, Outcome) and "CON-4" in result.exercised


def test_none_of_several_starts_accepted_in_a_fresh_session_is_con4():
    result = Trace().together(refused(), refused(), refused())
    assert isinstance(result, Violation) and result.clause == "CON-4"


def test_none_accepted_after_the_session_had_an_operation_is_the_slot_not_freed():
    trace = Trace()
    trace.one(started("a"))
    trace.one(seen("a", S.COMPLETED))
    result = trace.together(refused(), refused())
    assert isinstance(result, Violation) and result.clause == "CON-2"


def test_two_accepted_is_no_violation_until_both_are_seen_running_afterwards():
    trace = Trace()
    assert isinstance(trace.together(started("a"), started("b"), refused()), Outcome)
    # A fast server: the first ended before the second was accepted. Allowed.
    assert isinstance(trace.one(seen("a", S.COMPLETED)), Outcome)
    assert isinstance(trace.one(seen("b", S.IN_PROGRESS)), Outcome)


def test_two_accepted_and_both_seen_running_is_con4():
    trace = Trace()
    trace.together(started("a"), started("b"))
    assert isinstance(trace.one(seen("a", S.NOT_STARTED)), Outcome)
    result = trace.one(seen("b", S.NOT_STARTED))
    assert isinstance(result, Violation) and result.clause == "CON-4"


def test_both_seen_running_by_polls_sent_together_is_con4_too():
    trace = Trace()
    trace.together(started("a"), started("b"))
    result = trace.together(seen("a", S.IN_PROGRESS), seen("b", S.IN_PROGRESS))
    assert isinstance(result, Violation) and result.clause == "CON-4"


def test_one_after_the_other_is_still_con1():
    trace = Trace()
    trace.one(started("a"))
    trace.one(started("b"))
    result = trace.one(seen("a", S.IN_PROGRESS))
    assert isinstance(result, Violation) and result.clause == "CON-1"


def test_a_cancel_racing_the_end_may_be_refused_while_a_poll_saw_it_running():
    trace = Trace()
    trace.one(started("a"))
    # Served poll first, then the operation ended, then the cancel: allowed.
    result = trace.together(seen("a", S.IN_PROGRESS), cancel_refused("a"))
    assert isinstance(result, Outcome)
    assert isinstance(trace.one(seen("a", S.COMPLETED)), Outcome)


def test_a_cancel_racing_the_end_accepted_means_cancelled():
    trace = Trace()
    trace.one(started("a"))
    assert isinstance(trace.together(seen("a", S.IN_PROGRESS), cancel_ok("a")), Outcome)
    assert isinstance(trace.one(seen("a", S.CANCELLED)), Outcome)


def test_a_204_followed_by_completed_is_never_explained():
    trace = Trace()
    trace.one(started("a"))
    trace.together(seen("a", S.IN_PROGRESS), cancel_ok("a"))
    result = trace.one(seen("a", S.COMPLETED))
    assert isinstance(result, Violation) and result.clause == "CAN-1"


def test_a_204_beside_a_completed_poll_is_no_ordering():
    trace = Trace()
    trace.one(started("a"))
    result = trace.together(seen("a", S.COMPLETED), cancel_ok("a"))
    # Broken either way, but under a clause that depends on the order: a cancel accepted
    # and then Completed (CAN-1), or Completed and then a cancel accepted (CAN-3).
    assert isinstance(result, Unordered)
    assert {v.clause for v in result.violations} == {"CAN-1", "CAN-3"}


def test_polls_together_may_disagree_only_as_an_ordering_allows():
    trace = Trace()
    trace.one(started("a"))
    # Completed first in answer order, InProgress later: the InProgress poll was served first.
    result = trace.together(seen("a", S.COMPLETED, 100), seen("a", S.IN_PROGRESS, 40))
    assert isinstance(result, Outcome)
    assert trace.model.ops["a"].terminal is S.COMPLETED
    trace2 = Trace()
    trace2.one(started("a"))
    result = trace2.together(seen("a", S.COMPLETED), seen("a", S.FAILED))
    assert isinstance(result, Violation) and result.clause == "STA-4"


def test_a_start_arriving_as_the_previous_operation_ends():
    # Accepted, while a poll sent with it saw the previous one running: it ended between.
    trace = Trace()
    trace.one(started("a"))
    result = trace.together(seen("a", S.IN_PROGRESS), started("b"))
    assert isinstance(result, Outcome)
    assert isinstance(trace.one(seen("a", S.COMPLETED)), Outcome)
    # Refused, while a poll sent with it saw the previous one ended: served before the end.
    trace = Trace()
    trace.one(started("a"))
    result = trace.together(seen("a", S.COMPLETED), refused(together=False))
    assert isinstance(result, Outcome)
    # Accepted, and the previous one still seen running afterwards: both ran at once.
    trace = Trace()
    trace.one(started("a"))
    trace.together(seen("a", S.IN_PROGRESS), started("b"))
    result = trace.one(seen("a", S.IN_PROGRESS))
    assert isinstance(result, Violation) and result.clause == "CON-1"


def test_requests_answered_before_others_were_sent_are_not_reordered():
    trace = Trace()
    trace.one(started("a"))
    trace.one(seen("a", S.COMPLETED))
    # Sequential within the batch: the InProgress came after Completed, really.
    completed, running = (3 + 2, 3 + 3), (3 + 4, 3 + 5)
    timed = [(Seen("a", S.COMPLETED, AT, None, completed), completed)]
    timed.append((Seen("a", S.IN_PROGRESS, AT, None, running), running))
    result = step_together(trace.model, timed)
    assert isinstance(result, Violation) and result.clause == "STA-4"


def test_a_refusal_beside_another_sessions_start_names_no_clause():
    """Which clause a 429 beside another session's accepted start breaks depends on the
    order the server served them: before it, this session's slot was not freed (CON-2);
    after it, one session blocked another (CON-3). The model names neither."""
    trace = Trace()
    result = trace.together(started("a", session="s1"), refused(session="s2", together=False))
    assert isinstance(result, Unordered)
    assert {v.clause for v in result.violations} == {"CON-2", "CON-3"}
    # A session that had an operation: served after the other start, nothing is said.
    trace = Trace()
    trace.one(started("old", session="s2"))
    trace.one(seen("old", S.CANCELLED))
    result = trace.together(started("a", session="s1"), refused(session="s2", together=False))
    assert isinstance(result, Outcome)


# --- a session limit of more than one (--operation-limit) -----------------------------------


def test_up_to_the_limit_run_at_once_and_one_more_is_con1():
    trace = Trace(limit=2)
    trace.one(started("a"))
    trace.one(started("b"))
    assert isinstance(trace.one(seen("a", S.IN_PROGRESS)), Outcome)
    assert "CON-1" in trace.one(refused(together=False)).exercised
    trace.one(started("c"))
    assert isinstance(trace.one(seen("b", S.IN_PROGRESS)), Outcome)  # a may have ended
    result = trace.one(seen("a", S.IN_PROGRESS))
    assert isinstance(result, Violation) and result.clause == "CON-1"
    assert "limit of 2" in result.title and "'a', copy 'b'" in result.expected


def test_a_refusal_below_the_limit_is_a_slot_not_free():
    trace = Trace(limit=2)
    trace.one(started("a"))
    result = trace.one(refused(together=False))
    assert isinstance(result, Violation) and result.clause == "CON-2"
    assert "below the session's limit of 2" in result.title


def test_of_starts_sent_together_as_many_as_the_limit_may_be_accepted():
    trace = Trace(limit=2)
    assert isinstance(trace.together(started("a"), started("b"), refused()), Outcome)
    assert isinstance(trace.together(seen("a", S.IN_PROGRESS), seen("b", S.IN_PROGRESS)), Outcome)


def test_more_of_them_than_the_limit_all_seen_running_is_con4():
    trace = Trace(limit=2)
    trace.together(started("a"), started("b"), started("c"))
    result = trace.together(
        seen("a", S.IN_PROGRESS), seen("b", S.IN_PROGRESS), seen("c", S.IN_PROGRESS)
    )
    assert isinstance(result, Violation) and result.clause == "CON-4"
    assert "at most 2" in result.expected
