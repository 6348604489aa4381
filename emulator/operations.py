"""One long operation (a copy or a delete) and what each of its steps does to the tree.

An operation is planned when it starts: the ids it will visit, captured then
(a copy walks its source subtree parents first, a delete walks its target
subtree children first). It then does one step per planned id, on a fixed
timetable, so progress is a pure function of the clock:

    created_at ── start_delay ── step 0 ── step_seconds ── step 1 ── …

Each step is due `step_seconds` after the previous one; the first is due one
`step_seconds` after `started_at`. The operation is NotStarted before
`started_at`, InProgress after it, and ends when its last step is applied
(Completed) or when a step fails (Failed). The engine decides *when* steps run;
this module decides *what* a step does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.model import ENDED, Status

from .faults import FaultSet
from .tree import FOLDER, Tree

# What an operation does; each dialect names it on the wire (`dialect.TASK_TYPES`).
COPY, DELETE = "copy", "delete"

# Why a step failed; each dialect says it in its own words (`dialect.ERROR_CAUSES`).
MISSING, CONFLICT, INVALID = "missing", "conflict", "invalid"


@dataclass(frozen=True)
class OperationError:
    """One entry the operation could not handle, as the wire's `errors` item."""

    object_id: int
    message: str
    cause: str = MISSING  # MISSING, CONFLICT or INVALID


@dataclass(frozen=True)
class Order:
    """What a start request asked for, fixed when the operation starts."""

    kind: str  # COPY or DELETE
    plan: tuple[int, ...]  # entry ids, one per step
    source_id: int = 0  # copy: the entry copied
    dest_id: int = 0  # copy: the folder copied into
    name: str = ""  # copy: the name asked for
    auto_rename: bool = False  # copy: pick a free name instead of failing
    target_parent_id: int | None = None  # delete: where the target lived

    @property
    def home_id(self) -> int | None:
        """The folder it works in: a copy's destination, or where a delete's target lived."""
        return self.dest_id if self.kind == COPY else self.target_parent_id


@dataclass
class Operation:
    """A copy or delete in flight or ended; `token` is its key in the engine."""

    token: str
    order: Order
    session: int  # index of the session that started it
    creator: str  # user name stamped on entries it creates
    serial: int  # creation order: breaks ties between steps due at the same time
    created_at: float
    started_at: float  # created_at + start_delay: when it leaves NotStarted
    step_seconds: float
    steps_done: int = 0
    outcome: Status | None = None  # Completed, Failed or Cancelled once ended
    ended_at: float | None = None
    errors: list[OperationError] = field(default_factory=list)
    copies: dict[int, int] = field(default_factory=dict)  # copy: source id -> copy id
    result_id: int | None = None  # copy: the new root entry
    # What earlier polls saw; only the seeded faults that misreport progress read these.
    ended_polls: int = 0  # polls that found it ended (some faults act on the later ones)
    reported_progress: bool = False
    went_backwards: bool = False
    stalled: bool = False  # stalls-before-end: it will never take another step
    removed_in: dict[int, int] = field(default_factory=dict)  # delete-first-ten: per folder

    @property
    def cancelled_before_start(self) -> bool:
        """Cancelled while still NotStarted (slot-never-frees acts on it)."""
        return (
            self.outcome is Status.CANCELLED
            and self.ended_at is not None
            and self.ended_at < self.started_at
        )

    @property
    def ended(self) -> bool:
        return self.outcome in ENDED

    def due(self, step: int) -> float:
        """When step `step` (0-based) is due."""
        return self.started_at + (step + 1) * self.step_seconds

    def next_entry_id(self) -> int:
        """The planned entry the next step works on."""
        return self.order.plan[self.steps_done]

    def next_due(self) -> float | None:
        """When the next step is due, or None once the operation has ended."""
        return None if self.ended else self.due(self.steps_done)

    def status_at(self, now: float) -> Status:
        """The lifecycle state at `now`, given that all steps due by `now` were applied."""
        if self.outcome is not None:
            return self.outcome
        return Status.NOT_STARTED if now < self.started_at else Status.IN_PROGRESS

    def percent(self) -> int:
        """Share of steps done, rounded down; 100 once Completed, frozen once ended."""
        if self.outcome is Status.COMPLETED:
            return 100
        return 100 * self.steps_done // len(self.order.plan)

    def status_changed_at(self, now: float) -> float:
        """When the status or progress last changed, as of `now`."""
        if self.ended_at is not None:
            return self.ended_at
        if self.steps_done:
            return self.due(self.steps_done - 1)
        return self.started_at if now >= self.started_at else self.created_at

    def finish(self, outcome: Status, at: float) -> None:
        self.outcome, self.ended_at = outcome, at


