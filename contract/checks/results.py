"""Checks of a completed copy's answer and its redirect: RED-1, RED-2, RED-3."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from ..dialects import PollReport
from ..model import Status
from ..profiles import Profile
from ..sandbox import Tree, name_key, same_name
from .facts import FollowFacts, Intent
from .registry import Context, Failure, check, fail, reported


def _completed_copy(ctx: Context) -> PollReport | None:
    """The report of a poll that says a copy Completed; None for any other answer."""
    if ctx.op is None or ctx.op.kind != "copy" or reported(ctx) != Status.COMPLETED.value:
        return None
    return ctx.report


def resolve_location(base_url: str, location: str) -> str:
    return urljoin(base_url.rstrip("/") + "/", location)


def location_entry(base_url: str, profile: Profile, location: str) -> tuple[str, int] | None:
    """(repo id, entry id) from a Location, or None when it does not point at an entry
    of the target: a link to another origin names none (RED-1 says so), and the run must
    not follow it there with the session's bearer token.

    The base URL may carry a path prefix (a real service lives at .../repository);
    the guide also shows Locations without it, so both are read."""
    url, base = urlsplit(resolve_location(base_url, location)), urlsplit(base_url)
    if (url.scheme, url.netloc) != (base.scheme, base.netloc):
        return None
    base_path = base.path.rstrip("/")
    path = url.path
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    match = profile.entry_location().match(path)
    return (match["repo"], int(match["entry"])) if match else None


@check("RED-1", "poll")
def completed_copy_redirects(ctx: Context) -> list[Failure] | None:
    report = _completed_copy(ctx)
    if report is None:
        return None
    status, location, link = ctx.exchange.status, report.link, ctx.profile.members.link
    if status != ctx.profile.poll_completed_copy:
        return fail(
            "a Completed copy answered the wrong status",
            f"{ctx.profile.poll_completed_copy} with {link}",
            f"{status}",
        )
    if not location:
        return fail(f"a Completed copy answered without {link}", f"a {link}", "none")
    base, target = urlsplit(ctx.base_url), urlsplit(resolve_location(ctx.base_url, location))
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        return fail(f"{link} points at another origin", f"{base.scheme}://{base.netloc}", location)
    found = location_entry(ctx.base_url, ctx.profile, location)
    if found is None:
        return fail(
            f"{link} does not point at an entry",
            f"/{ctx.profile.repository_path('{repoId}')}Entries/{{newId}}",
            location,
        )
    if found[0] != ctx.repo_id:
        return fail(f"{link} points at another repository", f"repository {ctx.repo_id!r}", location)
    return []


@check("RED-3", "poll")
def body_agrees_with_location(ctx: Context) -> list[Failure] | None:
    report = _completed_copy(ctx)
    if report is None or not report.link or not report.claims:
        return None
    link, location = ctx.profile.members.link, report.link
    found = location_entry(ctx.base_url, ctx.profile, location)
    checked = False
    for claim in report.claims:
        if claim.kind == "uri":
            checked = True
            if resolve_location(ctx.base_url, claim.value) != resolve_location(
                ctx.base_url, location
            ):
                return fail(f"{claim.field} disagrees with {link}", location, claim.value)
        elif claim.kind == "entry" and found is not None:
            checked = True
            if claim.value != found[1]:
                return fail(
                    f"{claim.field} disagrees with {link}",
                    f"{claim.field} {found[1]}",
                    f"{claim.field} {claim.value}",
                )
    return [] if checked else None


@check("RED-2", "follow-location")
def location_leads_to_new_entry(ctx: Context) -> list[Failure] | None:
    intent, ex, facts = ctx.intent, ctx.exchange, ctx.facts
    if intent is None or intent.dest is None or not isinstance(facts, FollowFacts):
        return None
    if ex.status != ctx.profile.entry_read:
        return fail(
            f"following {ctx.profile.members.link} did not give the entry",
            f"{ctx.profile.entry_read} and the new entry",
            f"{ex.status}",
        )
    body = ctx.body() if isinstance(ctx.body(), dict) else {}
    source = intent.before.nodes.get(intent.target)
    problems = []
    if body.get("id") != facts.entry_id:
        problems.append(
            f"id {body.get('id')!r} ({ctx.profile.members.link} names {facts.entry_id})"
        )
    if body.get("parentId") != intent.dest:
        problems.append(f"parentId {body.get('parentId')!r} (destination is {intent.dest})")
    if source is not None and body.get("entryType") != source.type:
        problems.append(f"entryType {body.get('entryType')!r} (source is {source.type})")
    name = body.get("name")
    if not isinstance(name, str) or not _acceptable_name(intent, name, facts.now, facts.unsure):
        problems.append(
            f"name {name!r} (requested {intent.name!r}, autoRename={intent.auto_rename})"
        )
    if problems:
        return fail(
            f"{ctx.profile.members.link} leads to the wrong entry",
            "the new entry: requested name, parent = destination, type of the source",
            "; ".join(problems),
        )
    return []


def _acceptable_name(intent: Intent, name: str, now: Tree | None, unsure: bool = False) -> bool:
    """The requested name, or with autoRename another one when the requested one was
    taken. What the destination held is known at the copy's start (`intent.before`)
    and at its end (`now`, the run's picture then); in between other operations may
    have removed or added a sibling, so a name counts as taken if it was held at
    either moment, and as blocked only if it was held at both. `unsure`: the area is
    entangled (an operation of the session went unseen), so the picture may lack a
    sibling that took the name: with autoRename any name will do."""
    assert intent.name is not None and intent.dest is not None
    if unsure:
        return bool(name.strip()) if intent.auto_rename else same_name(name, intent.name)
    before = [n.name for n in intent.before.children(intent.dest)]
    after = [n.name for n in now.children(intent.dest)] if now is not None else before
    if same_name(name, intent.name) and name_key(name) == name_key(intent.name):
        return not _held(name, before, after, at_both=True)
    taken = _held(intent.name, before, after, at_both=False)
    return (
        intent.auto_rename
        and taken
        and bool(name.strip())
        and not _held(name, before, after, at_both=True)
    )


def _held(name: str, before: list[str], after: list[str], *, at_both: bool) -> bool:
    seen = [any(same_name(s, name) for s in names) for names in (before, after)]
    return all(seen) if at_both else any(seen)
