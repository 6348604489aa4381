"""Rules that send requests together, as clients in a hurry do: several starts in one
session at once (CON-4), one start in each of several sessions at once (CON-3, ISO-2),
and races around a running operation (polls of one token at once, a cancel racing its
end, a start arriving as it ends).

Requests go out together through `Client.send_together` (asyncio, one connection each).
Their answers are judged by `judge_together`: the model steps them in every order the
server may have served them, so nothing is a violation that some ordering explains; a
follow-up look, sent once the batch was answered, is what pins the outcome down.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ..checks import Intent, Suspect
from ..checks.facts import PollFacts
from ..client import Call, Exchange, Session
from ..model import Rejected, Started
from ..sandbox import name_key
from .base import Answer, Area
from .lifecycle import (
    LifecycleRules,
    cancel_observation,
    poll_observation,
    start_observation,
)

#: How many starts one session sends at once. One now and then, and first in the list:
#: Hypothesis shrinks towards it, so a counterexample that needs no second start (found
#: after this rule) ends up with one, as if `start_operation` had found it.
TOGETHER = st.sampled_from((1, 2, 2, 3, 4, 5))
#: In how many sessions one start each goes out at once (as many as are free, at most):
#: one now and then and first, like `TOGETHER`, so a counterexample that needs only one
#: session shrinks to one, and makes no other session's area.
SESSIONS_TOGETHER = (1, 2, 2, 2, 3, 3, 3, 4, 4, 4)
#: How far the clock moves before a race: to about when an operation may end.
RACE_WAITS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0])


def _unrelated(key: str, keys: list[str]) -> bool:
    """No name of a batch is another's renamed form ("a" and "a (2)"), so an entry a
    refused start left behind is never taken for the accepted one's, nor the reverse."""
    return all(not key.startswith(k) and not k.startswith(key) for k in keys)


