"""The run's picture of its sandbox: a tree of entries, and what changed between two pictures.

The machine keeps one `Tree` per session area (the expected state) and compares
it with a fresh listing from the server (`Tree.from_listing`) when an operation
ends. Pure data: listing the server is the machine's job.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


def same_name(a: str, b: str) -> bool:
    """Entry names compare case-insensitively after Unicode normalisation (repository rule)."""
    return name_key(a) == name_key(b)


def name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


@dataclass(frozen=True)
class Node:
    id: int
    parent: int | None
    name: str
    type: str


@dataclass(frozen=True)
class Tree:
    """Entries under (and including) `root`, by id."""

    root: int
    nodes: dict[int, Node] = field(default_factory=dict)

    def __contains__(self, entry: object) -> bool:
        return entry in self.nodes

    def children(self, entry: int) -> list[Node]:
        """`entry`'s children, by name (`order_key`)."""
        kids = (n for n in self.nodes.values() if n.parent == entry)
        return sorted(kids, key=lambda n: (name_key(n.name), n.name, n.id))

    def order_key(self, entry: int) -> tuple[tuple[tuple[str, str], ...], int]:
        """Where `entry` comes in the tree's order: by the names on its path from the root
        (case-folded, then as written), so that the same shape is ordered alike whatever
        ids the server gave it (a replay against a live server then draws alike); the id
        breaks what names leave tied."""
        path: list[tuple[str, str]] = []
        node = self.nodes.get(entry)
        while node is not None and node.id != self.root and len(path) <= len(self.nodes):
            path.append((name_key(node.name), node.name))
            node = self.nodes.get(node.parent) if node.parent is not None else None
        return tuple(reversed(path)), entry

    def in_order(self, ids: Iterable[int]) -> list[int]:
        """`ids` in the tree's order (`order_key`)."""
        return sorted(ids, key=self.order_key)

    def folders(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "Folder"]

    def subtree(self, entry: int) -> set[int]:
        """`entry` and everything below it (empty when it is not in the tree)."""
        if entry not in self.nodes:
            return set()
        found, frontier = {entry}, [entry]
        while frontier:
            for child in self.children(frontier.pop()):
                found.add(child.id)
                frontier.append(child.id)
        return found

    def depth(self, entry: int) -> int:
        """How many levels `entry` lies below the root (0: the root, or not in the tree)."""
        node, levels = self.nodes.get(entry), 0
        while node is not None and node.id != self.root and levels < len(self.nodes):
            node, levels = (
                self.nodes.get(node.parent) if node.parent is not None else None,
                levels + 1,
            )
        return levels

    def height(self, entry: int) -> int:
        """How many levels lie below `entry` (0: no children, or not in the tree)."""
        kids = self.children(entry) if entry in self.nodes else []
        return 1 + max(self.height(c.id) for c in kids) if kids else 0

    def is_inside(self, entry: int, ancestor: int) -> bool:
        """True when `entry` is `ancestor` or lies below it."""
        seen: set[int] = set()
        current: int | None = entry
        while current is not None and current not in seen:
            if current == ancestor:
                return True
            seen.add(current)
            node = self.nodes.get(current)
            current = node.parent if node else None
        return False

    def shape(self, entry: int) -> tuple[str, tuple]:
        """The subtree's structure without ids: type, and the sorted (name, shape) of children."""
        node = self.nodes[entry]
        kids = tuple(sorted((name_key(c.name), self.shape(c.id)) for c in self.children(entry)))
        return (node.type, kids)

    def with_node(self, node: Node) -> Tree:
        return replace(self, nodes={**self.nodes, node.id: node})

    @classmethod
    def from_listing(cls, root: int, entries: Iterable[Node]) -> Tree:
        return cls(root, {n.id: n for n in entries})


@dataclass(frozen=True)
class Change:
    """What differs between two pictures of the same area."""

    added: frozenset[int]
    removed: frozenset[int]
    altered: frozenset[int]  # same id, other name, parent or type

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.altered)

    def describe(self, before: Tree, after: Tree) -> str:
        parts = []
        for label, ids, tree in (
            ("added", self.added, after),
            ("removed", self.removed, before),
            ("altered", self.altered, after),
        ):
            if ids:
                shown = ", ".join(_label(tree.nodes[i]) for i in sorted(ids)[:6])
                more = f" and {len(ids) - 6} more" if len(ids) > 6 else ""
                parts.append(f"{label}: {shown}{more}")
        return "; ".join(parts) or "no change"


def diff(before: Tree, after: Tree) -> Change:
    added = frozenset(after.nodes.keys() - before.nodes.keys())
    removed = frozenset(before.nodes.keys() - after.nodes.keys())
    altered = frozenset(
        i for i in before.nodes.keys() & after.nodes.keys() if before.nodes[i] != after.nodes[i]
    )
    return Change(added, removed, altered)


def _label(node: Node) -> str:
    return f"#{node.id} {node.name!r} ({node.type}, parent #{node.parent})"
