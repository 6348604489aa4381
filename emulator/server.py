"""`lro-emulator`: the emulator served over HTTP (Starlette on uvicorn), for other
teams' clients and for the gate's live mode.

One catch-all route hands every request to `Emulator.handle`, so the behaviour
over HTTP is exactly the in-process one. It binds to 127.0.0.1 unless told
otherwise, and prints `listening http://HOST:PORT` once it accepts connections
(port 0 picks a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import Response as HttpResponse
from starlette.routing import Route

from .app import Emulator
from .config import EmulatorConfig
from .dialect import DIALECTS
from .faults import print_catalogue
from .messages import Request
from .variants import print_catalogue as print_variants

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class Latency:
    """A network that is not loopback-fast: each exchange takes `ms` milliseconds longer,
    give or take up to `jitter_ms` (uniformly, never below zero). Half of it passes before
    the emulator sees the request, half after it has answered, as on a real round trip
    (so a request is served, and time-stamped, late)."""

    ms: float = 0.0
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("--latency-ms", self.ms), ("--latency-jitter-ms", self.jitter_ms)):
            if not (math.isfinite(value) and 0 <= value <= MAX_LATENCY_MS):
                raise ValueError(
                    f"{name} {value:g} is not allowed; use milliseconds from 0 to {MAX_LATENCY_MS}"
                )

    def half_trip(self) -> float:
        """Seconds one way of one exchange."""
        spread = random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(self.ms + spread, 0.0) / 2000


MAX_LATENCY_MS = 60_000


def make_app(emulator: Emulator, latency: Latency | None = None) -> Starlette:
    """A Starlette app that serves `emulator` on every path, `latency` late."""

    async def serve(http: HttpRequest) -> HttpResponse:
        body = await http.body()
        headers = {k.lower(): v for k, v in http.headers.items()}
        trip = latency.half_trip() if latency and latency.ms + latency.jitter_ms else 0.0
        if trip:
            await asyncio.sleep(trip)
        reply = await emulator.handle_async(Request(http.method, str(http.url), headers, body))
        if trip:
            await asyncio.sleep(trip)
        return HttpResponse(reply.body, status_code=reply.status, headers=reply.headers)

    async def unrouted(http: HttpRequest, exc: Exception) -> HttpResponse:
        # Starlette's "{path:path}" does not match a path with a (decoded) newline in it; its
        # plain-text 404 would not be the emulator's answer (a problem document).
        return await serve(http)

    return Starlette(
        routes=[Route("/{path:path}", serve, methods=METHODS)], exception_handlers={404: unrouted}
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lro-emulator",
        description="Serve the long-operation emulator (a reference repository API build).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    p.add_argument("--repo-id", default="r1", help="repository id (default r1)")
    p.add_argument(
        "--session-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="a bearer token, one per user session (repeatable; default alice, bob)",
    )
    p.add_argument(
        "--profile",
        default="openapi-v1",
        choices=list(DIALECTS),
        metavar="NAME",
        help="API dialect to serve (default openapi-v1): "
        + "; ".join(f"{d.name}, {d.summary}" for d in DIALECTS.values()),
    )
    p.add_argument(
        "--clock",
        default="virtual",
        choices=["virtual", "wall"],
        help="virtual: moved only by the test hooks under /_test/clock",
    )
    p.add_argument("--token-ttl", type=float, default=900.0, help="token lifetime after the end, s")
    p.add_argument("--start-delay", type=float, default=1.0, help="seconds NotStarted")
    p.add_argument(
        "--step-seconds", type=float, default=1.0, help="seconds per entry copied/deleted"
    )
    p.add_argument(
        "--long-poll",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="v2 on the wall clock: how long a poll of tasks that all still run may wait for "
        "one to end (default 60, the v2 document's most; 0 answers at once)",
    )
    p.add_argument(
        "--operation-limit",
        type=int,
        default=1,
        metavar="N",
        help="operations one session may run at once; another start is refused with 429 "
        "(default 1)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="seed a fault (repeatable; see --list-faults)",
    )
    p.add_argument("--list-faults", action="store_true", help="list the seeded faults and exit")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="a behaviour a correct server may have (repeatable, or all; see --list-variants)",
    )
    p.add_argument(
        "--list-variants", action="store_true", help="list the legitimate variants and exit"
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        metavar="N",
        help="make each exchange N ms slower, as a server one region away is (default 0)",
    )
    p.add_argument(
        "--latency-jitter-ms",
        type=float,
        default=0.0,
        metavar="J",
        help="vary that by up to J ms either way, uniformly (default 0)",
    )
    p.add_argument("--tls-cert", metavar="PEM", help="serve https with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    return p


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        profile=args.profile,
        repo_id=args.repo_id,
        session_tokens=tuple(args.session_token or ("alice", "bob")),
        token_ttl=args.token_ttl,
        clock=args.clock,
        start_delay=args.start_delay,
        step_seconds=args.step_seconds,
        long_poll=args.long_poll,
        operation_limit=args.operation_limit,
        faults=frozenset(args.fault),
        variants=frozenset(args.variant),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list_faults:
        return print_catalogue()
    if args.list_variants:
        return print_variants()
    try:
        emulator = Emulator(config_from(args))
        latency = Latency(args.latency_ms, args.latency_jitter_ms)
    except ValueError as exc:
        print(f"lro-emulator: error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this; without it small responses wait ~40 ms
        # for a delayed ACK (Nagle), which makes every exchange slow.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((args.host, args.port))
    except (OSError, OverflowError) as exc:
        print(
            f"lro-emulator: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("lro-emulator: error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    return _serve(make_app(emulator, latency), sock, args.tls_cert, args.tls_key)


def _serve(app: Starlette, sock: socket.socket, cert: str | None, key: str | None) -> int:
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, ssl_certfile=cert, ssl_keyfile=key
    )
    try:
        config.load()  # reads the certificate: a bad one is a clear error, not a traceback
    except (OSError, ValueError) as exc:
        print(f"lro-emulator: error: cannot use the TLS certificate: {exc}", file=sys.stderr)
        return 2
    scheme = "https" if cert else "http"
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets=None):  # type: ignore[no-untyped-def]
        await original(sockets=sockets)
        print(f"listening {scheme}://{host}:{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    return 0


@contextmanager
def running(*args: str) -> Iterator[str]:
    """`lro-emulator --port 0 ARGS` in a child process on loopback; yields its base URL.
    For tests and benchmarks that need a real server over HTTP."""
    with serving([sys.executable, "-m", "emulator.server", "--port", "0", *args]) as base:
        yield base


@contextmanager
def serving(command: list[str], name: str = "lro-emulator") -> Iterator[str]:
    """A server started by `command`, which prints `listening URL` once ready; yields the
    URL. Its error output goes to a file, not a pipe nobody drains (a long run could fill
    the pipe and stall the server), and is shown if it does not start."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line.startswith("listening http"):
                proc.wait(timeout=10)
                errors.seek(0)
                raise RuntimeError(f"{name} did not start: {line}{errors.read()}")
            yield line.split()[1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def gate_options(
    base: str, tokens: tuple[str, ...] = ("alice", "bob"), *, wall: bool = False
) -> list[str]:
    """The lro-conformance options that point the gate at an emulator served at `base`
    (repository r1, root folder 1, its clock hooks or the wall clock, the given tokens)."""
    options = ["--base-url", base, "--repo-id", "r1", "--parent-id", "1"]
    options += ["--wall-clock"] if wall else ["--clock-url", f"{base}/_test/clock"]
    for token in tokens:
        options += ["--session-token", token]
    return options


if __name__ == "__main__":
    sys.exit(main())
