"""Checks of what an operation did to the repository: RED-4, ISO-2, CAN-2, STA-6, and
the side-effect clauses of requests that must change nothing (CON-1, CON-4, AUT-1, SUB-3)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..model import Status
from ..sandbox import Change, Tree, diff, name_key
from .facts import Intent, LookFacts, LookupFacts, SettledFacts, Suspect
from .registry import CheckFn, Context, Failure, check, fail


@check("RED-4", "settled")
def completed_effect_is_right(ctx: Context) -> list[Failure] | None:
    facts, intent = ctx.facts, ctx.intent
    if not isinstance(facts, SettledFacts) or intent is None:
        return None
    if facts.status is not Status.COMPLETED or intent.missing:
        return None
    after = facts.after
    before = intent.before
    if intent.kind == "delete":
        left = before.subtree(intent.target) & after.nodes.keys()
        if left:
            return fail(
                "a Completed delete left entries behind",
                f"entry #{intent.target} and its subtree gone",
                f"still listed: {sorted(left)}",
            )
        return []
    new_id = facts.result
    if new_id is None or new_id not in after.nodes:
        return None  # no usable Location: RED-1/RED-2 report it
    if before.shape(intent.target) != after.shape(new_id):
        return fail(
            "a Completed copy does not reproduce the source subtree",
            f"the structure of #{intent.target}: {_render_shape(before.shape(intent.target))}",
            f"#{new_id}: {_render_shape(after.shape(new_id))}",
        )
    return []


@check("RED-4", "deleted-entry")
def deleted_entry_is_gone(ctx: Context) -> list[Failure] | None:
    """An entry of a Completed delete's subtree, looked up by id: 404. A 2xx naming another
    entry is an id the server gave again (allowed); one naming the deleted entry (same
    name, same parent) is the entry still there."""
    if not isinstance(ctx.facts, LookupFacts):
        return None
    status, gone = ctx.exchange.status or 0, ctx.facts.gone
    if status == ctx.profile.not_found:
        return []
    if status >= 500 or status in ctx.profile.unavailable:
        return None  # ERR-3 judges a 5xx; a rate limit tells nothing
    target = ctx.intent.target if ctx.intent else "?"
    expected = f"404 for entry #{gone.id} (in the subtree of #{target}, deleted)"
    if 200 <= status < 300:
        body = ctx.body()
        same = (
            isinstance(body, dict)
            and body.get("id") == gone.id
            and body.get("parentId") == gone.parent
            and name_key(str(body.get("name"))) == name_key(gone.name)
        )
        if not same:
            return None
        return fail(
            "an entry of a Completed delete's subtree is still there",
            expected,
            f"{status}: {gone.name!r} in #{gone.parent}",
        )
    return fail(
        "an entry of a Completed delete's subtree did not answer 404", expected, f"{status}"
    )


@check("ISO-2", "settled", "inspected")
def effects_stay_inside(ctx: Context) -> list[Failure] | None:
    """At an operation's end: it changed nothing outside its subtrees. In a listing of an
    area where some operation ran since it was last checked: nothing unexplained changed."""
    if not isinstance(ctx.facts, LookFacts):
        return None
    if ctx.action == "inspected":
        if not ctx.facts.operations_ran:
            return None
        return _unexplained(
            ctx.facts,
            "an operation changed entries outside its subtrees",
            "no change in an area none of whose operations ran",
        )
    if _cancelled_alone(ctx):
        return None  # CAN-2 judges a cancelled operation that ran alone
    return _outside_changes(ctx, "an operation changed entries outside its subtrees")


@check("CAN-2", "settled")
def cancelled_results_stay_inside(ctx: Context) -> list[Failure] | None:
    if not _cancelled_alone(ctx):
        return None
    return _outside_changes(ctx, "a cancelled operation left results outside its destination")


def _cancelled_alone(ctx: Context) -> bool:
    """A cancelled operation during whose life no other session's operation ran: only it
    can have made a change outside its region (otherwise ISO-2 speaks for any of them)."""
    facts = ctx.facts
    return (
        isinstance(facts, SettledFacts)
        and facts.status is Status.CANCELLED
        and not facts.others_ran
    )


def _outside_changes(ctx: Context, title: str) -> list[Failure] | None:
    intent, facts = ctx.intent, ctx.facts
    if intent is None or not isinstance(facts, SettledFacts):
        return None
    after = facts.after
    outside = outside_changes(intent, after, facts.result, facts.status)
    _, outside = split_change(outside, intent.before, after, facts.suspects)
    if not outside:
        return []
    region = (
        f"under destination #{intent.dest}"
        if intent.kind == "copy"
        else f"inside #{intent.target}'s subtree"
    )
    return fail(title, f"changes only {region}", outside.describe(intent.before, after))


def outside_changes(intent: Intent, after: Tree, result: int | None, status: Status) -> Change:
    """The part of the area's change that the operation had no business making."""
    change = diff(intent.before, after)
    if intent.kind == "copy" and intent.dest is not None:
        allowed_add = {
            i for i in change.added if _added_under(after, i, intent.dest, intent.before)
        }
        if status is Status.COMPLETED and result is not None:
            allowed_add = after.subtree(result) & change.added
        return Change(change.added - allowed_add, change.removed, change.altered)
    subtree = intent.before.subtree(intent.target)
    return Change(change.added, change.removed - subtree, change.altered - subtree)


