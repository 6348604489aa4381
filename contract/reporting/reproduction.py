"""A failure's exchanges as a plan that can be sent again: the curl and Python scripts
render it, and `lro-conformance replay` runs it.

Ids and tokens a server hands out differ from one run to the next, so a plan never
repeats them: each value a later request uses is *captured* from the answer that first
carried it (a created folder's `id`, a start's `token`, an entry's id in a listing, a
`Location` header) and the later request refers to it by a variable. The folder the
sandbox is built under is the variable `parent`, the sandbox's unique name the variable
`sandbox_name` (a fresh one per replay, so a replay never collides with the original).
Bearer tokens never appear: a step names its session by number (`LRO_TOKEN_1`, ...).

Pure: builds and reads plans, sends nothing and judges nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ..client import Exchange
from ..dialects import v1, v2

#: The JSON key a start's answer carries its token in, in each dialect (v1 `token`, v2
#: `taskId`): a string there is captured, while other string ids (a v2 listing's task
#: `id`, which repeats a token already captured) are not.
TOKEN_KEYS = frozenset(wire.MEMBERS.start_token for wire in (v1, v2))
#: JSON keys whose values a server chooses and a later request may name.
ID_KEYS = ("id", "entryId", *sorted(TOKEN_KEYS))
SANDBOX_PREFIX = "lro-conformance-"
INVALID_TOKEN = "not-a-valid-token-0000"  # the gate's own wrong token: no secret
#: Clauses only requests sent together show (simultaneous starts, CON-4): a reproduction,
#: which sends its steps one at a time, may not show them again.
SENT_TOGETHER = frozenset({"CON-4"})
PLAN_VERSION = 1


@dataclass(frozen=True)
class Capture:
    """Take variable `var` from step's answer: a JSON path (keys, list indexes, or
    `{"name": N}` for the item of a list with that name), or the Location header."""

    var: str
    source: str  # "json" | "location"
    path: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    n: int
    action: str
    session: int | None  # 1-based; its bearer token comes from LRO_TOKEN_<n>
    auth: str  # "session" | "none" | "invalid"
    method: str
    url: str  # "{base}/v1/...", "{clock}/advance" or "{var}"; may hold "{var}" parts
    body: Any  # JSON with {"$var": name} where a captured value goes; None without body
    status: int | None  # what the original run got back
    response: str  # the original answer's body (redacted), for the reader
    captures: list[Capture] = field(default_factory=list)

    @property
    def variables(self) -> list[str]:
        names = re.findall(r"\{(\w+)\}", self.url)
        return names + list(_body_vars(self.body))


@dataclass(frozen=True)
class Plan:
    clause: str
    title: str
    expected: str
    actual: str
    base_url: str  # where the original run sent it
    clock_url: str
    parent: int | None  # the folder the original sandbox was built under
    steps: list[Step]
    version: int = PLAN_VERSION
    check: str = ""  # the check that found the failure ("lifecycle_is_consistent": the model)
    profile: str = ""  # the dialect the run judged in ("": a plan from before it was kept)

    @property
    def sessions(self) -> list[int]:
        return sorted({s.session for s in self.steps if s.session is not None})

    @property
    def last(self) -> Step:
        return self.steps[-1]

    @property
    def sandbox_var(self) -> str | None:
        """The variable holding the sandbox folder's id (the first folder created)."""
        for s in self.steps:
            if s.action == "create-folder":
                return next((c.var for c in s.captures if c.path == ["id"]), None)
        return None

    @property
    def started(self) -> list[tuple[str, int]]:
        """(token variable, session) of every operation the plan starts."""
        return [
            (c.var, s.session)
            for s in self.steps
            for c in s.captures
            if c.var.startswith("token_") and s.session is not None
        ]

    @property
    def repository_url(self) -> str | None:
        """ "{base}/v1/Repositories/<id>/", from the first create-folder's URL."""
        for s in self.steps:
            if s.action == "create-folder" and "Entries/" in s.url:
                return s.url.split("Entries/")[0]
        return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        steps = [
            Step(**{**s, "captures": [Capture(**c) for c in s["captures"]]})
            for s in data.pop("steps")
        ]
        return cls(**data, steps=steps)


def build(
    clause: str,
    failure: Any,
    exchanges: list[Exchange],
    base_url: str,
    clock_url: str | None = None,
    profile: str = "",
) -> Plan:
    """The plan of a failure's exchanges (`failure` has title, expected, actual), found
    by a run that judged in `profile`."""
    base_url = base_url.rstrip("/")
    clock_url = (clock_url or f"{base_url}/_test/clock").rstrip("/")
    known: dict[tuple[str, Any], str] = {}  # ("int", 12) / ("str", "tok") -> variable
    pending: list[tuple[int, Capture, tuple[str, Any]]] = []
    parent = _sandbox_parent(exchanges, base_url)
    if parent is not None:
        known[("int", parent)] = "parent"
    steps: list[Step] = []
    for n, ex in enumerate(exchanges, start=1):
        url = _url_template(ex.url, base_url, clock_url, known)
        body = _body_template(ex.request_body, known)
        steps.append(
            Step(
                n,
                ex.action,
                _session_number(ex.session),
                _auth(ex),
                ex.method,
                url,
                body,
                ex.status,
                ex.response_body,
            )
        )
        for capture, key in _offered(ex, n):
            if key not in known:
                known[key] = capture.var
                pending.append((n, capture, key))
    used = {v for s in steps for v in s.variables}
    for n, capture, _ in pending:
        # Every started operation's token is kept, so a script can end it when done.
        if capture.var in used or capture.var.startswith("token_"):
            steps[n - 1].captures.append(capture)
    return Plan(
        clause,
        failure.title,
        failure.expected,
        failure.actual,
        base_url,
        clock_url,
        parent,
        steps,
        check=str(getattr(failure, "check", "") or ""),
        profile=profile,
    )


