"""Fixture folder trees: small nested shapes with sibling names unique (case-insensitively)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from .names import entry_names


@dataclass(frozen=True)
class Shape:
    """A folder named `name` holding `children`."""

    name: str
    children: tuple[Shape, ...] = ()

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)


def _key(shape: Shape) -> str:
    return shape.name.casefold()


@cache
def tree_shapes(max_leaves: int = 6) -> st.SearchStrategy[Shape]:
    """A folder tree of 1 to about a dozen folders."""
    return st.recursive(
        st.builds(Shape, entry_names()),
        lambda kids: st.builds(
            Shape, entry_names(), st.lists(kids, max_size=3, unique_by=_key).map(tuple)
        ),
        max_leaves=max_leaves,
    )
