"""The emulator under load: many sessions running long operations at once, every
invariant checked, and the throughput set beside loopback's raw rate.

It serves `lro-emulator` on 127.0.0.1 (`emulator.server.running`, virtual clock), gives
each session an area of its own (folders made with the create-folder call) and drives
all sessions at once (asyncio, one httpx.AsyncClient): copies of a small tree and
deletes of a small tree made for each, every one polled until it ends, some cancelled,
some followed at once by a second start that must be refused. A clock task moves the
virtual clock one tick at a time; a session that saw its operation running polls
again after the next tick. It checks:

* no answer is 5xx, and no request fails in transport;
* one operation per session: a start is refused (429) only while its session is busy,
  and a second start sent while the first surely still runs (the clock did not move)
  is refused;
* a cancel answers 204 (and the operation then ends Cancelled) or 400 (it had ended);
* every token answers, with the status it ended in, until its TTL is over, and is gone
  (404) after it;
* no entry lost or duplicated: each session's area, listed at the end, holds exactly
  what the ended operations imply (a completed copy's whole tree, a completed delete's
  absence, a cancelled one's partial result inside its own subtree, the fixtures intact).

Then it measures the raw rate of loopback: a trivial Starlette route served by uvicorn
the same way (`emulator.server._serve`), driven by as many concurrent clients.

    python bench/load.py               # 50 sessions x 200 operations; writes docs/BENCHMARKS.md
    python bench/load.py --sessions 3 --operations 5 --no-write
    python bench/load.py --fault global-operation-limit --no-write    # see a check fire

Exit 0: every invariant held; 1: a violation (each kind listed with examples); 2: bad
options or a server that did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import sys
import time
from collections import Counter
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sections import DOC, markers, write_section

ROOT = Path(__file__).resolve().parent.parent
REPO = "/v1/Repositories/r1"
ROOT_FOLDER = 1
TICK = 0.25  # virtual seconds per clock advance: also the emulator's start delay and step
TTL = 86400.0  # the served token TTL: every token must live through the run
CANCEL_SHARE, PROBE_SHARE, DELETE_SHARE = 0.15, 0.1, 0.4
ENDED = {"Completed", "Failed", "Cancelled"}
RUNNING = {"NotStarted", "InProgress"}
TREE = {"a": {}, "b": {}}  # the source every copy copies: a folder with two folders


@dataclass
class Answer:
    status: int  # 0: no answer (transport error)
    body: Any


@dataclass
class Op:
    session: int
    kind: str  # "copy" | "delete"
    name: str  # the copy's name, or the deleted folder's
    token: str
    cancel_accepted: bool = False
    final: str | None = None  # the status it ended in


@dataclass
class Area:
    """One session's folders: its copies go to `out`, its deletes take folders in `dels`."""

    token: str
    root: int = 0
    src: int = 0
    out: int = 0
    dels: int = 0
    refused_deletes: list[str] = field(default_factory=list)  # made, never deleted


