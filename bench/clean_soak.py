"""Clean-emulator soak and gate timing: the default gate, run over many seeds.

For each seed it runs `lro-conformance` with the default budget in a fresh
process (as a user would), and records the exit code, wall time, violated
clauses, not-tested clauses and the lifecycle states reached. Writes the table
into docs/BENCHMARKS.md between the markers.

    python bench/clean_soak.py            # 20 seeds
    python bench/clean_soak.py --seeds 50
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- clean-soak:begin -->", "<!-- clean-soak:end -->"


def run(seed: int) -> dict:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "contract.cli", "--seed", str(seed)],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - start
    out = proc.stdout
    states = re.search(r"states reached: (.*)", out)
    return {
        "seed": seed,
        "exit": proc.returncode,
        "seconds": seconds,
        "failed": re.findall(r"^(\S+)\s+FAIL", out, re.M),
        "not_tested": re.findall(r"^(\S+)\s+not tested", out, re.M),
        "states": states.group(1) if states else "?",
        "missing_state": bool(states and re.search(r" 0(,|$)", states.group(1))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    rows = []
    for seed in range(args.seeds):
        row = run(seed)
        rows.append(row)
        print(f"seed {seed:>3}: exit {row['exit']} {row['seconds']:5.1f}s "
              f"failed={row['failed']} states: {row['states']}", flush=True)
    times = [r["seconds"] for r in rows]
    lines = [
        BEGIN,
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, Python "
        f"{platform.python_version()}, {args.seeds} seeds, default budget, one process each "
        "(`python bench/clean_soak.py`).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| runs with exit 0 | {sum(r['exit'] == 0 for r in rows)} / {len(rows)} |",
        f"| runs reporting a violation (false positives) | {sum(bool(r['failed']) for r in rows)} |",
        f"| runs that missed a lifecycle state (expired included) | "
        f"{sum(r['missing_state'] for r in rows)} |",
        f"| wall time per run: median / max | {statistics.median(times):.1f} s / {max(times):.1f} s |",
        f"| clauses not tested in every run | "
        f"{', '.join(sorted(set.intersection(*(set(r['not_tested']) for r in rows)))) or 'none'} |",
        f"| clauses not tested in some run | "
        f"{', '.join(sorted(set.union(*(set(r['not_tested']) for r in rows)))) or 'none'} |",
        END,
    ]
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(lines) + tail)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