def _added_under(after: Tree, entry: int, dest: int, before: Tree) -> bool:
    """True when a new entry hangs below `dest` through new entries only."""
    node = after.nodes.get(entry)
    while node is not None and node.parent is not None:
        if node.parent == dest:
            return True
        if node.parent in before.nodes:
            return False
        node = after.nodes.get(node.parent)
    return False


def _render_shape(shape: tuple[str, tuple], depth: int = 0) -> str:
    kind, kids = shape
    inner = ", ".join(f"{name}: {_render_shape(s, depth + 1)}" for name, s in kids)
    return f"{kind}[{inner}]" if kids else kind


#
# Requests that must change nothing (rejected, unauthenticated, malformed starts) are
# remembered as suspects; when a listing shows a change, each suspect's clause claims
# the part of it the suspect would have made (an entry with its name, the removal of
# its target). What no suspect claims is the operation's doing (ISO-2 / CAN-2), or,
# in an area where no operation ran, the polls' (STA-6).


def split_change(
    change: Change, before: Tree, after: Tree, suspects: Sequence[Suspect]
) -> tuple[dict[str, Change], Change]:
    """The part of `change` each suspect's clause claims, and the rest.

    A suspect claims an added entry with the name it asked for (exact matches first,
    then renamed forms such as "x (2)") with everything below it, and the removal of
    its target's subtree."""
    claimed: dict[str, set[int]] = {}
    rest_added, rest_removed = set(change.added), set(change.removed)
    for matches in (_same_name, _renamed_form):
        for root in sorted(rest_added):
            if root not in rest_added:
                continue  # taken with an earlier root's subtree
            clauses = {s.clause for s in suspects if matches(after.nodes[root].name, s.names)}
            if not clauses:
                continue
            below = after.subtree(root) & rest_added
            rest_added -= below
            if len(clauses) == 1:  # two clauses' suspects asked for it: nobody is blamed
                claimed.setdefault(clauses.pop(), set()).update(below)
    for suspect in suspects:
        removed = set().union(*(before.subtree(t) for t in suspect.targets)) & rest_removed
        claimed.setdefault(suspect.clause, set()).update(removed)
        rest_removed -= removed
    none: frozenset[int] = frozenset()
    by_clause = {
        clause: Change(frozenset(ids & change.added), frozenset(ids & change.removed), none)
        for clause, ids in claimed.items()
        if ids
    }
    return by_clause, Change(frozenset(rest_added), frozenset(rest_removed), change.altered)


def _same_name(name: str, keys: frozenset[str]) -> bool:
    return name_key(name) in keys


def _renamed_form(name: str, keys: frozenset[str]) -> bool:
    key = name_key(name)
    return any(re.match(re.escape(k) + r"[\s(\-_.]", key) for k in keys)


def _claimed_by(clause: str, what: str) -> CheckFn:
    """A check that the requests under `clause`'s suspicion changed nothing. Every suspect
    takes part in the split: an entry another clause's suspect could equally have made
    (names alike) is nobody's, not this clause's."""

    def claimed_change(ctx: Context) -> list[Failure] | None:
        facts = ctx.facts
        if not isinstance(facts, LookFacts) or not any(s.clause == clause for s in facts.suspects):
            return None
        before, after = facts.before, facts.after
        claimed, _ = split_change(_unasked(facts, ctx), before, after, facts.suspects)
        if clause not in claimed:
            return []
        return fail(
            f"{what} changed the repository",
            "no change from it",
            claimed[clause].describe(before, after),
        )

    claimed_change.__name__ = f"{what.replace(' ', '_').replace('-', '_')}_changed_nothing"
    return claimed_change