class Load:
    """The load driver: requests, the clock, and what was seen."""

    def __init__(self, clients: dict[str | None, httpx.AsyncClient], seed: int) -> None:
        self.clients, self.seed = clients, seed  # one per session (None: the clock's)
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.problems: dict[str, list[str]] = {}
        self.ops: list[Op] = []
        self.frozen = asyncio.Lock()  # held: the clock does not move
        self.advances = 0
        self.tick = asyncio.Event()  # set (and replaced) at every advance
        self.probes = Counter[
            str
        ]()  # second starts while the first surely runs: refused / accepted

    def problem(self, kind: str, detail: str) -> None:
        self.problems.setdefault(kind, []).append(detail)

    async def send(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Answer:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        begin = time.perf_counter()
        try:
            reply = await self.clients[token].request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            self.problem("transport error", f"{method} {path}: {exc!r}")
            return Answer(0, None)
        self.latencies.append(time.perf_counter() - begin)
        self.statuses[reply.status_code] += 1
        if reply.status_code >= 500:
            self.problem("5xx answer", f"{method} {path}: {reply.status_code} {reply.text[:120]}")
        try:
            return Answer(reply.status_code, reply.json())
        except ValueError:
            return Answer(reply.status_code, None)

    # --- the clock ---------------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        async with self.frozen:
            answer = await self.send("POST", "/_test/clock/advance", json={"seconds": seconds})
            self.advances += 1
        if answer.status != 200:
            self.problem("clock hook refused", f"advance {seconds}: {answer.status}")
        self.tick.set()
        self.tick = asyncio.Event()

    async def ticking(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self.advance(TICK)

    # --- fixtures and listings ---------------------------------------------------------

    async def folder(self, token: str, parent: int, name: str) -> int:
        answer = await self.send(
            "POST",
            f"{REPO}/Entries/{parent}/Laserfiche.Repository.Folder/children",
            token,
            json={"name": name, "entryType": "Folder"},
        )
        if answer.status != 201 or not isinstance(answer.body, dict):
            raise SetupError(f"creating folder {name!r} answered {answer.status}")
        return int(answer.body["id"])

    async def tree(self, token: str, folder: int) -> dict[str, Any]:
        """The folder's subtree by name; a name seen twice in one folder is kept twice."""
        answer = await self.send(
            "GET", f"{REPO}/Entries/{folder}/Laserfiche.Repository.Folder/children", token
        )
        if answer.status != 200 or not isinstance(answer.body, dict):
            self.problem("listing failed", f"folder {folder}: {answer.status}")
            return {}
        out: dict[str, Any] = {}
        for entry in answer.body.get("value", []):
            name = entry["name"] if entry["name"] not in out else f"{entry['name']} (again)"
            out[name] = await self.tree(token, entry["id"]) if entry.get("isContainer") else {}
        return out

    async def area(self, index: int, token: str) -> Area:
        area = Area(token)
        area.root = await self.folder(token, ROOT_FOLDER, f"load-{index}")
        area.src = await self.folder(token, area.root, "src")
        for name in TREE:
            await self.folder(token, area.src, name)
        area.out = await self.folder(token, area.root, "out")
        area.dels = await self.folder(token, area.root, "dels")
        return area


class SetupError(Exception):
    """The load could not be set up (the fixtures); exit 2."""


async def run_session(load: Load, index: int, area: Area, operations: int) -> None:
    """One session's operations, one at a time (plus the odd second start)."""
    rng = random.Random(f"{load.seed}/{index}")
    for n in range(operations):
        if rng.random() < PROBE_SHARE:
            # The clock stands still meanwhile, so the first operation (NotStarted for a
            # start delay) surely still runs when the second start arrives.
            async with load.frozen:
                ops = [await start(load, index, area, n, rng)]
                if ops[0] is not None:
                    ops.append(await second_start(load, index, area, n))
        else:
            ops = [await start(load, index, area, n, rng)]
        if ops[0] is None:
            continue
        if rng.random() < CANCEL_SHARE:
            if rng.random() < 0.5:
                await load.tick.wait()  # let it run a little first
            await cancel(load, area, ops[0])
        for op in ops:
            if op is not None:
                await follow(load, area, op)


async def start(load: Load, index: int, area: Area, n: int, rng: random.Random) -> Op | None:
    if rng.random() < DELETE_SHARE:
        name = f"d{n}"
        target = await load.folder(area.token, area.dels, name)
        await load.folder(area.token, target, "x")
        answer = await load.send("DELETE", f"{REPO}/Entries/{target}", area.token)
        kind = "delete"
    else:
        name, kind = f"c{n}", "copy"
        answer = await copy(load, area, name)
    if answer.status == 201 and isinstance(answer.body, dict) and answer.body.get("token"):
        op = Op(index, kind, name, answer.body["token"])
        load.ops.append(op)
        return op
    if kind == "delete":
        area.refused_deletes.append(name)
    what = "429 while the session was idle" if answer.status == 429 else "start not accepted"
    load.problem(what, f"session {index} {kind} {name}: {answer.status}")
    return None


async def copy(load: Load, area: Area, name: str) -> Answer:
    return await load.send(
        "POST",
        f"{REPO}/Entries/{area.out}/Laserfiche.Repository.Folder/CopyAsync",
        area.token,
        json={"sourceId": area.src, "name": name},
    )


async def second_start(load: Load, index: int, area: Area, n: int) -> Op | None:
    """A copy started right after the session's operation: refused while that one runs."""
    name = f"p{n}"
    answer = await copy(load, area, name)
    if answer.status == 429:
        load.probes["refused"] += 1
        return None
    if answer.status == 201 and isinstance(answer.body, dict) and answer.body.get("token"):
        load.problem("second start accepted while the first surely ran", f"session {index}")
        load.probes["accepted"] += 1
        op = Op(index, "copy", name, answer.body["token"])
        load.ops.append(op)
        return op
    load.problem("second start answered neither 429 nor 201", f"{index} {answer.status}")
    return None


async def cancel(load: Load, area: Area, op: Op) -> None:
    answer = await load.send("DELETE", f"{REPO}/Tasks/{op.token}", area.token)
    if answer.status == 204:
        op.cancel_accepted = True
    elif answer.status != 400:  # 400: it had ended
        load.problem("cancel answered neither 204 nor 400", f"{op.name}: {answer.status}")


async def follow(load: Load, area: Area, op: Op) -> None:
    """Poll until the operation ends (one poll per clock tick while it runs)."""
    while True:
        tick = load.tick
        answer = await load.send("GET", f"{REPO}/Tasks/{op.token}", area.token)
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
        if answer.status == 202 and status in RUNNING:
            await tick.wait()
            continue
        if answer.status in (200, 201) and status in ENDED:
            op.final = status
            if op.cancel_accepted and status != "Cancelled":
                load.problem("cancel answered 204, then it ended otherwise", f"{op.name}: {status}")
            return
        kind = "token gone before its TTL" if answer.status == 404 else "poll answer unexpected"
        load.problem(kind, f"{op.name}: {answer.status} {status}")
        op.final = "?"
        return


# --- the end: tokens and trees ---------------------------------------------------------


async def check_tokens(load: Load, tokens: dict[int, str], alive: bool) -> None:
    """Every token answers with the status it ended in (alive), or is gone (404)."""
    limit = asyncio.Semaphore(64)

    async def one(op: Op) -> None:
        async with limit:
            answer = await load.send("GET", f"{REPO}/Tasks/{op.token}", tokens[op.session])
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
        if alive and (answer.status not in (200, 201) or status != op.final):
            load.problem("token not answering as it ended", f"{op.name}: {answer.status} {status}")
        if not alive and answer.status != 404:
            load.problem("token answering after its TTL", f"{op.name}: {answer.status}")

    await asyncio.gather(*(one(op) for op in load.ops if op.final != "?"))


def expected_area(ops: list[Op], area: Area) -> dict[str, Any]:
    """What the area must hold, by name; a value is a list of the subtrees allowed there
    (None among them: absent)."""
    out: dict[str, list[Any]] = {}
    dels: dict[str, list[Any]] = {name: [{"x": {}}] for name in area.refused_deletes}
    for op in ops:
        partial = [None, {}, {"a": {}}, {"b": {}}, TREE]  # cancelled or failed: inside only
        if op.kind == "copy":
            out[op.name] = [TREE] if op.final == "Completed" else partial
        else:
            dels[op.name] = [None] if op.final == "Completed" else [None, {}, {"x": {}}]
    return {"src": [TREE], "out": out, "dels": dels}


def compare(load: Load, index: int, seen: dict[str, Any], want: dict[str, Any]) -> None:
    if sorted(seen) != ["dels", "out", "src"] or seen["src"] != TREE:
        load.problem("fixture changed", f"session {index}: {sorted(seen)} src={seen.get('src')}")
        return
    for folder in ("out", "dels"):
        for name, subtree in seen[folder].items():
            if name not in want[folder]:
                load.problem("unexplained (duplicated or leaked) entry", f"{index}/{folder}/{name}")
            elif subtree not in want[folder][name]:
                load.problem("entry holds the wrong tree", f"{index}/{folder}/{name}: {subtree}")
        for name, allowed in want[folder].items():
            if name not in seen[folder] and None not in allowed:
                load.problem("lost entry", f"{index}/{folder}/{name}")


async def check_trees(load: Load, areas: list[Area]) -> None:
    async def one(index: int, area: Area) -> None:
        seen = await load.tree(area.token, area.root)
        ops = [op for op in load.ops if op.session == index]
        compare(load, index, seen, expected_area(ops, area))

    await asyncio.gather(*(one(i, a) for i, a in enumerate(areas)))


# --- one whole load run ----------------------------------------------------------------


@dataclass
class Figures:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentiles(self) -> tuple[float, float, float]:
        """p50, p95, p99 in milliseconds."""
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


async def clients(
    base: str, keys: list[Any], stack: AsyncExitStack
) -> dict[Any, httpx.AsyncClient]:
    """An httpx.AsyncClient per key: each session has its own connections, as separate
    users would (one client shared by 50 busy tasks spends its time in its pool)."""
    return {
        key: await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=120))
        for key in keys
    }


