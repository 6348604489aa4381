"""Renders a finished run for people: `report.md`, a self-contained `report.html`, and
for each failure a curl (bash) and a Python (httpx) reproduction script.

Jinja2 templates (`templates/`) do the rendering; this module only prepares what they
show: the clause matrix, the lifecycle diagram (the table of `contract/model.py` with
how often this run saw each transition) and each failure's plan
(`reproduction.py`). The HTML loads nothing: its styles and the diagram (inline SVG)
are in the file. Nothing here decides anything: verdicts arrive decided.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import jinja2

from ..model import TRANSITIONS, Status
from ..profiles import Profile, profile
from ..targets import MOCK_BASE_URL
from ..verdicts import Verdict
from . import reproduction
from .reproduction import Plan, Step
from .run import FinishedRun, versions

OUTCOMES = ("pass", "fail", "not tested", "skipped")
MARKDOWN = "report.md"
HTML = "report.html"


@dataclass(frozen=True)
class FailedClause:
    verdict: Verdict
    plan: Plan

    @property
    def slug(self) -> str:
        return self.verdict.clause.id

    @property
    def python_name(self) -> str:
        return f"repro/{self.slug}.py"

    @property
    def curl_name(self) -> str:
        return f"repro/{self.slug}.sh"


def failed_clauses(run: FinishedRun) -> list[FailedClause]:
    """Each failed clause with the plan of its shortest reproduction."""
    base = run.options.base_url or MOCK_BASE_URL
    out = []
    for v in run.verdicts:
        if v.outcome != "fail" or v.failure is None:
            continue
        plan = reproduction.build(
            v.clause.id, v.failure, v.failure.exchanges, base, run.options.clock_url, run.profile
        )
        out.append(FailedClause(v, plan))
    return out


# --- the lifecycle diagram -------------------------------------------------------------

BOX_W, BOX_H = 130, 40
PLACES: dict[Status, tuple[int, int]] = {
    Status.NOT_STARTED: (20, 40),
    Status.IN_PROGRESS: (20, 220),
    Status.COMPLETED: (290, 30),
    Status.FAILED: (290, 130),
    Status.CANCELLED: (290, 230),
    Status.EXPIRED: (540, 130),
}


@dataclass(frozen=True)
class Edge:
    before: str
    after: str
    count: int
    allowed: bool
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def label_at(self) -> tuple[float, float]:
        return (self.x1 + (self.x2 - self.x1) * 0.55, self.y1 + (self.y2 - self.y1) * 0.55 - 4)


def diagram(run: FinishedRun) -> dict[str, Any]:
    """The lifecycle table as boxes and arrows, each arrow with how often this run saw it;
    transitions the table does not allow but the run saw are drawn too (in red)."""
    seen = run.recorder.transitions
    pairs = {(a.value, b.value) for a, nexts in TRANSITIONS.items() for b in nexts}
    edges = [_edge(a, b, seen.get((a, b), 0), True) for a, b in sorted(pairs)]
    edges += [_edge(a, b, n, False) for (a, b), n in sorted(seen.items()) if (a, b) not in pairs]
    nodes = [
        {"name": s.value, "x": x, "y": y, "count": run.recorder.states[s]}
        for s, (x, y) in PLACES.items()
    ]
    return {"nodes": nodes, "edges": edges, "w": BOX_W, "h": BOX_H, "width": 700, "height": 290}


def _edge(before: str, after: str, count: int, allowed: bool) -> Edge:
    (ax, ay), (bx, by) = PLACES[Status(before)], PLACES[Status(after)]
    if ax == bx:  # one above the other
        down = by > ay
        y1, y2 = (ay + BOX_H, by) if down else (ay, by + BOX_H)
        return Edge(before, after, count, allowed, ax + BOX_W / 2, y1, bx + BOX_W / 2, y2)
    forward = bx > ax
    x1, x2 = (ax + BOX_W, bx) if forward else (ax, bx + BOX_W)
    return Edge(before, after, count, allowed, x1, ay + BOX_H / 2, x2, by + BOX_H / 2)


# --- the templates ----------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("contract.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters.update(
        py=_py,
        pycomment=lambda s: str(s).replace('"""', "'''").replace("\\", "/").replace("\n", " "),
        pyurl=_py_url,
        pybody=lambda step: _py_body(step.body),
        sh=shlex.quote,
        shcomment=lambda s: str(s).replace("\n", " "),
        shurl=_sh_url,
        shauth=_sh_auth,
        shbody=_sh_body,
        jq=_jq,
        md=_md_cell,
    )
    return env


