"""Renders a run's verdicts for a terminal: the clause table, then each failure with
its reproduction. Only renders: the verdicts come decided from `verdicts.py`."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from ..checks import Failure
from ..client import Exchange
from ..model import Status
from ..verdicts import INCOMPLETE, Recorder, Verdict

MARK = {"pass": "pass", "fail": "FAIL", "not tested": "not tested", "skipped": "skipped"}


def render(
    verdicts: list[Verdict],
    recorder: Recorder,
    *,
    target: str,
    seed: int | None,
    seconds: float,
    settings: list[str] | None = None,
    outcome: tuple[int, str] = (0, ""),
    said: str | None = None,
) -> str:
    """The report; its last line is the run's outcome (exit code and reason, decided by
    `verdicts.decide`) with the count of each verdict. `said`: the target the run's first
    lines named (`render_start`), with the settings; they are not repeated (unless the
    target reads otherwise now, as when --profile auto picked one)."""
    lines = [
        *([f"Long-operation conformance: {target}"] if target != said else []),
        *render_settings(settings or [] if said is None else []),
        f"seed {seed if seed is not None else 'random'} · {recorder.examples} examples · "
        f"{recorder.steps} steps · {recorder.exchanges} HTTP exchanges · {seconds:.1f} s",
        "states reached: " + _states(recorder),
        *_together(recorder),
        *(f"note: {note}" for note in recorder.all_notes()),
        *(f"LEFT BEHIND on the server: {left.describe()}" for left in recorder.leftovers),
        *_unreached(recorder),
        "",
        f"{'clause':<7} {'verdict':<11} {'checked':>7}  clause text",
    ]
    for v in verdicts:
        text = textwrap.shorten(v.clause.text, 90, placeholder="…")
        lines.append(f"{v.clause.id:<7} {MARK[v.outcome]:<11} {v.exercised:>7}  {text}")
        if v.outcome == "skipped" and v.reason:
            lines.append(f"{'':<27}skipped: {v.reason}")
    failed = [v for v in verdicts if v.outcome == "fail" and v.failure is not None]
    for v in failed:
        lines += ["", *render_failure(v.failure, v.occurrences)]  # type: ignore[arg-type]
    counts = {k: sum(1 for v in verdicts if v.outcome == k) for k in MARK}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    code, reason = outcome
    if code == INCOMPLETE:
        lines += [
            "",
            f"INCOMPLETE: {summary}",
            f"{reason} (--allow-untested accepts an incomplete run)",
        ]
    else:
        verdict = "NOT CONFORMANT" if failed else "CONFORMANT"
        lines += ["", f"{verdict}: {summary}"]
    return "\n".join(lines)


def render_start(target: str, settings: list[str]) -> list[str]:
    """What a run says before it starts: the target and where each setting came from."""
    return [f"Long-operation conformance: {target}", *render_settings(settings)]


def render_settings(settings: list[str]) -> list[str]:
    """Where each value that is not a default came from (secrets already masked)."""
    return [f"{'settings:' if i == 0 else '':<9} {line}" for i, line in enumerate(settings)]


def _unreached(recorder: Recorder) -> list[str]:
    missing = [s.value for s in Status if not recorder.states[s]]
    if not missing:
        return []
    return [
        f"note: this run never saw {', '.join(missing)}; clauses that need it may be "
        "not tested (try a larger --max-examples or another --seed)"
    ]


def _together(recorder: Recorder) -> list[str]:
    if not recorder.together:
        return []
    batches = ", ".join(f"{kind} {n}" for kind, n in sorted(recorder.together.items()))
    return [f"sent together: {batches}"]


def _states(recorder: Recorder) -> str:
    return ", ".join(f"{s.value} {recorder.states[s]}" for s in Status)


def render_failure(failure: Failure, occurrences: int) -> list[str]:
    lines = [
        f"{failure.clause} violated: {failure.title}  [check {failure.check}, seen {occurrences}x]",
        f"  expected: {failure.expected}",
        f"  actual:   {failure.actual}",
        f"  shortest reproduction ({len(failure.exchanges)} HTTP exchanges):",
    ]
    lines += [f"    {line}" for line in render_exchanges(failure.exchanges)]
    return lines


def render_exchanges(exchanges: Iterable[Exchange]) -> list[str]:
    """One block per exchange; times are server-clock seconds since the first one."""
    out: list[str] = []
    start: float | None = None
    listed = list(exchanges)
    for i, ex in enumerate(listed):
        start = ex.sent if start is None else start
        who = f" [{ex.session}]" if ex.session else ""
        out.append(f"{ex.seq:>3}. t=+{ex.sent - start:.1f}s{who} {ex.describe()}")
        together = _in_flight_with(ex, listed[max(0, i - BATCH) : i + BATCH + 1])
        if together:
            out.append(f"       sent together with {', '.join(map(str, together))}")
        if ex.request_body:
            out.append(f"       request:  {textwrap.shorten(ex.request_body, 160)}")
        location = ex.header("location")
        if location:
            out.append(f"       location: {location}")
        if ex.response_body:
            out.append(f"       response: {textwrap.shorten(ex.response_body, 160)}")
    return out


BATCH = 8  # requests sent together are neighbours in the transcript (at most a few)


def _in_flight_with(ex: Exchange, near: list[Exchange]) -> list[int]:
    """The numbers of the exchanges in `near` that were in flight with `ex`: neither was
    answered before the other was sent (so the server may have served them either way)."""
    return [
        other.seq
        for other in near
        if other is not ex
        and other.received_order
        and ex.received_order
        and other.sent_order < ex.received_order
        and ex.sent_order < other.received_order
    ]
