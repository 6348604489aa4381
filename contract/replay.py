"""`lro-conformance replay FILE`: send one failure's exchanges again and say whether the
violation still shows.

FILE is a run's `conformance.json` (the failure of `--clause`, or its only one) or a
generated `repro/<CLAUSE>.py` (its `PLAN`). The steps are those of the reproduction
plan (`reporting/reproduction.py`): ids and tokens the target hands out on replay are
taken from its answers and put into later requests. Each answer is judged as in a run
(`judging.judge`: the model, with the observations the machine makes,
`machine.lifecycle.*_observation`, then the registered checks); the violation shows when
one of them fails the clause. Checks that need the run's picture of
the sandbox (RED-4, ISO-2, CAN-2, the "changed nothing" checks) or what the run asked
for (RED-2) have neither on replay: a failure found by one of them is "cannot tell"
(exit 2), never "does not show".

On a shared (live) target the replay keeps a run's safety: the sandbox gets a fresh name
under `--parent-id`, destructive calls go through the API's guard (only on what this
replay created), and at the end its operations are ended and its sandbox removed.
"""

from __future__ import annotations

import ast
import contextlib
import json
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import judging
from .api import GuardRefusal
from .checks import Context, Failure, allowance
from .checks.facts import AuthFacts, Facts, ListingFacts, PollFacts
from .checks.registry import REGISTRY
from .client import Exchange, Session
from .machine import cleanup
from .machine.lifecycle import cancel_observation, poll_observation, start_observation
from .model import ForeignCancel, Model, Observation
from .profiles import Profile
from .reporting.reproduction import SENT_TOGETHER, Plan, build, fill, pick
from .runner import make_target, run_timing
from .settings import Options
from .targets import MOCK_BASE_URL, Connection, HarnessError
from .verdicts import Recorder


class ReplayError(Exception):
    """The replay cannot be done as asked; the message says why (exit 2)."""


# --- reading FILE ------------------------------------------------------------------------


