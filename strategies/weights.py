"""Weighted choice between strategies.

`st.one_of(a, a, a, b)` does not pick `a` three times as often as `b`: Hypothesis
picks among the distinct branches. `mostly` gives real odds.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


def mostly(
    common: st.SearchStrategy[T], rare: st.SearchStrategy[T], odds: int = 6
) -> st.SearchStrategy[T]:
    """`common` about `odds` times as often as `rare`."""
    return st.sampled_from([True] * odds + [False]).flatmap(lambda pick: common if pick else rare)
