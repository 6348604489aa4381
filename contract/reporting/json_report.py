"""Renders a finished run as `conformance.json`: clause -> verdict with its evidence, and
the run's metadata. The format is documented by `conformance.schema.json` beside this
module; bump SCHEMA_VERSION with any change that breaks a reader.

Only renders: verdicts, exit code and reason arrive decided (see `run.FinishedRun`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..checks import Failure
from ..client import Exchange
from ..model import Status
from ..verdicts import Verdict
from .run import FinishedRun, option_values, versions

SCHEMA_VERSION = 1
SCHEMA = Path(__file__).with_name("conformance.schema.json")
OUTCOMES = ("pass", "fail", "not tested", "skipped")


def render(run: FinishedRun) -> str:
    """The report as JSON text, every string in it passed through the run's redactor."""
    return json.dumps(_redacted(document(run), run.redactor()), indent=2, ensure_ascii=False)


def document(run: FinishedRun) -> dict[str, Any]:
    recorder = run.recorder
    return {
        "schema_version": SCHEMA_VERSION,
        "target": run.target,
        "profile": run.profile,
        "seed": run.options.seed,
        "started": run.started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_seconds": round(run.seconds, 3),
        "versions": versions(),
        "stats": {
            "examples": recorder.examples,
            "steps": recorder.steps,
            "exchanges": recorder.exchanges,
            "states": {s.value: recorder.states[s] for s in Status},
            "transitions": [
                {"from": before, "to": after, "count": n}
                for (before, after), n in sorted(recorder.transitions.items())
            ],
            "together": dict(sorted(recorder.together.items())),
        },
        "notes": recorder.all_notes(),
        "leftovers": [
            {"id": left.id, "name": left.name, "parent": left.parent} for left in recorder.leftovers
        ],
        "options": option_values(run.options),
        "outcome": {"exit_code": run.exit_code, "label": run.label, "reason": run.reason},
        "summary": {k: sum(1 for v in run.verdicts if v.outcome == k) for k in OUTCOMES},
        "clauses": {v.clause.id: clause_entry(v) for v in run.verdicts},
    }


def clause_entry(verdict: Verdict) -> dict[str, Any]:
    clause = verdict.clause
    return {
        "group": clause.group,
        "level": clause.level,
        "sources": clause.sources,
        "text": clause.text,
        "verdict": verdict.outcome,
        "checked": verdict.exercised,
        "reason": verdict.reason or None,
        "failure": failure_entry(verdict.failure, verdict.occurrences)
        if verdict.outcome == "fail" and verdict.failure is not None
        else None,
    }


def failure_entry(failure: Failure, occurrences: int) -> dict[str, Any]:
    return {
        "title": failure.title,
        "check": failure.check,
        "expected": failure.expected,
        "actual": failure.actual,
        "occurrences": occurrences,
        "exchanges": [exchange_entry(ex) for ex in failure.exchanges],
    }


def exchange_entry(ex: Exchange) -> dict[str, Any]:
    """One exchange of the evidence (a redacted copy); times are server-clock seconds."""
    return {
        "seq": ex.seq,
        "action": ex.action,
        "session": ex.session,
        "method": ex.method,
        "url": ex.url,
        "request_headers": dict(ex.request_headers),
        "request_body": ex.request_body,
        "status": ex.status,
        "response_headers": dict(ex.response_headers),
        "response_body": ex.response_body,
        "error": ex.error,
        "sent": ex.sent,
        "received": ex.received,
    }


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    return value