for _clause, _what in (
    ("CON-1", "a start refused with 429"),
    ("CON-4", "a start refused among simultaneous ones"),
    ("AUT-1", "an unauthenticated request"),
    ("SUB-3", "a malformed start"),
    ("STA-6", "a poll of a finished copy"),
):
    check(_clause, "settled", "inspected", "outside")(_claimed_by(_clause, _what))


# Where the sandboxes live (`--parent-id`), once an example is over: its new entries that
# carry the run's marker (`outside`). Each is charged to whoever asked for its name: a
# cancelled copy (CAN-2), a request that must change nothing (above), any other start
# (ISO-2); one nobody asked for by name (a fixture's, a subtree's) to the operations.


@check("ISO-2", "outside")
def nothing_lands_outside_the_sandbox(ctx: Context) -> list[Failure] | None:
    facts = ctx.facts
    if not isinstance(facts, LookFacts) or not facts.operations_ran:
        return None  # only operations are suspected of it (ISO-2 names every copy's name)
    claimed, rest = _outside_split(facts)  # what no suspect claims is the operations' doing
    copies = claimed.get("ISO-2")
    added = rest.added | (copies.added if copies else frozenset())
    leaked = Change(added, frozenset(), frozenset())
    return _landed_outside(facts, leaked, "an operation created entries outside the sandbox")


@check("CAN-2", "outside")
def cancelled_results_not_outside_the_sandbox(ctx: Context) -> list[Failure] | None:
    facts = ctx.facts
    if not isinstance(facts, LookFacts) or not any(s.clause == "CAN-2" for s in facts.suspects):
        return None
    claimed, _ = _outside_split(facts)
    leaked = claimed.get("CAN-2")
    title = "a cancelled copy left results outside the sandbox"
    return _landed_outside(facts, leaked, title) if leaked else []


def _outside_split(facts: LookFacts) -> tuple[dict[str, Change], Change]:
    before, after = facts.before, facts.after
    return split_change(diff(before, after), before, after, facts.suspects)


def _landed_outside(facts: LookFacts, leaked: Change, title: str) -> list[Failure]:
    if not leaked:
        return []
    parent = facts.after.root
    return fail(
        title,
        f"nothing the run asked for in folder #{parent}, where its sandboxes are made",
        leaked.describe(facts.before, facts.after),
    )


@check("STA-6", "repeat-polls", "inspected")
def polling_has_no_side_effects(ctx: Context) -> list[Failure] | None:
    """Listings around polls (or of an area where only polls and reads happened since it
    was last checked) show no change that a suspect does not claim."""
    if not isinstance(ctx.facts, LookFacts) or ctx.facts.operations_ran:
        return None
    return _unexplained(
        ctx.facts, "polling changed the repository", "the same entries before and after the polls"
    )


def _unasked(facts: LookFacts, ctx: Context) -> Change:
    """The change suspects may claim: everything, less what may be the settling
    operation's own doing (a delete's target subtree; a copy's result subtree and
    entries named as it asked), which no suspect can be blamed for."""
    before, after = facts.before, facts.after
    change = diff(before, after)
    intent = ctx.intent
    if not isinstance(facts, SettledFacts) or intent is None:
        return change
    if intent.kind == "delete":
        return Change(change.added, change.removed - before.subtree(intent.target), change.altered)
    mine: set[int] = set()
    result = facts.result
    if result is not None:
        mine |= after.subtree(result)
    wanted = name_key(intent.name or "")
    for entry in change.added:
        key = name_key(after.nodes[entry].name)
        if key == wanted or (intent.auto_rename and key.startswith(wanted)):
            mine |= after.subtree(entry)
    return Change(change.added - mine, change.removed, change.altered)


def _unexplained(facts: LookFacts, title: str, expected: str) -> list[Failure]:
    """A failure for the change between two listings that no suspect claims, if any."""
    before, after = facts.before, facts.after
    _, rest = split_change(diff(before, after), before, after, facts.suspects)
    if not rest:
        return []
    return fail(title, expected, rest.describe(before, after))
