"""The long-operation API as named calls: builds each request from the profile.

Every call goes through `Client.send` and returns the `Exchange`; nothing here
judges an answer. Paths come from the profile, never from literals elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .client import Auth, Client, Exchange, Session
from .profiles import Profile


class RepositoryApi:
    """The calls the gate makes against one repository of one target."""

    def __init__(self, client: Client, profile: Profile, repo_id: str) -> None:
        self.client = client
        self.profile = profile
        self.repo_id = repo_id

    def _path(self, template: str, **ids: Any) -> str:
        parts = {k: quote(str(v), safe="") for k, v in ids.items()}
        return f"v1/Repositories/{quote(self.repo_id, safe='')}/" + template.format(**parts)

    # --- long operations ---------------------------------------------------------

    def start_copy(
        self,
        session: Session,
        dest: Any,
        body: Any,
        *,
        auto_rename: bool | None = None,
        auth: Auth = "session",
        raw: bytes | None = None,
        action: str = "start-copy",
    ) -> Exchange:
        params = None if auto_rename is None else {"autoRename": str(auto_rename).lower()}
        return self.client.send(
            "POST",
            self._path(self.profile.copy_path, dest=dest),
            action=action,
            session=session,
            auth=auth,
            json_body=None if raw is not None else body,
            content=raw,
            params=params,
        )

    def start_delete(
        self, session: Session, entry: Any, *, auth: Auth = "session", action: str = "start-delete"
    ) -> Exchange:
        return self.client.send(
            "DELETE",
            self._path(self.profile.delete_path, entry=entry),
            action=action,
            session=session,
            auth=auth,
        )

    def poll(
        self, session: Session, token: str, *, auth: Auth = "session", action: str = "poll"
    ) -> Exchange:
        return self.client.send(
            "GET",
            self._path(self.profile.task_path, token=token),
            action=action,
            session=session,
            auth=auth,
        )

    def cancel(
        self, session: Session, token: str, *, auth: Auth = "session", action: str = "cancel"
    ) -> Exchange:
        return self.client.send(
            "DELETE",
            self._path(self.profile.task_path, token=token),
            action=action,
            session=session,
            auth=auth,
        )

    # --- fixtures and reads ------------------------------------------------------

    def create_folder(self, session: Session, parent: int, name: str) -> Exchange:
        return self.client.send(
            "POST",
            self._path(self.profile.children_path, entry=parent),
            action="create-folder",
            session=session,
            json_body={"name": name, "entryType": "Folder"},
            params={"autoRename": "false"},
        )

    def get_entry(self, session: Session, entry: int, *, action: str = "get-entry") -> Exchange:
        return self.client.send(
            "GET", self._path(self.profile.entry_path, entry=entry), action=action, session=session
        )

    def follow(self, session: Session, location: str) -> Exchange:
        return self.client.send("GET", location, action="follow-location", session=session)

    def list_children(self, session: Session, folder: int) -> list[Exchange]:
        """Every page of a folder listing (follows `@odata.nextLink`, at most 50 pages)."""
        pages = [
            self.client.send(
                "GET",
                self._path(self.profile.children_path, entry=folder),
                action="list",
                session=session,
            )
        ]
        while len(pages) < 50:
            body = pages[-1].json()
            link = body.get("@odata.nextLink") if isinstance(body, dict) else None
            if pages[-1].status != 200 or not isinstance(link, str) or not link:
                break
            pages.append(self.client.send("GET", link, action="list", session=session))
        return pages
