"""Fault detection: the gate and `schemathesis run` against every seeded fault, side by side.

For each fault of the emulator's catalogue (`emulator/faults.py`) it runs the gate
in mock mode at the default budget, in-process, in the fault's own profile, exactly as
`lro-conformance [--profile v2] --fault NAME --seed SEED` explores, and records whether a clause
the fault breaks failed, how many steps and seconds (from the start of the run)
that first took, and how many exchanges the shrunk counterexample holds. Then
it runs schemathesis with the vendor's OpenAPI document of that API version against
`lro-emulator [--profile v2] --fault NAME` on loopback (`versus_schemathesis.py` says
how, and what counts as a catch). A control row for each profile that ran runs both
against the clean emulator in it. The table goes into docs/BENCHMARKS.md between the
`detect` markers (`detect-v2` with `--profile v2`: that profile's faults only).

    python bench/detect.py                          # every fault (a long while)
    python bench/detect.py --profile v2             # the v2 faults, and the clean v2 control
    python bench/detect.py --faults start-202,cancel-ignored --skip-schemathesis
    python bench/detect.py --output /tmp/detect.md  # write elsewhere
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import versus_schemathesis as st
from sections import write_section

from contract.client import Exchange
from contract.machine import ClauseViolation
from contract.runner import explore
from contract.settings import Options
from contract.verdicts import Recorder
from emulator.faults import FAULTS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
NAME = "detect"
CLEAN = "(clean, control)"
DEFAULT_PROFILE = "openapi-v1"  # a fault's profile when it names none (`Fault.profile`)
ST_EXAMPLES = 100  # schemathesis' examples per operation
BASELINE_SEEDS = 8  # clean schemathesis runs (seeds) whose failures are subtracted


@dataclass
class GateRun:
    """The gate against one build: what it found and how soon."""

    fault: str
    tied: tuple[str, ...]  # the clauses the fault breaks (none for the clean build)
    seconds: float  # the whole run: exploring, shrinking, every round
    profile: str = DEFAULT_PROFILE  # the profile it ran in (gate and emulator)
    found: list[str] = field(default_factory=list)  # tied clauses that failed, first seen first
    others: list[str] = field(default_factory=list)  # other clauses that failed
    steps: int | None = None  # to the first failure of a tied clause
    to_detection: float | None = None  # seconds from the start of the run to it
    shrunk: int | None = None  # exchanges in the shortest counterexample of a tied clause
    fixtures: int | None = None  # of which the leading folder creations (its fixtures)

    @property
    def killed(self) -> bool:
        return bool(self.found)


def profile_of(fault: str) -> str:
    """The profile a fault lives in, and is run in (as tests/mutation.py runs it)."""
    return FAULTS[fault].profile or DEFAULT_PROFILE


def control_name(profile: str) -> str:
    return CLEAN if profile == DEFAULT_PROFILE else f"(clean {profile}, control)"


def run_gate(
    fault: str | None, seed: int, max_examples: int, profile: str = DEFAULT_PROFILE
) -> GateRun:
    """The default gate in mock mode, with `fault` seeded into the embedded emulator, in
    the fault's profile (the clean emulator's run: in `profile`)."""
    recorder = Recorder()
    profile = profile_of(fault) if fault else profile
    options = Options(
        profile=profile, seed=seed, max_examples=max_examples, faults=(fault,) if fault else ()
    )
    started = time.monotonic()
    with contextlib.suppress(ClauseViolation, ExceptionGroup):
        explore(options, recorder)
    tied = FAULTS[fault].clauses if fault else ()
    run = GateRun(fault or control_name(profile), tied, time.monotonic() - started, profile)
    seen = recorder.first_failures
    run.found = sorted((c for c in seen if c in tied), key=lambda c: seen[c].at)
    run.others = sorted(c for c in seen if c not in tied)
    if run.found:
        first = seen[run.found[0]]
        run.steps, run.to_detection = first.steps, first.at - started
        shortest = min((recorder.failures[c].exchanges for c in run.found), key=len)
        run.shrunk, run.fixtures = len(shortest), fixtures(shortest)
    return run


def fixtures(exchanges: list[Exchange]) -> int:
    """How many exchanges lead the counterexample by creating folders: the sandbox (the
    first session's area), the other sessions' areas it uses and the trees in them,
    before anything long-running happens."""
    count = 0
    for exchange in exchanges:
        if exchange.action != "create-folder":
            break
        count += 1
    return count


@dataclass
class Row:
    """One build (a fault, or the clean control) through both tools."""

    gate: GateRun
    schemathesis: st.SchemathesisRun | None = None
    new: list[st.Signature] = field(default_factory=list)  # not seen against the clean build

    @property
    def st_killed(self) -> bool:
        return bool(self.new)


@dataclass
class Benchmark:
    rows: list[Row]  # one per fault
    controls: list[Row]  # the clean emulator in each profile that ran, judged like a fault
    #: schemathesis vs. the clean emulator, by profile (each its own document)
    baseline: dict[str, set[st.Signature]] = field(default_factory=dict)
    baseline_seconds: float = 0.0


def measure(faults: list[str], seed: int, max_examples: int, with_schemathesis: bool) -> Benchmark:
    """Every fault through the gate (and schemathesis), then a clean control row for each
    profile the faults live in."""
    profiles = sorted({profile_of(f) for f in faults}, key=list(st.PROFILES).index)
    baseline: dict[str, set[st.Signature]] = {p: set() for p in profiles}
    seconds = 0.0
    for profile in profiles if with_schemathesis else ():
        for extra in range(BASELINE_SEEDS):
            clean = st.run(None, seed + extra, ST_EXAMPLES, profile)
            baseline[profile] |= set(clean.first_seen)
            seconds += clean.seconds
        print(
            f"schemathesis baseline ({profile}): {len(baseline[profile])} signatures, "
            f"{seconds:.0f} s so far",
            flush=True,
        )
    rows = [_measure_one(name, seed, max_examples, with_schemathesis, baseline) for name in faults]
    # Another seed than the baseline's, so schemathesis' control is not its own baseline.
    controls = [
        _measure_one(None, seed + BASELINE_SEEDS, max_examples, with_schemathesis, baseline, p)
        for p in profiles
    ]
    return Benchmark(rows, controls, baseline, seconds)


def _measure_one(
    fault: str | None,
    seed: int,
    max_examples: int,
    with_st: bool,
    baseline: dict[str, set[st.Signature]],
    profile: str = DEFAULT_PROFILE,
) -> Row:
    row = Row(run_gate(fault, seed, max_examples, profile))
    if with_st:
        row.schemathesis = st.run(fault, seed, ST_EXAMPLES, row.gate.profile)
        row.new = row.schemathesis.new_against(baseline[row.gate.profile])
    print(progress(row), flush=True)
    return row


def progress(row: Row) -> str:
    g, s = row.gate, row.schemathesis
    line = (
        f"{g.fault:<34} gate {'KILLED' if g.killed else 'missed'} in {g.seconds:5.1f} s: "
        f"{g.found} after {g.steps} steps, {_fmt(g.to_detection, 2)} s, shrunk to {g.shrunk}; "
        f"also {g.others}"
    )
    if s is not None:
        line += (
            f" | schemathesis {'KILLED' if row.st_killed else 'missed'} in {s.seconds:.1f} s: "
            f"{[str(sig) for sig in row.new]}"
        )
    return line


def _fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _caught(killed: bool, tied: bool, timed_out: bool = False) -> str:
    if tied:
        word = "killed" if killed else "**missed**"
    else:  # the control: anything found is a false positive
        word = "false positive" if killed else "quiet"
    return word + (" (timed out)" if timed_out else "")


def table(bench: Benchmark, with_st: bool) -> list[str]:
    head = "| fault | breaks | gate | clause found | steps | seconds | shrunk (fixtures) | also failed |"
    if with_st:
        head += " schemathesis | its seconds | its first new failure at |"
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for row in [*bench.rows, *bench.controls]:
        g, s = row.gate, row.schemathesis
        cells = [
            f"`{g.fault}`" if g.tied else g.fault,
            ", ".join(g.tied) or "–",
            _caught(g.killed if g.tied else bool(g.others), bool(g.tied)),
            ", ".join(g.found) or "–",
            _fmt(g.steps),
            _fmt(g.to_detection, 2),
            f"{g.shrunk} ({g.fixtures})" if g.shrunk is not None else "–",
            ", ".join(g.others) or "–",
        ]
        if with_st and s is not None:
            cells += [
                _caught(row.st_killed, bool(g.tied), s.timed_out),
                _fmt(s.seconds),
                f"{s.first_seen[row.new[0]]:.1f}" if row.new else "–",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _median(values: list[float] | list[int], unit: str = "", digits: int = 2) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.{digits}f}{unit}"


def summary(bench: Benchmark, with_st: bool) -> list[str]:
    gates = [r.gate for r in bench.rows]
    killed = [g for g in gates if g.killed]
    st_runs = [r.schemathesis for r in bench.rows if r.schemathesis is not None]
    st_caught = [r for r in bench.rows if r.st_killed and r.schemathesis is not None]
    n = len(bench.rows)
    figures = [
        (
            "faults killed (kill rate)",
            f"{len(killed)} / {n} ({100 * len(killed) / n:.0f} %)",
            f"{len(st_caught)} / {n} ({100 * len(st_caught) / n:.0f} %)",
        ),
        (
            "total time over the faults",
            f"{sum(g.seconds for g in gates):.0f} s",
            f"{sum(s.seconds for s in st_runs):.0f} s "
            f"(+ {bench.baseline_seconds:.0f} s for the clean baseline)",
        ),
        (
            "median seconds to the first detection (killed faults)",
            _median([g.to_detection for g in killed if g.to_detection is not None], " s"),
            _median([r.schemathesis.first_seen[r.new[0]] for r in st_caught], " s", 1),  # type: ignore[union-attr]
        ),
        (
            "median steps to the first detection",
            _median([g.steps or 0 for g in killed], "", 0),
            "–",
        ),
        (
            "median shrunk counterexample, exchanges (of which fixtures)",
            f"{_median([g.shrunk or 0 for g in killed], '', 0)} "
            f"({_median([g.fixtures or 0 for g in killed], '', 0)})",
            "–",
        ),
    ]
    if killed:
        worst = max(killed, key=lambda g: g.to_detection or 0.0)
        figures.append(("slowest detection", f"{worst.to_detection:.2f} s (`{worst.fault}`)", "–"))
    if with_st:
        lines = ["| figure | gate | schemathesis |", "|---|---|---|"]
        return lines + [f"| {a} | {b} | {c} |" for a, b, c in figures]
    return ["| figure | gate |", "|---|---|"] + [f"| {a} | {b} |" for a, b, _ in figures]


def section_name(args: argparse.Namespace) -> str:
    """`detect`, or `detect-PROFILE` for one profile's faults."""
    return f"{NAME}-{args.profile}" if args.profile else NAME


def section(bench: Benchmark, args: argparse.Namespace) -> str:
    """The text between the markers: how it was measured, the figures, the table."""
    with_st = not args.skip_schemathesis
    profiles = ", ".join(row.gate.profile for row in bench.controls)
    lines = [
        f"<!-- {section_name(args)}:begin -->",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} "
        f"cores), Python {platform.python_version()}; the gate in mock mode, each fault in "
        f"its own profile ({profiles}), seed {args.seed}, "
        f"{args.max_examples} examples × {Options().steps} steps per round, in one process "
        f"(`{regenerate(args)}`).",
        "",
        *summary(bench, with_st),
        "",
        *table(bench, with_st),
    ]
    if with_st:
        lines += ["", *st_notes(bench, args.seed)]
    return "\n".join([*lines, f"<!-- {section_name(args)}:end -->"])