def context(run: FinishedRun) -> dict[str, Any]:
    """What report.md and report.html show."""
    counts = {k: sum(1 for v in run.verdicts if v.outcome == k) for k in OUTCOMES}
    failed = failed_clauses(run)
    return {
        "run": run,
        "verdicts": run.verdicts,
        "counts": counts,
        "failed": failed,
        "scripts": {
            f.slug: {
                "python": render_python(f.plan, profile(run.profile)),
                "curl": render_curl(f.plan),
            }
            for f in failed
        },
        "diagram": diagram(run),
        "versions": versions(),
        "settings": run.options.settings_lines(),
        "started": run.started.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def render(run: FinishedRun) -> dict[str, str]:
    """Every file this module writes, by its path in the report folder: report.md,
    report.html and repro/<CLAUSE>.py and .sh per failure; each passed through the run's
    redactor (a last line of defence: the evidence arrives redacted)."""
    ctx = context(run)
    files = {
        MARKDOWN: ENV.get_template("report.md.j2").render(ctx),
        HTML: ENV.get_template("report.html.j2").render(ctx),
    }
    for f in ctx["failed"]:
        files[f.python_name] = ctx["scripts"][f.slug]["python"]
        files[f.curl_name] = ctx["scripts"][f.slug]["curl"]
    redact = run.redactor()
    return {name: redact(text) for name, text in files.items()}


def render_python(plan: Plan, dialect: Profile | None = None) -> str:
    dialect = dialect or profile("openapi-v1")
    return ENV.get_template("repro.py.j2").render(
        plan=plan,
        invalid_token=reproduction.INVALID_TOKEN,
        dialect=dialect,
        sent_together=reproduction.SENT_TOGETHER,
    )


def render_curl(plan: Plan) -> str:
    return ENV.get_template("repro.sh.j2").render(
        plan=plan,
        invalid_token=reproduction.INVALID_TOKEN,
        sent_together=reproduction.SENT_TOGETHER,
    )


# --- filters: a plan as Python source and as shell words -------------------------------


def _py(value: Any) -> str:
    """A Python literal of a JSON-like value."""
    return repr(value)


def _py_url(step: Step) -> str:
    """The step's URL as an f-string whose {names} are the script's variables."""
    parts = step.url.replace("}", "{").split("{")
    # even indexes are literal text, odd ones variable names
    text = "".join(
        json.dumps(p)[1:-1].replace("{", "{{").replace("}", "}}") if i % 2 == 0 else f"{{{p}}}"
        for i, p in enumerate(parts)
    )
    return f'f"{text}"'


def _py_body(body: Any) -> str:
    if body is None:
        return "None"
    if isinstance(body, dict) and set(body) == {"$raw"}:
        return repr(body["$raw"].encode())
    if isinstance(body, dict) and set(body) == {"$var"}:
        return str(body["$var"])
    if isinstance(body, dict):
        items = ", ".join(f"{k!r}: {_py_body(v)}" for k, v in body.items())
        return "{" + items + "}"
    if isinstance(body, list):
        return "[" + ", ".join(_py_body(v) for v in body) + "]"
    return repr(body)


def _sh_url(step: Step) -> str:
    """The URL as one shell word, with "$name" where a variable goes."""
    parts = step.url.replace("}", "{").split("{")
    # even indexes are literal text, odd ones variable names
    return "".join(
        shlex.quote(p) if i % 2 == 0 else f'"${{{p}}}"' for i, p in enumerate(parts) if p or i % 2
    )


def _sh_auth(step: Step) -> str:
    if step.auth == "none" or step.session is None and step.auth == "session":
        return "''"
    if step.auth == "invalid":
        return '"$invalid_token"'
    return f'"$LRO_TOKEN_{step.session}"'


STRING_VARS_HINT = ("sandbox_name",)


def _sh_body(step: Step) -> str:
    """The body as one shell word: JSON with "$name" where a captured value goes (quoted
    as a JSON string when the original value was one)."""
    body = step.body
    if isinstance(body, dict) and set(body) == {"$raw"}:
        return shlex.quote(body["$raw"])
    marks: dict[str, str] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) == {"$var"}:
                mark = f"\0{len(marks)}\0"
                marks[mark] = v["$var"]
                return mark
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    text = json.dumps(walk(body)).replace("\\u0000", "\0")
    out = []
    for chunk in text.split('"\0'):
        if "\0" not in chunk:
            out.append(shlex.quote(chunk) if chunk else "")
            continue
        number, _, rest = chunk.partition('\0"')
        name = marks[f"\0{number}\0"]
        quoted = name in STRING_VARS_HINT or _is_string_var(name)
        out.append(f"'\"'\"${name}\"'\"'" if quoted else f'"${name}"')
        out.append(shlex.quote(rest) if rest else "")
    return "".join(out) if out else "''"


def _is_string_var(name: str) -> bool:
    return name.startswith(("location_", "next_", "token_"))


def _jq(path: list[Any]) -> str:
    parts = []
    for step in path:
        if isinstance(step, dict):
            parts.append(f" | .[] | select(.name == {json.dumps(step['name'])})")
        elif isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(f"[{json.dumps(step)}]")
    program = "." + "".join(parts)
    return shlex.quote(program.replace(". |", "."))


def _md_cell(text: Any) -> str:
    """Text for a Markdown table cell: one line, no pipe breaking the table."""
    return str(text).replace("\n", " ").replace("|", "\\|")


ENV = _environment()  # after the filters it uses
