"""The machinery under the rules: what an example knows, and how an answer is judged.

`MachineBase` holds the connection, the model, the operations this example
started (with their intents) and one area per session; `judge` feeds every
answer to the model and the checks and raises a clause-specific
`ClauseViolation` on the first failure, so Hypothesis shrinks each kind of
violation separately. The rules live in `lifecycle.py` and `strangers.py`.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant

import strategies as gen

from .. import budget, interrupts, judging
from ..checks import Context, Failure, Intent, Suspect
from ..checks.facts import Facts, LookFacts
from ..client import Exchange, Session
from ..model import (
    Model,
    Observation,
    Operation,
    Outcome,
    Status,
    Timing,
)
from ..sandbox import Node, Tree, name_key
from ..targets import Connection, HarnessError, Target
from ..together import Unordered, step_together
from ..verdicts import Leftover, Recorder
from . import cleanup

#: How much likelier an ordinary choice is than an unusual one (the area's root, a
#: removed entry, a destination inside the source): most operations should succeed.
COMMON = 6
BIG_SUBTREE = 7  # entries in a subtree (or DEEP levels) whose root is drawn as often as all others


UNORDERED_NOTE = (
    "requests sent together broke the contract in every order the server may have "
    "served them, but under different clauses depending on the order (not reported)"
)


class ClauseViolation(AssertionError):
    """The target broke a clause of the contract."""


_VIOLATION_TYPES: dict[str, type[ClauseViolation]] = {}


def violation_type(clause: str) -> type[ClauseViolation]:
    """One exception class per clause, so Hypothesis keeps distinct violations apart."""
    if clause not in _VIOLATION_TYPES:
        name = "Violation_" + clause.replace("-", "_")
        _VIOLATION_TYPES[clause] = type(name, (ClauseViolation,), {"clause": clause})
    return _VIOLATION_TYPES[clause]


@dataclass
class Run:
    """What all examples of one run share."""

    target: Target
    recorder: Recorder
    timing: Timing
    # Clauses already shown violated: a later round records them again but does not
    # stop on them, so exploration goes on to the other clauses.
    muted: frozenset[str] = frozenset()
    # On the wall clock: when (clock time) exploring should stop, so the run ends with
    # the expiry probe instead of long after it.
    deadline: float | None = None
    # The longest an example's clean-up took so far (clock seconds): exploring stops that
    # much before the deadline, so the last example's clean-up ends by it too.
    cleanup_reserve: float = 0.0
    # Every name the run asks for (fixtures, copies) ends with this: an entry carrying it
    # that turns up where the sandboxes live (`--parent-id`) is the run's own leak, never
    # another user's entry on a shared tenant (`MachineBase.look_outside`).
    marker: str = field(default_factory=cleanup.new_marker)
    outside: set[int] = field(default_factory=set)  # leaks seen there already (charged once)
    # The time budget (`contract/budget.py`, on time.monotonic()): when exploring ends, and
    # the longest an example's clean-up took so far in real seconds, kept in reserve.
    until: float | None = None
    cleanup_took: float = 0.0
    # This round's first new failure: when it was found, and the clauses being shrunk.
    found_at: float | None = None
    shrinking: frozenset[str] = frozenset()
    # Operations one session may run at once (--operation-limit): what CON-1/CON-4 expect.
    limit: int = 1


class Halt(KeyboardInterrupt):
    """Ends a round of exploring from inside an example. Hypothesis lets a
    KeyboardInterrupt through as it is, and nothing else: any other BaseException ends
    the example where it stands, and when that example repeats one that drew further
    (a shrinking step, the final replay of the counterexample) Hypothesis raises
    FlakyStrategyDefinition instead, so the round read as a failure "not confirmed on
    replay" and the reason it stopped was lost. The runner catches each kind before
    anything takes it for Ctrl-C."""


class TimeUp(Halt):
    """The run's time is up (the message says which time): Hypothesis stops at once and
    does not take it for a failure to shrink."""


class ShrinkCut(Halt):
    """Shrinking this round's failure has taken its share of the time budget: the round
    ends with the counterexample as shrunk so far (the recorder keeps the shortest)."""


@dataclass
class Area:
    """A session's folder in the sandbox and what the run expects to find in it."""

    session: Session
    tree: Tree
    suspects: list[Suspect] = field(default_factory=list)
    operations_ran: bool = False  # an operation may have run since `tree` was verified
    entangled: bool = False  # two operations overlapped: effects can't be told apart
    # Operations polled after their end was seen, since the area was last listed: a change
    # may be those polls' doing (STA-6) as well as an operation's (ISO-2).
    polled_ended: list[str] = field(default_factory=list)

    @property
    def root(self) -> int:
        return self.tree.root


