"""The fuzzing phase of a run: schemathesis generates requests, the gate sends and judges them.

schemathesis turns the project's document (`document.py`) into Hypothesis strategies
of requests, valid ones and (negative mode) ones that break the document: bad JSON
types, missing fields, odd ids and tokens, stray query parameters. Each request goes
through the gate's own `Client.send` (so mock and live mode are the same, and every
exchange is in the transcript) with a valid, a missing or an invalid bearer token,
and is judged by the registered checks like any other step (ERR-1, ERR-2, ERR-3,
SUB-3, AUT-1; `checks/fuzzing.py`). A refused malformed or unauthenticated start is
followed by its aftermath: the sandbox listed again and a real start in the session,
which must both show that nothing changed. schemathesis' own checks of answers
against a document are never run: they are not the contract's clauses.

It works in its own sandbox folder under the run's parent folder. On a shared target
the fuzzer sends a destructive call (copy into, delete, create in, cancel) only when
every id it names is one the run created, or cannot be read as an id at all, and
cancels only tokens it was given (`inputs.owned_id`); what fails that is not sent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis.generation import GenerationMode

from .. import interrupts, judging
from ..checks import Context
from ..checks.facts import AftermathFacts, Facts, FuzzFacts
from ..client import Auth, Exchange, Session
from ..machine import cleanup
from ..model import RUNNING
from ..targets import Connection, HarnessError, Target
from ..verdicts import Leftover, Recorder
from . import inputs
from .chains import chains
from .document import (
    CANCEL,
    CREATE_FOLDER,
    LOOSE_FIELDS,
    POLL,
    START_COPY,
    START_DELETE,
    SandboxIds,
    document,
    token_parameter,
)

DESTRUCTIVE = (START_COPY, START_DELETE, CREATE_FOLDER, CANCEL)
AUTHS: tuple[Auth, ...] = ("session", "none", "invalid")
BROKEN_SHARE = 3  # a kind of broken request gets three times a valid one's share
CASES_PER_CHAIN = 8  # the linked sequences get an eighth as many examples as single requests
WAIT_VIRTUAL = 1800.0  # clock seconds an operation the fuzzer started gets to end
WAIT_WALL = 60.0
RUNNING_NAMES = {s.value for s in RUNNING}


@dataclass
class Sandbox:
    """The fuzzer's folder tree: a root, a source with a child, a destination and a folder
    to delete. The slot probe copies the child into the destination: nothing valid
    deletes either."""

    root: int
    source: int
    child: int
    dest: int
    victim: int
    name: str = ""

    @property
    def folders(self) -> list[int]:
        return [self.root, self.source, self.child, self.dest, self.victim]

    @property
    def ids(self) -> SandboxIds:
        return SandboxIds([self.root, self.dest], [self.source, self.child], [self.victim])


@dataclass
class FuzzPhase:
    """One fuzzing phase against one connection of the target."""

    conn: Connection
    recorder: Recorder
    budget: int
    seed: int | None = None
    issued: set[str] = field(default_factory=set)  # tokens the target gave this phase
    open: list[str] = field(default_factory=list)  # of those, ones that may still run
    sent: int = 0
    withheld: int = 0  # destructive requests the sandbox guard kept back
    probes: int = 0
    chains_run: int = 0  # linked sequences schemathesis ran (`chains.py`)
    stopped: str = ""  # why fuzzing stopped early, if it did
    operation_timeout: float = 900.0  # how long its clean-up's delete may take (STA-7)
    until: float | None = None  # time.monotonic() by which it sends nothing more
    out_of_time: bool = False  # it stopped there (the time budget's share ran out)
    blocked: bool = False  # the server kept the session busy: CON-2 recorded

    @property
    def session(self) -> Session:
        return self.conn.sessions[0]

    # --- set-up ------------------------------------------------------------------

    def build_sandbox(self) -> Sandbox:
        name = f"lro-fuzz-{uuid.uuid4().hex[:10]}"
        root = self._folder(self.conn.parent_id, name)
        if self.conn.shared:
            interrupts.holding(root, Leftover(root, name, self.conn.parent_id).describe())
        source = self._folder(root, "source")
        child = self._folder(source, "child")
        return Sandbox(
            root, source, child, self._folder(root, "dest"), self._folder(root, "victim"), name
        )

    def _folder(self, parent: int, name: str) -> int:
        ex = self.conn.api.create_folder(self.session, parent, name)
        body = ex.json()
        created = ex.status == self.conn.profile.entry_created and isinstance(body, dict)
        if not created or not isinstance(body.get("id"), int):
            raise HarnessError(f"fuzzing: could not create the folder {name!r}: {ex.describe()}")
        return body["id"]

    # --- the phase ---------------------------------------------------------------

    def run(self) -> None:
        sandbox = self.build_sandbox()
        self.conn.api.owned_entries.update(sandbox.folders)
        try:
            self.generate(sandbox)
        finally:  # on a shared target, also after an error or a Ctrl-C: leave nothing behind
            if self.conn.shared:
                with interrupts.deferred():
                    self.end_open()
                    self.remove(sandbox)

    def generate(self, sandbox: Sandbox) -> None:
        """Single generated requests, each kind its share of the budget, then linked ones."""
        valid, broken = self.strategies(sandbox)
        # Each kind of request gets its share of the budget by construction (one Hypothesis
        # test each): drawn from one pool, Hypothesis' bias can starve a kind for a run.
        # With a valid token, mostly broken requests; without one, valid requests (a broken
        # one may be refused for being broken, which tells nothing about authentication).
        arms = [(op, strategy, "session", BROKEN_SHARE) for op, strategy in broken]
        arms += [(op, strategy, auth, 1) for op, strategy in valid for auth in AUTHS]
        units = sum(share for *_, share in arms)
        for index, (operation, strategy, auth, share) in enumerate(arms):
            self.explore_arm(operation, strategy, auth, sandbox, index, self.budget * share / units)
        single = self.sent
        chains(self, sandbox, max(1, self.budget // CASES_PER_CHAIN))
        self.recorder.notes.append(
            f"fuzzing: {self.sent} generated requests sent ({self.withheld} kept back by the "
            f"sandbox guard; {self.sent - single} of them in {self.chains_run} linked sequences), "
            f"{self.probes} refused starts followed up"
        )

    def explore_arm(
        self, operation: str, strategy: Any, auth: Auth, sandbox: Sandbox, index: int, size: float
    ) -> None:
        """Send about `size` requests of one kind (at least one)."""

        @given(case=strategy)
        def fuzz(case: Any) -> None:
            self.one_case(operation, case, auth, sandbox)

        if self.seed is not None:
            fuzz = hypothesis_seed(self.seed * 100 + index)(fuzz)
        settings(
            max_examples=max(1, round(size)),
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # nothing raises: nothing to shrink
            print_blob=False,
            verbosity=Verbosity.quiet,
        )(fuzz)()

    def strategies(self, sandbox: Sandbox) -> tuple[list[Pair], list[Pair]]:
        """(operation, strategy) pairs of valid and of broken requests: schemathesis'
        negative mode of the document (a token is any string: none to break), and the
        valid requests of its loose twins with a fixed, valid path id (one ill-typed field)."""
        ids = sandbox.ids
        profile, repo = self.conn.profile, self.conn.repo_id
        strict = schemathesis.openapi.from_dict(document(profile, repo, ids))
        fixed = {START_COPY: {"dest": sandbox.dest}, CREATE_FOLDER: {"entry": sandbox.dest}}
        valid: list[Pair] = []
        broken: list[Pair] = []
        for op in _operations(strict):
            name = op.definition.raw["operationId"]
            valid.append((name, op.as_strategy(GenerationMode.POSITIVE)))
            if name not in (POLL, CANCEL):
                broken.append((name, op.as_strategy(GenerationMode.NEGATIVE)))
        for field_name in sorted({f for fields in LOOSE_FIELDS.values() for f in fields}):
            twin = document(profile, repo, ids, loose=field_name)
            for op in _operations(schemathesis.openapi.from_dict(twin)):
                name = op.definition.raw["operationId"]
                if field_name in LOOSE_FIELDS.get(name, ()):
                    strategy = op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed[name])
                    broken.append((name, strategy))
        broken += [pair for pair in valid if pair[0] in (POLL, CANCEL)]
        return sorted(valid, key=_first), sorted(broken, key=_first)

    def one_case(
        self, operation: str, case: Any, auth: Auth, sandbox: Sandbox, *, end: bool = True
    ) -> Exchange | None:
        """Send one generated request, judge it, and check its aftermath when it matters.
        An operation it starts is ended at once (`end`), else left to `end_open`. None: not
        sent (fuzzing stopped, or the sandbox guard kept it back)."""
        if self.stopped or self.out_of_time:
            return None
        if self.until is not None and time.monotonic() >= self.until:
            self.out_of_time = True
            self.recorder.notes.append(
                f"time budget: fuzzing stopped after {self.sent} requests, when its share of "
                "--max-duration ran out"
            )
            return None
        request = _request(case, self.conn.base_url)
        path = dict(case.path_parameters or {})
        name, where = token_parameter(self.conn.profile)
        if where == "query" and case.query and name in case.query:
            path["token"] = _one(case.query[name])  # a query list's ids, as one string
        if self.conn.shared and not self._safe(operation, path, request.body, sandbox):
            self.withheld += 1
            return None
        facts, token = self.facts(operation, path, request.body, auth)
        suspect = None
        if operation in (START_COPY, START_DELETE, CREATE_FOLDER) and auth != "session":
            suspect = "AUT-1"
        elif facts.malformation:
            suspect = "SUB-3"
        before = self.picture(sandbox) if suspect else None
        ex = self.conn.client.send(
            request.method,
            request.url,
            action=f"fuzz-{operation}",
            session=self.session,
            auth=auth,
            content=request.content,
            params=request.params,
            content_type=request.content_type,
        )
        self.sent += 1
        self.judge(f"fuzz-{operation}", [ex], facts, token)
        accepted = ex.status is not None and 200 <= ex.status < 300
        if operation in (START_COPY, START_DELETE) and accepted:
            token = self._token(ex)
            if token is None:
                self.stop("a start was accepted without a token the fuzzer could follow")
            else:
                self.issued.add(token)
                self.open.append(token)
        if end:
            self.end_open()
        if before is not None and not accepted and ex.status is not None and not self.open:
            self.aftermath(str(suspect), ex, before, sandbox)
        return ex

    def facts(
        self, operation: str, path: dict[str, Any], body: Any, auth: Auth
    ) -> tuple[FuzzFacts, str | None]:
        """What the checks need to know of a generated request (read from it as sent), and
        the token it names (a poll's, a cancel's)."""
        facts = FuzzFacts(operation, auth, inputs.odd_path([str(v) for v in path.values()]))
        if operation == START_COPY:
            malformation = inputs.copy_malformation(str(path.get("dest", "")), body)
            return replace(facts, malformation=malformation), None
        if operation == START_DELETE:
            malformation = inputs.delete_malformation(str(path.get("entry", "")))
            return replace(facts, malformation=malformation), None
        if operation in (POLL, CANCEL):
            token = unquote(str(path.get("token", "")))
            issued, plain = token in self.issued, inputs.plain_token(token)
            return replace(facts, token_issued=issued, plain_token=plain), token
        return facts, None

    # --- judging -----------------------------------------------------------------

    def judge(
        self, action: str, exchanges: list[Exchange], facts: Facts, token: str | None = None
    ) -> None:
        conn = self.conn
        ctx = Context(
            action,
            exchanges[-1],
            conn.profile,
            conn.repo_id,
            conn.base_url,
            facts=facts,
            token=token,
        )
        found = judging.checked(ctx)
        self.recorder.exercise(found.exercised)
        self.recorder.see_undeclared(found.undeclared)
        for failure in found.failures:
            failure.exchanges = [conn.client.redacted(e) for e in exchanges]
            self.recorder.fail(failure)

    def aftermath(
        self, suspect: str, refused: Exchange, before: frozenset, sandbox: Sandbox
    ) -> None:
        """A refused start must have changed nothing: the sandbox, and the session's slot."""
        after = self.picture(sandbox)
        mark = len(self.conn.client.transcript)
        slot, answer = self.slot_is_free(sandbox)
        self.probes += 1
        probe = self.conn.client.transcript[mark : mark + 1]
        if slot is False and not self.frees_later(sandbox):
            # Busy for longer than any operation may run: not an operation the refused
            # request started (it would have ended), but a slot the server never freed
            # after the fuzzer's own operations ended (CON-2).
            self.slot_stuck(answer)
            slot = None
        self.judge(
            "fuzz-aftermath",
            [refused, *probe],
            AftermathFacts(suspect, before, after, slot, answer),
        )

    def picture(self, sandbox: Sandbox) -> frozenset[tuple[int, str]]:
        """(parent, name) of every entry in the sandbox: ids may be reissued, names not. A
        level's folders are listed together (`list_folders`): a round trip per level."""
        seen: set[tuple[int, str]] = set()
        level = [sandbox.root]
        while level:
            below: list[int] = []
            for folder, pages in zip(
                level, self.conn.api.list_folders(self.session, level), strict=True
            ):
                for page in pages:
                    body = page.json()
                    listed = isinstance(body, dict) and page.status == self.conn.profile.entry_read
                    value = body.get("value") if listed else []
                    for item in value if isinstance(value, list) else []:
                        if isinstance(item, dict) and isinstance(item.get("id"), int):
                            seen.add((folder, str(item.get("name"))))
                            if item.get("entryType") == "Folder" and len(seen) < 200:
                                below.append(item["id"])
            level = below
        return frozenset(seen)

    def slot_is_free(self, sandbox: Sandbox) -> tuple[bool | None, str]:
        """Start a real copy in the session: accepted means the slot was free (then end it);
        the busy answer means a refused request took it; anything else tells nothing."""
        name = f"slot-probe-{uuid.uuid4().hex[:6]}"
        ex = self.conn.api.start_copy(
            self.session,
            sandbox.dest,
            {"sourceId": sandbox.child, "name": name},
            auto_rename=True,
            action="fuzz-slot-probe",
        )
        token = self._token(ex)
        if token is not None:
            self.open.append(token)
            self.end_open()
            return True, ex.describe()
        return (False if ex.status == self.conn.profile.busy else None), ex.describe()

    def frees_later(self, sandbox: Sandbox) -> bool:
        """Whether the session's slot frees within an operation's time (`--operation-
        timeout`): probed again at growing pauses."""
        clock = self.conn.clock
        until = clock.now + self.operation_timeout
        for pause in cleanup.pauses(clock, until):
            cleanup.wait(clock, pause)
            free, _ = self.slot_is_free(sandbox)
            if free is not False:
                return True
            if clock.now > until:
                return False
        return False

    def slot_stuck(self, answer: str) -> None:
        actual = f"{answer}, for longer than {self.operation_timeout:g}s"
        self.recorder.fail(cleanup.slot_never_freed(actual, self._evidence()))
        self.blocked = True
        self.stop("the server kept the session busy (CON-2)")

    def _evidence(self) -> list[Exchange]:
        client = self.conn.client
        return [client.redacted(e) for e in client.transcript]

    # --- operations the fuzzer started ---------------------------------------------

    def _token(self, ex: Exchange) -> str | None:
        token = self.conn.profile.started_token(ex.status, ex.json())
        if token is not None:
            self.conn.api.owned_tokens.add(token)
        return token

    def end_open(self) -> None:
        """Cancel the operations the fuzzer started and wait until they report an end, so
        the session is free and the sandbox still for the next request."""
        while self.open:
            token = self.open.pop()
            self.conn.api.cancel(self.session, token, action="fuzz-cleanup")
            if not self.wait_for_end(token):
                self.stop(f"an operation it started ({token[:6]}…) did not end")

    def wait_for_end(self, token: str) -> bool:
        """Poll until the operation reports an end: on a virtual clock, moving it on in
        growing steps (about half an hour in all); on the wall clock, for a minute."""
        clock, began, step = self.conn.clock, self.conn.clock.now, 1.0
        while clock.now - began <= (WAIT_VIRTUAL if clock.virtual else WAIT_WALL):
            ex = self.conn.api.poll(self.session, token, action="fuzz-cleanup")
            report = self.conn.profile.read_poll(ex, token)
            if report.gone or (report.status is not None and report.status not in RUNNING_NAMES):
                return True
            clock.advance(step)
            step = min(step * 2, 60.0)
        return False

    def stop(self, why: str) -> None:
        """The session can no longer be trusted to be free: send nothing more (not a
        verdict: the state machine judges how operations end)."""
        if not self.stopped:
            self.stopped = why
            self.recorder.notes.append(f"fuzzing stopped early: {why}")

    def remove(self, sandbox: Sandbox) -> None:
        """Remove the fuzzer's sandbox. What the server broke if it cannot be
        (`cleanup.refusal_failure`: CON-2 once every operation the fuzzer started was seen
        ended, STA-7) is recorded, the folder named, and the run goes on to a verdict;
        anything else that keeps the folder is a harness error that names it."""
        conn = self.conn
        refused = cleanup.remove_folder(
            conn.api, conn.clock, self.session, sandbox.root, self.operation_timeout
        )
        if refused is None:
            return
        left = Leftover(sandbox.root, sandbox.name, conn.parent_id)
        failure = None  # CON-2 is recorded already when the slot probes found it stuck
        if not (refused.busy and self.blocked):
            failure = cleanup.refusal_failure(
                refused, self.operation_timeout, self._evidence(), all_ended=not self.stopped
            )
            if failure is None:
                raise HarnessError(
                    f"fuzzing: could not remove its sandbox: {refused.describe()} "
                    f"(left behind: {left.describe()})"
                )
            self.recorder.fail(failure)
        self.recorder.leftovers.append(left)
        self.recorder.notes.append(f"fuzzing: clean-up blocked; left behind: {left.describe()}")

    def _safe(self, operation: str, path: dict[str, Any], body: Any, sandbox: Sandbox) -> bool:
        """On a shared target: may this request be sent (see the module's docstring)?"""
        if operation not in DESTRUCTIVE:
            return True
        owned = set(sandbox.folders) | self.conn.api.owned_entries
        keep = {sandbox.root, sandbox.child, sandbox.dest}  # the slot probe needs them
        if operation == CANCEL:
            return str(path.get("token")) in self.issued
        if operation == START_DELETE:
            return inputs.owned_id(path.get("entry"), owned - keep)
        if operation == CREATE_FOLDER:
            return inputs.owned_id(path.get("entry"), owned)
        source = body.get("sourceId") if isinstance(body, dict) else None
        return inputs.owned_id(path.get("dest"), owned) and inputs.owned_id(source, owned)


