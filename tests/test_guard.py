"""On a shared target the API refuses destructive calls on what the run did not create."""

from __future__ import annotations

import httpx
import pytest

from contract.api import GuardRefusal, RepositoryApi
from contract.client import Client, Session
from contract.profiles import OPENAPI_V1

SESSION = Session("session-1", "secret-token")


def guarded_api(sent: list[httpx.Request]) -> RepositoryApi:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "POST" and request.url.path.endswith("/children"):
            return httpx.Response(201, json={"id": 50, "name": "mine"})
        if request.method == "POST":
            return httpx.Response(201, json={"token": "tok-1"})
        return httpx.Response(200, json={"value": [{"id": 51, "name": "inside"}]})

    client = Client(
        httpx.Client(transport=httpx.MockTransport(answer)), "https://t.invalid", lambda: 0.0
    )
    return RepositoryApi(client, OPENAPI_V1, "r1", guarded=True)


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.start_delete(SESSION, 7),
        lambda api: api.start_copy(SESSION, 7, {"sourceId": 50, "name": "x"}),
        lambda api: api.cancel(SESSION, "someone-elses-token"),
    ],
)
def test_destructive_calls_on_what_the_run_did_not_create_are_never_sent(call):
    sent: list[httpx.Request] = []
    api = guarded_api(sent)
    with pytest.raises(GuardRefusal):
        call(api)
    assert sent == []


def test_what_the_run_created_or_found_inside_its_folders_may_be_changed():
    sent: list[httpx.Request] = []
    api = guarded_api(sent)
    api.create_folder(SESSION, 1, "mine")  # the run's folder #50 (under a parent it does not own)
    api.list_children(SESSION, 50)  # entry #51 lies inside it
    api.start_copy(SESSION, 50, {"sourceId": 51, "name": "x"})
    api.start_delete(SESSION, 51)
    api.cancel(SESSION, "tok-1")
    assert [r.method for r in sent] == ["POST", "GET", "POST", "DELETE", "DELETE"]
    with pytest.raises(GuardRefusal):
        api.start_delete(SESSION, 1)  # the parent folder was never the run's
