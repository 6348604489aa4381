"""Fixture folder trees: mostly small nested shapes, now and then a deep or a wide one (depth-
and size-dependent server bugs only show there); sibling names unique, case-insensitively."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from .names import entry_names
from .weights import mostly


@dataclass(frozen=True)
class Shape:
    """A folder named `name` holding `children`."""

    name: str
    children: tuple[Shape, ...] = ()

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)


def _key(shape: Shape) -> str:
    return shape.name.casefold()


#: Wide folders have this many children or more (a server's page of children, a batch of
#: its worker, is often 10); deep trees go this many levels below their root.
WIDE, DEEP = 11, 5


@cache
def tree_shapes(max_leaves: int = 6) -> st.SearchStrategy[Shape]:
    """A folder tree: mostly 1 to about a dozen folders; one in five is deep (a chain of
    DEEP levels below its root) or, as often, wide (a folder with WIDE to WIDE + 2
    children). `st.one_of` would draw the first far more often than the second."""
    small = st.recursive(
        st.builds(Shape, entry_names()),
        lambda kids: st.builds(
            Shape, entry_names(), st.lists(kids, max_size=3, unique_by=_key).map(tuple)
        ),
        max_leaves=max_leaves,
    )
    return mostly(small, mostly(_deep(), _wide(), odds=1), odds=4)


def _leaf() -> st.SearchStrategy[Shape]:
    return st.builds(Shape, entry_names())


def _deep() -> st.SearchStrategy[Shape]:
    """A chain of folders DEEP levels below the root, the last holding a leaf or two."""
    shape: st.SearchStrategy[Shape] = st.builds(
        Shape, entry_names(), st.lists(_leaf(), min_size=1, max_size=2, unique_by=_key).map(tuple)
    )
    for _ in range(DEEP - 1):
        shape = st.builds(Shape, entry_names(), st.tuples(shape))
    return shape


def _wide() -> st.SearchStrategy[Shape]:
    children = st.lists(_leaf(), min_size=WIDE, max_size=WIDE + 2, unique_by=_key)
    return st.builds(Shape, entry_names(), children.map(tuple))
