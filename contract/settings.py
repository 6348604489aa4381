"""Every option of the gate in one table, and where each value of a run came from.

A value is taken from the first of these that gives one:

1. the command line (`lro-conformance --seed 3`, or `pytest --lro-seed 3`);
2. the environment (`LRO_SEED=3`; repeatable options take a comma-separated list);
3. the `[tool.lro-conformance]` table of a TOML file: `--config FILE` (or `LRO_CONFIG`),
   else `pyproject.toml` in the current directory when it has that table;
4. the default.

`resolve()` returns the `Options` of the run with the source of every value, so a
run can print where each came from (secrets as `***`). A bad value anywhere is a
`SettingError` that names the option, the source and what would be accepted.
To add an option: one `Setting` below and one field in `Options`.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .clauses import CLAUSES
from .profiles import PROFILES

TABLE = "lro-conformance"
MASK = "***"


class SettingError(ValueError):
    """A value the gate cannot use; the message says which, where from, and what fits."""


@dataclass
class Options:
    """Everything that shapes a run. Defaults are the gate's default budget."""

    profile: str = "openapi-v1"
    seed: int | None = None
    max_examples: int = 100
    steps: int = 50
    token_ttl: float = 900.0
    operation_timeout: float = 900.0
    operation_limit: int = 1  # operations one session may run at once (CON-1, CON-4)
    ttl_tolerance: float | None = None  # None: 0.5 s on a virtual clock, 2 s on the wall clock
    long_poll: float | None = None  # None: the profile's (v2: 60 s; v1 does not long-poll)
    faults: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()  # legitimate behaviours of the embedded emulator
    skip_clauses: dict[str, str] = field(default_factory=dict)
    shrink: bool = True
    report_dir: str | None = None  # None: a fresh reports/<UTC timestamp>/ under the cwd
    quiet: bool = False  # no progress lines (terminal or log)
    # Live mode: a running server instead of the embedded emulator.
    base_url: str | None = None
    repo_id: str | None = None
    session_tokens: tuple[str, ...] = field(default=(), repr=False)
    parent_id: int | None = None
    clock_url: str | None = None
    wall_clock: bool = False
    ca_bundle: str | None = None
    fuzz_cases: int = 200  # requests schemathesis generates after exploring; 0: no fuzzing
    allow_untested: bool = False  # a clause left not tested still gives exit 0, not 3
    rounds: int = 6  # explore again, muting what was found, until nothing new (at most this)
    # Seconds the whole run may take (clean-up's grace aside); None: the mode's default
    # (`budget.default_duration`).
    max_duration: float | None = None
    # option name -> where its value came from ("command line", "environment LRO_SEED", ...)
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    # option name -> the value as given, printable, secrets masked (non-defaults only)
    shown: dict[str, str] = field(default_factory=dict, compare=False)

    def settings_lines(self) -> list[str]:
        """`name = value (source)` for every value that is not a default."""
        return [f"{name} = {value} ({self.sources[name]})" for name, value in self.shown.items()]


def _skip_clauses(items: list[str]) -> dict[str, str]:
    skips: dict[str, str] = {}
    for item in items:
        cid, _, reason = item.partition("=")
        cid = cid.strip().upper()
        if cid not in CLAUSES:
            raise SettingError(f"unknown clause {cid!r}; known: {', '.join(CLAUSES)}")
        skips[cid] = reason.strip() or "skipped on request (no reason given)"
    return skips


