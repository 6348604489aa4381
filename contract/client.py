"""The one seam between the gate and a target: `Client.send(...) -> Exchange`.

Every HTTP call of a run goes through `send`, which stamps it with the server
clock and records it in the transcript. The transcript keeps what the server
said verbatim (checks must compare real names, even ones that happen to contain
a secret); `redacted()` makes the copy that evidence and reports use, and the
bearer token itself is never stored. Mock and live mode
differ only in the httpx transport underneath. A transport error (timeout,
connection reset) is recorded with `error` set: its outcome is unknown, which is
neither a pass nor a fail.

`send_together` sends several requests at once (asyncio over an `httpx.AsyncClient`
the target makes for the batch) and records them in the same transcript, stamped
and numbered the same way: one request's event numbers say whether it was answered
before another was sent, so the model can tell which orderings are possible.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import httpx

from . import interrupts

REDACTED = "***"
Auth = Literal["session", "none", "invalid"]


@dataclass(frozen=True)
class Session:
    """One user session: a label for reports and the secret bearer token."""

    label: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Call:
    """One request of a batch sent with `Client.send_together`: `send`'s arguments."""

    method: str
    url: str
    action: str
    session: Session | None = None
    json_body: Any = None
    params: dict[str, str] | list[tuple[str, str]] | None = None