async def drive(base: str, tokens: list[str], operations: int, seed: int) -> tuple[Load, Figures]:
    """The load against the emulator at `base`, then the end checks."""
    async with AsyncExitStack() as stack:
        load = Load(await clients(base, [None, *tokens], stack), seed)
        areas = list(await asyncio.gather(*(load.area(i, t) for i, t in enumerate(tokens))))
        done = asyncio.Event()
        clock = asyncio.create_task(load.ticking(done))
        before, begin = len(load.latencies), time.perf_counter()
        try:
            await asyncio.gather(
                *(run_session(load, i, a, operations) for i, a in enumerate(areas))
            )
        finally:
            done.set()
            await clock
        figures = Figures(
            len(load.latencies) - before, time.perf_counter() - begin, load.latencies[before:]
        )
        by_session = dict(enumerate(tokens))
        await check_tokens(load, by_session, alive=True)
        await check_trees(load, areas)  # after those polls too: polling changes nothing
        await load.advance(TTL + TICK)  # every operation ended before now
        await check_tokens(load, by_session, alive=False)
        return load, figures


def trivial_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", ok)])


def serve_trivial() -> int:
    """The trivial route, served as `lro-emulator` serves the emulator (its `_serve`, a
    loopback socket with TCP_NODELAY)."""
    from emulator.server import _serve

    sock = socket.socket(socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return _serve(trivial_app(), sock, None, None)


def trivial_server() -> AbstractContextManager[str]:
    from emulator.server import serving

    return serving([sys.executable, __file__, "--serve-trivial"], "the trivial server")


async def raw_rate(base: str, concurrent: int, each: int) -> Figures:
    async with AsyncExitStack() as stack:
        latencies: list[float] = []

        async def one(http: httpx.AsyncClient) -> None:
            for _ in range(each):
                begin = time.perf_counter()
                reply = await http.get("/")
                latencies.append(time.perf_counter() - begin)
                reply.raise_for_status()

        pool = await clients(base, list(range(concurrent)), stack)
        begin = time.perf_counter()
        await asyncio.gather(*(one(c) for c in pool.values()))
        return Figures(len(latencies), time.perf_counter() - begin, latencies)


# --- the command -----------------------------------------------------------------------


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=positive, default=50, help="concurrent sessions (50)")
    p.add_argument("--operations", type=positive, default=200, help="per session (200)")
    p.add_argument("--seed", type=int, default=0, help="what each session does (0)")
    p.add_argument("--fault", action="append", default=[], help="seed an emulator fault")
    p.add_argument("--no-write", action="store_true", help="leave docs/BENCHMARKS.md alone")
    p.add_argument("--serve-trivial", action="store_true", help=argparse.SUPPRESS)
    return p


