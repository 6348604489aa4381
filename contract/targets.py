"""Targets: where a run sends its requests, and how it moves the target's clock.

* `MockTarget`: the embedded emulator, in-process. respx routes an httpx client
  to `emulator.handle`; every Hypothesis example gets a fresh emulator, so a
  shrunk counterexample replays exactly. The clock is virtual.
* `LiveTarget`: a running server at a base URL (an `lro-emulator`, a vendor build,
  a staging tenant). Examples share it: each one builds its sandbox under the
  given parent folder and removes it at the end. The clock is driven through the
  build's test hooks (`--clock-url`).

A target hands each example a `Connection`: the client, the API, the sessions,
the folder under which the example builds its sandbox, and the clock driver.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
import respx

from .api import RepositoryApi
from .client import Client, Exchange, Session
from .profiles import PROFILES, Profile


class HarnessError(Exception):
    """The gate could not do its job (configuration, target unreachable): exit 2, not a verdict."""


class ClockDriver:
    """The target's clock seen through the test hooks (DESIGN §6): read it, advance it."""

    virtual = True

    def __init__(self, clock_url: str) -> None:
        self.clock_url = clock_url.rstrip("/")
        self.now = 0.0
        self.client: Client | None = None

    def stamp(self) -> float:
        """The time to stamp an exchange with: the virtual clock only moves when we move it."""
        return self.now

    def read(self) -> float:
        self.now = self._parse(self._call("GET", self.clock_url, None))
        return self.now

    def advance(self, seconds: float) -> Exchange | None:
        assert self.client is not None
        exchange = self.client.send(
            "POST", f"{self.clock_url}/advance", action="clock", json_body={"seconds": seconds}
        )
        self.now = self._parse(exchange)
        return exchange

    def _call(self, method: str, url: str, body: Any) -> Exchange:
        assert self.client is not None
        return self.client.send(method, url, action="clock", json_body=body)

    def _parse(self, exchange: Exchange) -> float:
        if exchange.error is not None:
            raise HarnessError(f"cannot reach the clock hook {self.clock_url}: {exchange.error}")
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, dict) or "now" not in body:
            raise HarnessError(
                f"the clock hook at {self.clock_url} did not answer "
                f'{{"now": ...}} ({exchange.describe()})'
            )
        try:
            return datetime.fromisoformat(str(body["now"]).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise HarnessError(
                f"the clock hook answered an unreadable time {body['now']!r}"
            ) from None


_ORIGIN = time.monotonic()


class WallClock:
    """No clock hooks (a real tenant): time is the client's own monotonic clock, and
    moving it on means waiting. Every exchange is stamped when it was sent and when
    its answer came, so the model bounds each server event by an interval; the TTL
    tolerance covers the server's timer granularity. Seconds since the run began."""

    virtual = False

    def __init__(self, longest_wait: float = 0.2) -> None:
        self.longest_wait = longest_wait  # a rule's "advance" waits at most this long
        self.client: Client | None = None

    @property
    def now(self) -> float:
        return time.monotonic() - _ORIGIN

    def stamp(self) -> float:
        return self.now

    def read(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self.longest_wait)))

    def wait_until(self, when: float, stop: threading.Event | None = None) -> bool:
        """Wait until `when` (no cap); False when `stop` was set first."""
        delay = when - self.now
        if delay <= 0:
            return True
        if stop is None:
            time.sleep(delay)
            return True
        return not stop.wait(delay)


Clock = ClockDriver | WallClock


def find_version(api: RepositoryApi, session: Session, parent: int, auto: bool) -> Profile | None:
    """When `api`'s profile does not find the parent folder (404), the profile of another
    API version (v1, v2: a profile's `api_root`) that does: under --profile auto the run
    goes on in that version (the profile probe then picks the dialect; None: nothing to
    change); a named profile stops the run (HarnessError) naming the one to use."""
    given = api.profile
    if api.get_entry(session, parent, action="preflight").status != given.not_found:
        return None
    roots = {p.api_root: p for p in reversed(PROFILES.values())}  # the first of each
    for root, other in roots.items():
        if root == given.api_root:
            continue
        read = api.speaking(other).get_entry(session, parent, action="preflight")
        if read.status != other.entry_read:
            continue
        if auto:
            return other
        names = [p.name for p in PROFILES.values() if p.api_root == root]
        fix = names[0] if len(names) == 1 else "auto"
        raise HarnessError(
            f"the target answers like {' or '.join(names)}, not {given.name} "
            f"(the parent folder #{parent} is read under /{root}/, not under "
            f"/{given.api_root}/): run with --profile {fix}"
        )
    return None


