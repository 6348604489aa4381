"""The response schemas of each profile, as validators for SCH-1 ("every 2xx body validates
against the profile's schema"): the vendor's document, patched where it contradicts the
service, and documents the project wrote itself (`guide-v1.json`, from the guide's examples).

A document lives here as two files: `<name>.json`, a byte-for-byte copy of the vendor's
OpenAPI document, and `<name>.patch.json`, an RFC 6902 JSON Patch whose operations each
carry a `why` (RFC 6902 ignores members it does not define). The patch is applied when
the document is loaded, so the copy stays recognisable and every change is listed in
one small file; `NOTICE.md` says where each document came from. A patch starts with
`test` operations, so it refuses a document other than the one it was written for.
A document written here rather than copied has no patch file.

Bodies are validated with openapi-schema-validator's OpenAPI 3.0 read validator
(`nullable`, `format: int32` and friends as OpenAPI 3.0 defines them), resolving
`#/components/schemas/...` through a `referencing` registry that holds the document.

Compatible evolution passes: a body may carry properties its schema does not declare
(`body_problem` validates against the document with every `additionalProperties: false`
lifted; `undeclared` names those properties, for a note). Everything else stays strict:
types, required properties, enums, nullability, formats. NOTICE.md says why.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = [
    "PatchError",
    "apply_patch",
    "body_problem",
    "document",
    "original",
    "undeclared",
    "validator",
]


class PatchError(ValueError):
    """A patch does not fit the document it is applied to."""


def _read(filename: str) -> Any:
    return json.loads(resources.files(__name__).joinpath(filename).read_text("utf-8"))


def original(name: str) -> Any:
    """The vendor document `name` exactly as copied (`<name>.json`), unpatched."""
    return _read(f"{name}.json")


@cache
def document(name: str) -> Any:
    """The document `name` with its patch (`<name>.patch.json`, if there is one) applied."""
    patch = resources.files(__name__).joinpath(f"{name}.patch.json")
    return apply_patch(original(name), _read(patch.name) if patch.is_file() else [])


def _tokens(pointer: str) -> list[str]:
    """The reference tokens of an RFC 6901 JSON Pointer."""
    if pointer and not pointer.startswith("/"):
        raise PatchError(f"{pointer!r} is not a JSON Pointer (it must start with '/')")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    """The container holding what `pointer` names, and the last token."""
    *path, last = _tokens(pointer)
    node = doc
    for token in path:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, last


def _apply(doc: Any, op: dict[str, Any]) -> None:
    kind = op["op"]
    parent, key = _parent(doc, op["path"])
    index: Any = key
    if isinstance(parent, list):
        index = len(parent) if kind == "add" and key == "-" else int(key)
    if kind == "test":
        if parent[index] != op["value"]:
            raise PatchError(f"found {parent[index]!r}, the patch expects {op['value']!r}")
    elif kind == "replace":
        parent[index] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del parent[index]
    elif kind == "add" and isinstance(parent, list):
        parent.insert(index, copy.deepcopy(op["value"]))
    elif kind == "add":
        parent[index] = copy.deepcopy(op["value"])
    else:
        raise PatchError(f"unsupported operation {kind!r} (use test, add, remove, replace)")


def apply_patch(doc: Any, operations: list[dict[str, Any]]) -> Any:
    """`doc` with the RFC 6902 `operations` applied (test, add, remove, replace); `doc`
    itself is left alone. A PatchError names the operation that does not fit."""
    patched = copy.deepcopy(doc)
    for number, op in enumerate(operations, 1):
        try:
            _apply(patched, op)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            what = f"operation {number} ({op.get('op')} {op.get('path')})"
            raise PatchError(f"patch {what} does not fit the document: {exc}") from exc
    return patched


def _open(node: Any) -> Any:
    """`node` with every `additionalProperties: false` left out, at any depth."""
    if isinstance(node, dict):
        return {
            k: _open(v) for k, v in node.items() if not (k == "additionalProperties" and v is False)
        }
    if isinstance(node, list):
        return [_open(v) for v in node]
    return node


@cache
def validator(name: str, schema: str, strict: bool = False) -> Any:
    """A validator of bodies against `#/components/schemas/<schema>` of document `name`:
    undeclared properties allowed (compatible evolution), or, `strict`, as the
    document's `additionalProperties` say (to name the undeclared ones)."""
    doc = document(name) if strict else _open(document(name))
    if schema not in doc.get("components", {}).get("schemas", {}):
        raise KeyError(f"document {name!r} has no schema {schema!r}")
    uri = f"urn:lro-conformance:{name}:{'strict' if strict else 'open'}"
    registry = Registry().with_resource(
        uri, Resource.from_contents(doc, default_specification=DRAFT4)
    )
    return OAS30ReadValidator(
        {"$ref": f"{uri}#/components/schemas/{schema}"},
        registry=registry,
        format_checker=oas30_format_checker,
    )


def _most_specific(error: ValidationError) -> ValidationError:
    """Inside a one-branch oneOf/anyOf (the vendor document wraps every `$ref` to an enum
    so), the branch's own error says more than "not valid under any of the schemas"."""
    while error.validator in ("oneOf", "anyOf") and len(error.validator_value) == 1:
        inner = best_match(error.context or [])
        if inner is None:
            break
        error = inner
    return error


def body_problem(name: str, schema: str, body: Any) -> str | None:
    """None when `body` validates against `schema`; else where and why it does not, short:
    the JSON path of the most relevant error, the validator's message, how many more."""
    errors = list(validator(name, schema).iter_errors(body))
    found = best_match(errors)
    if found is None:
        return None
    error = _most_specific(found)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{error.json_path}: {error.message}{more}"


def undeclared(name: str, schema: str, body: Any) -> list[str]:
    """The properties of `body` (a valid one) that `schema` does not declare where the
    document closes an object with `additionalProperties: false`, as JSON paths
    (`$._links`, `$.errors[0].code`), sorted."""
    found: set[str] = set()
    pending = list(validator(name, schema, strict=True).iter_errors(body))
    while pending:
        error = pending.pop()
        pending += error.context or []
        if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
            continue
        schema_here = error.schema if isinstance(error.schema, dict) else {}
        declared = schema_here.get("properties", {})
        found.update(f"{error.json_path}.{key}" for key in error.instance if key not in declared)
    return sorted(found)