def summary(
    load: Load, work: Figures, raw: Figures, sessions: int, operations: int, command: str
) -> list[str]:
    finals = Counter(op.final for op in load.ops)
    p50, p95, p99 = work.percentiles()
    r50, r95, r99 = raw.percentiles()
    held = "held" if not load.problems else "**violated**: " + ", ".join(sorted(load.problems))
    return [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} "
        f"({len(os.sched_getaffinity(0))} cores, shared), Python "
        f"{platform.python_version()}; client and server on one machine (`{command}`).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| sessions × operations | {sessions} × {operations} "
        f"({len(load.ops)} started: {finals['Completed']} completed, {finals['Cancelled']} "
        f"cancelled, {finals['Failed']} failed) |",
        f"| second starts while the first surely ran: refused / accepted | "
        f"{load.probes['refused']} / {load.probes['accepted']} |",
        f"| requests under load (fixtures, starts, polls, cancels; clock advances) | "
        f"{work.requests} ({load.advances} advances) in {work.seconds:.1f} s |",
        f"| emulator: requests/s | {work.rate:.0f} |",
        f"| emulator: latency p50 / p95 / p99 | {p50:.1f} / {p95:.1f} / {p99:.1f} ms |",
        f"| loopback raw rate (trivial Starlette route, same uvicorn set-up, {sessions} "
        f"clients): requests/s | {raw.rate:.0f} |",
        f"| loopback raw latency p50 / p95 / p99 | {r50:.1f} / {r95:.1f} / {r99:.1f} ms |",
        f"| emulator rate as a share of the raw rate | {work.rate / raw.rate:.0%} |",
        "| answers by status (all requests) | "
        + ", ".join(f"{s}: {n}" for s, n in sorted(load.statuses.items()))
        + " |",
        f"| invariants (no 5xx, one operation per session, no lost or duplicated entry, "
        f"tokens answer until the TTL and not after) | {held} |",
    ]


