"""The project's own tests, timed as the README runs them: `pytest tests -n auto`.

By default it runs the command in this checkout with this interpreter; with `--fresh`
it does what a new user does: clones the checkout's HEAD into a scratch folder, makes a
virtual environment there, installs `.[test]` and runs the command in it (the figure the
README quotes). Either way it keeps pytest's `--durations` output, and writes the wall
time, the test count, the time per test file and the slowest tests into
docs/BENCHMARKS.md between the `selftests` markers. Measure with nothing else running.

    python bench/selftests.py --fresh      # as the README's test command, from a clone
    python bench/selftests.py              # this checkout, as it is
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sections import markers, write_section

ROOT = Path(__file__).resolve().parent.parent
NAME = "selftests"
COMMAND = ["pytest", "tests", "-n", "auto"]
DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(.+?)\s*$")
SUMMARY = re.compile(r"^=*\s*(.*?\d+ passed.*?) in ([\d.]+)s")
SLOWEST = 25


def run(fresh: bool, workdir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """The README's test command (with --durations=0), and its wall time."""
    python, cwd = Path(sys.executable), ROOT
    if fresh:
        cwd = workdir / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(cwd)], check=True)
        shared = ROOT.parent / "shared"
        if shared.is_dir() and not (workdir / "shared").exists():
            (workdir / "shared").symlink_to(shared)  # as in CI: ../shared beside the root
        subprocess.run([sys.executable, "-m", "venv", str(cwd / ".venv")], check=True)
        python = cwd / ".venv" / "bin" / "python"
        install = [str(python), "-m", "pip", "install", "-q", "-e", ".[test]"]
        subprocess.run(install, cwd=cwd, check=True)
    command = [str(python), "-m", *COMMAND, "--durations=0", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    start = time.monotonic()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    return proc, time.monotonic() - start


def section(proc: subprocess.CompletedProcess[str], seconds: float, fresh: bool) -> str:
    rows = [m.groups() for m in map(DURATION.match, proc.stdout.splitlines()) if m]
    per_file: dict[str, float] = defaultdict(float)
    for took, _, node in rows:
        per_file[node.split("::")[0]] += float(took)
    summary = next((m for m in map(SUMMARY.match, reversed(proc.stdout.splitlines())) if m), None)
    outcome = f"{summary[1]} in {float(summary[2]):.0f} s" if summary else "no summary line"
    begin, end = markers(NAME)
    how = "from a fresh clone, in a new virtual environment" if fresh else "in the checkout"
    cmd = "python bench/selftests.py" + (" --fresh" if fresh else "")
    lines = [
        begin,
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, {how}, nothing else running (`{cmd}`).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| `{' '.join(COMMAND)}` | {outcome}, exit {proc.returncode} |",
        f"| wall time of the command | {seconds:.0f} s ({seconds / 60:.1f} min) |",
        f"| test time summed over the workers | {sum(per_file.values()):.0f} s |",
        "",
        "| test file | seconds (summed) |",
        "|---|---|",
        *(f"| `{f}` | {t:.1f} |" for f, t in sorted(per_file.items(), key=lambda x: -x[1])),
        "",
        f"The {SLOWEST} slowest (pytest's `--durations`):",
        "",
        "```",
        *(f"{took}s {when:<8} {node}" for took, when, node in rows[:SLOWEST]),
        "```",
        end,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fresh", action="store_true", help="from a fresh clone in a new venv")
    p.add_argument("--output", type=Path, help="write here instead of docs/BENCHMARKS.md")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lro-selftests-") as scratch:
        proc, seconds = run(args.fresh, Path(scratch))
    text = section(proc, seconds, args.fresh)
    if args.output:
        write_section(NAME, text, args.output)
    else:
        write_section(NAME, text)
    print(text)
    if proc.returncode != 0:
        print(proc.stdout[-3000:] + proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
