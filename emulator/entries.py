"""Endpoints on entries that answer at once: read an entry, list a folder, create a child.

These are what a test uses to build fixtures and to inspect what a copy or a
delete did. Creating an entry is synchronous (201 with the new Entry), unlike
copy and delete, which start long operations (see tasks.py).
"""

from __future__ import annotations

from . import inputs
from .dialect import entry_json, json_response
from .messages import Response
from .problems import Problem
from .tree import SHORTCUT, Entry, Tree
from .world import Call, World

#: The vendor's EntryType enum by number (its order of declaration), for a seeded fault.
ENTRY_TYPE_NUMBERS = {"Folder": 0, "RecordSeries": 1, "Document": 2, "Shortcut": 3}


def existing_entry(tree: Tree, text_id: str) -> Entry:
    """The entry a path id names; 400 when the id is malformed, 404 when there is none."""
    entry = tree.get(inputs.entry_id(text_id))
    if entry is None:
        raise Problem(404, "Entry not found.", f"No entry with id {text_id} exists.")
    return entry


def existing_folder(tree: Tree, text_id: str) -> Entry:
    """Like `existing_entry`, and 400 when the entry is not a folder."""
    entry = existing_entry(tree, text_id)
    if not entry.is_folder:
        raise Problem(400, "Entry is not a folder.", f"Entry {entry.id} is a {entry.entry_type}.")
    return entry


def get_entry(world: World, call: Call) -> Response:
    """GET .../Entries/{id}"""
    entry = existing_entry(world.tree, call.params["id"])
    return json_response(200, entry_json(world.tree, entry))


def list_children(world: World, call: Call) -> Response:
    """GET .../Entries/{id}/Laserfiche.Repository.Folder/children (v2 `.../Folder/Children`),
    ordered by id, in one page: no `@odata.nextLink` (both documents make it optional)."""
    folder = existing_folder(world.tree, call.params["id"])
    children = [entry_json(world.tree, e) for e in world.tree.children(folder.id)]
    return json_response(200, {"value": children})


def create_child(world: World, call: Call) -> Response:
    """POST .../Entries/{id}/Laserfiche.Repository.Folder/children?autoRename= (v2
    `.../Folder/Children`, autoRename in the CreateEntryRequest body)"""
    tree = world.tree
    rename = inputs.auto_rename_of(world.dialect.auto_rename_in, call.query, call.request.body)
    wanted = inputs.child_request(call.request.body)
    parent = existing_folder(tree, call.params["id"])
    if wanted.entry_type == SHORTCUT and tree.get(wanted.target_id or 0) is None:
        raise Problem(
            404, "Entry not found.", f"The shortcut target {wanted.target_id} does not exist."
        )
    name = wanted.name
    if tree.find_child(parent.id, name) is not None:
        if not rename:
            raise Problem(
                409,
                "Entry name conflict.",
                f"An entry named '{name}' already exists in folder {parent.id}.",
            )
        name = tree.free_name(parent.id, name)
    entry = tree.add(
        parent.id, name, wanted.entry_type, call.session.user, call.now, wanted.target_id
    )
    body = entry_json(tree, entry)
    if world.faults.has("entry-type-as-number"):
        # The bug: this one endpoint serialises the enum without its string converter.
        body["entryType"] = ENTRY_TYPE_NUMBERS[entry.entry_type]
    return json_response(world.dialect.entry_created, body)