def write(lines: list[str]) -> None:
    begin, end = markers("load")
    write_section("load", "\n".join([begin, *lines, end]))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.serve_trivial:
        return serve_trivial()
    from emulator.server import running

    tokens = [f"load-{i + 1}" for i in range(args.sessions)]
    served = [f"--session-token={t}" for t in tokens] + [f"--fault={f}" for f in args.fault]
    served += ["--start-delay", str(TICK), "--step-seconds", str(TICK), "--token-ttl", str(TTL)]
    try:
        with running(*served) as base:
            load, work = asyncio.run(drive(base, tokens, args.operations, args.seed))
        with trivial_server() as base:
            raw = asyncio.run(
                raw_rate(base, args.sessions, max(work.requests // args.sessions // 4, 50))
            )
    except (SetupError, RuntimeError) as exc:
        print(f"load: error: {exc}", file=sys.stderr)
        return 2
    command = "python bench/load.py" + "".join(
        f" {flag} {value}"
        for flag, value, default in (
            ("--sessions", args.sessions, 50),
            ("--operations", args.operations, 200),
            ("--seed", args.seed, 0),
        )
        if value != default
    )
    lines = summary(load, work, raw, args.sessions, args.operations, command)
    print("\n".join(lines))
    for kind, examples in sorted(load.problems.items()):
        print(f"VIOLATION {kind}: {len(examples)}, e.g. {'; '.join(examples[:3])}")
    if not args.no_write and not args.fault:
        write(lines)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 1 if load.problems else 0


if __name__ == "__main__":
    sys.exit(main())