def load(path: Path, clause: str | None = None) -> Plan:
    """The plan of one failure, from a conformance.json or a generated Python script."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if path.suffix == ".py" or text.startswith("#!"):
        plan = _plan_of_script(path, text)
        if clause and clause.upper() != plan.clause:
            raise ReplayError(f"{path} reproduces {plan.clause}, not {clause.upper()}")
        return plan
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ReplayError(f"{path} is neither JSON nor a reproduction script: {exc}") from None
    return _plan_of_report(path, document, clause)


def _plan_of_script(path: Path, text: str) -> Plan:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise ReplayError(f"{path} is not Python: {exc.msg} (line {exc.lineno})") from None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "PLAN" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            try:
                return Plan.from_json(node.value.value)
            except (ValueError, TypeError, KeyError) as exc:
                raise ReplayError(f"the PLAN in {path} is unreadable: {exc}") from None
    raise ReplayError(f"{path} holds no PLAN: not a script written by lro-conformance")


def _plan_of_report(path: Path, document: Any, clause: str | None) -> Plan:
    clauses = document.get("clauses") if isinstance(document, dict) else None
    if not isinstance(clauses, dict):
        raise ReplayError(f"{path} is not a conformance.json (no clauses)")
    failed = {
        cid: e["failure"] for cid, e in clauses.items() if isinstance(e, dict) and e.get("failure")
    }
    if not failed:
        raise ReplayError(f"{path} records no failure to replay")
    if clause is None:
        if len(failed) > 1:
            raise ReplayError(
                f"{path} records several failures; pick one with --clause ({', '.join(failed)})"
            )
        clause = next(iter(failed))
    clause = clause.upper()
    if clause not in failed:
        raise ReplayError(f"{path} records no failure of {clause}; it has {', '.join(failed)}")
    failure = failed[clause]
    try:
        exchanges = [Exchange(**{k: v for k, v in e.items()}) for e in failure["exchanges"]]
        options = document.get("options", {})
        base = (options.get("base_url") or {}).get("value") or MOCK_BASE_URL
        clock = (options.get("clock_url") or {}).get("value")
        judged_in = document.get("profile")
        return build(clause, _Told(failure), exchanges, base, clock, str(judged_in or ""))
    except (TypeError, KeyError, AttributeError) as exc:
        raise ReplayError(f"the failure of {clause} in {path} is unreadable: {exc}") from None


@dataclass(frozen=True)
class _Told:
    """A failure as a report tells it."""

    failure: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return self.failure[name]


# --- replaying ---------------------------------------------------------------------------


@dataclass
class Replayed:
    """What a replay saw: the exchanges (redacted), every failure its judging found."""

    plan: Plan
    exchanges: list[Exchange] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    exercised: set[str] = field(default_factory=set)  # clauses the replay's judging judged
    stopped: str | None = None  # why the replay could not get to the failing step
    skipped: list[str] = field(default_factory=list)  # steps the guard kept from being sent
    left: list[str] = field(default_factory=list)  # what the server kept clean-up from removing

    @property
    def shows(self) -> bool:
        return any(f.clause == self.plan.clause for f in self.failures)


def replay(plan: Plan, options: Options) -> Replayed:
    """Send the plan's steps to the target of `options`, judging every answer: in the
    dialect the failure was found in, unless `--profile` names one."""
    if plan.profile and options.sources.get("profile", "default") == "default":
        options = replace(options, profile=plan.profile)
    target = make_target(options)
    conn = target.connect()
    sessions = {n: s for n, s in enumerate(conn.sessions, start=1)}
    missing = [n for n in plan.sessions if n not in sessions]
    if missing:
        raise ReplayError(
            f"the failure used {max(plan.sessions)} sessions; give as many --session-token"
        )
    timing = run_timing(options, target)
    judge = _Judge(conn, Model(timing, limit=options.operation_limit))
    clock_url = options.clock_url or f"{conn.base_url}/_test/clock"
    values: dict[str, Any] = {
        "base": conn.base_url,
        "clock": clock_url.rstrip("/"),
        "parent": conn.parent_id,
        "sandbox_name": f"lro-conformance-{uuid.uuid4().hex[:10]}",
    }
    out = Replayed(plan)
    try:
        for s in plan.steps:
            try:
                url, body = fill(s, values)
            except KeyError as exc:
                out.stopped = str(exc.args[0])
                break
            session = sessions.get(s.session) if s.session is not None else None
            try:
                ex = judge.send(s.action, s.method, url, body, session, s.auth)
            except GuardRefusal as exc:  # on a shared target: never sent
                out.skipped.append(f"step {s.n} ({s.action}) not sent: {exc}")
                if s is plan.last:
                    out.stopped = f"the failing step was not sent: {exc}"
                continue
            out.exchanges.append(conn.client.redacted(ex))
            out.failures += judge.judge(s.action, s.method, url, ex, session)
            if s is plan.last and plan.check == "clean-up" and plan.clause == "CON-2":
                out.failures += judge.slot_held(ex, session)
            for capture in s.captures:
                value = (
                    ex.header("location")
                    if capture.source == "location"
                    else pick(ex.json(), capture.path)
                )
                if value is not None:
                    values[capture.var] = value
                    judge.own(value)
                    if judge.sandbox is None and s.action == "create-folder":
                        judge.sandbox = value
    finally:
        try:
            blocked, out.left = judge.clean_up(values["sandbox_name"])
            out.failures += blocked
        finally:
            conn.close()
    out.exercised = judge.exercised
    if not out.shows and out.stopped is None:
        out.stopped = _cannot_judge(plan, out.exercised)
    evidence = list(out.exchanges)
    for failure in out.failures:
        failure.exchanges = evidence
    return out


def _cannot_judge(plan: Plan, exercised: set[str]) -> str | None:
    """Why the replay's judging cannot tell whether the clause still fails, or None when
    it can: the check that found it must judge single answers (or be the model) and the
    clause must have been judged on replay."""
    if plan.clause in SENT_TOGETHER:
        return (
            f"{plan.clause} cannot be judged on replay: it is shown by requests sent "
            "together, and a replay sends them one at a time; run the gate again to see "
            "whether it still fails"
        )
    actions = {s.action for s in plan.steps}
    actions |= {one for a in actions for one in ALSO_JUDGED_AS.get(a, ())}
    checks = {c.name: c for c in REGISTRY}
    by_answer = plan.check == MODEL_CHECK or (
        plan.check in checks
        and (not checks[plan.check].actions or checks[plan.check].actions & actions)
    )
    if by_answer and plan.clause in exercised:
        return None
    how = f"its check {plan.check}" if plan.check else "its check"
    return (
        f"{plan.clause} cannot be judged on replay: {how} needs the run's picture of the "
        "sandbox (or was not reached); run the gate again to see whether it still fails"
    )


MODEL_CHECK = "lifecycle_is_consistent"

#: A step judged, besides as itself, as each of these (`_Judge.judge`): a cancel of
#: several ids is a cancel of each.
ALSO_JUDGED_AS = {"cancel-several": ("cancel", "cancel-foreign", "cancel-unknown")}


class _Judge:
    """Sends the replay's requests and judges the answers as a run's machine does."""

    def __init__(self, conn: Connection, model: Model) -> None:
        self.conn, self.model = conn, model
        self.owners: dict[str, Session] = {}
        self.sandbox: int | None = None
        self.exercised: set[str] = set()

    def slot_held(self, ex: Exchange, session: Session | None) -> list[Failure]:
        """CON-2 as a run's clean-up judges it, on the replay's last step (a delete of the
        clean-up): refused busy although every operation the session started had ended.
        The replay's own clean-up may remove the sandbox with another session's rights."""
        mine = [t for t, owner in self.owners.items() if owner is session]
        ops = [self.model.ops[t] for t in mine if t in self.model.ops]
        if ex.status != self.conn.profile.busy or not ops:
            return []
        if any(self.model.may_be_running(op, ex.at) for op in ops):
            return []
        self.exercised.add("CON-2")
        return [cleanup.slot_never_freed(f"{ex.method} {ex.url} -> {ex.status}", [ex])]

    def own(self, value: Any) -> None:
        """A value this replay's own requests produced: the guard lets it be touched."""
        if isinstance(value, int):
            self.conn.api.owned_entries.add(value)
        elif isinstance(value, str):
            self.conn.api.owned_tokens.add(value)

    def send(
        self,
        action: str,
        method: str,
        url: str,
        body: bytes | None,
        session: Session | None,
        auth: str,
    ) -> Exchange:
        client = self.conn.client
        if action == "clock" and url.endswith("/advance") and body is not None:
            seconds = json.loads(body).get("seconds", 0)
            exchange = self.conn.clock.advance(float(seconds))
            if exchange is not None:
                return exchange
            return client.send("GET", self.conn.base_url, action="clock")  # wall clock: waited
        self._guard(action, method, url)
        json_body, content = None, body
        if body is not None:
            with contextlib.suppress(ValueError):  # not JSON: sent as it was
                json_body, content = json.loads(body), None
        return client.send(
            method,
            url,
            action=action,
            session=session,
            auth=auth,  # type: ignore[arg-type]
            json_body=json_body,
            content=content,
        )

    def _guard(self, action: str, method: str, url: str) -> None:
        """The API's guard, for the calls that change something: on a shared target only
        what this replay created may be deleted, copied into or cancelled."""
        path = url.split("?")[0].rstrip("/")
        last = path.rsplit("/", 1)[-1]
        token = self.conn.profile.task_token(url)
        if method == "DELETE" and token is not None:
            self.conn.api._guard("cancel an operation", token=token)
        elif method == "DELETE" and action == "cancel-several":
            for each in _named(self.conn.profile, url):
                self.conn.api._guard("cancel an operation", token=each)
        elif method == "DELETE" and last.isdigit():
            self.conn.api._guard("delete", entry=int(last))
        elif method == "POST" and "/Entries/" in path and action.startswith("start"):
            entry = path.split("/Entries/")[1].split("/")[0]
            if entry.isdigit():
                self.conn.api._guard("copy into", entry=int(entry))

    def judge(
        self,
        action: str,
        method: str,
        url: str,
        ex: Exchange,
        session: Session | None,
        token: str | None = None,
    ) -> list[Failure]:
        """The model and the checks on one answer, as `MachineBase.judge` does (`token`:
        the task it is judged for, when the URL names several)."""
        token = token or self.conn.profile.task_token(url)
        op = self.model.ops.get(token) if token else None
        obs = self._observation(action, method, ex, session, token)
        failures: list[Failure] = []
        facts = self._facts(action, url, ex, session, token)
        if isinstance(facts, ListingFacts) and action == "cancel-several":
            # what it says of each id, as the run judged it: a cancel of the session's
            # task, a stranger's cancel of another session's, a cancel of an unknown id
            for each in dict.fromkeys(facts.asked):
                one = (
                    "cancel"
                    if each in facts.mine
                    else "cancel-foreign"
                    if each in facts.others
                    else "cancel-unknown"
                )
                failures += self.judge(one, method, url, ex, session, token=each)
        conn = self.conn
        ctx = Context(action, ex, conn.profile, conn.repo_id, conn.base_url, op, None, facts, token)
        self.model, found = judging.judge(self.model, obs, ctx)
        self.exercised.update(found.exercised)
        return failures + found.failures

    def _facts(
        self, action: str, url: str, ex: Exchange, session: Session | None, token: str | None
    ) -> Facts:
        """What a replay knows for the checks, read from the requests: a listing's ids, an
        unauthenticated request's credentials, a poll's allowance. What only a run knows
        (the sandbox's picture) it does not have: the checks that need it stand aside."""
        profile = self.conn.profile
        if action == "unauthenticated":
            given = ex.request_headers.get("authorization")
            return AuthFacts("an invalid" if given else "no")
        if action in ("poll-several", "cancel-several"):
            # the ids it named (repeated or comma-separated), the tasks the replay started
            # in that session and in others
            asked = tuple(_named(profile, url))
            label = session.label if session else None
            mine = tuple(t for t, owner in self.owners.items() if owner.label == label)
            others = tuple(t for t, owner in self.owners.items() if owner.label != label)
            held = None
            if action == "poll-several":
                named = [t for t in asked if t in mine]
                held = allowance(profile, self.model, named, ex)
            return ListingFacts(asked, mine, others, held)
        if action == "poll":
            named = [token] if token is not None else []
            return PollFacts(held=allowance(profile, self.model, named, ex))
        return Facts()

    def _observation(
        self, action: str, method: str, ex: Exchange, session: Session | None, token: str | None
    ) -> Observation | None:
        profile = self.conn.profile
        if action in ("start-copy", "start-delete", "start-busy") and session is not None:
            kind = "copy" if method == "POST" else "delete"
            obs = start_observation(ex, profile, kind, session.label)
            started = getattr(obs, "token", None)
            if started:
                self.owners[started] = session
                self.own(started)
            return obs
        if token is None or token not in self.model.ops:
            return None
        if action == "poll" or (action == "cleanup" and method == "GET"):
            return poll_observation(ex, profile, token)  # a clean-up's look is a poll
        if action == "cancel":
            return cancel_observation(ex, profile, token)
        if action == "cancel-foreign":  # another session's: it must not act
            return ForeignCancel(token, ex.at)
        return None

    def clean_up(self, sandbox_name: str) -> tuple[list[Failure], list[str]]:
        """On a shared target: end the replay's operations and remove its sandbox. When
        the server blocks that, what it broke (the clean-up's failures: a slot that never
        frees is the replayed CON-2 itself) and what stays on the server."""
        if not self.conn.shared:
            return [], []
        leftovers = _Leftovers(self, sandbox_name)
        try:
            cleanup.clean_up(leftovers)  # type: ignore[arg-type]
        except cleanup.Blocked:
            recorder = leftovers.run.recorder
            return list(recorder.failures.values()), [
                left.describe() for left in recorder.leftovers
            ]
        return [], []


