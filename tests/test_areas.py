"""Where an example works: the sandbox is the first session's area, and the other
sessions' areas are folders in it that the first area's picture leaves out."""

from __future__ import annotations

from hypothesis import given

import strategies as gen
from contract.machine import LongOperationMachine, Run
from contract.model import TRANSITIONS, Timing
from contract.profiles import profile
from contract.runner import Options, explore
from contract.targets import MockTarget
from contract.verdicts import Recorder


def machine(sessions: int = 3) -> LongOperationMachine:
    target = MockTarget(profile("openapi-v1"), sessions=sessions)
    return LongOperationMachine(Run(target, Recorder(), Timing()))


def test_the_sandbox_is_the_first_area_and_holds_the_others_out_of_its_picture():
    m = machine()
    m.prepare(lambda session: gen.Shape("x", (gen.Shape("y"),)))
    first, *others = (m.areas[s.label] for s in m.conn.sessions)
    assert first.root == m.sandbox
    listed = m.api.list_children(first.session, first.root)[0].json()["value"]
    assert {o.root for o in others} <= {e["id"] for e in listed}  # they are there...
    seen = m._snapshot(first)
    assert seen is not None and seen.nodes.keys() == first.tree.nodes.keys()  # ...not seen
    assert not {o.root for o in others} & seen.nodes.keys()
    for other in others:
        assert other.tree.nodes[other.root].parent == m.sandbox
        assert len(other.tree.nodes) == 3  # its folder and its tree of two
    m._inspect(first)  # the first area's picture agrees with the server: nothing raised
    assert not m.run.recorder.failures


def test_a_second_area_made_while_the_first_is_in_use_changes_nothing_it_sees():
    m = machine(sessions=2)
    m._make_sandbox()
    first = m._make_area(m.conn.sessions[0], gen.Shape("x"))
    before = first.tree
    m.first_trees["session-2"] = gen.Shape("z")
    m.area_of(m.conn.sessions[1])  # made on first use, inside the sandbox
    assert m._snapshot(first) == before
    assert not m.run.recorder.failures


@given(gen.entry_names())
def test_no_drawn_name_can_take_an_area_folder_s_name(name):
    assert not name.casefold().startswith(gen.AREA_PREFIX)


def test_a_default_run_sees_every_step_of_the_lifecycle():
    """Each step of the transition table (`model.TRANSITIONS`) is seen by two polls of one
    operation, a cancel between them or not (the model's doubt after a cancel is no reason
    to call InProgress -> Cancelled unseen); a jump over states is no step. Which steps
    one seed's run happens on is luck (a rule more or less moves them): within three."""
    steps = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    seen: set[tuple[str, str]] = set()
    for seed in range(3):
        recorder = Recorder()
        explore(Options(seed=seed, shrink=False, fuzz_cases=0), recorder)
        seen |= set(recorder.transitions)
        if seen == steps:
            break
    assert seen == steps, steps - seen