@dataclass
class Answer:
    """One answer of a batch of requests sent together, and what `judge` would be given."""

    action: str
    exchange: Exchange
    obs: Observation | None = None
    token: str | None = None
    intent: Intent | None = None
    facts: Facts = field(default_factory=Facts)


@dataclass
class Tracked:
    token: str
    intent: Intent
    settled: bool = False
    # Another session's operation may have run during this one's life: a change outside
    # this operation's region could be either's doing.
    others_ran: bool = False
    result_name: str | None = None  # a Completed copy's new entry, once seen
    # Polls that saw it ended (several at once in a race, or again before its effects
    # were checked): every one after the first may have had a side effect (STA-6).
    ended_polls: int = 0
    # The poll that first showed its end, while its effects wait to be checked (they are
    # checked before the next request that needs its session's area, or at the end).
    unchecked: Exchange | None = None
    last_seen: Status | None = None  # the state its last poll showed, when it was one


class MachineBase(RuleBasedStateMachine):
    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run
        self.conn: Connection = run.target.connect()
        self.api = self.conn.api
        self.model = Model(run.timing, limit=run.limit)
        self.tracked: dict[str, Tracked] = {}
        self.areas: dict[str, Area] = {}
        self.first_trees: dict[str, gen.Shape] = {}  # each session's, until its area is made
        self.gone: set[int] = set()  # ids this example saw removed
        self.locations: list[str] = []  # completed copies' Locations this example followed
        self.past_suspects: list[Suspect] = []  # the areas' suspects already judged
        self.op_types: dict[str, str] = {}
        self.sandbox: int | None = None
        self.sandbox_name: str | None = None
        run.recorder.examples += 1

    # --- plumbing -------------------------------------------------------------------

    @property
    def now(self) -> tuple[float, float]:
        t = self.conn.clock.now
        return (t, t)

    def judge(
        self,
        action: str,
        exchange: Exchange,
        *,
        obs: Observation | None = None,
        token: str | None = None,
        intent: Intent | None = None,
        facts: Facts | None = None,
    ) -> None:
        """Feed one answer to the model and the checks (`facts`: what the rule knew, of
        the type `checks.facts.FACTS` names for `action`); raise on the first violation."""
        op = self.model.ops.get(token) if token else None
        self.model, found = judging.judge(
            self.model, obs, self._context(action, exchange, op, token, intent, facts or Facts())
        )
        self._conclude(self._recorded(found))

    def judge_together(self, kind: str, answers: list[Answer]) -> None:
        """Judge the answers to a batch of requests sent together (`kind` names it in the
        run's figures): the model steps their observations in every order the server may
        have served them (`together.step_together`), and each answer is checked as `judge`
        checks one, against what was known before the batch. A batch of one is not
        counted: nothing went out with it."""
        if len(answers) > 1:
            self.run.recorder.together[kind] += 1
        before = self.model
        timed = [(a.obs, a.exchange.order) for a in answers if a.obs and a.exchange.status]
        result = step_together(self.model, timed) if timed else Outcome(self.model)
        if isinstance(result, Unordered):
            # Broken, but which clause depends on an order nobody saw: say nothing, and
            # leave it to requests sent one at a time. The model cannot follow: drop it.
            note = f"{UNORDERED_NOTE}: {', '.join(sorted({v.clause for v in result.violations}))}"
            if note not in self.run.recorder.notes:
                self.run.recorder.notes.append(note)
            reject()
        self.model, found = judging.stepped(self.model, result, self.conn.profile)
        for a in answers:
            op = before.ops.get(a.token) if a.token else None
            ctx = self._context(a.action, a.exchange, op, a.token, a.intent, a.facts)
            found += judging.checked(ctx)
        self._conclude(self._recorded(found))

    def _context(
        self,
        action: str,
        exchange: Exchange,
        op: Operation | None,
        token: str | None,
        intent: Intent | None,
        facts: Facts,
    ) -> Context:
        conn = self.conn
        return Context(
            action, exchange, conn.profile, conn.repo_id, conn.base_url, op, intent, facts, token
        )

    def _recorded(self, found: judging.Found) -> list[Failure]:
        """The clauses exercised and the undeclared properties go to the run's recorder;
        the failures back to the caller (`_conclude` records them with their evidence)."""
        self.run.recorder.exercise(found.exercised)
        self.run.recorder.see_undeclared(found.undeclared)
        return found.failures

    def _conclude(self, failures: list[Failure]) -> None:
        """Record the failures; raise the first one not muted (see `Run.muted`)."""
        if not failures:
            return
        recorder = self.run.recorder
        evidence = [self.conn.client.redacted(e) for e in self.conn.client.transcript]
        for failure in failures:
            failure.exchanges = evidence
            recorder.fail(failure)
        fresh = [f for f in failures if f.clause not in self.run.muted]
        if not fresh:
            # Known already. Go on if the bookkeeping still holds; otherwise drop
            # this example and let Hypothesis generate the next one.
            if not all(f.sound for f in failures):
                reject()
            return
        first = fresh[0]
        raise violation_type(first.clause)(
            f"{first.clause} {first.title}: expected {first.expected}; got {first.actual}"
        )

    def mark(self, name: str) -> str:
        """A name the run asks for, recognisable as its own (`Run.marker`)."""
        return name + self.run.marker

    def names(self) -> st.SearchStrategy[str]:
        """Fresh entry names for this run to ask for, each carrying its marker."""
        return gen.marked_names(self.run.marker)

    def draw_session(self, data: st.DataObject, sessions: list[Session]) -> Session:
        return data.draw(st.sampled_from(sessions), label="session")

    def free_sessions(self) -> list[Session]:
        """Sessions with no operation that may run, and whose ended ones were all checked."""
        return [
            s
            for s in self.conn.sessions
            if not self.model.session_may_run(s.label, self.now)
            and all(t.settled for t in self.tracked.values() if t.intent.session == s.label)
        ]

    def busy_sessions(self) -> list[Session]:
        """Sessions with an operation that may run: a start there is refused when as many
        as the limit run, else accepted (the model knows which it may be)."""
        return [s for s in self.conn.sessions if self.model.session_may_run(s.label, self.now)]

    def quiet(self) -> bool:
        """No operation anywhere may be running."""
        return not any(self.model.may_be_running(op, self.now) for op in self.model.ops.values())

    def owner(self, token: str) -> Session:
        label = self.tracked[token].intent.session
        return next(s for s in self.conn.sessions if s.label == label)

    # --- setting up -----------------------------------------------------------------

    @initialize(data=st.data())
    def make_sandbox(self, data: st.DataObject) -> None:
        """A fresh sandbox folder, which is the first session's area, with its first fixture
        tree. Every session's first tree is drawn now, but the other areas (folders in the
        sandbox) are made on first use (`area_of`): a counterexample that needs one session
        builds one folder and its tree, and shrinking a session choice does not shift the
        draws that follow it."""
        for session in self.conn.sessions:
            self.first_trees[session.label] = data.draw(gen.tree_shapes(), label="tree")
        first = self.conn.sessions[0]
        self._make_sandbox()
        self._make_area(first, self.first_trees[first.label])

    def prepare(self, shape_for: Callable[[Session], gen.Shape]) -> None:
        """A fresh sandbox with every session's area in it at once, each holding the tree
        `shape_for` gives (for scripted examples such as the expiry probe)."""
        self._make_sandbox()
        for session in self.conn.sessions:
            self._make_area(session, shape_for(session))

    def _make_sandbox(self) -> None:
        # Named first: if this run is interrupted while the folder is being created,
        # clean-up finds it by its (unique) name.
        self.sandbox_name = f"lro-conformance-{uuid.uuid4().hex[:10]}"
        self.sandbox = self._create_fixture(
            self.conn.sessions[0], self.conn.parent_id, self.sandbox_name
        )
        if self.conn.shared:
            leftover = Leftover(self.sandbox, self.sandbox_name, self.conn.parent_id)
            interrupts.holding(self.sandbox, leftover.describe())

    def _make_area(self, session: Session, shape: gen.Shape) -> Area:
        """The first session's area is the sandbox itself; another's is a folder in it, which
        the first area's picture leaves out (`_snapshot`), and whose name no drawn entry
        name takes (`strategies.names.AREA_PREFIX`)."""
        assert self.sandbox is not None and self.sandbox_name is not None
        if session is self.conn.sessions[0]:
            root = Node(self.sandbox, self.conn.parent_id, self.sandbox_name, "Folder")
        else:
            name = f"{gen.AREA_PREFIX}{session.label}"
            root = Node(
                self._create_fixture(session, self.sandbox, name), self.sandbox, name, "Folder"
            )
        folder = root.id
        area = self.areas[session.label] = Area(session, Tree(folder, {folder: root}))
        # Like a listing taken now: an operation running elsewhere may be blamed for a
        # change in it (ISO-2), polls alone may not (STA-6).
        area.operations_ran = not self.quiet()
        self._build(area, folder, shape)
        return area

    def area_of(self, session: Session) -> Area:
        """The session's area, made with its first tree on the session's first use. Every
        ended operation's effects are checked first: what uses an area sees it as it is."""
        self.check_ended()
        area = self.areas.get(session.label)
        if area is None:
            area = self._make_area(session, self.first_trees[session.label])
        return area

    def with_area(self, sessions: list[Session]) -> list[Session]:
        """Those of `sessions` whose area exists already."""
        return [s for s in sessions if s.label in self.areas]

    def _poll(self, token: str) -> Exchange:
        """Poll a tracked token in its owner's session and judge the answer (lifecycle.py)."""
        raise NotImplementedError

    def check_ended(self) -> None:
        """Check the effects of the operations seen ended since the last look (lifecycle.py)."""

    def finish_running(self) -> None:
        """Let the operations still running end, when the example is over (lifecycle.py)."""

    def advance(self, seconds: float) -> None:
        """Move the target's clock on (virtual: through its hook, judged; wall: wait)."""
        exchange = self.conn.clock.advance(seconds)
        if exchange is not None:
            self.judge("clock", exchange)

    def _create_fixture(self, session: Session, parent: int, name: str) -> int:
        ex = self.api.create_folder(session, parent, name)
        body = ex.json()
        if (
            ex.status != self.conn.profile.entry_created
            or not isinstance(body, dict)
            or not isinstance(body.get("id"), int)
        ):
            raise HarnessError(f"could not create the sandbox folder {name!r}: {ex.describe()}")
        return body["id"]

    @invariant()
    def count_step(self) -> None:
        run = self.run
        run.recorder.steps += 1
        deadline = run.deadline
        # Teardown still runs after these: the example cleans up after itself.
        if deadline is not None and self.conn.clock.now + run.cleanup_reserve >= deadline:
            raise TimeUp(
                "wall clock: exploring stopped when the expiry probe was done (the time a "
                "TTL takes bounds the run)"
            )
        now = time.monotonic()
        if run.until is not None and now + run.cleanup_took >= run.until:
            raise TimeUp("time budget: exploring stopped when its share of --max-duration ran out")
        new = frozenset(run.recorder.failures) - run.muted
        if new and run.found_at is None:
            run.found_at, run.shrinking = now, new
        if run.found_at is None:
            return
        # Shrinking one failure may take its share of the budget, or without a budget
        # SHRINK_ALONE (before Hypothesis' own five minutes, which end in its warning).
        took = (
            budget.SHRINK_ALONE
            if run.until is None
            else budget.SHRINK_SHARE * (run.until - run.found_at)
        )
        if now >= run.found_at + took:
            raise ShrinkCut

    def teardown(self) -> None:
        """On a shared (live) target: end this example's operations and remove its sandbox,
        so the next example finds every session free and nothing left behind. An example
        that ended without a failure first checks the effects still unchecked."""
        try:
            passed = sys.exc_info()[0] is None  # called from Hypothesis' `finally`: no failure
            try:
                if passed:
                    self.finish_running()
                    self.check_ended()
            finally:  # also when those found a violation: the sandbox goes all the same
                self._remove_sandbox()
            if passed or self.conn.shared:
                self.look_outside(judged=passed)
        finally:
            self.run.recorder.exchanges += len(self.conn.client.transcript)
            self.conn.close()

    def _remove_sandbox(self) -> None:
        """On a shared target: end the example's operations and remove its sandbox, timed
        (exploring keeps the slowest clean-up's time in reserve)."""
        if not self.conn.shared or self.sandbox_name is None:
            return
        began, wall = self.conn.clock.now, time.monotonic()
        with interrupts.deferred():
            cleanup.clean_up(self)
        took = self.conn.clock.now - began
        self.run.cleanup_reserve = max(self.run.cleanup_reserve, took)
        self.run.cleanup_took = max(self.run.cleanup_took, time.monotonic() - wall)

    def look_outside(self, *, judged: bool) -> None:
        """List the folder the sandboxes live in (`--parent-id`) once the example is over:
        a new entry there that carries the run's marker is something the run asked for that
        the server put outside the sandbox. The clause is that of whoever asked for its name
        (a cancelled copy: CAN-2; a refused start: the refusal's clause; else ISO-2). On a
        shared target each such entry is removed, or named as left behind."""
        suspects = self._outside_suspects()
        if not self.tracked and not suspects:
            return  # nothing that could leave an entry there was asked for
        pages = self.api.list_children(self.conn.sessions[0], self.conn.parent_id)
        if judged:
            for page in pages:
                self.judge("list", page)
        found = self._new_outside(pages)
        if found is None:
            return
        if self.conn.shared:
            timeout = self.model.timing.operation_timeout
            with interrupts.deferred():
                for node in found:
                    left = cleanup.remove_leak(
                        self.api, self.conn.clock, self.conn.sessions[0], node, timeout
                    )
                    if left is not None:
                        self.run.recorder.leftovers.append(left)
        if not judged:
            return
        parent = Node(self.conn.parent_id, None, "", "Folder")
        self.judge(
            "outside",
            pages[-1],  # the listing, not the removals that followed it
            facts=LookFacts(
                before=Tree(parent.id, {parent.id: parent}),
                after=Tree(parent.id, {parent.id: parent} | {n.id: n for n in found}),
                suspects=tuple(suspects),
                operations_ran=bool(self.tracked),
            ),
        )

    def _outside_suspects(self) -> list[Suspect]:
        """Whoever asked for a name: every start's copy (a cancelled one apart, CAN-2) and
        every request that must change nothing. A poll of a finished copy (STA-6) asks for
        its copy's name again; it is left out, or the copy would share the blame."""
        suspects = [
            s
            for s in self.past_suspects + [s for a in self.areas.values() for s in a.suspects]
            if s.clause != "STA-6"
        ]
        for token, tracked in self.tracked.items():
            intent, op = tracked.intent, self.model.ops[token]
            if intent.kind == "copy" and intent.name:
                cancelled = op.cancel == "accepted" or op.terminal is Status.CANCELLED
                clause = "CAN-2" if cancelled else "ISO-2"
                suspects.append(Suspect(clause, "start-copy", frozenset({name_key(intent.name)})))
        return suspects

    def _new_outside(self, pages: list[Exchange]) -> list[Node] | None:
        """The entries of a listing of `--parent-id` carrying the run's marker that were not
        seen there before (None when it could not be read)."""
        marked = cleanup.marked(pages, self.conn.parent_id, self.run.marker, self.conn.profile)
        if marked is None:
            return None
        # A shared target lives on between examples; a mock one is new for each (its ids
        # start again).
        seen = self.run.outside if self.conn.shared else set()
        found = [n for n in marked if n.id not in seen]
        seen |= {n.id for n in found}
        return found

    def _build(self, area: Area, parent: int, shape: gen.Shape) -> None:
        """Create `shape` under `parent`, a level at a time: a level's folders are sent
        together (`api.create_folders`), so a tree costs a round trip per level, not per
        folder. Which ids the server gives them does not matter: entries are drawn in the
        tree's name order (`Tree.in_order`)."""
        level = [(parent, shape)]
        while level:
            made = self.api.create_folders(area.session, [(p, self.mark(s.name)) for p, s in level])
            below: list[tuple[int, gen.Shape]] = []
            for (p, s), ex in zip(level, made, strict=True):
                self.judge("create-folder", ex)
                body = ex.json()
                if (
                    ex.status != self.conn.profile.entry_created
                    or not isinstance(body, dict)
                    or not isinstance(body.get("id"), int)
                ):
                    continue  # a name this server refuses (400) or already has (409): skip it
                node = Node(body["id"], p, str(body.get("name", self.mark(s.name))), "Folder")
                area.tree = area.tree.with_node(node)
                below += [(node.id, child) for child in s.children]
            level = below

    def _missing(self, *ids: int) -> bool:
        """Whether one of `ids` surely names no entry: this example saw it removed, and no
        area holds an entry of that id now (a server might give a new entry an old id)."""
        return any(
            i in self.gone and not any(i in a.tree for a in self.areas.values()) for i in ids
        )

    def _entry_choice(self, data: st.DataObject, area: Area, *, folders: bool, root: bool) -> int:
        """Mostly an entry inside the area; sometimes its root (if allowed) or a removed id."""
        nodes = area.tree.folders() if folders else list(area.tree.nodes.values())
        inner = area.tree.in_order(n.id for n in nodes if n.id != area.root)
        rare = sorted(self.gone) + ([area.root] if root else [])
        # A deep or wide subtree (strategies/trees.py) is where depth- and size-dependent
        # bugs show: its root is drawn about as often as all the other entries together
        # (a deep tree is a chain: few entries, many levels); so are its deepest entries.
        tree = area.tree
        big = [
            i for i in inner if len(tree.subtree(i)) >= BIG_SUBTREE or tree.height(i) >= gen.DEEP
        ]
        deep = [i for i in inner if tree.depth(i) >= gen.DEEP]  # where bugs of depth show
        # A flat list with repeats gives real odds (st.one_of would not weigh them): each
        # kind as often as all ordinary entries together.
        weighted = [
            i for kind in (big, deep) for i in kind * (COMMON * len(inner) // max(len(kind), 1))
        ]
        return data.draw(
            st.sampled_from(
                inner * COMMON + weighted + rare
                or [area.root]  # an area the server removed: its root, which answers gone
            ),
            label="folder" if folders else "entry",
        )
