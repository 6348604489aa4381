"""Profiles: one dialect of the long-operation contract each (paths and status codes).

The guide and the vendor's OpenAPI document disagree (FACTS.md, "The guide (v1)
versus the vendor document (v1)"); a profile says which one a target speaks.
Checks ask the profile what to expect and never hard-code a status or a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    # Paths relative to /v1/Repositories/{repoId}/
    copy_path: str  # .format(dest=...)
    delete_path: str  # .format(entry=...)
    task_path: str  # .format(token=...)
    entry_path: str  # .format(entry=...)
    children_path: str  # .format(entry=...)
    # Status codes per situation
    start_accepted: int
    poll_running: int
    poll_completed_copy: int  # a Completed copy, answered with Location
    poll_ended: int  # every other ended state
    cancel_accepted: int
    cancel_ended: int
    not_found: int = 404
    busy: int = 429
    unauthorized: int = 401
    bad_request: int = 400

    def entry_location(self) -> re.Pattern[str]:
        """Where a completed copy's Location must point (path part)."""
        return re.compile(r"^/v1/Repositories/(?P<repo>[^/]+)/Entries/(?P<entry>\d+)$")


OPENAPI_V1 = Profile(
    name="openapi-v1",
    description="the vendor's OpenAPI v1 document and the live service",
    copy_path="Entries/{dest}/Laserfiche.Repository.Folder/CopyAsync",
    delete_path="Entries/{entry}",
    task_path="Tasks/{token}",
    entry_path="Entries/{entry}",
    children_path="Entries/{entry}/Laserfiche.Repository.Folder/children",
    start_accepted=201,
    poll_running=202,
    poll_completed_copy=201,
    poll_ended=200,
    cancel_accepted=204,
    cancel_ended=400,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (OPENAPI_V1,)}


def profile(name: str) -> Profile:
    """The profile called `name`; a ValueError names the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r}; choose one of: {known}") from None