def _session_number(label: str | None) -> int | None:
    match = re.fullmatch(r"session-(\d+)", label or "")
    return int(match.group(1)) if match else None


def _auth(ex: Exchange) -> str:
    if "authorization" not in ex.request_headers:
        return "none"
    return "invalid" if ex.action == "unauthenticated" else "session"


def _sandbox_parent(exchanges: list[Exchange], base_url: str) -> int | None:
    """The folder the sandbox was created under: the first create-folder's parent."""
    for ex in exchanges:
        if ex.action == "create-folder":
            match = re.search(r"/Entries/(\d+)/", ex.url)
            return int(match.group(1)) if match else None
    return None


def _url_template(url: str, base_url: str, clock_url: str, known: dict) -> str:
    for key, var in known.items():
        if key[0] == "str" and url == key[1]:
            return "{" + var + "}"  # a Location or nextLink followed as given
    if url.startswith(clock_url):
        prefix, rest = "{clock}", url[len(clock_url) :]
    elif url.startswith(base_url):
        prefix, rest = "{base}", url[len(base_url) :]
    else:
        return url
    path, _, query = rest.partition("?")
    parts = []
    for segment in path.split("/"):
        key = ("int", int(segment)) if segment.isdigit() else ("str", segment)
        parts.append("{" + known[key] + "}" if key in known else segment)
    return prefix + "/".join(parts) + (f"?{_query_template(query, known)}" if query else "")


def _query_template(query: str, known: dict) -> str:
    """A query with each token it names (v2's `taskIds=a,b`, repeated or listed) as its
    variable; the rest as sent."""

    def piece(value: str) -> str:
        return (
            "{" + known[("str", unquote(value))] + "}"
            if ("str", unquote(value)) in known
            else value
        )

    params = []
    for param in query.split("&"):
        name, eq, value = param.partition("=")
        params.append(name + eq + ",".join(map(piece, value.split(","))) if eq else param)
    return "&".join(params)


def _body_template(text: str | None, known: dict) -> Any:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"$raw": text}

    def walk(v: Any, key: str | None = None) -> Any:
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str) and v.startswith(SANDBOX_PREFIX):
            return {"$var": "sandbox_name"}
        if isinstance(v, int) and not isinstance(v, bool) and ("int", v) in known:
            return {"$var": known[("int", v)]}
        if isinstance(v, str) and ("str", v) in known:
            return {"$var": known[("str", v)]}
        return v

    return walk(value)


def _body_vars(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        if set(body) == {"$var"}:
            yield body["$var"]
            return
        for v in body.values():
            yield from _body_vars(v)
    elif isinstance(body, list):
        for v in body:
            yield from _body_vars(v)


def _offered(ex: Exchange, n: int) -> Iterator[tuple[Capture, tuple[str, Any]]]:
    """The values an answer hands out, each with how to take it from the answer."""
    if ex.status is None or ex.status >= 400:
        return
    location = ex.header("location")
    if location:
        yield Capture(f"location_{n}", "location"), ("str", location)
    count = 0
    for path, value in _id_values(ex.json(), []):
        count += 1
        kind = "str" if isinstance(value, str) else "int"
        if kind == "str" and ("://" in value or path[-1] not in TOKEN_KEYS):
            continue
        var = f"token_{n}" if path[-1] in TOKEN_KEYS else f"v{n}_{count}"
        yield Capture(var, "json", path), (kind, value)
    body = ex.json()
    link = body.get("@odata.nextLink") if isinstance(body, dict) else None
    if isinstance(link, str) and link:
        yield Capture(f"next_{n}", "json", ["@odata.nextLink"]), ("str", link)


def _id_values(value: Any, path: list[Any]) -> Iterator[tuple[list[Any], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ID_KEYS and (isinstance(v, str) or (isinstance(v, int) and v is not True)):
                if v is not False:
                    yield [*path, k], v
            elif isinstance(v, dict | list):
                yield from _id_values(v, [*path, k])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            name = item.get("name") if isinstance(item, dict) else None
            selector = {"name": name} if isinstance(name, str) else i
            yield from _id_values(item, [*path, selector])


def pick(value: Any, path: list[Any]) -> Any:
    """Follow a capture's JSON path in an answer; None where it leads nowhere."""
    for step in path:
        if isinstance(step, dict) and isinstance(value, list):
            value = next(
                (v for v in value if isinstance(v, dict) and v.get("name") == step["name"]), None
            )
        elif isinstance(step, int) and isinstance(value, list):
            value = value[step] if 0 <= step < len(value) else None
        elif isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def fill(step: Step, values: dict[str, Any]) -> tuple[str, bytes | None]:
    """The step's URL and body with the variables' values put in."""

    def value_of(name: str) -> Any:
        if name not in values:
            raise KeyError(f"step {step.n} needs {name}, which no earlier answer gave")
        return values[name]

    url = re.sub(r"\{(\w+)\}", lambda m: str(value_of(m.group(1))), step.url)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"$var"}:
                return value_of(v["$var"])
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    if step.body is None:
        return url, None
    if isinstance(step.body, dict) and set(step.body) == {"$raw"}:
        return url, step.body["$raw"].encode()
    return url, json.dumps(walk(step.body)).encode()


def host_of(url: str) -> str:
    return urlsplit(url).netloc
