"""Rules that come at the server from outside the lifecycle: another session, tokens it
never issued, missing or wrong credentials, malformed starts."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

import strategies as gen

from ..checks import Suspect
from ..checks.facts import AuthFacts, MalformedFacts
from ..client import Session
from ..model import ForeignCancel, Rejected
from ..sandbox import name_key
from .base import MachineBase


class StrangerRules(MachineBase):
    # --- other sessions, strangers, bad input -----------------------------------------

    def _stranger(self, data: st.DataObject, token: str) -> Session | None:
        others = [s for s in self.conn.sessions if s.label != self.tracked[token].intent.session]
        return data.draw(st.sampled_from(others), label="other session") if others else None

    @precondition(lambda self: self.tracked and len(self.conn.sessions) > 1)
    @rule(data=st.data(), cancel=st.booleans())
    def reach_other_session(self, data: st.DataObject, cancel: bool) -> None:
        """Poll or cancel another session's operation: the server must not let it."""
        token = data.draw(st.sampled_from(list(self.tracked)), label="token")
        stranger = self._stranger(data, token)
        assert stranger is not None
        if cancel:
            running = self.model.may_be_running(self.model.ops[token], self.now)
            ex = self.api.cancel(stranger, token, action="cancel-foreign")
            self.judge("cancel-foreign", ex, obs=ForeignCancel(token, ex.at), token=token)
            if running:
                self._poll(token)  # the owner's view: a refused cancel must not have acted
        else:
            self.judge(
                "poll-foreign", self.api.poll(stranger, token, action="poll-foreign"), token=token
            )

    @rule(data=st.data(), cancel=st.booleans(), malformed=st.booleans())
    def unknown_token(self, data: st.DataObject, cancel: bool, malformed: bool) -> None:
        """Poll or cancel a token this server never issued."""
        sample = next(iter(list(self.tracked)), None)
        tokens = gen.malformed_tokens() if malformed else gen.unknown_tokens(sample)
        token = data.draw(tokens.filter(lambda t: t not in self.model.ops), label="unknown token")
        session = self.draw_session(data, self.conn.sessions)
        kind = "malformed" if malformed else "unknown"
        if cancel and not self.api.guarded:  # on a shared target, cancel only our own tokens
            ex = self.api.cancel(session, token, action=f"cancel-{kind}")
            self.judge(f"cancel-{kind}", ex, token=token)
        else:
            ex = self.api.poll(session, token, action=f"poll-{kind}")
            self.judge(f"poll-{kind}", ex, token=token)

    @rule(
        data=st.data(),
        auth=st.sampled_from(["none", "invalid"]),
        what=st.sampled_from(["poll", "start-copy", "start-delete", "list", "cancel", "follow"]),
    )
    def unauthenticated(self, data: st.DataObject, auth: str, what: str) -> None:
        """A request without a valid bearer token: 401, and nothing changes (a cancel of a
        running operation leaves it running: its owner looks at once)."""
        session = self.draw_session(data, self.conn.sessions)
        area = self.area_of(session)
        name = data.draw(self.names(), label="name")
        if what == "cancel" and self.tracked and not self.api.guarded:
            # A running operation where there is one: that is what a cancel could harm.
            live = [
                t for t in self.tracked if self.model.may_be_running(self.model.ops[t], self.now)
            ]
            token = data.draw(st.sampled_from(live or list(self.tracked)), label="token")
            running = self.model.may_be_running(self.model.ops[token], self.now)
            ex = self.api.cancel(session, token, auth=auth, action="unauthenticated")  # type: ignore[arg-type]
            obs = ForeignCancel(token, ex.at, "credentials")
            self.judge(
                "unauthenticated",
                ex,
                obs=obs,
                facts=AuthFacts("no" if auth == "none" else "an invalid"),
            )
            if running:
                self._poll(token)
            return
        if what == "follow" and self.locations:  # a completed copy's result, no credentials
            location = data.draw(st.sampled_from(self.locations), label="location")
            ex = self.api.client.send(
                "GET", location, action="unauthenticated", session=session, auth=auth
            )  # type: ignore[arg-type]
            self.judge(
                "unauthenticated", ex, facts=AuthFacts("no" if auth == "none" else "an invalid")
            )
            return
        if what in ("poll", "cancel", "follow") and self.tracked:
            token = data.draw(st.sampled_from(list(self.tracked)), label="token")
            ex = self.api.poll(session, token, auth=auth, action="unauthenticated")  # type: ignore[arg-type]
        elif what == "start-copy":
            ex = self.api.start_copy(
                session,
                area.root,
                {"sourceId": area.root, "name": name},
                auth=auth,
                action="unauthenticated",
            )  # type: ignore[arg-type]
            area.suspects.append(Suspect("AUT-1", "unauthenticated", frozenset({name_key(name)})))
        elif what == "start-delete" and len(area.tree.nodes) > 1:
            target = self._entry_choice(data, area, folders=False, root=False)
            ex = self.api.start_delete(session, target, auth=auth, action="unauthenticated")  # type: ignore[arg-type]
            area.suspects.append(Suspect("AUT-1", "unauthenticated", targets=frozenset({target})))
        else:
            ex = self.api.client.send(
                "GET",
                self.api._path(self.conn.profile.children_path, entry=area.root),
                action="unauthenticated",
                session=session,
                auth=auth,
            )  # type: ignore[arg-type]
        self.judge("unauthenticated", ex, facts=AuthFacts("no" if auth == "none" else "an invalid"))

    @precondition(lambda self: self.free_sessions())
    @rule(data=st.data())
    def malformed_start(self, data: st.DataObject) -> None:
        """A start with broken input: 400, and nothing starts or changes."""
        session = self.draw_session(data, self.free_sessions())
        area = self.area_of(session)
        source = self._entry_choice(data, area, folders=False, root=True)
        name = data.draw(self.names(), label="name")
        bad = data.draw(
            gen.malformed_starts(source, name, delete_comment=self.conn.profile.delete_comment),
            label="malformation",
        )
        targets: frozenset[int] = frozenset()
        if bad.kind == "copy":
            ex = self.api.start_copy(
                session,
                bad.bad_path_id or area.root,
                bad.body,
                raw=bad.raw,
                auto_rename=False,
                action="start-malformed",
            )
        elif bad.malformed_path:
            ex = self.api.start_delete(session, bad.bad_path_id, action="start-malformed")
        else:  # a real entry, a broken body: deleting it would be the bad input's doing
            targets = frozenset({source})
            ex = self.api.start_delete(
                session, source, body=bad.body, raw=bad.raw, action="start-malformed"
            )
        sent = (
            bad.body.get("name") if isinstance(bad.body, dict) else None
        )  # raw bodies name nothing
        names = frozenset({name_key(sent)}) if isinstance(sent, str) else frozenset()
        area.suspects.append(Suspect("SUB-3", "start-malformed", names, targets))
        # "Busy" is a refusal too: whether the session had a free slot is CON-2's question.
        busy = ex.status == self.conn.profile.busy
        self.judge(
            "start-malformed",
            ex,
            obs=Rejected(session.label, ex.at) if busy else None,
            facts=MalformedFacts(
                bad.description,
                bad.malformed_path,
                self._missing(source),  # a removed entry may be refused 404 first
            ),
        )
