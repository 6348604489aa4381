"""SCH-1: the bundled vendor document, its patch, the profile's schema map and the check."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from typing import Any

import pytest
from test_emulator import ORIGIN, Driver

from contract import schemas
from contract.checks import Context
from contract.checks.schema import body_matches_schema
from contract.client import Exchange
from contract.profiles import OPENAPI_V1

DOC = OPENAPI_V1.schema_document
BASE = f"{ORIGIN}/v1/Repositories/r1"
FOLDER_API = "Laserfiche.Repository.Folder"

#: The guide's sample answer for a new folder (seeds/001, "Long Operations"), which the
#: live service returns: the raw vendor document rejects it.
GUIDE_ENTRY = {
    "id": 1234,
    "name": "MyCopiedFolder",
    "parentId": 1,
    "fullPath": "\\MyCopiedFolder ",
    "folderPath": "\\",
    "creator": "apipreview@laserfiche.com",
    "creationTime": "2020-12-12T12:00:00-00:00",
    "lastModifiedTime": "2020-12-12T12:00:00-00:00",
    "entryType": "Folder",
    "templateName": "",
    "templateId": 0,
    "templateFieldNames": [],
    "volumeName": "DEFAULTVOLUME",
    "rowNumber": 0,
    "isRecordFolder": False,
    "isUnderRecordSeries": False,
}
GUIDE_PROGRESS = {
    "operationToken": "12345678-abcd-efgh-ijkl-123456789012",
    "operationType": "CopyEntry",
    "percentComplete": 10,
    "status": "InProgress",
    "errors": [],
}


def judge(method: str, url: str, status: int, body: Any) -> Any:
    """Run the SCH-1 check on one made-up exchange; `body` is JSON-encoded unless a str."""
    text = body if isinstance(body, str) else json.dumps(body)
    exchange = Exchange(1, "test", "s1", method, url, {}, None, 0.0, 0.0, status=status)
    exchange.response_body = text
    return body_matches_schema(Context("test", exchange, OPENAPI_V1, "r1", ORIGIN))


# --- the copy and its patch -----------------------------------------------------------


def test_the_copy_is_the_vendor_document_named_in_the_notice():
    folder = resources.files(schemas.__name__)
    digest = hashlib.sha256(folder.joinpath(f"{DOC}.json").read_bytes()).hexdigest()
    assert digest in folder.joinpath("NOTICE.md").read_text("utf-8")


def test_every_patch_operation_says_why():
    patch = json.loads(resources.files(schemas.__name__).joinpath(f"{DOC}.patch.json").read_text())
    assert patch and all(op.get("why") for op in patch)


def test_the_raw_document_rejects_real_bodies_and_the_patched_one_accepts_them(monkeypatch):
    assert schemas.body_problem(DOC, "Entry", GUIDE_ENTRY) is None
    listing = {"value": [GUIDE_ENTRY]}
    assert schemas.body_problem(DOC, "ODataValueContextOfIListOfEntry", listing) is None
    assert (
        schemas.body_problem(
            DOC, "ODataValueContextOfIListOfEntry", {"value": [GUIDE_ENTRY], "@odata.count": 1}
        )
        is None
    )
    monkeypatch.setattr(schemas, "document", schemas.original)  # the vendor's, unpatched
    schemas.validator.cache_clear()
    try:
        assert "'entry Type' is a required property" in schemas.body_problem(
            DOC, "Entry", GUIDE_ENTRY
        )
        # NSwag's allOf parts forbid each other's properties: a listing's `value` would be
        # "undeclared" (allowed now, but the note would name what the document declares).
        assert schemas.undeclared(DOC, "ODataValueContextOfIListOfEntry", {"value": []})
    finally:
        schemas.validator.cache_clear()


def test_apply_patch_leaves_the_original_alone():
    doc = {"a": {"b": ["x", "y"], "c~/d": 1}}
    ops = [
        {"op": "test", "path": "/a/b/0", "value": "x"},
        {"op": "replace", "path": "/a/b/0", "value": "z"},
        {"op": "remove", "path": "/a/c~0~1d"},
        {"op": "add", "path": "/a/b/-", "value": "w"},
        {"op": "add", "path": "/a/e", "value": {}},
    ]
    assert schemas.apply_patch(doc, ops) == {"a": {"b": ["z", "y", "w"], "e": {}}}
    assert doc == {"a": {"b": ["x", "y"], "c~/d": 1}}


@pytest.mark.parametrize(
    "op",
    [
        {"op": "test", "path": "/a", "value": 2},
        {"op": "remove", "path": "/missing"},
        {"op": "move", "from": "/a", "path": "/b"},
        {"op": "remove", "path": "a"},
    ],
)
def test_a_patch_that_does_not_fit_is_refused_naming_the_operation(op):
    with pytest.raises(schemas.PatchError, match=r"operation 1 \("):
        schemas.apply_patch({"a": 1}, [op])


# --- the profile's map ----------------------------------------------------------------


def _placeholders_blank(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def _documented_2xx(method: str, template: str) -> dict[int, str]:
    """Schema name of each 2xx JSON answer the document gives for one call."""
    paths = {_placeholders_blank(p): ops for p, ops in schemas.document(DOC)["paths"].items()}
    operation = paths[_placeholders_blank("/v1/Repositories/{repoId}/" + template)][method.lower()]
    found = {}
    for status, response in operation["responses"].items():
        content = response.get("content", {}).get("application/json")
        if status.startswith("2") and content:
            found[int(status)] = content["schema"]["$ref"].rsplit("/", 1)[1]
    return found


@pytest.mark.parametrize("method,template,call", OPENAPI_V1.calls())
def test_the_profile_maps_every_documented_2xx_body_to_the_documents_schema(method, template, call):
    mapped = {
        status: name for (c, status), name in OPENAPI_V1.response_schemas.items() if c == call
    }
    assert mapped == _documented_2xx(method, template)


@pytest.mark.parametrize(
    "method,url,call",
    [
        ("POST", f"{BASE}/Entries/5/{FOLDER_API}/CopyAsync?autoRename=true", "start-copy"),
        ("DELETE", "https://h/repository/v1/Repositories/r1/Entries/5", "start-delete"),
        ("GET", f"{BASE}/Entries/5", "get-entry"),
        ("GET", f"{BASE}/Entries/5/{FOLDER_API}/children?$skip=20", "list"),
        ("POST", f"{BASE}/Entries/5/{FOLDER_API}/children", "create-folder"),
        ("GET", f"{BASE}/Tasks/a%2Fb", "poll"),
        ("DELETE", f"{BASE}/Tasks/abc", "cancel"),
        ("PATCH", f"{BASE}/Entries/5", None),
        ("GET", f"{ORIGIN}/_test/clock", None),
    ],
)
def test_a_request_is_recognised_by_method_and_path(method, url, call):
    assert OPENAPI_V1.call_of(method, url) == call


# --- the check ------------------------------------------------------------------------


def test_a_valid_body_holds():
    assert judge("GET", f"{BASE}/Tasks/t", 202, GUIDE_PROGRESS) == []
    assert judge("POST", f"{BASE}/Entries/1/{FOLDER_API}/CopyAsync", 201, {"token": "t"}) == []


@pytest.mark.parametrize(
    "body,actual",
    [
        (GUIDE_PROGRESS | {"percentComplete": "50"}, "$.percentComplete: '50' is not of type"),
        (GUIDE_PROGRESS | {"status": "Running"}, "$.status: 'Running' is not one of"),
        (GUIDE_PROGRESS | {"operationToken": 7}, "$.operationToken: 7 is not of type 'string'"),
        (GUIDE_PROGRESS | {"errors": [{"objectId": "x"}]}, "$.errors[0].objectId: 'x' is not"),
        (GUIDE_PROGRESS | {"entryId": 2**31}, "$.entryId: 2147483648 is not a 'int32'"),
        ([GUIDE_PROGRESS], "$: [{"),
    ],
)
def test_an_invalid_body_fails_naming_where_and_why(body, actual):
    (failure,) = judge("GET", f"{BASE}/Tasks/t", 202, body)
    assert failure.expected == "a body valid against OperationProgress (openapi-v1)"
    assert failure.actual.startswith(actual)
    assert len(failure.actual) <= 201
    assert failure.title == "a 202 answer to poll does not match OperationProgress"


def test_an_entry_of_the_wrong_shape_fails():
    url = f"{BASE}/Entries/1/{FOLDER_API}/children"
    (failure,) = judge("POST", url, 201, GUIDE_ENTRY | {"entryType": 0})
    assert failure.actual == "$.entryType: 0 is not of type 'string'"
    missing = {k: v for k, v in GUIDE_ENTRY.items() if k != "entryType"}
    (failure,) = judge("GET", f"{BASE}/Entries/1", 200, missing)
    assert failure.actual == "$: 'entryType' is a required property"
    (failure,) = judge("GET", url, 200, {"value": [GUIDE_ENTRY | {"id": "7"}]})
    assert failure.actual == "$.value[0].id: '7' is not of type 'integer'"


def test_a_body_that_is_not_json_fails():
    (failure,) = judge("GET", f"{BASE}/Tasks/t", 200, "")
    assert (failure.title, failure.actual) == ("a 200 answer to poll is not JSON", "an empty body")


def judged_with_notes(method: str, url: str, status: int, body: Any) -> tuple[Any, dict]:
    text = json.dumps(body)
    exchange = Exchange(1, "test", "s1", method, url, {}, None, 0.0, 0.0, status=status)
    exchange.response_body = text
    ctx = Context("test", exchange, OPENAPI_V1, "r1", ORIGIN)
    return body_matches_schema(ctx), ctx.undeclared


def test_undeclared_properties_pass_as_compatible_evolution_and_are_named():
    """Laserfiche's service and any newer build add fields (`@odata.context`, `_links`, a
    version): even where the document closes an object, they pass; the run notes them."""
    entry = GUIDE_ENTRY | {"@odata.context": "https://x/$metadata#Entries/$entity"}
    assert judge("GET", f"{BASE}/Entries/1", 200, entry) == []
    progress = GUIDE_PROGRESS | {"_links": {"self": "/x"}, "version": 2}
    progress["errors"] = [{"objectId": 1, "errorMessage": "m", "extra": True}]
    verdict, notes = judged_with_notes("GET", f"{BASE}/Tasks/t", 202, progress)
    assert verdict == []
    assert notes == {f"OperationProgress ({DOC})": {"$._links", "$.version", "$.errors[0].extra"}}
    accepted, notes = judged_with_notes(
        "POST", f"{BASE}/Entries/1/{FOLDER_API}/CopyAsync", 201, {"token": "t", "v": 1}
    )
    assert accepted == [] and notes == {f"AcceptedOperation ({DOC})": {"$.v"}}


def test_everything_but_undeclared_properties_stays_strict():
    for bad, says in (
        (GUIDE_PROGRESS | {"percentComplete": "50"}, "'50' is not of type 'integer'"),
        (GUIDE_PROGRESS | {"status": "Paused"}, "'Paused' is not one of"),
        (GUIDE_PROGRESS | {"errors": "none", "x": 1}, "'none' is not of type 'array'"),
    ):
        verdict, notes = judged_with_notes("GET", f"{BASE}/Tasks/t", 202, bad)
        (failure,) = verdict
        assert says in failure.actual, failure.actual
        assert notes == {}  # an invalid body fails; it is not also a note


def test_undeclared_properties_are_one_note_per_schema_in_the_report():
    from contract.verdicts import Recorder

    recorder = Recorder()
    recorder.see_undeclared({"OperationProgress (d)": {"$._links"}})
    recorder.see_undeclared({"OperationProgress (d)": {"$.version"}, "Entry (d)": {"$.x"}})
    notes = recorder.all_notes()
    assert len(notes) == 2 and "$._links, $.version" in notes[1], notes


@pytest.mark.parametrize(
    "method,url,status",
    [
        ("POST", f"{BASE}/Entries/1/{FOLDER_API}/CopyAsync", 202),  # a status not documented
        ("DELETE", f"{BASE}/Tasks/t", 204),  # documented without content
        ("GET", f"{BASE}/Tasks/t", 404),  # not 2xx (ERR-1 judges it)
        ("POST", f"{ORIGIN}/_test/clock/advance", 200),  # not the vendor's API
    ],
)
def test_answers_the_document_does_not_describe_are_not_judged(method, url, status):
    assert judge(method, url, status, "not json") is None


# --- the emulator's own bodies --------------------------------------------------------


def _judged(d: Driver, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = d.call(method, path, body)
    verdict = judge(method, ORIGIN + path, response.status, response.body.decode())
    assert verdict == [], (path, verdict)
    return dict(response.json())


def test_the_clean_emulators_bodies_validate():
    d, api = Driver(), "/v1/Repositories/r1"
    folder = _judged(
        d, "POST", f"{api}/Entries/1/{FOLDER_API}/children", {"name": "S", "entryType": "Folder"}
    )
    link = {"name": "L", "entryType": "Shortcut", "targetId": folder["id"]}
    _judged(d, "POST", f"{api}/Entries/{folder['id']}/{FOLDER_API}/children", link)
    _judged(d, "GET", f"{api}/Entries/1")
    _judged(d, "GET", f"{api}/Entries/1/{FOLDER_API}/children")
    copy = {"sourceId": folder["id"], "name": "S2"}
    token = _judged(d, "POST", f"{api}/Entries/1/{FOLDER_API}/CopyAsync", copy)["token"]
    assert _judged(d, "GET", f"{api}/Tasks/{token}")["status"] in {"NotStarted", "InProgress"}
    d.advance(60)
    done = _judged(d, "GET", f"{api}/Tasks/{token}")
    assert done["status"] == "Completed"
    _judged(d, "GET", f"{api}/Entries/{done['entryId']}")
    missing = {"sourceId": 999, "name": "X"}
    token = _judged(d, "POST", f"{api}/Entries/1/{FOLDER_API}/CopyAsync", missing)["token"]
    d.advance(60)
    assert _judged(d, "GET", f"{api}/Tasks/{token}")["status"] == "Failed"
