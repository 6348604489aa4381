"""Entry names a repository must accept: unicode, spaces inside, long ones up to the limit.

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

_plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
_unicode = st.text(
    alphabet=st.characters(
        # Letters of every script, digits, spaces and punctuation (dots, apostrophes,
        # ampersands, percent signs: what breaks a server that escapes names by hand).
        categories=("Lu", "Ll", "Lo", "Nd", "Zs", "Pd", "Pc", "Po"),
        exclude_characters=FORBIDDEN,
        max_codepoint=0xFFFF,
    ),
    min_size=1,
    max_size=24,
)
#: The longest name the run asks for: 255 characters (a common limit, and the emulator's;
#: the vendor documents none, and a server that refuses a long name at once is correct)
#: less the run's marker, which every name the run asks for ends with (`Run.marker`).
MAX_NAME_LENGTH, MARK_LENGTH = 255, 7
LONGEST = MAX_NAME_LENGTH - MARK_LENGTH
# Long names are costly to draw (a wide tree of them can fill an example's whole budget of
# choices): one name in twelve is long, one long name in four is at the limit.
_long = mostly(
    st.text(alphabet="abcdefghij klmnopqrstuvwxyz", min_size=100, max_size=140),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=LONGEST, max_size=LONGEST),
    odds=3,
)


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


def case_variants(name: str) -> st.SearchStrategy[str]:
    """`name` in other case: the same name to a repository whose names are case-insensitive
    (Laserfiche's), a new one to another; both are correct."""
    return st.sampled_from([name.swapcase(), name.upper(), name.lower()])


@cache
def entry_names() -> st.SearchStrategy[str]:
    """Valid, NFC-normalised entry names, mostly short and plain."""
    raw = mostly(_plain, mostly(_unicode, _long, odds=3), odds=2)
    return raw.map(_tidy).filter(_allowed)


@cache
def marked_names(marker: str) -> st.SearchStrategy[str]:
    """`entry_names` ending with a run's marker (made once per marker, like every strategy)."""
    return entry_names().map(lambda name: name + marker)