def _positive(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise SettingError(f"must be positive, got {value}")
    return value


def _not_negative(value: int | float) -> int | float:
    if not math.isfinite(value) or value < 0:
        raise SettingError(f"must be 0 or more, got {value}")
    return value


def _ca_bundle(value: str) -> str:
    if not Path(value).is_file():
        raise SettingError(f"no such file: {value}")
    return value


@dataclass(frozen=True)
class Setting:
    """One option: its name on the command line (`--NAME`, `--lro-NAME` for pytest), in
    the environment (`LRO_NAME`) and in the TOML table (`NAME`)."""

    name: str
    help: str
    kind: type = str  # str, int, float or bool (a flag)
    many: bool = False  # repeatable; a list in TOML, comma-separated in the environment
    secret: bool = False
    live: bool = False  # listed under "live mode" in --help
    metavar: str | None = None
    to_field: str = ""  # the Options field, when it is not the name with underscores
    # turns the read value into the Options value; may raise SettingError
    convert: Callable[[Any], Any] | None = None

    @property
    def field(self) -> str:
        return self.to_field or self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return "LRO_" + self.name.upper().replace("-", "_")

    @property
    def dest(self) -> str:
        """The attribute argparse and pytest store it under."""
        return "lro_" + self.name.replace("-", "_")

    def argparse_kwargs(self) -> dict[str, Any]:
        """How argparse (and so pytest) reads it: stored under `dest`; not given is None."""
        kind: dict[str, Any] = {"dest": self.dest, "help": self.help, "default": None}
        if self.kind is bool:
            return {**kind, "action": "store_true"}
        kind["metavar"] = self.metavar or self.name.upper().replace("-", "_")
        if self.many:
            kind["action"] = "append"
        if self.kind is not str:
            kind["type"] = self.kind
        return kind

    def as_arguments(self, value: Any) -> list[str]:
        """The pytest arguments that give `value` (as read by argparse) to the plugin."""
        flag = f"--lro-{self.name}"
        if value is None or value is False or value == []:
            return []
        if self.kind is bool:
            return [flag]
        return [a for v in (value if self.many else [value]) for a in (flag, str(v))]

    def show(self, value: Any) -> str:
        if self.secret:
            return ", ".join(MASK for _ in value) if self.many else MASK
        if isinstance(value, tuple | list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def parse_text(self, text: str) -> Any:
        """A value from the environment: text to the option's type."""
        if self.many:
            return [self._scalar_text(t.strip()) for t in text.split(",") if t.strip()]
        return self._scalar_text(text.strip())

    def _scalar_text(self, text: str) -> Any:
        if self.kind is bool:
            low = text.lower()
            if low in {"1", "true", "yes", "on"}:
                return True
            if low in {"0", "false", "no", "off", ""}:
                return False
            raise SettingError(f"expected true or false, got {text!r}")
        try:
            return self.kind(text)
        except ValueError:
            raise SettingError(f"expected {_KIND_NAMES[self.kind]}, got {text!r}") from None

    def check_toml(self, value: Any) -> Any:
        """A value from a TOML table: check its type."""
        if self.many:
            items = value if isinstance(value, list) else [value]
            return [self._toml_scalar(v) for v in items]
        return self._toml_scalar(value)

    def _toml_scalar(self, value: Any) -> Any:
        ok = isinstance(value, self.kind) and not (self.kind is int and isinstance(value, bool))
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise SettingError(f"expected {_KIND_NAMES[self.kind]}, got {value!r}")
        return value


_KIND_NAMES = {str: "text", int: "an integer", float: "a number", bool: "true or false"}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "profile",
        f"dialect of the target: {', '.join(PROFILES)} (default openapi-v1), or auto "
        "(a tiny copy in a sandbox shows which; the report says why)",
        metavar="NAME",
    ),
    Setting("seed", "seed for a reproducible run", kind=int, metavar="N"),
    Setting(
        "max-examples",
        "Hypothesis examples (default 100)",
        kind=int,
        metavar="N",
        convert=_positive,
    ),
    Setting("steps", "steps per example (default 50)", kind=int, metavar="N", convert=_positive),
    Setting(
        "token-ttl",
        "seconds a token lives after its operation ended (default 900)",
        kind=float,
        metavar="SECONDS",
        convert=_positive,
    ),
    Setting(
        "operation-timeout",
        "seconds after its start by which an operation must have ended (default 900)",
        kind=float,
        metavar="SECONDS",
        convert=_positive,
    ),
    Setting(
        "operation-limit",
        "operations one session may run at once; a start beyond that must be refused with "
        "429 (default 1, every profile; v2's guide says only 'a limited number')",
        kind=int,
        metavar="N",
        convert=_positive,
    ),
    Setting(
        "ttl-tolerance",
        "clock tolerance around the TTL, seconds (default 0.5; 2 with --wall-clock)",
        kind=float,
        metavar="SECONDS",
    ),
    Setting(
        "long-poll",
        "seconds a server may hold a poll's answer back (default: the profile's, 60 for "
        "v2; the timer tolerance is --ttl-tolerance's)",
        kind=float,
        metavar="SECONDS",
        convert=_not_negative,
    ),
    Setting(
        "fault",
        "seed a fault into the embedded emulator (repeatable; see --list-faults)",
        many=True,
        metavar="NAME",
        to_field="faults",
        convert=tuple,
    ),
    Setting(
        "variant",
        "build the embedded emulator with a behaviour a correct server may have "
        "(repeatable, or all; see lro-emulator --list-variants)",
        many=True,
        metavar="NAME",
        to_field="variants",
        convert=tuple,
    ),
    Setting(
        "skip-clause",
        "leave a clause out of the gate; reported as skipped (repeatable)",
        many=True,
        metavar="ID[=REASON]",
        to_field="skip_clauses",
        convert=_skip_clauses,
    ),
    Setting(
        "no-shrink",
        "report the first counterexample without shrinking it",
        kind=bool,
        to_field="shrink",
        convert=lambda flag: not flag,
    ),
    Setting(
        "fuzz-cases",
        "requests schemathesis generates, valid and malformed, after exploring "
        "(default 200; 0 turns fuzzing off)",
        kind=int,
        metavar="N",
        convert=_not_negative,
    ),
    Setting(
        "max-duration",
        "seconds the whole run may take, clean-up included (plus up to 30 s to clean up "
        "the last example); default: none with the embedded emulator, 600 against a "
        "server with clock hooks, the expiry probe's time + 300 on the wall clock",
        kind=float,
        metavar="SECONDS",
        convert=_positive,
    ),
    Setting(
        "allow-untested",
        "exit 0 even when a clause that applies was not tested (an exploratory run; "
        "without it such a run is incomplete, exit 3)",
        kind=bool,
    ),
    Setting(
        "report-dir",
        "folder for the reports: junit.xml, conformance.json, report.md, report.html, "
        "repro/ (default: reports/<UTC timestamp>/)",
        metavar="DIR",
    ),
    Setting(
        "quiet",
        "no progress lines (a status line on a terminal, a line every 20 s in a log)",
        kind=bool,
    ),
    Setting("base-url", "the target, e.g. https://staging.example.com", live=True, metavar="URL"),
    Setting("repo-id", "repository id", live=True, metavar="ID"),
    Setting(
        "session-token",
        "bearer token of one user session (repeatable; two or more enable the isolation clauses)",
        many=True,
        secret=True,
        live=True,
        metavar="TOKEN",
        to_field="session_tokens",
        convert=tuple,
    ),
    Setting(
        "parent-id", "folder under which sandboxes are built", kind=int, live=True, metavar="ID"
    ),
    Setting(
        "clock-url", "the build's clock hook (DESIGN §6), if it has one", live=True, metavar="URL"
    ),
    Setting(
        "wall-clock",
        "no clock hooks (a real tenant): TTL clauses are checked by waiting one TTL, "
        "in parallel with the rest of the run",
        kind=bool,
        live=True,
    ),
    Setting(
        "ca-bundle",
        "PEM file of certificate authorities to trust for https (default: the system's)",
        live=True,
        metavar="FILE",
        convert=_ca_bundle,
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}
CONFIG = Setting(
    "config", f"TOML file with a [tool.{TABLE}] table (default ./pyproject.toml)", metavar="FILE"
)


def resolve(
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Options:
    """The run's Options from command-line values (`given`: option name -> value, only
    those the user gave), the environment and the TOML table, with each value's source."""
    environ = os.environ if environ is None else environ
    table, table_source = _table(given.get("config"), environ, cwd or Path.cwd())
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    shown: dict[str, str] = {}
    for s in SETTINGS:
        raw, source = _first(s, given, environ, table, table_source)
        sources[s.name] = source
        if source == "default":
            continue
        try:
            values[s.field] = s.convert(raw) if s.convert else raw
        except SettingError as exc:
            raise SettingError(f"{s.name} ({source}): {exc}") from None
        shown[s.name] = s.show(raw)
    return replace(Options(**values), sources=sources, shown=shown)


def _first(
    s: Setting,
    given: Mapping[str, Any],
    environ: Mapping[str, str],
    table: dict[str, Any],
    table_source: str,
) -> tuple[Any, str]:
    value = given.get(s.name)
    if value is not None and value != [] and value is not False:
        return value, "command line"
    if s.env in environ:
        try:
            return s.parse_text(environ[s.env]), f"environment {s.env}"
        except SettingError as exc:
            raise SettingError(f"{s.name} (environment {s.env}): {exc}") from None
    if s.name in table:
        try:
            return s.check_toml(table[s.name]), table_source
        except SettingError as exc:
            raise SettingError(f"{s.name} ({table_source}): {exc}") from None
    return None, "default"


def _table(config: str | None, environ: Mapping[str, str], cwd: Path) -> tuple[dict[str, Any], str]:
    """The [tool.lro-conformance] table: of --config / LRO_CONFIG, else of ./pyproject.toml."""
    named = config or environ.get(CONFIG.env)
    path = Path(named) if named else cwd / "pyproject.toml"
    if not path.is_file():
        if named:
            raise SettingError(f"config: no such file: {named}")
        return {}, ""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise SettingError(f"config: cannot read {path}: {exc}") from None
    table = document.get("tool", {}).get(TABLE, {})
    if not isinstance(table, dict):
        raise SettingError(f"config: [tool.{TABLE}] in {path} must be a table")
    table = {k.replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(table) - set(BY_NAME))
    if unknown:
        raise SettingError(
            f"config: unknown key(s) {', '.join(unknown)} in [tool.{TABLE}] of {path}; "
            f"known: {', '.join(BY_NAME)}"
        )
    return table, f"{path.name} [tool.{TABLE}]"
