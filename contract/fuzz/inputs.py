"""What a generated request is, read from the request as sent (never from the document
that generated it): malformed or not, a plain token or not, safe to send or not.

"Malformed" follows SUB-3 ("bad JSON, missing or ill-typed fields, non-integer ids")
and is kept narrow where real servers differ: a lenient JSON reader may turn "12"
into 12, 3.0 into 3 or a number into a name, and an int route may take " +7 ", so
those are not called malformed; volumeName is ignored by Laserfiche Cloud, so its
type is not judged either.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import unquote

_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}")
_DIGIT = re.compile(r"[0-9]")


def path_id_malformed(text: str) -> bool:
    """A path id no reading of which is an integer."""
    return not _INTEGER_TEXT.fullmatch(unquote(text))


def _ill_typed_id(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return True
    if isinstance(value, float):
        return not value.is_integer()
    if isinstance(value, str):
        return not _INTEGER_TEXT.fullmatch(value)
    return False


def copy_malformation(path_id: str, body: Any) -> str | None:
    """What is malformed about a copy start, or None."""
    if path_id_malformed(path_id):
        return f"a non-integer destination id {path_id!r}"
    if not isinstance(body, dict):
        return f"a body that is not a JSON object ({type(body).__name__})"
    if "sourceId" not in body:
        return "a body without sourceId"
    if _ill_typed_id(body["sourceId"]):
        return f"sourceId {body['sourceId']!r}"
    if body.get("name") is None or isinstance(body.get("name"), list | dict):
        return f"name {body.get('name')!r}" if "name" in body else "a body without name"
    return None


def delete_malformation(path_id: str) -> str | None:
    """What is malformed about a delete start, or None (its optional body is not judged:
    a server may ignore the body of a DELETE)."""
    return f"a non-integer entry id {path_id!r}" if path_id_malformed(path_id) else None


def plain_token(token: str) -> bool:
    """A token no URL or router treats specially: its only fit answer is 404 or 400."""
    return bool(_PLAIN_TOKEN.fullmatch(token))


_ODD_SEGMENT = re.compile(r"[^\x21-\x7e]|[/\\%?#]")


def odd_path(values: list[str]) -> bool:
    """Does a path segment hold what a front end (proxy, web server) may refuse before the
    API sees it: control or non-ASCII characters, slashes, dot segments? Such an answer
    comes from outside the contract (a plain-text 400, a routing 404)."""
    texts = [unquote(str(v)) for v in values]
    return any(t in ("", ".", "..") or _ODD_SEGMENT.search(t) for t in texts)


def owned_id(value: Any, owned: set[int]) -> bool:
    """On a shared target, may a destructive call name `value`? Only an entry the run
    created, or something that cannot be read as any id at all (no digit in it)."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return value in owned
    if isinstance(value, float):  # a lenient reader may round either way
        return math.isfinite(value) and {math.floor(value), math.ceil(value)} <= owned
    if isinstance(value, list | dict):
        return True  # no server reads a list or an object as an id
    text = unquote(str(value))
    if not _DIGIT.search(text):
        return True
    return bool(_INTEGER_TEXT.fullmatch(text)) and int(text) in owned