Pair = tuple[str, Any]  # (operation id, a strategy of schemathesis cases)


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _first(pair: Pair) -> str:
    return pair[0]


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: list[tuple[str, str]] | None
    content: bytes | None
    content_type: str | None
    body: Any  # as generated (JSON), for judging


def _request(case: Any, base_url: str) -> Request:
    """A schemathesis case as the gate's client sends it."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    params = list(_flat(kwargs.get("params") or {}))
    body, content, content_type = None, None, None
    if "json" in kwargs:
        body = kwargs["json"]
        content, content_type = json.dumps(body).encode(), "application/json"
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        content = data if isinstance(data, bytes) else str(data).encode()
    url = kwargs["url"]
    assert urlsplit(url).netloc == urlsplit(base_url).netloc, url  # never anywhere else
    return Request(kwargs["method"], url, params or None, content, content_type, body)


def _one(value: Any) -> str:
    """A query parameter's value as sent in one string (a list's items comma-joined)."""
    items = value if isinstance(value, list) else [value]
    return ",".join(item if isinstance(item, str) else json.dumps(item) for item in items)


def _flat(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            yield str(key), item if isinstance(item, str) else json.dumps(item)


def fuzz(
    target: Target,
    recorder: Recorder,
    budget: int,
    seed: int | None,
    operation_timeout: float = 900.0,
    *,
    until: float | None = None,
) -> None:
    """Run the fuzzing phase: `budget` generated requests against the target, sent until
    `until` (time.monotonic()) at the latest."""
    conn = target.connect()
    try:
        phase = FuzzPhase(conn, recorder, budget, seed, operation_timeout=operation_timeout)
        phase.until = until
        phase.run()
    finally:
        recorder.exchanges += len(conn.client.transcript)
        conn.close()
