"""Helpers for self-tests against `lro-emulator` served over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def root_children(base: str) -> list[dict]:
    """What lies in the served repository's root folder (where sandboxes are built)."""
    return children(base, 1)


def children(base: str, folder: int) -> list[dict]:
    """What lies in a folder of the served repository (an empty list once it is gone)."""
    url = f"{base}/v1/Repositories/r1/Entries/{folder}/Laserfiche.Repository.Folder/children"
    verify = not base.startswith("https://")  # the TLS test's own certificate authority
    answer = httpx.get(url, headers={"authorization": "Bearer alice"}, verify=verify)
    return answer.json()["value"] if answer.status_code == 200 else []


def create_folder(base: str, parent: int, name: str, user: str = "alice") -> int:
    """Create a folder as `user` would, outside the gate; the answer's status."""
    url = f"{base}/v1/Repositories/r1/Entries/{parent}/Laserfiche.Repository.Folder/children"
    verify = not base.startswith("https://")
    answer = httpx.post(
        url,
        json={"name": name, "entryType": "Folder"},
        headers={"authorization": f"Bearer {user}"},
        verify=verify,
    )
    return answer.status_code


def example_under_way(base: str) -> bool:
    """An example's sandbox (the first session's area) holds its first tree: an example is
    being explored (the profile probe's and the fuzz phase's sandboxes, built and removed
    first, are named otherwise)."""
    return any(
        re.fullmatch(r"lro-conformance-[0-9a-f]{10}", sandbox["name"])
        and children(base, sandbox["id"])
        for sandbox in root_children(base)
    )