def st_notes(bench: Benchmark, seed: int) -> list[str]:
    seeds = ", ".join(str(s) for s in range(seed, seed + BASELINE_SEEDS))
    lines: list[str] = []
    for profile, baseline in bench.baseline.items():
        lines += [
            f"Schemathesis {st.version()} ran as `{st.shown_command(ST_EXAMPLES, profile)}` "
            f"against `lro-emulator {' '.join(st.emulator_options(profile))} --fault NAME` "
            "(`bench/versus_schemathesis.py` says why). A fault counts as killed when "
            "schemathesis reports a failure (operation, check, status) that the clean emulator "
            f"does not produce under seeds {seeds}. Those clean-emulator failures "
            f"({profile}), subtracted everywhere (the document's status codes, content types "
            "and schema quirks):",
            "",
        ]
        lines += [f"* {sig}" for sig in sorted(baseline)] or ["* none"]
        lines.append("")
    caught = [r for r in [*bench.rows, *bench.controls] if r.new]
    if caught:
        lines += ["What schemathesis reported beyond them:", ""]
        lines += [f"* {r.gate.fault}: {'; '.join(map(str, r.new))}" for r in caught]
    return lines[:-1] if lines and not lines[-1] else lines


def regenerate(args: argparse.Namespace) -> str:
    """The command that regenerates the section, with the options that were not defaults."""
    parts = ["python bench/detect.py"]
    if args.profile:
        parts.append(f"--profile {args.profile}")
    if args.faults:
        parts.append(f"--faults {args.faults}")
    if args.seed != 0:
        parts.append(f"--seed {args.seed}")
    if args.max_examples != Options().max_examples:
        parts.append(f"--max-examples {args.max_examples}")
    if args.skip_schemathesis:
        parts.append("--skip-schemathesis")
    return " ".join(parts)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    p.add_argument(
        "--profile",
        choices=st.PROFILES,
        help="only the faults of this profile, and its clean control; the section is "
        "detect-PROFILE (default: every fault, each in its own profile, into detect)",
    )
    p.add_argument("--seed", type=int, default=0, help="the seed of every run (default 0)")
    p.add_argument(
        "--max-examples",
        type=int,
        default=Options().max_examples,
        help="the gate's examples per round (default: the gate's default budget)",
    )
    p.add_argument("--skip-schemathesis", action="store_true", help="the gate only")
    p.add_argument("--output", type=Path, default=DOC, help="the file to write the section into")
    return p


