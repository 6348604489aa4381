"""The emulator: one `handle(request) -> response` that serves the whole API.

Every request goes through the same gate, in this order: bring the world up
to date with the clock, find the route (404, or 405 for a known path with a
wrong method), check the bearer token (401), check the repository id (404),
then run the endpoint. Test hooks skip authentication and exist only on a
virtual clock. Any `Problem` becomes a problem document; anything else that
escapes is an emulator bug and still gets a 500 problem, never an exception.

Which routes exist is the dialect's (`Dialect.paths`); what each route does is
`ENDPOINTS`, one table for every dialect (v1's `task` and v2's `tasks` are different
routes). A long poll (v2's `GET .../Tasks`) may wait in `handle_async`, on the wall
clock, until `LONG_POLLS` says it need not: the lock is taken to look, never held while
waiting, so the request that ends the wait (a cancel, a step falling due) is served.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from . import entries, inputs, task_lists, tasks
from .clock import VirtualClock, iso, make_clock
from .config import EmulatorConfig, check
from .dialect import DIALECTS, TEST_HOOK_ROUTES, Route, json_response
from .engine import Engine, Timing
from .faults import FaultSet
from .messages import Request, Response
from .problems import Problem, problem_response
from .sessions import Session, authenticate, has_wrong_bearer
from .tree import Tree
from .variants import VariantSet
from .world import Call, World

Endpoint = Callable[[World, Call], Response]
# May a long poll that arrived at the given time (the world's clock) hold its answer back now?
Hold = Callable[[World, Call, float], bool]

ANONYMOUS = "anonymous"  # creator of what an unauthenticated request makes (a fault only)
# racy-slot-check: how long a start's handler awaits between reading the session's slot and
# registering the operation (a round trip to a store); long enough for requests sent
# together over loopback to arrive within it, also with four test workers on two cores
# (every start pays it, so a longer one only slows the fault's runs: 0.1 s made a live
# run of 20 examples take 45 s).
RACE_WINDOW = 0.03
# How often a waiting long poll looks again (under the lock) whether it may answer: a
# task's end is seen at most this late.
LONG_POLL_TICK = 0.02


def clock_now(world: World, call: Call) -> Response:
    """GET /_test/clock"""
    return json_response(200, {"now": iso(call.now), "mode": world.clock.mode})


def clock_advance(world: World, call: Call) -> Response:
    """POST /_test/clock/advance {"seconds": n}: move the virtual clock forward."""
    seconds = inputs.advance_seconds(call.request.body)
    assert isinstance(world.clock, VirtualClock)  # hooks are not routed on a wall clock
    try:
        now = world.clock.advance(seconds)
    except ValueError as error:
        raise Problem(400, "Invalid clock advance", str(error)) from None
    # Steps that fell due run lazily, at the start of the next request.
    return json_response(200, {"now": iso(now)})


#: route name -> method -> endpoint.
ENDPOINTS: dict[str, dict[str, Endpoint]] = {
    "entry": {"GET": entries.get_entry, "DELETE": tasks.start_delete},
    "children": {"GET": entries.list_children, "POST": entries.create_child},
    "copy": {"POST": tasks.start_copy},
    "task": {"GET": tasks.poll, "DELETE": tasks.cancel},  # v1: one token in the path
    "tasks": {"GET": task_lists.list_tasks, "DELETE": task_lists.cancel_tasks},  # v2
    "clock": {"GET": clock_now},
    "clock-advance": {"POST": clock_advance},
}

#: endpoint -> while its answer may be held back: the long polls (wall clock only, at most
#: `EmulatorConfig.long_poll` seconds; never under the no-long-poll variant).
LONG_POLLS: dict[Endpoint, Hold] = {task_lists.list_tasks: task_lists.all_running}


class Emulator:
    """An in-memory Laserfiche-style repository with long operations, served by `handle`."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        config = config or EmulatorConfig()
        check(config)  # ValueError naming the bad setting
        clock = make_clock(config.clock)
        faults = FaultSet(config.faults)
        variants = VariantSet(config.variants)
        tree = Tree(
            clock.now(),
            creator="admin",
            large_ids=variants.has("large-ids"),
            copy_names=variants.has("copy-rename-scheme"),
        )
        start_delay = (
            max(config.start_delay, 5.0) if variants.has("slow-start") else config.start_delay
        )
        timing = Timing(start_delay, config.step_seconds, config.token_ttl)
        self.config = config
        self._tokens = tuple(config.session_tokens)  # position = session index
        engine = Engine(
            tree,
            faults,
            timing,
            opaque_tokens=variants.has("opaque-tokens"),
            limit=config.operation_limit,
        )
        self.world = World(config, DIALECTS[config.profile], clock, faults, tree, engine, variants)
        # One request at a time: a threaded server must not interleave two starts
        # of one session (only one may win the slot) or half-applied steps.
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        """Serve one request. Never raises; bad input gets a 4xx problem document."""
        with self._lock:
            return self.world.variants.dress(self._answer(request))

    async def handle_async(self, request: Request) -> Response:
        """Serve one request from an event loop (the Starlette app, mock mode's requests
        sent together): `handle`, except for a long poll on the wall clock (it may wait)
        and under the racy-slot-check fault."""
        hold = self._long_poll_of(request)
        if hold is not None:
            return await self._long_poll(request, hold)
        if not self.world.faults.has("racy-slot-check") or not self._is_start(request):
            return self.handle(request)
        # The bug: the handler reads the session's slot, then awaits before it registers
        # the operation, with no lock held across both: a start of the same session
        # served meanwhile reads the slot free as well, and both are accepted.
        with self._lock:
            now = self.world.clock.now()
            self.world.engine.advance(now)
            slots = self.world.engine.busy_sessions(now)
        await asyncio.sleep(RACE_WINDOW)
        with self._lock:
            self.world.engine.slots_read = slots
            try:
                return self.world.variants.dress(self._answer(request))
            finally:
                self.world.engine.slots_read = None

    def _is_start(self, request: Request) -> bool:
        route = self._route_of(request)
        return route is not None and (route.name, request.method.upper()) in _STARTS

    def _route_of(self, request: Request) -> Route | None:
        try:
            return self.world.dialect.match_route(urlsplit(request.url).path)
        except ValueError:
            return None

    def _long_poll_of(self, request: Request) -> Hold | None:
        """What may hold `request`'s answer back, when it is a long poll that may wait."""
        if self.world.clock.mode != "wall" or self.config.long_poll <= 0:
            return None  # a virtual clock never moves inside a request: answer at once
        if self.world.variants.has("no-long-poll"):
            return None
        route = self._route_of(request)
        endpoint = ENDPOINTS.get(route.name, {}).get(request.method.upper()) if route else None
        return LONG_POLLS.get(endpoint) if endpoint else None

    async def _long_poll(self, request: Request, hold: Hold) -> Response:
        """Answer once `hold` says nothing is left to wait for (a task named ended, none is
        known, the request is refused) or `long_poll` seconds passed, whichever is first.
        The lock is held to look and to answer, never while waiting."""
        period = self.config.long_poll
        if self.world.faults.has("v2-long-poll-overstays"):
            period *= 2  # the bug: the deadline is armed again once, after the first one
        deadline = time.monotonic() + period
        with self._lock:
            arrived = self.world.clock.now()
        while True:
            with self._lock:
                left = deadline - time.monotonic()
                if left <= 0 or not self._holds(request, hold, arrived):
                    return self.world.variants.dress(self._answer(request))
            await asyncio.sleep(min(LONG_POLL_TICK, left))

    def _holds(self, request: Request, hold: Hold, arrived: float) -> bool:
        try:
            _, call = self._prepare(request)
            return hold(self.world, call, arrived)
        except Exception:  # refused (a Problem) or an emulator bug: answered at once
            return False

    def _answer(self, request: Request) -> Response:
        try:
            return self._serve(request)
        except Problem as problem:
            return problem_response(problem, _path_of(request), self.world.faults)
        except Exception as error:  # a bug in the emulator, not the caller's fault
            bug = Problem(500, "Internal Server Error", f"Emulator bug: {type(error).__name__}")
            return problem_response(bug, _path_of(request), self.world.faults)

    def _serve(self, request: Request) -> Response:
        endpoint, call = self._prepare(request)
        return endpoint(self.world, call)

    def _prepare(self, request: Request) -> tuple[Endpoint, Call]:
        """The endpoint that serves `request` and the call it gets, with the world brought
        up to date; a Problem for every refusal on the way (route, method, auth, repo)."""
        now = self.world.clock.now()
        self.world.engine.advance(now)
        try:
            url = urlsplit(request.url)
        except ValueError:
            raise Problem(400, "Invalid request URL", "The request URL is malformed.") from None
        route = self.world.dialect.match_route(url.path)
        if route is None or (route.name in TEST_HOOK_ROUTES and self.world.clock.mode != "virtual"):
            raise Problem(404, "Not Found", f"No resource at {url.path}.")
        endpoints = ENDPOINTS[route.name]
        endpoint = endpoints.get(request.method.upper())
        if endpoint is None:
            allowed = ", ".join(endpoints)
            raise Problem(
                405,
                "Method Not Allowed",
                f"{request.method} is not allowed here; use {allowed}.",
                headers={"allow": allowed},
            )
        params = {key: unquote(value) for key, value in route.params.items()}
        if route.name == "copy" and self.world.faults.has("unauthenticated-copy-runs"):
            self._copy_before_auth(request, params, now)
        if route.name == "task" and request.method.upper() == "DELETE":
            self._cancel_before_auth(request, params, now)
        if route.name == "tasks" and request.method.upper() == "DELETE":
            self._cancel_tasks_before_auth(request, url.query, now)
        session = self._session_of(request, is_hook=route.name in TEST_HOOK_ROUTES)
        if "repo" in params and params["repo"] != self.config.repo_id:
            raise Problem(404, "Repository not found.", f"No repository '{params['repo']}'.")
        origin = f"{url.scheme}://{url.netloc}" if url.scheme else ""
        return endpoint, Call(request, url.path, url.query, origin, params, session, now)

    def _copy_before_auth(self, request: Request, params: dict[str, str], now: float) -> None:
        """unauthenticated-copy-runs: a wrong bearer token is only checked after the copy ran."""
        if params["repo"] != self.config.repo_id:
            return
        if has_wrong_bearer(request.headers, self._tokens):
            tasks.leak_requested_folder(self.world, params["id"], request.body, ANONYMOUS, now)

    def _cancel_before_auth(self, request: Request, params: dict[str, str], now: float) -> None:
        """unauthenticated-cancel-acts: credentials are only checked after the cancel ran."""
        if not self.world.faults.has("unauthenticated-cancel-acts"):
            return
        if authenticate(request.headers, self._tokens, self.world.faults) is not None:
            return
        op = self.world.engine.find(params.get("token", ""))
        if op is not None and not op.ended:
            self.world.engine.cancel(op, now)

    def _cancel_tasks_before_auth(self, request: Request, query: str, now: float) -> None:
        """v2-unauthenticated-cancel-acts: credentials are only checked after the cancel ran."""
        if not self.world.faults.has("v2-unauthenticated-cancel-acts"):
            return
        if authenticate(request.headers, self._tokens, self.world.faults) is None:
            task_lists.cancel_before_auth(self.world, query, now)

    def _session_of(self, request: Request, is_hook: bool) -> Session:
        if is_hook:
            return Session(0)  # hooks need no credentials; the session is never used
        session = authenticate(request.headers, self._tokens, self.world.faults)
        if session is None:
            raise Problem(
                401,
                "Unauthorized",
                "A valid bearer token is required.",
                headers={"www-authenticate": "Bearer"},
            )
        return session


_STARTS = {("copy", "POST"), ("entry", "DELETE")}  # the requests that start an operation


def _path_of(request: Request) -> str:
    """The request path for a problem's "instance"; "" when the URL cannot be parsed."""
    try:
        return urlsplit(request.url).path
    except Exception:  # the last-resort path must not raise
        return ""
