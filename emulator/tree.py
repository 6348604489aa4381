"""The repository's folder tree: entries, their names and the rules names obey.

The tree knows nothing about HTTP or operations. It keeps the invariants the
real repository keeps: ids are never reused, names are unique per folder
(case-insensitively), and removing an entry removes everything under it, so no
entry is ever orphaned.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

ROOT_ID = 1
LARGE_BASE, LARGE_SPAN = 1_000_000_007, 1_000_003  # the large-ids variant (int32, prime span)
FOLDER, SHORTCUT, DOCUMENT = "Folder", "Shortcut", "Document"
DEFAULT_VOLUME = "DEFAULTVOLUME"

#: Characters a Laserfiche entry name cannot contain.
FORBIDDEN_NAME_CHARACTERS = '\\/:*?"<>|'
MAX_NAME_LENGTH = 255


@dataclass
class Entry:
    """One folder, shortcut or document in the repository."""

    id: int
    name: str
    parent_id: int | None  # None only for the root folder
    entry_type: str
    creator: str
    created: float
    modified: float
    target_id: int | None = None  # shortcuts only
    target_type: str | None = None  # shortcuts only: the target's type when created

    @property
    def is_folder(self) -> bool:
        return self.entry_type == FOLDER


def name_problem(name: str) -> str | None:
    """Why `name` cannot name an entry, or None when it can."""
    if not name:
        return "The entry name cannot be empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"The entry name is longer than {MAX_NAME_LENGTH} characters."
    bad = sorted({c for c in name if c in FORBIDDEN_NAME_CHARACTERS})
    if bad:
        return f"The entry name contains forbidden characters: {' '.join(bad)}"
    return None


class Tree:
    """All entries of one repository, starting with the root folder (id 1)."""

    def __init__(
        self, now: float, creator: str, large_ids: bool = False, copy_names: bool = False
    ) -> None:
        root = Entry(ROOT_ID, "", None, FOLDER, creator, now, now)
        self._entries: dict[int, Entry] = {ROOT_ID: root}
        # folder id -> child ids; ids only grow, so appending keeps each list sorted.
        self._child_ids: dict[int, list[int]] = {ROOT_ID: []}
        self._next_id = LARGE_BASE if large_ids else ROOT_ID + 1
        # The large-ids variant: large ids in no particular order (a later entry may get a
        # smaller one), as opaque int32 ids may be; each created entry's is the next.
        self._large_ids = large_ids
        self._created = 0
        self._copy_names = copy_names  # the copy-rename-scheme variant

    def get(self, entry_id: int) -> Entry | None:
        return self._entries.get(entry_id)

    def children(self, folder_id: int) -> list[Entry]:
        """The entries directly inside `folder_id`, ordered by id."""
        return [self._entries[i] for i in self._child_ids.get(folder_id, ())]

    def full_path(self, entry_id: int) -> str:
        r"""Backslash-separated path from the root: "\" for the root, "\a\b" below it."""
        names: list[str] = []
        entry = self._entries.get(entry_id)
        if entry is None:  # an orphan's parent (delete-orphans-descendants)
            return "\\"
        while entry.parent_id is not None:
            names.append(entry.name)
            parent = self._entries.get(entry.parent_id)
            if parent is None:  # an orphan (delete-orphans-descendants): a path from nowhere
                break
            entry = parent
        return "\\" + "\\".join(reversed(names))

    def depth_below(self, entry_id: int, ancestor_id: int) -> int:
        """How many levels `entry_id` lies below `ancestor_id` (0: itself; -1: not below)."""
        depth, entry = 0, self._entries.get(entry_id)
        while entry is not None:
            if entry.id == ancestor_id:
                return depth
            depth += 1
            entry = self._entries.get(entry.parent_id) if entry.parent_id is not None else None
        return -1

    def is_within(self, entry_id: int, ancestor_id: int) -> bool:
        """True when `entry_id` is `ancestor_id` or lies somewhere below it."""
        entry = self._entries.get(entry_id)
        while entry is not None:
            if entry.id == ancestor_id:
                return True
            entry = self._entries.get(entry.parent_id) if entry.parent_id is not None else None
        return False

    def find_child(self, folder_id: int, name: str) -> Entry | None:
        """The child of `folder_id` called `name`, compared case-insensitively."""
        wanted = name.casefold()
        return next((e for e in self.children(folder_id) if e.name.casefold() == wanted), None)

    def free_name(self, folder_id: int, name: str) -> str:
        """`name` if no child of `folder_id` has it, else the first free "name (2)", "name (3)"…"""
        candidate, n = name, 1
        while self.find_child(folder_id, candidate) is not None:
            n += 1
            if self._copy_names:  # "name - Copy", "name - Copy (2)", ...
                candidate = f"{name} - Copy" + (f" ({n - 1})" if n > 2 else "")
            else:
                candidate = f"{name} ({n})"
        return candidate

    def add(
        self,
        parent_id: int,
        name: str,
        entry_type: str,
        creator: str,
        now: float,
        target_id: int | None = None,
    ) -> Entry:
        """Create a new entry under `parent_id`; the caller has checked name and parent."""
        target = self._entries.get(target_id) if target_id is not None else None
        entry = Entry(
            self._next_id,
            name,
            parent_id,
            entry_type,
            creator,
            now,
            now,
            target_id=target_id,
            target_type=target.entry_type if target else None,
        )
        self._entries[entry.id] = entry
        self._child_ids[entry.id] = []
        self._child_ids[parent_id].append(entry.id)
        self._created += 1
        if self._large_ids:  # a permutation of 0..LARGE_SPAN-1 (prime span, coprime step)
            self._next_id = LARGE_BASE + (self._created * 618_034) % LARGE_SPAN
        else:
            self._next_id += 1
        self._entries[parent_id].modified = now
        return entry

    def remove(self, entry_id: int, now: float) -> None:
        """Remove an entry together with everything below it (no-op when already gone)."""
        entry = self._entries.get(entry_id)
        if entry is None or entry.parent_id is None:
            return  # gone already, or the root, which is never removed
        for doomed in self.post_order(entry_id):
            del self._entries[doomed]
            del self._child_ids[doomed]
        self._child_ids[entry.parent_id].remove(entry_id)
        self._touch(entry.parent_id, now)

    def _touch(self, folder_id: int, now: float) -> None:
        """A folder's content changed; an orphan's parent is gone (delete-orphans-descendants)."""
        folder = self._entries.get(folder_id)
        if folder is not None:
            folder.modified = now

    def move(self, entry_id: int, parent_id: int, now: float) -> None:
        """cancel-strands-copy: the entry goes to `parent_id` (renamed "x (2)" when taken)."""
        entry = self._entries.get(entry_id)
        if entry is None or entry.parent_id is None or parent_id not in self._child_ids:
            return
        self._child_ids[entry.parent_id].remove(entry_id)
        self._touch(entry.parent_id, now)
        entry.name = self.free_name(parent_id, entry.name)
        entry.parent_id = parent_id
        bisect.insort(self._child_ids[parent_id], entry_id)  # each list stays sorted by id
        self._entries[parent_id].modified = now

    def unlink(self, entry_id: int, now: float) -> None:
        """delete-orphans-descendants: the entry leaves its parent; what lay below it stays,
        reachable by id from nowhere."""
        entry = self._entries.pop(entry_id, None)
        if entry is None or entry.parent_id is None:
            return
        self._child_ids[entry.parent_id].remove(entry_id)
        self._touch(entry.parent_id, now)

    def pre_order(self, entry_id: int) -> list[int]:
        """Ids of the subtree at `entry_id`, each parent before its children."""
        return list(self._walk(entry_id, parents_first=True))

    def post_order(self, entry_id: int) -> list[int]:
        """Ids of the subtree at `entry_id`, children before their parent."""
        return list(self._walk(entry_id, parents_first=False))

    def _walk(self, entry_id: int, parents_first: bool) -> Iterator[int]:
        if parents_first:
            yield entry_id
        for child in self.children(entry_id):
            yield from self._walk(child.id, parents_first)
        if not parents_first:
            yield entry_id