class _Leftovers:
    """What `machine/cleanup.py` needs to know of the replay: its operations, their
    owners, the model and the sandbox."""

    def __init__(self, judge: _Judge, sandbox_name: str) -> None:
        self.conn, self.api, self.model = judge.conn, judge.conn.api, judge.model
        self.tracked = {t: s for t, s in judge.owners.items() if t in judge.model.ops}
        self.sandbox, self.sandbox_name = judge.sandbox, sandbox_name
        self.run = SimpleNamespace(recorder=Recorder())  # what a blocked clean-up records
        self.areas: dict[str, Any] = {}  # a replay's sandbox is one folder, removed whole

    @property
    def now(self) -> tuple[float, float]:
        t = self.conn.clock.now
        return (t, t)

    def owner(self, token: str) -> Session:
        return self.tracked[token]


def describe(out: Replayed) -> list[str]:
    """What to print: each exchange, then the verdict line."""
    lines = [f"replaying {out.plan.clause} ({out.plan.title}): {len(out.plan.steps)} steps"]
    lines += [f"  {i:>3}. {ex.action} {ex.describe()}" for i, ex in enumerate(out.exchanges, 1)]
    lines += [f"  {note}" for note in out.skipped]
    mine = [f for f in out.failures if f.clause == out.plan.clause]
    if mine:
        f = mine[0]
        lines.append(f"{f.clause} still shows: {f.title}: expected {f.expected}; got {f.actual}")
    elif out.stopped:
        lines.append(f"cannot tell: {out.stopped}")
    else:
        lines.append(
            f"{out.plan.clause} does not show on replay (originally: expected "
            f"{out.plan.expected}; got {out.plan.actual})"
        )
    others = sorted({f.clause for f in out.failures} - {out.plan.clause})
    if others:
        lines.append(f"also seen on replay: {', '.join(others)}")
    if out.left:
        lines.append(f"left behind (the server kept clean-up from it): {'; '.join(out.left)}")
    return lines


__all__ = ["GuardRefusal", "HarnessError", "ReplayError", "Replayed", "describe", "load", "replay"]


def _named(profile: Profile, url: str) -> list[str]:
    """The task ids a listing's URL names (v2's `taskIds`, repeated or comma-separated)."""
    listing = profile.tasks_query()
    name = listing[1] if listing else ""
    named = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == name]
    return [piece for value in named for piece in value.split(",") if piece]