class ParallelRules(LifecycleRules):
    def _can_send_together(self) -> bool:
        return self.conn.client.can_send_together

    def _copies(self, data: st.DataObject, session: Session, count: int) -> list[Intent]:
        """`count` copies of one source into one destination under unrelated names: they
        can all succeed on their own, and whichever the server accepts, the area ends up
        the same shape (so a replay draws alike, whatever order a live server chose)."""
        area = self.area_of(session)
        entries = area.tree.in_order(n.id for n in area.tree.nodes.values() if n.id != area.root)
        if not entries:
            return []
        source = data.draw(st.sampled_from(entries), label="source")
        below = area.tree.subtree(source)
        folders = [
            f for f in area.tree.in_order(n.id for n in area.tree.folders()) if f not in below
        ]
        dest = data.draw(st.sampled_from(folders), label="destination")
        names: list[str] = []
        for _ in range(count):
            keys = [name_key(n) for n in names]
            fresh = self.names().filter(lambda n, keys=keys: _unrelated(name_key(n), keys))
            names.append(data.draw(fresh, label="name"))
        return [
            Intent("copy", session.label, source, dest, name, True, False, area.tree)
            for name in names
        ]

    def _one_start(self, data: st.DataObject, session: Session) -> Intent | None:
        """A copy or a delete of an existing entry of the session's area."""
        area = self.area_of(session)
        if data.draw(st.booleans(), label="copy?"):
            copies = self._copies(data, session, 1)
            return copies[0] if copies else None
        entries = area.tree.in_order(n.id for n in area.tree.nodes.values() if n.id != area.root)
        if not entries:
            return None
        target = data.draw(st.sampled_from(entries), label="target")
        return Intent("delete", session.label, target, None, None, False, False, area.tree)

    def _call(self, intent: Intent) -> Call:
        session = next(s for s in self.conn.sessions if s.label == intent.session)
        if intent.kind == "delete":
            return self.api.delete_call(session, intent.target)
        assert intent.dest is not None
        body = {"sourceId": intent.target, "name": intent.name}
        return self.api.copy_call(session, intent.dest, body, auto_rename=intent.auto_rename)

    def _start_answer(self, ex: Exchange, intent: Intent, *, together: bool) -> Answer:
        obs = start_observation(ex, self.conn.profile, intent.kind, intent.session)
        if isinstance(obs, Rejected):
            obs = replace(obs, together=together)
        return Answer(ex.action, ex, obs, intent=intent)

    def _refused(self, area: Area, answer: Answer, clause: str) -> None:
        """A start refused as busy must change nothing: remember it as a suspect."""
        intent = answer.intent
        if intent is None or answer.exchange.status != self.conn.profile.busy:
            return
        names = frozenset({name_key(intent.name)}) if intent.name else frozenset()
        targets = frozenset({intent.target}) if intent.kind == "delete" else frozenset()
        area.suspects.append(Suspect(clause, "start-together", names, targets))

    @precondition(lambda self: self.free_sessions() and self._can_send_together())
    @rule(data=st.data(), count=TOGETHER)
    def start_together(self, data: st.DataObject, count: int) -> None:
        """Several starts at once in a session with no running operation: one is accepted
        (or as many as the session's limit), the others refused with 429, and only its
        effects show (CON-4). A count of one is a plain start (see `TOGETHER`); more are
        always more than the limit."""
        session = self.draw_session(data, self.free_sessions())
        if count > 1:  # one more than the limit at least, so that one must be refused
            count += self.run.limit - 1
        intents = self._copies(data, session, count)
        if not intents:
            return
        exchanges = self.api.together([self._call(i) for i in intents])
        answers = [
            self._start_answer(ex, intent, together=count > 1)
            for intent, ex in zip(intents, exchanges, strict=True)
        ]
        self.judge_together("starts in one session", answers)
        area = self.area_of(session)
        accepted = [a for a in answers if isinstance(a.obs, Started)]
        if count > 1:
            recorder = self.run.recorder
            recorder.starts_together = max(recorder.starts_together, count)
            recorder.accepted_together = max(recorder.accepted_together, len(accepted))
        if len(accepted) > 1 or any(ex.error for ex in exchanges):
            area.entangled = True  # several ran, or one may have: effects can't be told apart
        for answer in answers:
            if isinstance(answer.obs, Started) and answer.intent is not None:
                self._track(answer.obs, answer.intent)
            else:
                # Refused among simultaneous starts is CON-4's case; a lone start, CON-1's.
                self._refused(area, answer, "CON-4" if count > 1 else "CON-1")
        if len(accepted) > 1:  # did they run at the same time? Look at once.
            for answer in accepted:
                assert isinstance(answer.obs, Started)
                self._poll(answer.obs.token)

    @precondition(lambda self: len(self.free_sessions()) > 1 and self._can_send_together())
    @rule(data=st.data())
    def start_in_sessions_together(self, data: st.DataObject) -> None:
        """One start in each of several free sessions, at once: sessions are independent,
        so every one is accepted (CON-3), and each works only in its own area (ISO-2).
        Now and then one session alone (see `SESSIONS_TOGETHER`)."""
        free = self.free_sessions()
        counts = [n for n in SESSIONS_TOGETHER if n <= len(free)]
        count = data.draw(st.sampled_from(counts), label="how many")
        order = data.draw(st.permutations(free), label="sessions")
        intents = [i for i in (self._one_start(data, s) for s in order[:count]) if i is not None]
        if not intents:
            return
        exchanges = self.api.together([self._call(i) for i in intents])
        answers = [
            self._start_answer(ex, intent, together=False)
            for intent, ex in zip(intents, exchanges, strict=True)
        ]
        self.judge_together("starts in several sessions", answers)
        for answer in answers:
            if isinstance(answer.obs, Started) and answer.intent is not None:
                self._track(answer.obs, answer.intent)
            elif answer.exchange.error and answer.intent is not None:
                self.areas[answer.intent.session].entangled = True  # it may have started

    @precondition(lambda self: self._running() and self._can_send_together())
    @rule(
        data=st.data(),
        polls=st.integers(1, 3),
        then=st.sampled_from(["nothing", "cancel", "start"]),
        wait=RACE_WAITS,
    )
    def race(self, data: st.DataObject, polls: int, then: str, wait: float) -> None:
        """Around a running operation's end, at once: polls of its token, and perhaps its
        cancel or another start in its session. Any order the server may have served them
        in is allowed; a poll afterwards must agree with one of them (a 204 is never
        followed by Completed, a start accepted means the operation had ended). A cancel
        and a start are never raced with each other: which one a server serves first is
        its own business, and the area's future would hang on it."""
        token = data.draw(st.sampled_from(self._running()), label="token")
        owner, intent = self.owner(token), self.tracked[token].intent
        if wait:
            self.advance(wait)
        if polls == 1 and then == "nothing":
            self._poll(token)  # nothing to race with: an ordinary poll, which shrinking
            return  # reaches from any race (the first choice of each argument)
        calls = [self.api.poll_call(owner, token) for _ in range(polls)]
        if then == "cancel":
            calls.append(self.api.cancel_call(owner, token))
        extra = self._one_start(data, owner) if then == "start" else None
        if extra is not None:
            calls.append(self._call(extra))
        exchanges = self.api.together(calls)
        answers = []
        for ex in exchanges:
            if ex.action == "poll":
                obs = poll_observation(ex, self.conn.profile, token)
                self._count_ended_poll(token, obs)
                facts = PollFacts(MappingProxyType(dict(self.op_types)))
                answers.append(Answer("poll", ex, obs, token, intent, facts))
            elif ex.action == "cancel":
                obs = cancel_observation(ex, self.conn.profile, token)
                answers.append(Answer("cancel", ex, obs, token, intent))
            else:
                assert extra is not None
                answers.append(self._start_answer(ex, extra, together=False))
        self.judge_together(f"race: polls{' + ' + then if len(calls) > polls else ''}", answers)
        for answer in answers:
            if answer.action == "cancel":
                self._lost_sight(token, answer.obs)
        area = self.area_of(owner)
        for answer in answers[polls + (then == "cancel") :]:
            if isinstance(answer.obs, Started) and answer.intent is not None:
                area.entangled = True  # legal only if the operation had ended: look
                self._track(answer.obs, answer.intent)
            else:
                self._refused(area, answer, "CON-1")
        if not self.tracked[token].settled:
            self._poll(token)  # what it came to: the batch's answers must allow it