@dataclass
class Exchange:
    """One request and its answer, as the server saw it, with secrets redacted."""

    seq: int
    action: str
    session: str | None
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    sent: float
    received: float
    sent_order: int = 0  # client event numbers: orders requests made at one clock instant
    received_order: int = 0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str | None = None
    # Real seconds from sending to the answer (monotonic), whatever clock stamps `sent`
    # and `received` (a virtual one stands still inside a request): how long a server
    # held it (LST-3).
    took: float = 0.0

    @property
    def at(self) -> tuple[float, float]:
        return (self.sent, self.received)

    @property
    def order(self) -> tuple[int, int]:
        return (self.sent_order, self.received_order)

    def json(self) -> Any:
        """The response body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return self.response_headers.get(name.lower())

    def describe(self) -> str:
        answer = f"{self.status}" if self.error is None else f"no answer ({self.error})"
        return f"{self.method} {self.url} -> {answer}"


class Client:
    """Sends requests to the target and keeps the transcript of the current example."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        stamp: Callable[[], float],
        secrets: list[str] | None = None,
        async_http: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.stamp = stamp
        self.secrets = [s for s in (secrets or []) if s]
        self.transcript: list[Exchange] = []
        self._events = itertools.count(1)
        self._began: dict[int, float] = {}  # seq -> when it was sent (monotonic), until answered
        # Makes the client of one batch of simultaneous requests (an AsyncClient belongs to
        # the event loop it was used in, and each batch runs in a loop of its own).
        self.async_http = async_http

    def send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        session: Session | None = None,
        auth: Auth = "session",
        json_body: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> Exchange:
        """Send one request; `url` is absolute or relative to the base URL."""
        interrupts.checkpoint()  # a Ctrl-C swallowed somewhere stops the run here
        request, exchange = self._prepare(
            self.http, method, url, action, session, auth, json_body, content, params, content_type
        )
        try:
            response = self.http.send(request, follow_redirects=False)
        except httpx.HTTPError as exc:  # unknown outcome: info, not a verdict
            return self._lost(exchange, exc)
        return self._answered(exchange, response)

    @property
    def can_send_together(self) -> bool:
        return self.async_http is not None

    def send_together(self, calls: Sequence[Call]) -> list[Exchange]:
        """Send `calls` at once (each its own connection, none waiting for another's
        answer); their exchanges in the order of `calls`, recorded as `send` records."""
        if self.async_http is None:
            raise RuntimeError("this client cannot send requests together (no async client)")
        interrupts.checkpoint()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_together(calls)
        # Called from inside an event loop (a pytest-asyncio test, a notebook): the batch
        # gets a loop of its own in a thread, so this call stays synchronous.
        result: list[list[Exchange]] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                result.append(self._run_together(calls))
            except BaseException as exc:  # handed to the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=run, name="send-together")
        worker.start()
        worker.join()
        if failure:
            raise failure[0]
        return result[0]

    def _run_together(self, calls: Sequence[Call]) -> list[Exchange]:
        """`_together` on an event loop of its own that keeps quiet about a Ctrl-C: a task
        it interrupted holds the KeyboardInterrupt the caller already handles, and asyncio
        would print it as "Task exception was never retrieved", with a traceback."""
        with asyncio.Runner() as runner:
            runner.get_loop().set_exception_handler(_quiet_about_interrupts)
            return runner.run(self._together(calls))

    async def send_async(self, http: httpx.AsyncClient, call: Call) -> Exchange:
        """Send one request of a batch through `http`, recorded in the transcript."""
        request, exchange = self._prepare(
            http, call.method, call.url, call.action, call.session, "session", call.json_body,
            None, call.params, None,
        )  # fmt: skip
        try:
            response = await http.send(request, follow_redirects=False)
        except httpx.HTTPError as exc:
            return self._lost(exchange, exc)
        return self._answered(exchange, response)

    async def _together(self, calls: Sequence[Call]) -> list[Exchange]:
        assert self.async_http is not None
        async with self.async_http() as http:
            return list(await asyncio.gather(*(self.send_async(http, c) for c in calls)))

    def _prepare(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str,
        action: str,
        session: Session | None,
        auth: Auth,
        json_body: Any,
        content: bytes | None,
        params: dict[str, str] | list[tuple[str, str]] | None,
        content_type: str | None,
    ) -> tuple[httpx.Request, Exchange]:
        """The request to send and its exchange, stamped as sent and in the transcript."""
        full = url if "://" in url else f"{self.base_url}/{url.lstrip('/')}"
        headers = {"accept": "application/json"}
        if session is not None and auth == "session":
            headers["authorization"] = f"Bearer {session.token}"
        elif auth == "invalid":
            headers["authorization"] = "Bearer not-a-valid-token-0000"
        body = content
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["content-type"] = "application/json"
        elif content is not None and content_type is not None:
            headers["content-type"] = content_type
        request = http.build_request(method, full, headers=headers, content=body, params=params)
        sent = self.stamp()
        exchange = Exchange(
            seq=len(self.transcript) + 1,
            action=action,
            session=session.label if session else None,
            method=method,
            url=str(request.url),
            request_headers=_mask_authorization(headers),
            request_body=body.decode("utf-8", "replace") if body else None,
            sent=sent,
            received=sent,
            sent_order=next(self._events),
        )
        self.transcript.append(exchange)
        self._began[exchange.seq] = time.monotonic()
        return request, exchange

    def _lost(self, exchange: Exchange, exc: httpx.HTTPError) -> Exchange:
        exchange.error = f"{type(exc).__name__}: {exc}"
        exchange.took = self._took(exchange)
        exchange.received = self.stamp()
        exchange.received_order = next(self._events)
        return exchange

    def _took(self, exchange: Exchange) -> float:
        return time.monotonic() - self._began.pop(exchange.seq, time.monotonic())

    def _answered(self, exchange: Exchange, response: httpx.Response) -> Exchange:
        exchange.took = self._took(exchange)
        exchange.received = self.stamp()
        exchange.received_order = next(self._events)
        exchange.status = response.status_code
        exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
        exchange.response_body = response.text
        return exchange

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redacted(self, exchange: Exchange) -> Exchange:
        """A copy of `exchange` safe to print or store: no secret anywhere in it."""
        r = self.redact
        return replace(
            exchange,
            url=r(exchange.url),
            request_headers={k: r(v) for k, v in exchange.request_headers.items()},
            request_body=r(exchange.request_body) if exchange.request_body else None,
            response_headers={k: r(v) for k, v in exchange.response_headers.items()},
            response_body=r(exchange.response_body),
            error=r(exchange.error) if exchange.error else None,
        )

    def reset(self) -> None:
        self.transcript = []
        self._began = {}


def _mask_authorization(headers: dict[str, str]) -> dict[str, str]:
    return {k: (f"Bearer {REDACTED}" if k == "authorization" else v) for k, v in headers.items()}


def _quiet_about_interrupts(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if isinstance(context.get("exception"), KeyboardInterrupt | asyncio.CancelledError):
        return
    loop.default_exception_handler(context)