def chosen(args: argparse.Namespace) -> list[str]:
    """The faults to run: those named, else every fault (of `--profile`, if given) that
    shows on the virtual clock (a wall-clock-only fault, `Fault.clock == "wall"`, would be
    inert in mock mode, and the emulator refuses it there; tests/test_wall_clock.py runs it)."""
    named = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in named if f not in FAULTS]
    if unknown:
        parser().error(f"unknown fault(s) {', '.join(unknown)}; see lro-emulator --list-faults")
    others = [f for f in named if args.profile and profile_of(f) != args.profile]
    if others:
        parser().error(f"not faults of profile {args.profile}: {', '.join(others)}")
    wall = [f for f in named if FAULTS[f].clock == "wall"]
    if wall:
        parser().error(f"wall-clock-only, not for mock mode: {', '.join(wall)}")
    return named or [
        f for f in FAULTS if args.profile in (None, profile_of(f)) and FAULTS[f].clock != "wall"
    ]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    faults = chosen(args)
    started = time.monotonic()
    # As lro-conformance does: Hypothesis keeps what it caches out of the checkout.
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as scratch:
        os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", scratch)
        bench = measure(faults, args.seed, args.max_examples, not args.skip_schemathesis)
    write_section(section_name(args), section(bench, args), args.output)
    print(f"wrote {args.output} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