def run_step(op: Operation, tree: Tree, faults: FaultSet) -> None:
    """Apply the operation's next step at its due time, ending it when it fails or is the last."""
    at = op.due(op.steps_done)
    if op.order.kind == COPY:
        error = _copy_step(op, tree, faults, at)
    else:
        error = _delete_step(op, tree, faults, at)
    if error is not None:
        op.errors.append(error)
        op.finish(Status.FAILED, at)
        return
    op.steps_done += 1
    if op.steps_done == len(op.order.plan):
        op.finish(Status.COMPLETED, at)


def _copy_step(op: Operation, tree: Tree, faults: FaultSet, at: float) -> OperationError | None:
    if op.steps_done == 0:
        return _copy_root(op, tree, faults, at)
    if faults.has("shallow-copy"):
        return None  # the bug: time passes and progress moves, but nothing is copied
    source = tree.get(op.next_entry_id())
    if source is None:
        return OperationError(op.next_entry_id(), "The source entry no longer exists.")
    if faults.has("copy-depth-limit") and tree.depth_below(source.id, op.order.source_id) > 4:
        return None  # the bug: the recursion stops four levels down
    parent_copy = op.copies.get(source.parent_id) if source.parent_id is not None else None
    if parent_copy is None or tree.get(parent_copy) is None:
        return OperationError(source.id, "The copy of the entry's parent folder no longer exists.")
    name = _name_in(tree, parent_copy, source.name, op.order.auto_rename)
    if name is None:
        return OperationError(
            source.id, f"An entry named '{source.name}' already exists.", CONFLICT
        )
    copy = tree.add(parent_copy, name, source.entry_type, op.creator, at, source.target_id)
    op.copies[source.id] = copy.id
    return None


def _copy_root(op: Operation, tree: Tree, faults: FaultSet, at: float) -> OperationError | None:
    """Step 0 of a copy: check everything the start could not, then copy the source itself."""
    source = tree.get(op.order.source_id)
    if source is None and not faults.has("missing-source-completes"):
        return OperationError(op.order.source_id, "The source entry was not found.")
    dest = tree.get(op.order.dest_id)
    if dest is None or not dest.is_folder:
        return OperationError(op.order.dest_id, "The destination folder was not found.")
    if source is not None and tree.is_within(op.order.dest_id, source.id):
        return OperationError(
            source.id, "Cannot copy an entry into itself or its own subtree.", INVALID
        )
    name = _name_in(tree, dest.id, op.order.name, op.order.auto_rename)
    if name is None:
        taken = tree.find_child(dest.id, op.order.name)
        return OperationError(
            taken.id if taken else dest.id,
            f"An entry named '{op.order.name}' already exists in the destination folder.",
            CONFLICT,
        )
    if source is None:
        # Only under missing-source-completes: the bug invents an empty folder.
        op.result_id = tree.add(dest.id, name, FOLDER, op.creator, at).id
        return None
    copy = tree.add(dest.id, name, source.entry_type, op.creator, at, source.target_id)
    op.copies[source.id] = op.result_id = copy.id
    return None


def _beyond_first_ten(op: Operation, tree: Tree, entry_id: int) -> bool:
    """delete-first-ten: ten entries of its folder were removed already, or it is a folder
    that still holds children (so it cannot be removed)."""
    entry = tree.get(entry_id)
    if entry is None or entry.parent_id is None:
        return False
    if tree.children(entry_id) or op.removed_in.get(entry.parent_id, 0) >= 10:
        return True
    op.removed_in[entry.parent_id] = op.removed_in.get(entry.parent_id, 0) + 1
    return False


def _name_in(tree: Tree, folder_id: int, name: str, auto_rename: bool) -> str | None:
    """The name a new entry gets in `folder_id`, or None when taken and renaming is off."""
    if tree.find_child(folder_id, name) is None:
        return name
    return tree.free_name(folder_id, name) if auto_rename else None


def _delete_step(op: Operation, tree: Tree, faults: FaultSet, at: float) -> OperationError | None:
    entry = op.next_entry_id()
    if faults.has("delete-first-ten") and _beyond_first_ten(op, tree, entry):
        return None  # the bug: one page of children, and a folder that is not empty stays
    if faults.has("delete-orphans-descendants") and entry != op.order.plan[-1]:
        pass  # the bug: only the folder itself is unlinked, at the last step
    elif faults.has("delete-orphans-descendants"):
        tree.unlink(entry, at)
    else:
        tree.remove(entry, at)  # an entry already gone is simply skipped
    last = op.steps_done == len(op.order.plan) - 1
    if last and faults.has("delete-takes-sibling") and op.order.target_parent_id is not None:
        target_id = op.order.plan[-1]
        later = [e.id for e in tree.children(op.order.target_parent_id) if e.id > target_id]
        if later:
            tree.remove(min(later), at)  # the bug: an off-by-one takes the next entry too
    return None
