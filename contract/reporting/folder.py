"""The run's report folder: where it is, whether it can be made, and writing it.

By default each run gets a fresh `reports/<UTC timestamp>/` under the current
directory; `--report-dir DIR` names the folder instead (files in it are replaced,
so CI can read a fixed path), and is checked before the run starts: one that
cannot be made is a usage error. The folder is made only when the run ends.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import documents, json_report, junit
from .run import FinishedRun

JUNIT = "junit.xml"
JSON = "conformance.json"
REPRO = "repro"  # the reproduction scripts, one .py and one .sh per failed clause


class ReportFolderError(Exception):
    """The report folder cannot be made or written; the message says which and why."""


@dataclass(frozen=True)
class ReportFolder:
    path: Path
    chosen: bool  # named by --report-dir (reused) rather than the default (always fresh)

    @classmethod
    def plan(cls, requested: str | None, started: datetime, cwd: Path) -> ReportFolder:
        """The folder for a run started at `started` (UTC), not yet made. A folder named
        on the command line is checked now; the default is not, because the plugin plans
        one in every pytest session, most of which never run the gate."""
        if requested:
            folder = cls((cwd / Path(requested).expanduser()).resolve(), True)
            folder.check()
            return folder
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        return cls((cwd / "reports" / stamp).resolve(), False)

    def check(self) -> None:
        """Raise ReportFolderError unless the folder exists or could be made, writable."""
        existing = self.path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ReportFolderError(
                f"cannot create report folder {self.path}: {existing} is a file"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ReportFolderError(
                f"cannot create report folder {self.path}: {existing} is not writable"
            )

    def write(self, run: FinishedRun, environ: Mapping[str, str] | None = None) -> Path:
        """Render the run into the folder; returns the folder written. With
        GITHUB_STEP_SUMMARY in `environ` (GitHub Actions), the Markdown report is appended
        to that file too."""
        try:
            path = self._make()
            (path / JUNIT).write_text(junit.render(run), encoding="utf-8")
            (path / JSON).write_text(json_report.render(run) + "\n", encoding="utf-8")
            pages = documents.render(run)
            for stale in (path / REPRO).glob("*.*"):  # a reused folder: last run's scripts
                if stale.suffix in (".py", ".sh"):
                    stale.unlink()
            for name, text in pages.items():
                (path / name).parent.mkdir(exist_ok=True)
                (path / name).write_text(text, encoding="utf-8")
            summary = environ.get("GITHUB_STEP_SUMMARY") if environ is not None else None
            if summary:  # GitHub Actions shows it on the run's page
                with open(summary, "a", encoding="utf-8") as out:
                    out.write(pages[documents.MARKDOWN] + "\n")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ReportFolderError(f"cannot write the reports to {self.path}: {reason}") from None
        return path

    def _make(self) -> Path:
        if self.chosen:
            self.path.mkdir(parents=True, exist_ok=True)
            return self.path
        # Two runs started in the same second must not share a folder.
        for n in range(1, 1000):
            path = self.path if n == 1 else self.path.with_name(f"{self.path.name}-{n}")
            try:
                path.mkdir(parents=True)
                return path
            except FileExistsError:
                continue
        raise FileExistsError(f"{self.path}-999 exists")