@dataclass
class Connection:
    """What one example works with."""

    client: Client
    api: RepositoryApi
    clock: Clock
    sessions: list[Session]
    parent_id: int
    base_url: str
    repo_id: str
    profile: Profile
    closers: list[Any] = field(default_factory=list)
    shared: bool = False  # other examples use this target too: clean up after each one

    def close(self) -> None:
        for closer in self.closers:
            closer()


class Target(Protocol):
    description: str
    profile: Profile  # the dialect the run judges in
    serves: str | None  # the dialect the target is known to speak (None: unknown, live)
    virtual_clock: bool  # False: the wall clock, TTL clauses are checked by waiting

    def connect(self) -> Connection: ...

    def speaking(self, profile: Profile) -> Target: ...


MOCK_BASE_URL = "https://emulator.invalid"  # never resolved: respx answers in-process


class MockTarget:
    """The embedded emulator, fresh for every example, reached through respx. It speaks
    the profile's dialect unless told to speak another (`serves`: a self-test of what the
    gate does with the wrong profile)."""

    def __init__(
        self,
        profile: Profile,
        faults: frozenset[str] = frozenset(),
        ttl: float = 900.0,
        sessions: int = 2,
        serves: str | None = None,
        variants: frozenset[str] = frozenset(),
        limit: int = 1,
    ) -> None:
        from emulator import Emulator, EmulatorConfig  # a mock-mode-only dependency

        self.profile = profile
        self.faults = faults
        # Distinctive tokens, so redaction never mangles an ordinary word in a body.
        self.tokens = tuple(f"mock-{i + 1}-{secrets.token_hex(6)}" for i in range(sessions))
        self.config = EmulatorConfig(
            profile=serves or profile.name,
            repo_id="r1",
            session_tokens=self.tokens,
            token_ttl=ttl,
            faults=faults,
            variants=variants,
            operation_limit=limit,  # a correct server for the limit the gate expects
        )
        Emulator(self.config)  # a bad fault name or TTL fails here, before the run
        self.serves: str | None = self.config.profile  # known: no need to probe it
        self.virtual_clock = True
        self.description = ""
        self.speaking(profile)

    def speaking(self, profile: Profile) -> MockTarget:
        """Judge in `profile` from now on (what `--profile auto` picked)."""
        self.profile = profile
        extra = f", faults: {', '.join(sorted(self.faults))}" if self.faults else ""
        if self.config.variants:
            from emulator.variants import expand

            extra += f", variants: {', '.join(sorted(expand(self.config.variants)))}"
        self.description = f"embedded emulator ({profile.name}{extra})"
        return self

    def bridges(self) -> tuple[Any, Any]:
        """A fresh emulator's answers to a request, sync and async (for respx)."""
        from emulator import Emulator

        emulator = Emulator(self.config)
        return _bridge(emulator), _async_bridge(emulator)

    def connect(self) -> Connection:
        answer, answer_async = self.bridges()
        router = respx.Router(assert_all_mocked=True, assert_all_called=False)
        router.route(url__startswith=MOCK_BASE_URL).mock(side_effect=answer)
        http = httpx.Client(transport=httpx.MockTransport(router.handler))
        # Requests sent together reach the same emulator through an async route, served
        # concurrently on the batch's event loop as a server would serve them.
        together = respx.Router(assert_all_mocked=True, assert_all_called=False)
        together.route(url__startswith=MOCK_BASE_URL).mock(side_effect=answer_async)

        def async_http() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.MockTransport(together.async_handler))

        clock = ClockDriver(f"{MOCK_BASE_URL}/_test/clock")
        client = Client(
            http, MOCK_BASE_URL, clock.stamp, secrets=list(self.tokens), async_http=async_http
        )
        clock.client = client
        clock.read()
        client.reset()
        sessions = [Session(f"session-{i + 1}", t) for i, t in enumerate(self.tokens)]
        api = RepositoryApi(client, self.profile, "r1")
        return Connection(
            client, api, clock, sessions, 1, MOCK_BASE_URL, "r1", self.profile, [http.close]
        )


def _bridge(emulator: Any) -> Any:
    from emulator import Request

    def answer(request: httpx.Request) -> httpx.Response:
        reply = emulator.handle(
            Request(
                request.method,
                str(request.url),
                {k.lower(): v for k, v in request.headers.items()},
                request.read(),
            )
        )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)

    return answer


def _async_bridge(emulator: Any) -> Any:
    from emulator import Request

    async def answer(request: httpx.Request) -> httpx.Response:
        # As on a network, every request of a batch is on its way before any is served.
        await asyncio.sleep(0)
        reply = await emulator.handle_async(
            Request(
                request.method,
                str(request.url),
                {k.lower(): v for k, v in request.headers.items()},
                await request.aread(),
            )
        )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)

    return answer


