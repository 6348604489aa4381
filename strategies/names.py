"""Entry names a repository must accept: unicode, spaces inside, long ones.

Never a name the repository rules forbid (empty, or with \\ / : * ? " < > |), and
no leading or trailing spaces or trailing dot, which servers may trim. Names are
NFC-normalised so a server that normalises returns the same string.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from hypothesis import strategies as st

from .weights import mostly

FORBIDDEN = '\\/:*?"<>|'  # a string, not a set: its order shapes generation

_plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
_unicode = st.text(
    alphabet=st.characters(
        categories=("Lu", "Ll", "Lo", "Nd", "Zs", "Pd", "Pc"),
        exclude_characters=FORBIDDEN,
        max_codepoint=0xFFFF,
    ),
    min_size=1,
    max_size=24,
)
_long = st.text(alphabet="abcdefghij klmnopqrstuvwxyz", min_size=100, max_size=120)


def _tidy(name: str) -> str:
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    return name.strip().rstrip(".")


#: How the folders of the sessions' areas are named (in the sandbox, which is the first
#: session's area). No drawn name starts so, in any case: a copy into the sandbox never
#: collides with one, whatever the first area's picture (which leaves them out) says.
AREA_PREFIX = "area-"


def _allowed(name: str) -> bool:
    return (
        bool(name)
        and not set(FORBIDDEN) & set(name)
        and not name.casefold().startswith(AREA_PREFIX)
    )


@cache
def entry_names() -> st.SearchStrategy[str]:
    """Valid, NFC-normalised entry names, mostly short and plain."""
    raw = mostly(_plain, st.one_of(_unicode, _long), odds=2)
    return raw.map(_tidy).filter(_allowed)
