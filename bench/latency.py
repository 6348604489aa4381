"""The gate over a slow network: `lro-emulator --latency-ms N` (clock hooks), clean and with
faults of different clause groups, with the default options and with a time budget.

For each latency, build (clean or one fault) and budget it runs `lro-conformance` in a
fresh process, as a CI step would, and records the wall time, the exit code, requests
sent, requests per clause exercised, the clauses not tested, the faults' tied clauses
found and the shortest counterexample's length. The table goes into docs/BENCHMARKS.md
between the `latency` markers (or `--name`'s).

    python bench/latency.py                    # 0/20/50 ms x clean + 3 faults x default/180 s
    python bench/latency.py --latencies 50 --budgets 180 --seeds 10 --faults none
        # issue #17's first criterion: ten clean seeds at 50 ms within 180 s
    python bench/latency.py --latencies 50 --budgets 180 --seeds 1 --clean 0
        # its second: the three faults at 50 ms within 180 s
    python bench/latency.py --jobs 2         # two runs side by side (mostly waiting)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kept import run_kept
from sections import write_section

from emulator.faults import FAULTS
from emulator.server import gate_options, running

ROOT = Path(__file__).resolve().parent.parent
#: One fault from each of three clause groups: a start's answer, a cancel, a session's slot.
FAULTS_USED = ("start-202", "cancel-ignored", "slot-never-frees")
DEFAULT = "default"


@dataclass
class Row:
    latency: int
    build: str  # "clean" or a fault
    budget: str  # "default" or seconds
    seed: int
    seconds: float
    code: int
    requests: int
    exercised: int
    untested: list[str]
    found: list[str]  # the fault's clauses that failed
    shrunk: int | None  # exchanges in the shortest counterexample of those


def run(latency: int, fault: str | None, budget: str, seed: int, logs: Path) -> Row:
    build = fault or "clean"
    served = ["--latency-ms", str(latency)] + (["--fault", fault] if fault else [])
    extra = [] if budget == DEFAULT else ["--max-duration", budget]
    with running(*served) as base:
        kept = run_kept(
            [*gate_options(base), "--seed", str(seed), *extra],
            logs / f"{latency}ms-{build}-{budget}-{seed}",
        )
    data = kept.report
    clauses = data.get("clauses", {})
    tied = FAULTS[fault].clauses if fault else ()
    found = [c for c in tied if clauses.get(c, {}).get("verdict") == "fail"]
    lengths = [len(clauses[c]["failure"].get("exchanges", [])) for c in found]
    return Row(
        latency,
        build,
        budget,
        seed,
        kept.seconds,
        kept.code,
        data.get("stats", {}).get("exchanges", 0),
        sum(1 for c in clauses.values() if c.get("checked")),
        [cid for cid, c in clauses.items() if c.get("verdict") == "not tested"],
        found,
        min(lengths) if lengths else None,
    )


def table(rows: list[Row], command: str) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} "
        f"({_cores()} cores), Python {platform.python_version()}; `lro-emulator --latency-ms "
        f"N` on loopback with clock hooks, one fresh gate process per run (`{command}`).",
        "",
        "| latency | build | budget | runs | exit codes | wall time (median, max) | "
        "requests (median) | requests per clause exercised | not tested | fault found | "
        "shortest counterexample |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[int, str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.latency, row.build, row.budget), []).append(row)
    for (latency, build, budget), runs in groups.items():
        codes = ", ".join(
            f"{c}×{sum(r.code == c for r in runs)}" for c in sorted({r.code for r in runs})
        )
        times = [r.seconds for r in runs]
        requests = statistics.median(r.requests for r in runs)
        per = statistics.median(r.requests / max(r.exercised, 1) for r in runs)
        untested = sorted({c for r in runs for c in r.untested}) or ["none"]
        found = f"{sum(bool(r.found) for r in runs)}/{len(runs)}" if build != "clean" else "–"
        shrunk = [r.shrunk for r in runs if r.shrunk is not None]
        budget_shown = "default" if budget == DEFAULT else f"{budget} s"
        lines.append(
            f"| {latency} ms | {build} | {budget_shown} | {len(runs)} | {codes} | "
            f"{statistics.median(times):.0f} s, {max(times):.0f} s | {requests:.0f} | "
            f"{per:.0f} | {', '.join(untested)} | {found} | "
            f"{min(shrunk) if shrunk else '–'} |"
        )
    return "\n".join(lines)


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--latencies", default="0,20,50", help="milliseconds, comma-separated")
    p.add_argument("--budgets", default=f"{DEFAULT},180", help="default and/or seconds")
    p.add_argument("--faults", default=",".join(FAULTS_USED), help="faults, or none")
    p.add_argument("--clean", type=int, default=1, help="run the clean build too (1/0)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per cell (0, 1, ...)")
    p.add_argument("--name", default="latency", help="the BENCHMARKS.md section")
    p.add_argument("--logs", type=Path, help="keep each run's output here")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs side by side (each its own server and gate process; a run over a slow "
        "network mostly waits, but wall times read high when the cores are busy)",
    )
    args = p.parse_args()
    if args.jobs < 1:
        p.error("--jobs must be 1 or more")
    faults = [] if args.faults == "none" else args.faults.split(",")
    builds: list[str | None] = ([None] if args.clean else []) + faults
    logs = args.logs or Path(tempfile.mkdtemp(prefix="lro-latency-"))
    cells = [
        (int(latency), build, budget, seed)
        for latency in args.latencies.split(",")
        for build in builds
        for budget in args.budgets.split(",")
        for seed in range(args.seeds)
    ]

    def one(cell: tuple[int, str | None, str, int]) -> Row:
        row = run(*cell, logs)
        print(
            f"{row.latency:>3} ms {row.build:<18} {row.budget:>7} seed {row.seed}: exit "
            f"{row.code} in {row.seconds:.0f} s, {row.requests} requests, not tested "
            f"{row.untested or 'none'}, found {row.found}, shrunk {row.shrunk}",
            flush=True,
        )
        return row

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(one, cells))  # in the cells' order, whatever ends first
    command = "python bench/latency.py " + " ".join(sys.argv[1:])
    begin, end = f"<!-- {args.name}:begin -->", f"<!-- {args.name}:end -->"
    write_section(args.name, f"{begin}\n{table(rows, command.strip())}\n{end}")
    print(f"logs: {logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
