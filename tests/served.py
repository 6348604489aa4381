"""Helpers for self-tests against `lro-emulator` served over loopback."""

from __future__ import annotations

from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def root_children(base: str) -> list[dict]:
    """What lies in the served repository's root folder (where sandboxes are built)."""
    url = f"{base}/v1/Repositories/r1/Entries/1/Laserfiche.Repository.Folder/children"
    verify = not base.startswith("https://")  # the TLS test's own certificate authority
    return httpx.get(url, headers={"authorization": "Bearer alice"}, verify=verify).json()["value"]
