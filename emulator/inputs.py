"""What the emulator accepts from a client: path ids, query flags and JSON bodies.

Every reader here either returns typed values or raises a 400 `Problem` that
says what was wrong, so no malformed input can reach the tree or the engine
(and none can cause a 5xx). Unknown extra JSON fields are ignored, as the
vendor's server does.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .problems import Problem
from .tree import FOLDER, SHORTCUT, name_problem

_DECIMAL = re.compile(r"-?[0-9]+")
_UNFINDABLE_ID = 0  # no entry ever has id 0 (ids start at 1)


def entry_id(text: str) -> int:
    """A path id: decimal digits, else 400."""
    if not _DECIMAL.fullmatch(text):
        raise Problem(400, "Invalid entry id", f"The entry id '{text}' is not a decimal integer.")
    # A valid integer too long to be an id simply names no entry (and int() of a
    # huge digit string would raise, see sys.set_int_max_str_digits).
    return int(text) if len(text) <= 20 else _UNFINDABLE_ID


def auto_rename(query: str) -> bool:
    """The `autoRename` query flag: true/false in any case, absent means false."""
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "autoRename"]
    if not values:
        return False
    if len(values) > 1 or values[0].lower() not in ("true", "false"):
        raise Problem(400, "Invalid query parameter", "autoRename must be 'true' or 'false'.")
    return values[0].lower() == "true"


def auto_rename_of(where: str, query: str, body: bytes) -> bool:
    """The autoRename flag where the dialect reads it: the query (v1) or the body (v2)."""
    return body_flag(body, "autoRename") if where == "body" else auto_rename(query)


def body_flag(body: bytes, name: str) -> bool:
    """A boolean property of a JSON-object body (v2's `autoRename`): absent means false;
    anything but true or false, null included, is 400 (the v2 document types it a
    non-nullable boolean)."""
    value = json_object(body).get(name, False)
    if not isinstance(value, bool):
        raise _field_problem(name, "true or false")
    return value


#: The longest task id accepted in `taskIds` (ours are 36 or 43 characters).
MAX_TASK_ID = 256


def task_ids(query: str, unique: bool = True) -> list[str]:
    """The `taskIds` query parameter of v2's Tasks routes: the ids named, in order, each once;
    [] when absent or empty (every task of the session).

    Both forms are read: the document's `style: form, explode: true` (`taskIds=a&taskIds=b`)
    and its summary's "comma-separated list" (`taskIds=a,b`), also mixed; blanks around an
    id are ignored and the name is matched case-insensitively (as ASP.NET binds query
    parameters). Malformed is 400: an empty id among others (`a,,b`, `a,`), an id with a
    control character or longer than MAX_TASK_ID, percent-encoding that is not UTF-8.
    """
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "Invalid query parameter", "taskIds is not valid UTF-8.") from None
    pieces = [p.strip() for k, v in pairs if k.lower() == "taskids" for p in v.split(",")]
    if not any(pieces):
        return []
    for piece in pieces:
        if not piece or len(piece) > MAX_TASK_ID or not piece.isprintable():
            raise Problem(
                400,
                "Invalid query parameter",
                "taskIds must be task ids separated by commas, none of them empty, "
                f"each up to {MAX_TASK_ID} printable characters.",
            )
    return list(dict.fromkeys(pieces)) if unique else pieces


def json_object(body: bytes, empty_allowed: bool = False) -> dict[str, Any]:
    """The body as a JSON object ({} for an empty body when allowed), else 400."""
    if empty_allowed and not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, absurd nesting or digits
        raise Problem(400, "Invalid request body", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise Problem(400, "Invalid request body", "The request body must be a JSON object.")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not an id


def _field_problem(field: str, expected: str) -> Problem:
    return Problem(400, "Invalid request body", f"The field '{field}' must be {expected}.")


def _name(fields: dict[str, Any]) -> str:
    name = fields.get("name")
    if not isinstance(name, str):
        raise _field_problem("name", "a string")
    problem = name_problem(name)
    if problem:
        raise Problem(400, "Invalid entry name", problem)
    return name


@dataclass(frozen=True)
class CopyRequest:
    source_id: int
    name: str | None  # None only when the accept-missing-name fault let it through


def copy_request(body: bytes, name_optional: bool = False, null_name: bool = False) -> CopyRequest:
    """The body of a CopyAsync start: sourceId, name, optional volumeName. (`name_optional`
    and `null_name` let a missing or null name through: the accept-*-name faults only.)"""
    fields = json_object(body)
    if not _is_int(fields.get("sourceId")):
        raise _field_problem("sourceId", "an integer")
    volume = fields.get("volumeName")
    if volume is not None and not isinstance(volume, str):
        raise _field_problem("volumeName", "a string or null")
    if name_optional and "name" not in fields:
        return CopyRequest(fields["sourceId"], None)
    if null_name and "name" in fields and fields["name"] is None:
        return CopyRequest(fields["sourceId"], None)
    return CopyRequest(fields["sourceId"], _name(fields))


def requested_name(body: bytes) -> str | None:
    """The valid string "name" of a JSON-object body, else None; never raises (faults only)."""
    try:
        return _name(json_object(body))
    except Problem:
        return None


def volume_name(body: bytes) -> object:
    """The "volumeName" of a JSON-object body (None when absent or unreadable); faults only."""
    try:
        return json_object(body).get("volumeName")
    except Problem:
        return None


def has_bad_source_id(body: bytes) -> bool:
    """True when the body is a JSON object whose "sourceId" is not an integer (faults only)."""
    try:
        return not _is_int(json_object(body).get("sourceId"))
    except Problem:
        return False


def delete_request(body: bytes, comment_field: str = "comment") -> None:
    """Check the optional body of a delete start: auditReasonId, and the comment (v1's
    `comment`, v2's `auditReasonComment`: the dialect says which)."""
    fields = json_object(body, empty_allowed=True)
    reason = fields.get("auditReasonId")
    if reason is not None and not _is_int(reason):
        raise _field_problem("auditReasonId", "an integer or null")
    comment = fields.get(comment_field)
    if comment is not None and not isinstance(comment, str):
        raise _field_problem(comment_field, "a string or null")


@dataclass(frozen=True)
class ChildRequest:
    name: str
    entry_type: str
    target_id: int | None  # shortcuts only


def child_request(body: bytes) -> ChildRequest:
    """The body of a create-child call: name, entryType (Folder|Shortcut), targetId."""
    fields = json_object(body)
    entry_type = fields.get("entryType")
    if entry_type not in (FOLDER, SHORTCUT):
        raise _field_problem("entryType", "'Folder' or 'Shortcut'")
    target = fields.get("targetId")
    if entry_type == SHORTCUT and not _is_int(target):
        raise _field_problem("targetId", "an integer for a shortcut")
    if target is not None and not _is_int(target):
        raise _field_problem("targetId", "an integer or null")
    name = _name(fields)
    return ChildRequest(name, entry_type, target if entry_type == SHORTCUT else None)


def advance_seconds(body: bytes) -> float:
    """The body of the clock-advance hook: {"seconds": finite number >= 0}."""
    seconds = json_object(body).get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise _field_problem("seconds", "a finite number >= 0")
    try:
        value = float(seconds)
    except OverflowError:  # a JSON integer too big for a float
        raise _field_problem("seconds", "a finite number >= 0") from None
    if not math.isfinite(value) or value < 0:
        raise _field_problem("seconds", "a finite number >= 0")
    return value
