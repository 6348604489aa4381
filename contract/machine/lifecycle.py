"""Rules that walk operations through their lifecycle: fixtures, starts, polls,
waits, cancels, the clock, and probes at the edges of a token's lifetime."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

import strategies as gen

from ..api import listed_entries
from ..checks import (
    Held,
    Intent,
    Suspect,
    allowance,
    location_entry,
    outside_changes,
    split_change,
)
from ..checks.facts import (
    EndFacts,
    FollowFacts,
    ListingFacts,
    LookFacts,
    LookupFacts,
    PollFacts,
    SettledFacts,
    StartFacts,
)
from ..client import Exchange, Session
from ..dialects import CancelSaid
from ..model import (
    ENDED,
    TRANSITIONS,
    CancelAccepted,
    CancelReceived,
    CancelRefused,
    ForeignCancel,
    Gone,
    Kind,
    Observation,
    Rejected,
    Seen,
    Started,
    Status,
    Unplaced,
    definitely_expired,
)
from ..profiles import Profile
from ..sandbox import Change, Node, Tree, diff, name_key
from .base import BIG_SUBTREE, COMMON, Area, MachineBase, Run, Tracked  # noqa: F401

# --- what an answer tells the model (also used by `lro-conformance replay`) ------------


def start_observation(
    ex: Exchange, profile: Profile, kind: Kind, session: str
) -> Observation | None:
    """A start's answer: an operation started (2xx with a token), refused as busy, or
    nothing the model tracks."""
    token = profile.started_token(ex.status, ex.json())
    if token is not None:
        return Started(token, kind, session, ex.at, ex.order)
    if ex.status == profile.busy:
        return Rejected(session, ex.at)
    return None


def poll_observation(ex: Exchange, profile: Profile, token: str) -> Observation | None:
    """A poll's answer: the state seen, the token gone, a status no situation allows
    (`Unplaced`: the model charges it to a clause), or nothing the model tracks (no
    answer, a 2xx or 3xx the checks judge, a gateway's or rate limit's answer)."""
    report = profile.read_poll(ex, token)
    if report.status in {s.value for s in Status}:
        pct = report.percent
        pct = pct if isinstance(pct, int) and not isinstance(pct, bool) else None
        return Seen(token, Status(report.status), ex.at, pct, ex.order)
    if report.gone:
        return Gone(token, ex.at, "poll")
    if ex.status is not None and ex.status >= 400 and ex.status not in profile.unavailable:
        return Unplaced(token, ex.at, "poll", str(ex.status), profile.allowed("poll"))
    return None


def cancel_observation(ex: Exchange, profile: Profile, token: str) -> Observation | None:
    """A cancel's answer: accepted, refused (the operation had ended), received (v2: either,
    by the states possible then), the token gone, a status no situation allows
    (`Unplaced`), or nothing (no answer, a gateway's)."""
    if ex.status is None or ex.status in profile.unavailable:
        return None
    said = profile.read_cancel(ex, token)
    if said is None:
        return Unplaced(token, ex.at, "cancel", str(ex.status), profile.allowed("cancel"))
    return {
        CancelSaid.ACCEPTED: CancelAccepted(token, ex.at),
        CancelSaid.REFUSED: CancelRefused(token, ex.at),
        CancelSaid.RECEIVED: CancelReceived(token, ex.at, ex.order),
        CancelSaid.GONE: Gone(token, ex.at, "cancel"),
    }[said]


def _work(intent: Intent) -> int:
    """Entries an operation has to copy or delete, as the area stood when it started."""
    return len(intent.before.subtree(intent.target))


#: At most this many entries of a Completed delete's subtree are looked up by id.
DELETED_LOOKUPS = 25


class LifecycleRules(MachineBase):
    # --- fixtures -------------------------------------------------------------------

    @precondition(lambda self: self.free_sessions())
    @rule(data=st.data(), shape=gen.tree_shapes())
    def build_tree(self, data: st.DataObject, shape: gen.Shape) -> None:
        """Create a folder tree inside a free session's area (the documented create call)."""
        area = self.area_of(self.draw_session(data, self.free_sessions()))
        # An area the server removed (a delete that took more than asked) has no folders
        # left: its root then, and the create's answer says it is gone.
        folders = area.tree.in_order(n.id for n in area.tree.folders()) or [area.root]
        parent = data.draw(st.sampled_from(folders), label="parent")
        self._build(area, parent, shape)

    # --- starting operations ----------------------------------------------------------

    def _copy_request(self, data: st.DataObject, area: Area) -> tuple[int, int, str, bool]:
        """Mostly a copy that can succeed; sometimes into its own subtree, onto a taken
        name, or from or into a removed entry."""
        source = self._entry_choice(data, area, folders=False, root=True)
        below = area.tree.subtree(source)
        folders = area.tree.in_order(n.id for n in area.tree.folders())
        outside = [f for f in folders if f not in below]
        unusual = [f for f in folders if f in below] + sorted(self.gone)
        dest = data.draw(
            st.sampled_from(outside * COMMON + unusual or [area.root]), label="destination"
        )
        taken = [n.name for n in area.tree.children(dest)] if dest in area.tree else []
        # Now and then a taken name, as it is or in other case (a conflict where names are
        # case-insensitive, a new name where they are not: both correct).
        taken_names = st.sampled_from(taken).flatmap(
            lambda n: gen.mostly(st.just(n), gen.case_variants(n), odds=2)
        )
        names = gen.mostly(self.names(), taken_names) if taken else self.names()
        name = data.draw(names, label="name")
        return source, dest, name, data.draw(st.booleans(), label="autoRename")

    def _start_copy(
        self, data: st.DataObject, session: Session, action: str
    ) -> tuple[Exchange, Intent]:
        area = self.area_of(session)
        return self._send_copy(session, action, *self._copy_request(data, area))

    def _send_copy(
        self, session: Session, action: str, source: int, dest: int, name: str, auto: bool
    ) -> tuple[Exchange, Intent]:
        area = self.area_of(session)
        missing = self._missing(source, dest)
        intent = Intent("copy", session.label, source, dest, name, auto, missing, area.tree)
        ex = self.api.start_copy(
            session, dest, {"sourceId": source, "name": name}, auto_rename=auto, action=action
        )
        return ex, intent

    def _send_delete(self, session: Session, action: str, target: int) -> tuple[Exchange, Intent]:
        area = self.area_of(session)
        missing = self._missing(target)
        intent = Intent("delete", session.label, target, None, None, False, missing, area.tree)
        return self.api.start_delete(session, target, action=action), intent

    def _start_delete(
        self, data: st.DataObject, session: Session, action: str
    ) -> tuple[Exchange, Intent] | None:
        area = self.area_of(session)
        if len(area.tree.nodes) < 2 and not self.gone:
            return None
        target = self._entry_choice(data, area, folders=False, root=False)
        return self._send_delete(session, action, target)

    def _start(
        self, data: st.DataObject, session: Session, *, busy: bool
    ) -> tuple[Exchange, Intent] | None:
        copy = data.draw(st.booleans(), label="copy?")
        action = "start-busy" if busy else ("start-copy" if copy else "start-delete")
        if copy:
            return self._start_copy(data, session, action)
        return self._start_delete(data, session, action)

    def _start_judged(
        self, data: st.DataObject, session: Session, *, busy: bool
    ) -> tuple[Exchange, Intent, Observation | None] | None:
        """Start a copy or delete and judge the answer: the exchange, intent, observation."""
        started = self._start(data, session, busy=busy)
        if started is None:
            return None
        ex, intent = started
        return ex, intent, self._judge_start(ex, intent)

    def _judge_start(self, ex: Exchange, intent: Intent) -> Observation | None:
        obs = self._accepted(ex, intent)
        facts = StartFacts(self._present(ex, intent))
        self.judge(ex.action, ex, obs=obs, intent=intent, facts=facts)
        return obs

    def _present(self, ex: Exchange, intent: Intent) -> bool:
        """Every entry a start in a free session names is surely there: its area's picture
        is verified (nothing entangled, no request under suspicion since) and holds them.
        A 404 then answers a start that is not missing anything (SUB-1)."""
        area = self.areas.get(intent.session)
        if ex.action not in ("start-copy", "start-delete") or area is None or intent.missing:
            return False
        named = [intent.target] + ([intent.dest] if intent.dest is not None else [])
        return (
            not area.entangled
            and not area.suspects
            and all(isinstance(i, int) and i in area.tree for i in named)
        )

    def start_copy_of(self, session: Session, source: int, dest: int, name: str) -> str | None:
        """A copy chosen by a script (the expiry probe), judged and tracked like any other;
        its token, or None when it did not start."""
        ex, intent = self._send_copy(session, "start-copy", source, dest, name, True)
        return self._track(self._judge_start(ex, intent), intent)

    def _accepted(self, ex: Exchange, intent: Intent) -> Observation | None:
        return start_observation(ex, self.conn.profile, intent.kind, intent.session)

    def _track(self, obs: Observation | None, intent: Intent) -> str | None:
        if not isinstance(obs, Started):
            return None
        others = [t for t in self.tracked.values() if t.intent.session != intent.session]
        busy = any(self.model.may_be_running(self.model.ops[t.token], self.now) for t in others)
        for t in others:
            t.others_ran = True
        self.tracked[obs.token] = Tracked(obs.token, intent, others_ran=busy)
        for area in self.areas.values():
            area.operations_ran = True
        return obs.token

    @precondition(lambda self: self.free_sessions())
    @rule(data=st.data())
    def start_operation(self, data: st.DataObject) -> None:
        """Start a copy or delete in a session with no running operation."""
        started = self._start_judged(
            data, self.draw_session(data, self.free_sessions()), busy=False
        )
        if started is not None:
            self._track(started[2], started[1])

    @precondition(lambda self: self.gone and self.free_sessions())
    @rule(data=st.data())
    def start_on_removed(self, data: st.DataObject) -> None:
        """Copy from or into, or delete, an entry this example saw removed: the start is
        refused (404) or the operation fails, it never completes (SUB-4). The ordinary
        starts pick a removed entry only now and then; this rule aims at it."""
        session = self.draw_session(data, self.free_sessions())
        area = self.area_of(session)
        gone = data.draw(st.sampled_from(sorted(self.gone)), label="removed entry")
        how = data.draw(st.sampled_from(["copy from", "copy into", "delete"]), label="how")
        if how == "delete":
            ex, intent = self._send_delete(session, "start-delete", gone)
        else:
            inside = data.draw(
                st.sampled_from(area.tree.in_order(area.tree.nodes) or [area.root]), label="entry"
            )
            source, dest = (gone, inside) if how == "copy from" else (inside, gone)
            name = data.draw(self.names(), label="name")
            auto = data.draw(st.booleans(), label="autoRename")
            ex, intent = self._send_copy(session, "start-copy", source, dest, name, auto)
        self._track(self._judge_start(ex, intent), intent)

    def _big_roots(self, session: Session) -> list[int]:
        """Roots of the deep or wide subtrees in the session's area (none before it has one)."""
        area = self.areas.get(session.label)
        if area is None:
            return []
        tree = area.tree
        return [
            i
            for i in tree.in_order(tree.nodes)
            if i != area.root
            and (len(tree.subtree(i)) >= BIG_SUBTREE or tree.height(i) >= gen.DEEP)
        ]

    def _sessions_with_big(self) -> list[Session]:
        return [s for s in self.free_sessions() if self._big_roots(s)]

    @precondition(lambda self: self._sessions_with_big())
    @rule(data=st.data())
    def start_on_big(self, data: st.DataObject) -> None:
        """Copy (out of it) or delete a whole deep or wide subtree. Depth- and size-dependent
        bugs (a recursion that stops some levels down, a worker that handles one page of
        children) show only at its far end, and a deep tree is a chain of few entries: the
        ordinary starts, drawing among all entries, reach its root in one start of a dozen
        or so, and a fixture tree is deep or wide one time in five. This rule aims at it and
        mostly waits for the end, where those bugs show."""
        session = self.draw_session(data, self._sessions_with_big())
        area = self.area_of(session)
        roots = self._big_roots(session)  # again: area_of may have settled an operation
        if not roots:
            return
        root = data.draw(st.sampled_from(roots), label="subtree")
        if data.draw(st.booleans(), label="copy?"):
            below = area.tree.subtree(root)
            outside = [n.id for n in area.tree.folders() if n.id not in below] or [area.root]
            dest = data.draw(st.sampled_from(outside), label="destination")
            name = data.draw(self.names(), label="name")
            ex, intent = self._send_copy(session, "start-copy", root, dest, name, True)
        else:
            ex, intent = self._send_delete(session, "start-delete", root)
        token = self._track(self._judge_start(ex, intent), intent)
        # Mostly seen through to its end at once: left running, the cancel rules (which
        # favour operations with much left to do) would end most of them first.
        if token is not None and data.draw(gen.mostly(st.just(True), st.just(False), odds=2)):
            self._wait_for_end(data, token)

    @precondition(lambda self: self.busy_sessions())
    @rule(data=st.data())
    def start_while_busy(self, data: st.DataObject) -> None:
        """Start another operation in a session whose operation may still run: 429 expected."""
        session = self.draw_session(data, self.busy_sessions())
        started = self._start_judged(data, session, busy=True)
        if started is None:
            return
        _, intent, obs = started
        area = self.area_of(session)
        if isinstance(obs, Started):  # legal only if the first one ended meanwhile: look
            area.entangled = True
            earlier = [t for t in self.tracked.values() if t.intent.session == session.label]
            self._track(obs, intent)
            for t in earlier:
                if self.model.may_be_running(self.model.ops[t.token], self.now):
                    self._poll(t.token)
        else:
            names = frozenset({name_key(intent.name)}) if intent.name else frozenset()
            targets = frozenset({intent.target}) if intent.kind == "delete" else frozenset()
            area.suspects.append(Suspect("CON-1", "start-busy", names, targets))

    # --- polling, settling ------------------------------------------------------------

    def _observe_poll(self, ex: Exchange, token: str) -> Observation | None:
        return poll_observation(ex, self.conn.profile, token)

    def _poll(self, token: str) -> Exchange:
        before = self.model
        ex = self.api.poll(self.owner(token), token)
        self._judge_poll(token, ex, held=allowance(self.conn.profile, before, [token], ex))
        return ex

    @precondition(lambda self: self.tracked and self.conn.profile.tasks_query() is not None)
    @rule(data=st.data(), everything=st.booleans())
    def poll_several(self, data: st.DataObject, everything: bool) -> None:
        """One poll of several tasks (v2): the session's own, one named twice, an id never
        issued and another session's; or none named, for every task of the session. The
        listing is judged as a whole (LST-1, LST-2), and what it says of each of the
        session's tasks as a poll of that task."""
        session = self.draw_session(data, self.conn.sessions)
        mine, others, never = self._named_with(data, session)
        asked = [] if everything else [*mine, *mine[:1], *others[:1], never]
        model = self.model
        ex = self.api.poll_several(session, asked)
        held = allowance(self.conn.profile, model, [t for t in asked if t in mine], ex)
        for token in mine:
            self._judge_poll(token, ex)
        facts = ListingFacts(tuple(asked), tuple(mine), tuple(others), held)
        self.judge("poll-several", ex, facts=facts)

    def _named_with(
        self, data: st.DataObject, session: Session
    ) -> tuple[list[str], list[str], str]:
        """What a listing of several tasks may name: the session's tasks, the other
        sessions', and an id never issued (drawn)."""
        mine = [t for t, tr in self.tracked.items() if tr.intent.session == session.label]
        others = [t for t, tr in self.tracked.items() if tr.intent.session != session.label]
        sample = next(iter(self.tracked), None)
        never = data.draw(
            gen.unknown_tokens(sample).filter(lambda t: t not in self.model.ops),
            label="unknown token",
        )
        return mine, others, never

    def _judge_poll(self, token: str, ex: Exchange, held: Held | None = None) -> Observation | None:
        """Judge what a poll's answer says of `token` (`held`: how long it may have taken,
        for a poll of it alone), and keep the run's books: the lifecycle's states reached,
        its first sight of the end (`_settle`), a token lost."""
        before = self.model.ops[token]
        obs = self._observe_poll(ex, token)
        self.judge(
            "poll",
            ex,
            obs=obs,
            token=token,
            intent=self.tracked[token].intent,
            facts=PollFacts(MappingProxyType(dict(self.op_types)), held),
        )
        named = self.conn.profile.read_poll(ex, token).kind
        if isinstance(named, str):
            self.op_types.setdefault(before.kind, named)
        after = self.model.ops[token]
        tracked = self.tracked[token]
        if len(after.possible) == 1:
            # A transition is two polls' states: the last one a poll showed, and this one
            # (a cancel in between leaves the model unsure of the state, not the polls).
            (state,) = after.possible
            prior = tracked.last_seen
            step = prior is not None and state in TRANSITIONS[prior]  # not a jump over states
            self.run.recorder.reached(prior if step else None, state)
            tracked.last_seen = state
        self._count_ended_poll(token, obs)
        if isinstance(obs, Seen) and obs.status in ENDED and not tracked.settled:
            self._settle(token, ex)
        elif tracked.settled:
            area = self.areas[tracked.intent.session]
            if not isinstance(obs, Seen) or obs.status not in ENDED:
                area.polled_ended.append(token)  # an ended one is counted above
            if tracked.result_name is not None:
                # A poll of a copy known to be done: should anything carrying its result's
                # name appear later, this poll is the suspect (STA-6), not an operation.
                names = frozenset({name_key(tracked.result_name)})
                area.suspects.append(Suspect("STA-6", "poll", names))
        self._lost_sight(token, obs)
        return obs

    def _count_ended_poll(self, token: str, obs: Observation | None) -> None:
        """Every poll that saw the end after the first may have done something (STA-6),
        also in a race, also for an operation whose effects are never checked."""
        if isinstance(obs, Seen) and obs.status in ENDED:
            tracked = self.tracked[token]
            tracked.ended_polls += 1
            if tracked.ended_polls > 1:
                self.areas[tracked.intent.session].polled_ended.append(token)

    def _lost_sight(self, token: str, obs: Observation | None) -> None:
        """A token gone before its end was seen: its effects can't be checked any more."""
        tracked = self.tracked[token]
        if isinstance(obs, Gone) and not tracked.settled:
            tracked.settled = True
            self.areas[tracked.intent.session].entangled = True

    def _settle(self, token: str, poll: Exchange) -> None:
        """First sight of an operation's end: what the end alone decides is judged now, so
        its evidence ends with this poll. Its result and effects are checked later
        (`check_ended`): before anything uses its session's area, or when the example ends.
        A counterexample about the token itself then holds no listings."""
        tracked = self.tracked[token]
        tracked.settled = True
        intent, status = tracked.intent, self.model.ops[token].terminal
        assert status is not None  # a poll showed its end
        self.judge("ended", poll, token=token, intent=intent, facts=EndFacts(status))
        if not self._superseded(token):
            tracked.unchecked = poll

    def _superseded(self, token: str) -> bool:
        """Another operation of its session was accepted after it, before its end was seen:
        that one may already have moved or removed what this one made, so its result and
        effects can't be told apart any more (the area is entangled anyway)."""
        session = self.tracked[token].intent.session
        later = list(self.tracked)[list(self.tracked).index(token) + 1 :]
        return any(self.tracked[t].intent.session == session for t in later)

    def check_ended(self) -> None:
        for token, tracked in list(self.tracked.items()):
            if tracked.unchecked is not None:
                poll, tracked.unchecked = tracked.unchecked, None
                self._check_effects(token, poll)

    def _check_effects(self, token: str, poll: Exchange) -> None:
        """Follow an ended operation's result and compare its area with what it asked."""
        tracked = self.tracked[token]
        intent, status = tracked.intent, self.model.ops[token].terminal
        area = self.areas[intent.session]
        result = self._follow_result(token, poll, intent) if status is Status.COMPLETED else None
        after = self._snapshot(area)
        if after is None:
            return
        if result is not None and result in after.nodes:
            tracked.result_name = after.nodes[result].name
            if tracked.ended_polls > 1:  # every poll that saw the end after the first
                names = frozenset({name_key(tracked.result_name)})  # is a suspect
                area.suspects.append(Suspect("STA-6", "poll", names))
        if status is not None:
            change = outside_changes(intent, after, result, status)
            after = self._told_apart(area, after, change, intent.before)
        if not area.entangled:
            self.judge(
                "settled",
                poll,
                token=token,
                intent=intent,
                facts=SettledFacts(
                    before=intent.before,
                    after=after,
                    suspects=tuple(area.suspects),
                    status=status,
                    result=result,
                    others_ran=tracked.others_ran,
                ),
            )
            if status is Status.COMPLETED and intent.kind == "delete" and not intent.missing:
                self._look_up_deleted(token, intent)
        self._verified(area, after)

    def _told_apart(self, area: Area, after: Tree, change: Change, before: Tree) -> Tree:
        """The area as listed (`after`), once what polls of ended operations did in it is
        told apart from what operations did (`_poll_once_more`); when it can't be, the
        area is entangled and no operation is charged with its change. Only a `change`
        (from `before`) no suspect explains needs telling apart: a correct server's
        listing costs nothing more."""
        if area.entangled or not area.polled_ended:
            return after
        if not split_change(change, before, after, area.suspects)[1]:
            return after
        if self.quiet():
            return self._poll_once_more(area, after)
        area.entangled = True  # another session's operation could change it between looks
        return after

    def _poll_once_more(self, area: Area, after: Tree) -> Tree:
        """Ended operations of the area were polled during the operation's life (or its end
        was seen by several polls at once): a change no request asked for may be the
        operation's (ISO-2) or the polls' (STA-6). The same polls once more, with listings
        before and after, tell: a change fails STA-6 (`repeat-polls`), and the area's
        earlier change can't be charged to the operation (entangled), nor when none of
        them is found again. Only with nothing running anywhere (`_told_apart`): another
        session's operation could change the area too."""
        tokens = list(dict.fromkeys(area.polled_ended))
        seen = [self._judge_poll(t, self.api.poll(self.owner(t), t)) for t in tokens]
        again = self._snapshot(area)
        if again is None:
            return after
        last = self.conn.client.transcript[-1]
        facts = LookFacts(before=after, after=again)
        self.judge("repeat-polls", last, token=tokens[-1], facts=facts)
        # Changed, or not one of them found ended again (gone, say): can't be told apart.
        if diff(after, again) or not any(isinstance(o, Seen) for o in seen):
            area.entangled = True
        return again

    def _look_up_deleted(self, token: str, intent: Intent) -> None:
        """Every entry of a Completed delete's subtree must be gone by id, not only from
        its parent's listing (a delete that unlinks the root leaves the rest reachable)."""
        doomed = sorted(intent.before.subtree(intent.target))[:DELETED_LOOKUPS]
        for entry in doomed:
            ex = self.api.get_entry(self.owner(token), entry, action="deleted-entry")
            facts = LookupFacts(intent.before.nodes[entry])
            self.judge("deleted-entry", ex, token=token, intent=intent, facts=facts)

    def _follow_result(self, token: str, poll: Exchange, intent: Intent) -> int | None:
        location = self.conn.profile.read_poll(poll, token).link
        if intent.kind != "copy" or not location:
            return None
        found = location_entry(self.conn.base_url, self.conn.profile, location)
        if found is None or found[0] != self.conn.repo_id:
            return None
        ex = self.api.follow(self.owner(token), location)
        self.locations.append(location)
        self.judge(
            "follow-location",
            ex,
            token=token,
            intent=intent,
            facts=FollowFacts(
                found[1],
                self.areas[intent.session].tree,  # the destination as known at the end
                self.areas[intent.session].entangled,  # ...which may miss what went unseen
            ),
        )
        return found[1]

    def _verified(self, area: Area, tree: Tree) -> None:
        self.gone |= area.tree.nodes.keys() - tree.nodes.keys()
        self.past_suspects += area.suspects
        area.tree, area.suspects, area.polled_ended = tree, [], []
        area.operations_ran = not self.quiet()
        mine = [t for t in self.tracked.values() if t.intent.session == area.session.label]
        if all(t.settled for t in mine) and not self.model.session_may_run(
            area.session.label, self.now
        ):
            area.entangled = False

    def _snapshot(self, area: Area) -> Tree | None:
        """List the area from the server; None when it could not be listed completely. The
        other sessions' areas (folders in the first one's, the sandbox) are not its own.

        Every folder the run's picture holds is listed at once (`list_folders`: a few at a
        time), not a level after another: a deep tree costs one round trip, not one per
        level. The tree is then read from the root down; a folder the listings show that
        the picture lacks (a copy's result) is listed when its level is reached, and the
        listing of a folder no longer there is judged like any answer and left unread."""
        profile = self.conn.profile
        others = {a.root for a in self.areas.values() if a is not area}
        # An area the server removed is an empty picture (below): its root is listed again
        # all the same, and found gone again (or back, as a bare folder).
        root = area.tree.nodes.get(area.root) or Node(area.root, None, "", "Folder")
        listed: dict[int, list[Exchange]] = {}

        def list_now(folders: list[int]) -> None:
            for folder, pages in zip(
                folders, self.api.list_folders(area.session, folders), strict=True
            ):
                listed[folder] = pages
                for page in pages:
                    self.judge("list", page)

        pictured = area.tree.in_order(n.id for n in area.tree.folders() if n.id != area.root)
        list_now([area.root, *pictured])
        nodes = {area.root: root}
        level = [area.root]
        while level and len(nodes) < 500:
            list_now([f for f in level if f not in listed])
            below: list[int] = []
            for folder in level:
                pages = listed[folder]
                if pages[0].status == profile.not_found and folder == area.root:
                    return Tree(area.root, {})
                entries = listed_entries(pages, folder, profile)
                if entries is None:
                    return None
                for node in entries:
                    if node.id in others:
                        continue
                    nodes[node.id] = node
                    if node.type == "Folder":
                        below.append(node.id)
            level = below
        return Tree(area.root, nodes)

    @precondition(lambda self: self.tracked)
    @rule(data=st.data())
    def poll(self, data: st.DataObject) -> None:
        """Poll one of this example's operations as its owner."""
        self._poll(data.draw(st.sampled_from(list(self.tracked)), label="token"))

    def _running(self) -> list[str]:
        return [t for t in self.tracked if self.model.may_be_running(self.model.ops[t], self.now)]

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def wait_for_end(self, data: st.DataObject) -> None:
        """Poll a running operation, moving the clock on, until it ends (bounded): in ever
        wider steps, or now and then in short even ones, as a progress bar does, which
        sees more of a long run (progress going back, a token dropped while it runs).
        Both shrink to one long leap and one poll, when that is all a failure needs."""
        token = data.draw(st.sampled_from(self._running()), label="token")
        self._wait_for_end(data, token)

    def _wait_for_end(self, data: st.DataObject, token: str) -> None:
        leap = data.draw(gen.first_waits(), label="first wait")
        even = data.draw(gen.poll_spacings(), label="even steps")
        if leap:
            self.advance(leap)
        wait = even or 0.5
        for _ in range(24):
            self._poll(token)
            if not self.model.may_be_running(self.model.ops[token], self.now):
                return
            self.advance(wait)
            if not even:
                wait = min(wait * 1.5, 120.0)

    def finish_running(self) -> None:
        """On a virtual clock, when an example ends: move time on until every operation
        still running has ended, so that its effects are checked too. A copy of a deep or
        wide tree takes longer than most examples last; its depth- and size-dependent
        bugs only show at its end."""
        if not self.conn.clock.virtual or not self._running():
            return
        self.advance(60.0)  # one leap: most end within it, and a poll each then sees it
        for token in self._running():
            wait = 60.0
            for _ in range(24):
                self._poll(token)
                if not self.model.may_be_running(self.model.ops[token], self.now):
                    break
                self.advance(wait)
                wait = min(wait * 1.5, 120.0)

    @precondition(lambda self: self.quiet() and any(t.settled for t in self.tracked.values()))
    @rule(data=st.data(), times=st.integers(1, 3))
    def repoll_ended(self, data: st.DataObject, times: int) -> None:
        """Poll an ended operation again with nothing running: nothing may change."""
        token = data.draw(st.sampled_from([t for t, v in self.tracked.items() if v.settled]))
        area = self.areas[self.tracked[token].intent.session]
        before = self._inspect(area)
        if before is None or area.entangled:
            return
        for _ in range(times):
            self._poll(token)
        after = self._snapshot(area)
        if after is not None:
            self.judge(
                "repeat-polls",
                self.conn.client.transcript[-1],
                token=token,
                facts=LookFacts(before=before, after=after),
            )
            self._verified(area, after)

    def _inspect(self, area: Area) -> Tree | None:
        self.check_ended()
        after = self._snapshot(area)
        if after is None:
            return None
        if area.operations_ran:  # polls alone: their change is theirs (STA-6)
            after = self._told_apart(area, after, diff(area.tree, after), area.tree)
        if not area.entangled:
            self.judge(
                "inspected",
                self.conn.client.transcript[-1],
                facts=LookFacts(
                    before=area.tree,
                    after=after,
                    suspects=tuple(area.suspects),
                    operations_ran=area.operations_ran,
                ),
            )
        self._verified(area, after)
        return after

    @precondition(lambda self: self.with_area(self.free_sessions()))
    @rule(data=st.data())
    def inspect_area(self, data: st.DataObject) -> None:
        """List a quiet area and compare it with what the run expects."""
        session = self.draw_session(data, self.with_area(self.free_sessions()))
        self._inspect(self.areas[session.label])

    # --- cancelling -------------------------------------------------------------------

    def _cancel(self, token: str) -> None:
        ex = self.api.cancel(self.owner(token), token)
        self._judge_cancel(token, ex)
        self._look_if_ended(token)

    def _judge_cancel(self, token: str, ex: Exchange) -> None:
        """Judge what a cancel's answer says of `token` (one the session owns)."""
        obs = cancel_observation(ex, self.conn.profile, token)
        self.judge("cancel", ex, obs=obs, token=token, intent=self.tracked[token].intent)
        self._lost_sight(token, obs)

    def _look_if_ended(self, token: str) -> None:
        op = self.model.ops[token]
        if not self.tracked[token].settled and not self.model.may_be_running(op, self.now):
            self._poll(token)  # it ended: look at it now, so the session can go on

    @precondition(lambda self: self._running() and self.conn.profile.tasks_query() is not None)
    @rule(data=st.data())
    def cancel_several(self, data: st.DataObject) -> None:
        """One cancel naming several tasks (v2): a running task with the session's others,
        one named twice, another session's and (on a target of its own) an id never
        issued. The answer as a whole is judged as a listing (LST-1); what it says of each
        of the session's tasks as a cancel of it, of the other session's as a stranger's
        cancel, of the unknown id as a cancel of one."""
        token = data.draw(st.sampled_from(self._cancel_choices()), label="token")
        session = self.owner(token)
        mine, others, never = self._named_with(data, session)
        stranger = others[:1]
        unknown = [] if self.api.guarded else [never]
        asked = [*mine, *mine[:1], *stranger, *unknown]
        self._let_run(data, token)
        running = [t for t in stranger if self.model.may_be_running(self.model.ops[t], self.now)]
        ex = self.api.cancel_several(session, asked)
        for t in mine:
            self._judge_cancel(t, ex)
        for t in stranger:
            self.judge("cancel-foreign", ex, obs=ForeignCancel(t, ex.at), token=t)
        for t in unknown:
            self.judge("cancel-unknown", ex, token=t)
        self.judge(
            "cancel-several", ex, facts=ListingFacts(tuple(asked), tuple(mine), tuple(stranger))
        )
        for t in mine:
            self._look_if_ended(t)
        for t in running:
            self._poll(t)  # its owner's view: the stranger's cancel must not have acted

    # A cancel rule has one argument more than a poll: Hypothesis prefers rules with fewer
    # arguments when it shrinks, so a counterexample looks with a poll (one exchange), not
    # with a cancel that polls after it (two).

    def _cancel_choices(self) -> list[str]:
        """The running operations, those with several entries' work weighted as all the
        others together: only they can be caught midway, with partial results to judge."""
        running = self._running()
        long = [t for t in running if _work(self.tracked[t].intent) > 1]
        return running + long * len(running)

    @precondition(lambda self: self._running())
    @rule(data=st.data(), look=st.booleans())
    def cancel_running(self, data: st.DataObject, look: bool) -> None:
        """Cancel a running operation, now or (on a virtual clock) once it may have done a
        step or two, so a cancel leaves partial results; with `look`, poll it at once."""
        token = data.draw(st.sampled_from(self._cancel_choices()), label="token")
        self._let_run(data, token)
        self._cancel_and_look(token, look)

    def _let_run(self, data: st.DataObject, token: str) -> None:
        """On a virtual clock, sometimes let a running operation run a little before it is
        cancelled."""
        if self.conn.clock.virtual and token in self._running():
            lead = data.draw(gen.cancel_leads(), label="runs for")
            if lead:
                self.advance(lead)

    @precondition(lambda self: self.tracked)
    @rule(data=st.data(), look=st.booleans())
    def cancel_any(self, data: st.DataObject, look: bool) -> None:
        """Cancel any of this example's operations, running, ended or expired."""
        token = data.draw(st.sampled_from(list(self.tracked)), label="token")
        self._let_run(data, token)
        self._cancel_and_look(token, look)

    def _cancel_and_look(self, token: str, look: bool) -> None:
        self._cancel(token)
        if look and not self.tracked[token].settled:
            self._poll(token)

    # --- time -------------------------------------------------------------------------

    @rule(seconds=gen.clock_steps())
    def advance_clock(self, seconds: float) -> None:
        self.advance(seconds)

    def _ended(self) -> list[str]:
        return [
            t
            for t in self.tracked
            if self.model.ops[t].ended_by is not None
            and not definitely_expired(self.model.ops[t], self.now, self.model.timing)
        ]

    @precondition(lambda self: self.conn.clock.virtual and self._ended())
    @rule(
        data=st.data(), offset=gen.expiry_offsets(), inside=st.booleans(), via_cancel=st.booleans()
    )
    def probe_expiry(
        self, data: st.DataObject, offset: float, inside: bool, via_cancel: bool
    ) -> None:
        """Move the clock to just inside or just past a token's TTL, then poll or cancel it."""
        token = data.draw(st.sampled_from(self._ended()), label="token")
        op, timing = self.model.ops[token], self.model.timing
        assert op.ended_by is not None
        if inside:
            when = op.running_until + timing.ttl - timing.tolerance - offset
        else:
            when = op.ended_by + timing.ttl + timing.tolerance + offset
        if when > self.conn.clock.now:
            self.advance(when - self.conn.clock.now)
        if via_cancel:
            self._cancel(token)
        else:
            self._poll(token)

    def _ttl_windows(self) -> list[str]:
        """Ended operations seen running well after their start, whose token must outlive
        a TTL counted from the start: the window where EXP-3 can be told from EXP-1."""
        t = self.model.timing
        return [
            token
            for token in self.tracked
            if (op := self.model.ops[token]).terminal is not None
            and op.requested + t.ttl + t.tolerance < op.running_until + t.ttl - t.tolerance
            and self.conn.clock.now < op.running_until + t.ttl - t.tolerance
        ]

    @precondition(lambda self: self.conn.clock.virtual and self._ttl_windows())
    @rule(data=st.data(), fraction=st.floats(0.0, 1.0))
    def probe_ttl_origin(self, data: st.DataObject, fraction: float) -> None:
        """Poll a token just before a TTL counted from its start would be over, and again
        just after (still inside one counted from its end): seen, then gone, there and only
        there tells a TTL counted from the start (EXP-3) from one merely short (EXP-1)."""
        token = data.draw(st.sampled_from(self._ttl_windows()), label="token")
        op, t = self.model.ops[token], self.model.timing
        from_start = op.requested + t.ttl
        before = from_start - 1.5 * t.tolerance
        if self.conn.clock.now <= before:
            self.advance(before - self.conn.clock.now)
            self._poll(token)
            if self.model.ops[token].possible == {Status.EXPIRED}:
                return
        low = max(self.conn.clock.now, from_start + t.tolerance)
        high = min(op.running_until + t.ttl - t.tolerance, from_start + 2 * t.tolerance)
        when = low + max(0.0, high - low) * fraction * 0.99
        if when > self.conn.clock.now:
            self.advance(when - self.conn.clock.now)
        self._poll(token)
