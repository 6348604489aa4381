"""The facts a rule hands to the checks: one type per action (`checks/facts.py`)."""

from __future__ import annotations

import pytest

from contract.checks import REGISTRY, Context
from contract.checks.facts import FACTS, Facts, LookFacts, PollFacts, SettledFacts, facts_type
from contract.client import Exchange
from contract.model import Status
from contract.profiles import OPENAPI_V1
from contract.sandbox import Node, Tree


def _exchange(action: str) -> Exchange:
    return Exchange(1, action, "s1", "GET", "u", {}, None, 0.0, 0.0, status=200)


def test_an_action_takes_its_own_facts_or_none_known():
    Context("poll", _exchange("poll"), OPENAPI_V1, "r1", "u", facts=PollFacts())
    Context("poll", _exchange("poll"), OPENAPI_V1, "r1", "u", facts=Facts())  # a replay's
    with pytest.raises(TypeError, match="poll takes PollFacts"):
        Context(
            "poll", _exchange("poll"), OPENAPI_V1, "r1", "u", facts=LookFacts(before=T, after=T)
        )


def test_a_subtype_stands_in_and_fuzzed_requests_share_one_type():
    settled = SettledFacts(before=T, after=T, status=Status.COMPLETED)
    Context("inspected", _exchange("inspected"), OPENAPI_V1, "r1", "u", facts=settled)
    assert facts_type("fuzz-start-copy") is FACTS["fuzz-"] is facts_type("fuzz-poll")
    assert facts_type("fuzz-aftermath") is not FACTS["fuzz-"]
    assert facts_type("list") is Facts


def test_without_the_facts_of_a_run_the_checks_that_need_them_stand_aside():
    """A replay knows only the requests: every check of a settled operation's effects
    leaves the answer alone rather than judge it without the sandbox's picture."""
    ctx = Context("settled", _exchange("settled"), OPENAPI_V1, "r1", "u")
    assert all(c.fn(ctx) is None for c in REGISTRY if "settled" in c.actions)


T = Tree(1, {1: Node(1, None, "root", "Folder")})
