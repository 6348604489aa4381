"""Renders a finished run as `junit.xml` for CI test viewers (GitHub test reporters,
GitLab's JUnit reports, Jenkins).

One test case per clause of the catalogue: classname is the clause group (`SUB`),
name is the clause id and text. A failed clause carries a <failure> with the clause
text, expected vs actual and the shortest reproduction; a skipped clause is <skipped>
with its reason; a clause nothing exercised is in <error> when that made the run incomplete
(exit code 3: no viewer may show it green), else <skipped> (a run that failed or
could not judge anyway, or was told to accept it with --allow-untested). A run that could not judge (exit code 2: interrupted, harness
error, nothing tested) gets one more test case, in error, for the same reason.

Only renders: verdicts, exit code and reason arrive decided (see `run.FinishedRun`).
The XML is built with ElementTree; text a server sent is made XML-safe first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from ..verdicts import INCOMPLETE, Verdict, what_exercises
from .console import render_failure
from .run import FinishedRun, versions

SUITE = "long-operation conformance"
NOT_TESTED = "not tested: nothing in this run exercised this clause"
# Characters XML 1.0 cannot carry at all (a server's body may hold them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(run: FinishedRun) -> str:
    return ET.tostring(tree(run), encoding="unicode", xml_declaration=True) + "\n"


def tree(run: FinishedRun) -> ET.Element:
    text = _safe(run.redactor())
    counts = _counts(run)
    seconds = f"{run.seconds:.3f}"
    root = ET.Element(
        "testsuites",
        name=text(f"lro-conformance: {run.target}"),
        tests=str(counts["tests"]),
        failures=str(counts["failures"]),
        errors=str(counts["errors"]),
        time=seconds,
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=SUITE,
        tests=str(counts["tests"]),
        failures=str(counts["failures"]),
        errors=str(counts["errors"]),
        skipped=str(counts["skipped"]),
        time=seconds,
        timestamp=run.started.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    suite.append(_properties(run, text))
    for verdict in run.verdicts:
        suite.append(testcase(verdict, text, run.exit_code == INCOMPLETE))
    if run.exit_code == 2:
        suite.append(_run_error(run, text))
    ET.indent(root)
    return root


def testcase(verdict: Verdict, text: Callable[[str], str], incomplete: bool = False) -> ET.Element:
    clause = verdict.clause
    case = ET.Element("testcase", classname=clause.group, name=text(f"{clause.id}: {clause.text}"))
    if verdict.outcome == "fail":
        case.append(_failure(verdict, text))
    elif verdict.outcome == "skipped":
        ET.SubElement(case, "skipped", message=text(f"skipped: {verdict.reason}"))
    elif verdict.outcome == "not tested" and not incomplete:
        ET.SubElement(case, "skipped", message=NOT_TESTED)
    elif verdict.outcome == "not tested":
        error = ET.SubElement(case, "error", type="not tested", message=NOT_TESTED)
        error.text = f"would be exercised by {what_exercises(verdict.clause.id)}"
    ET.SubElement(case, "system-out").text = f"checked {verdict.exercised} times"
    return case


def _failure(verdict: Verdict, text: Callable[[str], str]) -> ET.Element:
    clause, failure = verdict.clause, verdict.failure
    element = ET.Element("failure", type=f"{clause.id} violated")
    lines = [f"{clause.id}: {clause.text}"]
    if failure is not None:
        element.set(
            "message", text(f"{failure.title}: expected {failure.expected}; got {failure.actual}")
        )
        lines += ["", *render_failure(failure, verdict.occurrences)]
    else:
        element.set("message", f"{clause.id} violated")
    element.text = text("\n".join(lines))
    return element


def _run_error(run: FinishedRun, text: Callable[[str], str]) -> ET.Element:
    """The run itself, in error: the gate could not judge (exit code 2)."""
    case = ET.Element("testcase", classname="RUN", name="the conformance run completes")
    error = ET.SubElement(case, "error", type="no verdict", message=text(run.reason))
    error.text = text(f"exit code {run.exit_code}: {run.reason}")
    return case


def _properties(run: FinishedRun, text: Callable[[str], str]) -> ET.Element:
    values = {
        "target": run.target,
        "profile": run.profile,
        "seed": "random" if run.options.seed is None else str(run.options.seed),
        "exit code": str(run.exit_code),
        "outcome": f"{run.label}: {run.reason}",
        **{f"left behind {i}": left.describe() for i, left in enumerate(run.recorder.leftovers, 1)},
        **{f"version {name}": v or "not installed" for name, v in versions().items()},
    }
    properties = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=text(value))
    return properties


def _counts(run: FinishedRun) -> dict[str, int]:
    outcomes = [v.outcome for v in run.verdicts]
    run_error = 1 if run.exit_code == 2 else 0
    untested = outcomes.count("not tested")
    incomplete = run.exit_code == INCOMPLETE
    return {
        "tests": len(outcomes) + run_error,
        "failures": outcomes.count("fail"),
        "errors": run_error + (untested if incomplete else 0),
        "skipped": outcomes.count("skipped") + (0 if incomplete else untested),
    }


def _safe(redact: Callable[[str], str]) -> Callable[[str], str]:
    """Redacts secrets, then replaces what XML cannot hold with a visible escape."""

    def safe(value: str) -> str:
        return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", redact(value))

    return safe