class LiveTarget:
    """A server reached over HTTP, shared by every example of the run."""

    def __init__(
        self,
        profile: Profile,
        base_url: str,
        repo_id: str,
        tokens: list[str],
        parent_id: int,
        clock_url: str | None,
        timeout: float = 30.0,
        ca_bundle: str | None = None,
        auto: bool = False,
        long_poll: float | None = None,
    ) -> None:
        self.profile, self.base_url, self.repo_id = profile, base_url.rstrip("/"), repo_id
        self.long_poll = long_poll  # --long-poll: overrides the profile's
        self.tokens, self.parent_id, self.clock_url = list(tokens), parent_id, clock_url
        self.timeout, self.ca_bundle = timeout, ca_bundle
        self.auto = auto  # --profile auto: the preflight finds the API version it serves
        self.tls = self._verify()
        self.virtual_clock = clock_url is not None
        self.serves = None  # what it speaks is what the profile probe finds out
        self._checked = False
        self.round_trip: float | None = None  # seconds, the preflight's median
        self.speaking(profile)

    def speaking(self, profile: Profile) -> LiveTarget:
        """Judge in `profile` from now on (what `--profile auto` picked)."""
        self.profile = profile
        clock = "virtual clock" if self.clock_url else "wall clock"
        self.description = f"{self.base_url} repository {self.repo_id!r} ({profile.name}, {clock})"
        return self

    def _timeouts(self) -> httpx.Timeout:
        """`timeout` for each phase of a request, and for reading an answer also the time
        a correct server may hold a poll back (--long-poll, else the profile's: v2's long
        poll; under auto the longest any dialect allows, as the dialect is not known yet)."""
        if self.long_poll is not None:
            held = self.long_poll
        elif self.auto:
            held = max(p.long_poll for p in PROFILES.values())
        else:
            held = self.profile.long_poll
        return httpx.Timeout(self.timeout, read=self.timeout + held)

    def connect(self) -> Connection:
        timeouts = self._timeouts()
        http = httpx.Client(timeout=timeouts, verify=self.tls)
        clock: Clock = ClockDriver(self.clock_url) if self.clock_url else WallClock()

        def async_http() -> httpx.AsyncClient:
            return httpx.AsyncClient(timeout=timeouts, verify=self.tls)

        client = Client(
            http, self.base_url, clock.stamp, secrets=self.tokens, async_http=async_http
        )
        clock.client = client
        sessions = [Session(f"session-{i + 1}", t) for i, t in enumerate(self.tokens)]
        api = RepositoryApi(client, self.profile, self.repo_id, guarded=True)
        try:
            clock.read()
            if not self._checked:
                self._preflight(api, sessions)
                api = api.speaking(self.profile)  # the preflight may have found the version
        except Exception:
            http.close()
            raise
        client.reset()
        return Connection(
            client,
            api,
            clock,
            sessions,
            self.parent_id,
            self.base_url,
            self.repo_id,
            self.profile,
            [http.close],
            shared=True,
        )

    def _verify(self) -> ssl.SSLContext:
        """TLS is always verified: against the system's authorities, or the given bundle."""
        try:
            return ssl.create_default_context(cafile=self.ca_bundle)
        except (ssl.SSLError, OSError) as exc:
            raise HarnessError(
                f"ca-bundle {self.ca_bundle}: not a PEM certificate file ({exc})"
            ) from None

    def _find_version(self, api: RepositoryApi, session: Session) -> None:
        found = find_version(api, session, self.parent_id, self.auto)
        if found is not None:
            self.speaking(found)

    def _preflight(self, api: RepositoryApi, sessions: list[Session]) -> None:
        """Fail fast with a clear reason: unreachable, a refused token, no parent folder.
        Times the round trip too (`round_trip`)."""
        self._find_version(api, sessions[0])
        api = api.speaking(self.profile)
        trips = []
        for session in sessions:
            began = time.monotonic()
            ex = api.get_entry(session, self.parent_id, action="preflight")
            trips.append(time.monotonic() - began)
            if ex.error is not None:
                raise HarnessError(f"cannot reach {self.base_url}: {ex.error}")
            if ex.status == self.profile.unauthorized:
                raise HarnessError(
                    f"the target refused the bearer token of {session.label} ({ex.status})"
                )
            if ex.status == self.profile.not_found:
                raise HarnessError(
                    f"repository {self.repo_id!r} or parent folder #{self.parent_id} not found "
                    f"({ex.status}): check --repo-id and --parent-id"
                )
            if ex.status != self.profile.entry_read:
                raise HarnessError(
                    f"reading the parent folder answered {ex.status}: {ex.describe()}"
                )
        self._checked = True
        for _ in range(2):  # the first paid for connecting: a few more for a fair figure
            began = time.monotonic()
            api.get_entry(sessions[0], self.parent_id, action="preflight")
            trips.append(time.monotonic() - began)
        self.round_trip = statistics.median(trips)
