"""Checks of one status answer: STA-1, STA-2, STA-3, STA-5."""

from __future__ import annotations

from ..dialects import MISSING
from ..model import ENDED, RUNNING, WIRE_STATUSES, Status
from .facts import PollFacts
from .registry import Context, Failure, check, fail, progress, reported, short


@check("STA-1", "poll")
def poll_status_is_known(ctx: Context) -> list[Failure] | None:
    status = ctx.exchange.status or 0
    if 300 <= status < 400:
        return _redirect_is_a_completed_copy(ctx)
    if not 200 <= status < 300:
        return None
    if ctx.report.gone:  # the token is unknown (404 in v1): the model judges that
        return None
    report = progress(ctx)
    wire = report.status if report else None
    if wire not in WIRE_STATUSES:
        return fail(
            "poll answered an unknown status",
            f"a JSON body with status in {sorted(WIRE_STATUSES)}",
            short(ctx.exchange.response_body),
        )
    state = Status(wire)
    if state in RUNNING and status != ctx.profile.poll_running:
        return fail(
            f"a {wire} operation answered {status}", f"{ctx.profile.poll_running}", f"{status}"
        )
    completed_copy = state is Status.COMPLETED and ctx.op is not None and ctx.op.kind == "copy"
    if state in ENDED and not completed_copy and status != ctx.profile.poll_ended:
        return fail(
            f"a {wire} operation answered {status}", f"{ctx.profile.poll_ended}", f"{status}"
        )
    return []


def _redirect_is_a_completed_copy(ctx: Context) -> list[Failure]:
    """A redirect reports one thing only, where the profile says so: a Completed copy."""
    status, profile = ctx.exchange.status, ctx.profile
    copy = ctx.op is not None and ctx.op.kind == "copy"
    if reported(ctx) == Status.COMPLETED.value and copy:
        return []
    expected = f"a status body ({profile.poll_running} or {profile.poll_ended})"
    if profile.completion_redirects:
        link = profile.members.link
        expected += f", or {profile.poll_completed_copy} with {link} for a Completed copy"
    actual = f"{status} ({profile.members.link}: {ctx.report.link or 'none'})"
    what = "a delete" if ctx.op is not None and not copy else "a poll"
    return fail(f"{what} answered a redirect", expected, actual)


@check("STA-2", "poll")
def poll_echoes_token(ctx: Context) -> list[Failure] | None:
    report = progress(ctx)
    if report is None or ctx.op is None:
        return None
    token, names = ctx.token, ctx.profile.members
    if report.token != token:
        return fail(
            "status body does not echo the token",
            f"{names.token} {token!r}",
            f"{names.token} {_sent(report.token)!r}",
        )
    kind, name = ctx.op.kind, report.kind
    if not isinstance(name, str) or not name:
        return fail(f"status body names no {names.kind}", "a non-empty string", repr(_sent(name)))
    other = "delete" if kind == "copy" else "copy"
    known = ctx.facts.operation_types if isinstance(ctx.facts, PollFacts) else {}
    if kind in known and known[kind] != name:
        return fail(f"{names.kind} changed for a {kind}", repr(known[kind]), repr(name))
    if known.get(other) == name or other in name.casefold():
        return fail(f"a {kind} is named like a {other}", f"a {names.kind} for a {kind}", repr(name))
    return []


def _sent(value: object) -> object:
    """A member's value as sent (None when the document lacks it)."""
    return None if value is MISSING else value


@check("STA-3", "poll")
def percent_is_sane(ctx: Context) -> list[Failure] | None:
    report = progress(ctx)
    if report is None or ctx.op is None or report.percent is MISSING:
        return None
    pct, name = report.percent, ctx.profile.members.percent
    if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
        return fail(f"{name} out of range", "an integer in 0..100", repr(pct))
    if ctx.op.percent is not None and pct < ctx.op.percent:
        return fail(f"{name} went down", f">= {ctx.op.percent} (seen before)", f"{pct}")
    if report.status == Status.COMPLETED.value and pct != 100:
        return fail("a Completed operation is not at 100%", "100", f"{pct}")
    return []


@check("STA-5", "poll")
def failures_carry_errors(ctx: Context) -> list[Failure] | None:
    report = progress(ctx)
    if report is None:
        return None
    names = ctx.profile.members
    if not report.errors_valid:
        return fail(
            f'"{names.errors}" is not an array',
            "an array (empty when nothing failed)",
            repr(_sent(report.errors)),
        )
    if report.status != Status.FAILED.value:
        return []
    if not report.error_messages:
        return fail(
            "a Failed operation carries no error message",
            f"at least one error with a non-empty {names.error_message}",
            short(repr(_sent(report.errors))),
        )
    return []
