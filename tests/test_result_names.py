"""RED-2's name rule, where other operations move the destination's siblings while a
copy runs: a name is taken if held at the copy's start or end, blocked only if at both."""

from __future__ import annotations

import pytest

from contract.checks import Intent
from contract.checks.results import _acceptable_name
from contract.sandbox import Node, Tree

AREA, SOURCE = 5, 10


def area(*names: str) -> Tree:
    tree = Tree(AREA, {AREA: Node(AREA, 2, "area", "Folder")})
    tree = tree.with_node(Node(SOURCE, AREA, "0", "Folder"))
    for i, name in enumerate(names):
        tree = tree.with_node(Node(20 + i, AREA, name, "Folder"))
    return tree


def intent(before: Tree, name: str, auto_rename: bool) -> Intent:
    return Intent("copy", "s1", SOURCE, AREA, name, auto_rename, False, before)


@pytest.mark.parametrize(
    ("before", "now", "auto_rename", "got", "ok"),
    [
        # a sibling named "1" was being deleted as the copy started: "1" was free to take
        (area("1"), area(), True, "1", True),
        (area("1"), area(), True, "1 (2)", True),
        # held throughout: the copy must not take it; with autoRename another name
        (area("1"), area("1"), True, "1", False),
        (area("1"), area("1"), True, "1 (2)", True),
        (area("1"), area("1"), False, "1 (2)", False),
        # a sibling "1" created while the copy ran: renaming was allowed
        (area(), area("1"), True, "1 (2)", True),
        # nothing in the way: the requested name, exactly
        (area(), area(), True, "1 (2)", False),
        (area(), area(), False, "1", True),
        (area(), area(), False, "2", False),
        # a rename may not land on a name held throughout
        (area("1", "x"), area("1", "x"), True, "x", False),
    ],
)
def test_a_copy_may_take_a_name_free_at_some_moment_it_ran(before, now, auto_rename, got, ok):
    assert _acceptable_name(intent(before, "1", auto_rename), got, now) is ok


@pytest.mark.parametrize(
    ("auto_rename", "got", "ok"), [(True, "1 (2)", True), (False, "1 (2)", False)]
)
def test_in_an_entangled_area_a_renamed_result_is_not_blamed(auto_rename, got, ok):
    """An earlier copy whose token expired unseen took "1": the run's picture of the
    destination does not show it, so the rename cannot be judged (found by a clean soak,
    seed 31)."""
    assert _acceptable_name(intent(area(), "1", auto_rename), got, area(), unsure=True) is ok
