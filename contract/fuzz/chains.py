"""Linked sequences: schemathesis' stateful testing follows the document's `links`, so a
start's token is polled and cancelled, a created folder is read, copied into, deleted.

schemathesis chooses the steps and the linked values; each step is sent and judged by
the fuzzing phase like a single generated request (`FuzzPhase.one_case`), so the same
checks and the same sandbox guard apply. schemathesis' own response checks are turned
off (`validate_response`): a document's opinions are not the contract's clauses.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import TYPE_CHECKING, Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky, FlakyStrategyDefinition
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.core.transport import Response

from .document import document

if TYPE_CHECKING:
    from ..client import Exchange
    from .phase import FuzzPhase, Sandbox

STEPS = 6
NOT_SENT = 499  # what a step the fuzzer did not send "answers": no links follow from it


def chains(phase: FuzzPhase, sandbox: Sandbox, examples: int) -> None:
    """Run `examples` linked sequences of up to STEPS requests against the target."""
    conn = phase.conn
    schema = schemathesis.openapi.from_dict(document(conn.profile, conn.repo_id, sandbox.ids))
    base = schema.as_state_machine()

    class Chain(base):  # type: ignore[misc, valid-type]
        def call(self, case: Any, **kwargs: Any) -> Response:
            operation = case.operation.definition.raw["operationId"]
            exchange = phase.one_case(operation, case, "session", sandbox, end=False)
            return _response(exchange, case, conn.base_url)

        def validate_response(self, response: Response, case: Any, **kwargs: Any) -> None:
            return None  # judged by the gate's checks in `one_case`

        def teardown(self) -> None:
            phase.chains_run += 1
            phase.end_open()

    # The target's state moves on between sequences (a folder a sequence deleted is gone
    # for the next), and Hypothesis, replaying a prefix that now draws differently, calls
    # that flaky. Nothing is lost (every step was judged as it ran): go on from a new seed.
    done, attempt = 0, 0
    while done < examples and attempt < examples and not (phase.stopped or phase.out_of_time):
        began = phase.chains_run
        factory: Any = Chain
        if phase.seed is not None:
            factory = hypothesis_seed(phase.seed * 1000 + attempt)(lambda: Chain())
        with contextlib.suppress(FlakyStrategyDefinition, Flaky):
            run_state_machine_as_test(factory, settings=_budget(examples - done))
        done += max(1, phase.chains_run - began)
        attempt += 1


def _budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
        print_blob=False,
        verbosity=Verbosity.quiet,  # the steps are in the transcript, not on the console
    )


def _response(exchange: Exchange | None, case: Any, base_url: str) -> Response:
    """The gate's exchange as the response schemathesis reads links from."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    request = httpx.Request(kwargs["method"], kwargs["url"])
    if exchange is None or exchange.status is None:
        answer = httpx.Response(NOT_SENT, request=request)
    else:
        answer = httpx.Response(
            exchange.status,
            headers=exchange.response_headers,
            content=exchange.response_body.encode(),
            request=request,
        )
    answer.elapsed = datetime.timedelta(0)
    return Response.from_httpx(answer, verify=True)
