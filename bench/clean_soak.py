"""Clean-emulator soak and gate timing: the default gate, run over many seeds.

For each seed it runs `lro-conformance` with the default budget in a fresh
process (as a user would), and records the exit code, wall time, violated
clauses, not-tested clauses and the lifecycle states reached. Writes the table
into docs/BENCHMARKS.md between the markers.

    python bench/clean_soak.py            # 20 seeds, embedded emulator (mock mode)
    python bench/clean_soak.py --live     # the same against lro-emulator over loopback
    python bench/clean_soak.py --profile v2 --seeds 10
        # the gate in another profile (with --live or --wall, the server speaks it too);
        # the section is the same name with -v2 after it (clean-soak-v2, live-soak-v2, ...)
    python bench/clean_soak.py --variants --seeds 50
        # correct servers that differ (emulator/variants.py): the seeds go round the clean
        # emulator, each legitimate variant and all at once (with --live: a server with all)
    python bench/clean_soak.py --wall 900 --seeds 1
        # wall-clock mode: lro-emulator --clock wall with that TTL, no clock hooks;
        # the figure to watch is the run's time as a multiple of the TTL (target <= 1.1)
    python bench/clean_soak.py --wall 20 --seeds 5 --step-seconds 0.05
        # the wall-clock false-positive soak: a short TTL and a quick server
    python bench/clean_soak.py --wall 120 --seeds 20 --step-seconds 0.1 --sessions 3 \
        -- --fuzz-cases 0
        # the races on the wall clock: three sessions, the fuzz phase off, so the TTL
        # window goes to exploring (anything after `--` goes to every gate run)
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from kept import run_kept
from sections import DOC, markers, write_section

from contract.profiles import PROFILES
from emulator.server import gate_options, running


def run(seed: int, extra: list[str], logs: Path) -> dict:
    """One gate run; its console output and report folder are kept under `logs/seed-N`
    so a run that ends badly can be read afterwards."""
    kept = run_kept(["--seed", str(seed), *extra], logs / f"seed-{seed}")
    out, report = kept.stdout, kept.report
    states = re.search(r"states reached: (.*)", out)
    return {
        "seed": seed,
        "exit": kept.code,
        "seconds": kept.seconds,
        "failed": re.findall(r"^(\S+)\s+FAIL", out, re.M),
        "not_tested": re.findall(r"^(\S+)\s+not tested", out, re.M),
        "states": states.group(1) if states else "?",
        "missing_state": bool(states and re.search(r" 0(,|$)", states.group(1))),
        "together": report.get("stats", {}).get("together", {}),
    }


def soak(
    seeds: int,
    extra: list[str],
    logs: Path,
    rotate: list[list[str]] | None = None,
    served: str = "none",
) -> list[dict]:
    """`rotate`: gate options for each seed in turn (mock mode's variants); `served`: the
    variant of the one server every seed runs against (live)."""
    rows = []
    for seed in range(seeds):
        more = rotate[seed % len(rotate)] if rotate else []
        row = run(seed, [*extra, *more], logs)
        row["variant"] = " ".join(more[1::2]) or served
        rows.append(row)
        print(
            f"seed {seed:>3}: exit {row['exit']} {row['seconds']:5.1f}s variant {row['variant']} "
            f"failed={row['failed']} states: {row['states']} together: {row['together']}",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--live", action="store_true", help="against lro-emulator over loopback")
    parser.add_argument(
        "--wall", type=float, metavar="TTL", help="wall-clock mode against a server with this TTL"
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        metavar="S",
        help="with --wall: the server's seconds per entry and before a start (default its own)",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        help="keep each run's console output and reports here (default: a new temporary folder)",
    )
    parser.add_argument(
        "--profile",
        default="openapi-v1",
        choices=list(PROFILES),
        help="the gate's profile, and with --live or --wall the server's (default openapi-v1)",
    )
    parser.add_argument(
        "--sessions",
        type=int,
        default=2,
        choices=range(2, 9),
        metavar="N",
        help="user sessions the server knows and the gate uses (2 to 8; default 2)",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="legitimate variants: each seed another (mock), or a server with all (--live)",
    )
    parser.add_argument(
        "--output", type=Path, default=DOC, help="the file to write the section into"
    )
    parser.add_argument(
        "gate", nargs=argparse.REMAINDER, help="after `--`: options for every gate run"
    )
    args = parser.parse_args(argv)
    gate = args.gate[1:] if args.gate[:1] == ["--"] else args.gate
    logs = args.log_dir or Path(tempfile.mkdtemp(prefix="lro-soak-"))  # not into the checkout
    try:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / ".write-test").touch()
        (logs / ".write-test").unlink()
    except OSError as exc:
        parser.error(f"--log-dir {logs}: cannot write there ({exc.strerror})")
    print(f"each run's output and reports: {logs}/seed-N", flush=True)
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
    tokens = [arg for name in names[: args.sessions] for arg in ("--session-token", name)]
    profile = ["--profile", args.profile] if args.profile != "openapi-v1" else []
    server_options = [*tokens, *profile]  # its sessions and dialect
    if args.wall:
        speed = (
            ["--step-seconds", str(args.step_seconds), "--start-delay", str(args.step_seconds)]
            if args.step_seconds is not None
            else []
        )
        name = f"wall-soak-{args.wall:g}"
        command = f"python bench/clean_soak.py --wall {args.wall:g} --seeds {args.seeds}" + (
            f" --step-seconds {args.step_seconds:g}" if speed else ""
        )
        name += f"-{args.sessions}s" if args.sessions != 2 else ""
        name += "-" + "".join(gate).replace("-", "") if gate else ""
        server = running(*server_options, "--clock", "wall", "--token-ttl", str(args.wall), *speed)
    else:
        name = "live-soak" if args.live else "clean-soak"
        command = "python bench/clean_soak.py" + (" --live" if args.live else "")
        if args.sessions != 2 or gate:
            parser.error("--sessions and gate options are for --wall runs (a mock run has its own)")
        if args.variants:
            name += "-variants"
            command += f" --variants --seeds {args.seeds}"
        server = running(*server_options, *(["--variant", "all"] if args.variants else []))
    command += f" --sessions {args.sessions}" if args.sessions != 2 else ""
    if profile:
        name += f"-{args.profile}"
        command += f" --profile {args.profile}"
    command += f" -- {' '.join(gate)}" if gate else ""
    with server if args.live or args.wall else nullcontext("") as base:
        extra = (
            gate_options(base, tuple(names[: args.sessions]), wall=bool(args.wall)) if base else []
        )
        if args.wall:
            extra += ["--token-ttl", str(args.wall)]
        extra += profile + gate
        rotate = None
        if args.variants and not args.live and not args.wall:
            from emulator.variants import VARIANTS

            rotate = [[], *(["--variant", v] for v in VARIANTS), ["--variant", "all"]]
        served = "all (one server)" if args.variants and args.live else "none"
        rows = soak(args.seeds, extra, logs, rotate, served)
    times = [r["seconds"] for r in rows]
    begin, end = markers(name)
    per_ttl = (
        [
            f"| wall time per run as a multiple of the TTL ({args.wall:g} s): max | "
            f"{max(times) / args.wall:.2f} |"
        ]
        if args.wall
        else []
    )
    lines = [
        begin,
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, {args.seeds} seed(s), default budget, one process each "
        f"(`{command}`).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| runs with exit 0 | {sum(r['exit'] == 0 for r in rows)} / {len(rows)} |",
        *_variants(rows),
        f"| runs reporting a violation (false positives) | {sum(bool(r['failed']) for r in rows)} |",
        f"| runs that missed a lifecycle state (expired included) | "
        f"{sum(r['missing_state'] for r in rows)} |",
        f"| wall time per run: median / max | {statistics.median(times):.1f} s / {max(times):.1f} s |",
        *per_ttl,
        f"| clauses not tested in every run | "
        f"{', '.join(sorted(set.intersection(*(set(r['not_tested']) for r in rows)))) or 'none'} |",
        f"| clauses not tested in some run (in how many) | {_sometimes(rows) or 'none'} |",
        *_together(rows),
        end,
    ]
    write_section(name, "\n".join(lines), args.output)
    print(f"wrote {args.output}")
    return 0 if all(r["exit"] == 0 for r in rows) else 1


def _variants(rows: list[dict]) -> list[str]:
    """Runs by the emulator's legitimate variant, and how many of them passed."""
    names = sorted({r["variant"] for r in rows})
    if names == ["none"]:
        return []
    passed = ", ".join(
        f"{n} {sum(r['exit'] == 0 for r in rows if r['variant'] == n)}/"
        f"{sum(r['variant'] == n for r in rows)}"
        for n in names
    )
    return [f"| runs with exit 0, by variant | {passed} |"]


def _sometimes(rows: list[dict]) -> str:
    missed = {c for r in rows for c in r["not_tested"]}
    return ", ".join(f"{c} ({sum(c in r['not_tested'] for r in rows)})" for c in sorted(missed))


def _together(rows: list[dict]) -> list[str]:
    """Batches of requests sent at once, by kind: how much the races were exercised."""
    kinds = sorted({k for r in rows for k in r["together"]})
    return [
        f"| batches sent together: {kind}, per run median / min / runs with none | "
        f"{statistics.median(counts):g} / {min(counts)} / {counts.count(0)} |"
        for kind in kinds
        for counts in [[r["together"].get(kind, 0) for r in rows]]
    ]


if __name__ == "__main__":
    sys.exit(main())
