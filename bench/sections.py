"""docs/BENCHMARKS.md is written by the scripts beside this one, each section between its
own markers (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`); the rest of the file is kept."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def write_section(name: str, text: str, path: Path = DOC) -> None:
    """Put `text` (which starts and ends with the markers) between the markers of `name`
    in `path`, appended when the file has none yet."""
    begin, end = markers(name)
    old = path.read_text() if path.exists() else ""
    if begin not in old:
        old += f"\n{begin}\n{end}\n" if old else f"{begin}\n{end}\n"
    head, _, rest = old.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(head + text + tail)
