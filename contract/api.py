"""The long-operation API as named calls: builds each request from the profile.

Every call goes through `Client.send` and returns the `Exchange`; nothing here
judges an answer. Paths come from the profile, never from literals elsewhere.

On a shared target the API is guarded: it refuses, before sending anything, to
delete or copy into an entry the run did not create, or to cancel a token it
was not given. What the run created it learns from its own calls: folders it
made, entries listed inside them, tokens its starts received.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .client import Auth, Call, Client, Exchange, Session
from .profiles import Profile
from .sandbox import Node

#: At most this many requests of a tree level (listings, fixture creations) go together.
AT_ONCE = 8


class GuardRefusal(Exception):
    """A destructive call on something the run did not create: refused, never sent."""


class RepositoryApi:
    """The calls the gate makes against one repository of one target."""

    def __init__(
        self, client: Client, profile: Profile, repo_id: str, *, guarded: bool = False
    ) -> None:
        self.client = client
        self.profile = profile
        self.repo_id = repo_id
        self.guarded = guarded
        self.owned_entries: set[int] = set()
        self.owned_tokens: set[str] = set()

    def speaking(self, profile: Profile) -> RepositoryApi:
        """The same calls in another dialect, sharing what the run owns (the profile probe
        tries each profile's copy path in one sandbox)."""
        other = RepositoryApi(self.client, profile, self.repo_id, guarded=self.guarded)
        other.owned_entries, other.owned_tokens = self.owned_entries, self.owned_tokens
        return other

    def _guard(self, what: str, entry: Any = None, token: str | None = None) -> None:
        if not self.guarded:
            return
        if token is not None and token not in self.owned_tokens:
            raise GuardRefusal(f"refused to {what}: the run was not given that token")
        # A path id that is not an integer names no entry: sending it harms nothing.
        if isinstance(entry, int) and entry not in self.owned_entries:
            raise GuardRefusal(f"refused to {what} entry #{entry}: the run did not create it")

    def _learn(self, exchange: Exchange, *, entry: bool = False, token: bool = False) -> Exchange:
        body = exchange.json()
        if not isinstance(body, dict) or exchange.status is None or exchange.status >= 300:
            return exchange
        if entry and isinstance(body.get("id"), int):
            self.owned_entries.add(body["id"])
        started = self.profile.started_token(exchange.status, body) if token else None
        if started is not None:
            self.owned_tokens.add(started)
        return exchange

    def _path(self, template: str, **ids: Any) -> str:
        parts = {k: quote(str(v), safe="") for k, v in ids.items()}
        return self.profile.repository_path(quote(self.repo_id, safe="")) + template.format(**parts)

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
        body, params = self.profile.with_rename(body, auto_rename)
        self._guard("copy into", entry=dest)
        return self._learn(
            self.client.send(
                "POST",
                self._path(self.profile.copy_path, dest=dest),
                action=action,
                session=session,
                auth=auth,
                json_body=None if raw is not None else body,
                content=raw,
                params=params,
            ),
            token=True,
        )

    def start_delete(
        self,
        session: Session,
        entry: Any,
        *,
        auth: Auth = "session",
        action: str = "start-delete",
        body: Any = None,
        raw: bytes | None = None,
    ) -> Exchange:
        self._guard("delete", entry=entry)
        return self._learn(
            self.client.send(
                "DELETE",
                self._path(self.profile.delete_path, entry=entry),
                action=action,
                session=session,
                auth=auth,
                json_body=body,
                content=raw,
            ),
            token=True,
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

    def poll_several(
        self, session: Session, tokens: list[str], *, action: str = "poll-several"
    ) -> Exchange:
        """One poll naming each of `tokens` (none: every task of the session), where the
        dialect lists tasks (`Profile.tasks_query`), as the vendor's client sends it:
        the parameter repeated (`taskIds=a&taskIds=b`)."""
        listing = self.profile.tasks_query()
        assert listing is not None, "this dialect polls one token a request"
        path, name = listing
        params = [(name, token) for token in tokens]
        return self.client.send(
            "GET", self._path(path), action=action, session=session, params=params or None
        )

    def cancel_several(self, session: Session, tokens: list[str]) -> Exchange:
        """One cancel naming each of `tokens` (v2's `DELETE .../Tasks?taskIds=`), the
        parameter repeated as for a poll of several; on a shared target only tokens the
        run was given."""
        listing = self.profile.tasks_query()
        assert listing is not None, "this dialect cancels one token a request"
        for token in tokens:
            self._guard("cancel an operation", token=token)
        path, name = listing
        params = [(name, token) for token in tokens]
        return self.client.send(
            "DELETE", self._path(path), action="cancel-several", session=session, params=params
        )

    def cancel(
        self, session: Session, token: str, *, auth: Auth = "session", action: str = "cancel"
    ) -> Exchange:
        self._guard("cancel an operation", token=token)
        return self.client.send(
            "DELETE",
            self._path(self.profile.task_path, token=token),
            action=action,
            session=session,
            auth=auth,
        )

    # --- requests sent together ---------------------------------------------------

    def copy_call(
        self, session: Session, dest: int, body: Any, *, auto_rename: bool | None = None
    ) -> Call:
        self._guard("copy into", entry=dest)
        body, params = self.profile.with_rename(body, auto_rename)
        path = self._path(self.profile.copy_path, dest=dest)
        return Call("POST", path, "start-copy", session, body, params)

    def delete_call(self, session: Session, entry: int) -> Call:
        self._guard("delete", entry=entry)
        return Call(
            "DELETE", self._path(self.profile.delete_path, entry=entry), "start-delete", session
        )

    def poll_call(self, session: Session, token: str) -> Call:
        return Call("GET", self._path(self.profile.task_path, token=token), "poll", session)

    def cancel_call(self, session: Session, token: str) -> Call:
        self._guard("cancel an operation", token=token)
        return Call("DELETE", self._path(self.profile.task_path, token=token), "cancel", session)

    def together(self, calls: list[Call]) -> list[Exchange]:
        """Send `calls` at once (`Client.send_together`); learns the tokens starts answer."""
        return [self._learn(ex, token=True) for ex in self.client.send_together(calls)]

    # --- fixtures and reads ------------------------------------------------------

    def create_folder(self, session: Session, parent: int, name: str) -> Exchange:
        return self.create_folders(session, [(parent, name)])[0]

    def create_folders(self, session: Session, folders: list[tuple[int, str]]) -> list[Exchange]:
        """Create a folder of each (parent, name), sent together when there are several and
        the client can (a fixture tree's level is one round trip, not one per folder)."""
        calls = [
            Call(
                "POST",
                self._path(self.profile.children_path, entry=parent),
                "create-folder",
                session,
                *self.profile.with_rename({"name": name, "entryType": "Folder"}, False),
            )
            for parent, name in folders
        ]
        return [self._learn(ex, entry=True) for ex in self._send(calls)]

    def get_entry(self, session: Session, entry: int, *, action: str = "get-entry") -> Exchange:
        return self.client.send(
            "GET", self._path(self.profile.entry_path, entry=entry), action=action, session=session
        )

    def follow(self, session: Session, location: str) -> Exchange:
        return self.client.send("GET", location, action="follow-location", session=session)

    def list_children(self, session: Session, folder: int) -> list[Exchange]:
        """Every page of a folder listing (follows `@odata.nextLink`, at most 50 pages)."""
        return self.list_folders(session, [folder])[0]

    def list_folders(self, session: Session, folders: list[int]) -> list[list[Exchange]]:
        """`list_children` of each folder, in order; the first pages sent together when
        there are several and the client can (one round trip for a tree's level instead
        of one per folder: a slow network pays for every one), the further pages after."""
        firsts = [
            Call("GET", self._path(self.profile.children_path, entry=f), "list", session)
            for f in folders
        ]
        answers = self._send(firsts)
        return [
            self._rest(session, folder, [first])
            for folder, first in zip(folders, answers, strict=True)
        ]

    def _send(self, calls: list[Call]) -> list[Exchange]:
        """Each call's exchange, in order: sent together, a few at a time, when there are
        several and the client can (a wide level is no burst a server must absorb), else
        one by one."""
        if len(calls) > 1 and self.client.can_send_together:
            return [
                ex
                for at in range(0, len(calls), AT_ONCE)
                for ex in self.client.send_together(calls[at : at + AT_ONCE])
            ]
        return [
            self.client.send(
                c.method,
                c.url,
                action=c.action,
                session=c.session,
                json_body=c.json_body,
                params=c.params,
            )
            for c in calls
        ]

    def _rest(self, session: Session, folder: int, pages: list[Exchange]) -> list[Exchange]:
        while len(pages) < 50:
            body = pages[-1].json()
            link = body.get("@odata.nextLink") if isinstance(body, dict) else None
            if pages[-1].status != self.profile.entry_read or not isinstance(link, str) or not link:
                break
            pages.append(self.client.send("GET", link, action="list", session=session))
        if folder in self.owned_entries:  # what lies in the run's own folders is the run's
            for page in pages:
                body = page.json()
                listed = isinstance(body, dict) and page.status == self.profile.entry_read
                value = body.get("value") if listed else None
                for item in value if isinstance(value, list) else []:
                    if isinstance(item, dict) and isinstance(item.get("id"), int):
                        self.owned_entries.add(item["id"])
        return pages


def listed_entries(pages: list[Exchange], parent: int, profile: Profile) -> list[Node] | None:
    """The entries the pages of `parent`'s listing hold, or None when one of them is not
    a complete, readable page (an answer other than the profile's, no `value` array, an
    entry without an integer id)."""
    found = []
    for page in pages:
        body = page.json()
        value = body.get("value") if isinstance(body, dict) else None
        if page.status != profile.entry_read or not isinstance(value, list):
            return None
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                return None
            found.append(
                Node(item["id"], parent, str(item.get("name")), str(item.get("entryType")))
            )
    return found
