"""How far to move the clock: small steps through an operation, bigger ones across a TTL."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st


@cache
def clock_steps() -> st.SearchStrategy[float]:
    """Seconds to advance: mostly a few seconds, sometimes minutes."""
    return st.one_of(
        st.sampled_from([0.5, 1.0, 2.0]),
        st.floats(0.1, 10.0),
        st.floats(10.0, 300.0),
    )


@cache
def cancel_leads() -> st.SearchStrategy[float]:
    """Seconds to let a running operation run before cancelling it: a third of the time
    none (a cancel before it starts), otherwise a few, so that the cancel catches it
    midway and leaves partial results."""
    return st.sampled_from([0.0, 2.5, 0.0, 4.0, 1.5, 8.0])


@cache
def poll_spacings() -> st.SearchStrategy[float | None]:
    """Seconds between the polls of a wait for an operation's end: mostly None (ever wider
    steps), sometimes short even ones. None is first: shrinking goes there."""
    return st.sampled_from([None, None, None, None, None, 0.5, 1.0, 0.25])


@cache
def first_waits() -> st.SearchStrategy[float]:
    """Seconds to move the clock before the first poll of a wait for an operation's end:
    mostly none (watch it run), sometimes one long leap. The leap is
    where shrinking goes, so a counterexample waits in one step, not many."""
    return st.sampled_from([60.0, 0.0, 0.0, 0.0, 0.0, 0.0])


@cache
def expiry_offsets() -> st.SearchStrategy[float]:
    """Seconds past the edge of the uncertain window around a token's expiry."""
    return st.one_of(st.just(0.05), st.floats(0.01, 2.0), st.floats(2.0, 120.0))
