"""A finished run as the reports see it, and the run metadata they share.

`FinishedRun` carries what the plugin decided (verdicts, exit code, reason) and
what it measured; the helpers here only describe it: the options with secrets
masked and where each value came from, and the versions of the gate and its
main dependencies. Nothing here decides pass or fail.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import __version__
from ..client import REDACTED
from ..settings import SETTINGS, Options
from ..verdicts import Recorder, Verdict

DISTRIBUTION = "lro-conformance"
#: The dependencies whose versions a report names: they shape what a run does.
DEPENDENCIES = ("hypothesis", "schemathesis", "httpx", "pytest")
#: Outcome labels, by the exit code the plugin decided.
OUTCOME_LABELS = {0: "conformant", 1: "not conformant", 2: "no verdict", 3: "incomplete"}


@dataclass(frozen=True)
class FinishedRun:
    """Everything a report renders; every judgement in it was made before."""

    verdicts: list[Verdict]
    recorder: Recorder
    options: Options
    target: str
    started: datetime  # UTC
    seconds: float
    exit_code: int
    reason: str

    @property
    def profile(self) -> str:
        """The dialect the run judged in: as named, or as `--profile auto` picked it."""
        return self.recorder.profile or self.options.profile

    @property
    def label(self) -> str:
        return OUTCOME_LABELS.get(self.exit_code, "no verdict")

    def redactor(self) -> Callable[[str], str]:
        """Masks every bearer token of the run in a text (a last line of defence:
        evidence arrives redacted already)."""
        secrets = [s for s in self.options.session_tokens if s]

        def redact(text: str) -> str:
            for secret in secrets:
                text = text.replace(secret, REDACTED)
            return text

        return redact


def option_values(options: Options) -> dict[str, dict[str, Any]]:
    """Every option of the run, by its `Options` field: the value (secrets as ***) and
    where the value came from ("command line", "environment LRO_SEED", "default", ...,
    as `contract/settings.py` recorded it)."""
    out: dict[str, dict[str, Any]] = {}
    for s in SETTINGS:
        value = getattr(options, s.field)
        out[s.field] = {
            "value": _masked(value) if s.secret else _plain(value),
            "source": options.sources.get(s.name, "default"),
        }
    return out


def _masked(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [REDACTED for _ in value]  # how many there were is no secret
    return REDACTED


def _plain(value: Any) -> Any:
    """A JSON-ready copy of an option value."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def versions() -> dict[str, str | None]:
    """The installed versions of the gate, its main dependencies and Python."""
    out: dict[str, str | None] = {DISTRIBUTION: _version(DISTRIBUTION) or __version__}
    out.update({name: _version(name) for name in DEPENDENCIES})
    out["python"] = platform.python_version()
    return out


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
