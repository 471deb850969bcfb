"""What text people type may hold: one rule for names, ids and notes, whichever way they come (a tap, a
schedule file's CSV row or FHIR resource, a new staff account).

Refused: control characters (a NUL from a damaged export, an ANSI escape; a tab or line break only in notes),
a line break in anything but notes, invisible format characters (a zero-width space, a byte-order mark, a
right-to-left override that makes a name read backwards on the screens), and text with nothing visible at all.
The joiners (U+200C, U+200D) and the directional marks (U+200E, U+200F) stay: scripts and names need them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

_LINE_BREAK = re.compile("[\r\n\u2028\u2029]")
#: Format characters (category Cf) writing needs: the zero-width (non-)joiner and the left/right marks.
_WRITING = frozenset("\u200c\u200d\u200e\u200f")
#: Letters that draw nothing (Unicode's Default_Ignorable_Code_Point fillers, which are not format characters, and
#: the blank braille pattern): a name of them alone, or of marks that combine with nothing, shows as nothing.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Categories that draw nothing on their own: marks that combine with the letter before them, and format
#: characters. (Code points this Python's Unicode does not know are taken as visible: an emoji or a script newer
#: than it is, such as U+1FAE8 on Python 3.11, is not blank.)
_NOTHING_ALONE = frozenset({"Mn", "Me", "Cf"})


def shown_alike(value: str) -> str:
    """`value` as a reader tells names apart: the same letters however composed (an accent typed or pasted as a
    separate mark), without the joiners and direction marks that draw nothing, spaces collapsed, case aside."""
    drawn = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch not in _WRITING)
    return " ".join(drawn.split()).casefold()


def names_any(text: str, names: Iterable[str]) -> bool:
    """Whether `text` holds one of `names` (people's whole names, as typed): all of a name's words in a row, in
    the order written or family name first ("Ann Lee", "Lee, Ann", "lee ann"), case, accents ("José" as
    "Jose"), composition and punctuation aside ("O'Neil" as "ONeil" or "O Neil"). A part of a name alone ("Lee")
    is not the name: it would refuse ordinary words ("Rose", "Hall")."""
    written = (_words(text), _joined(text))
    return any(any(_holds(seq, form) for seq in written) for name in names for form in _orders(name))


def same_name(one: str, other: str) -> bool:
    """Whether two spellings of a person's name, given for one appointment, are one name: accents composed, apart
    or left out ("José", "Jose"), case, spaces and punctuation aside ("O'Brien", "OBrien"), and "Family, Given" as
    "Given Family". The same words in another order without a comma ("Lee Ann", "Ann Lee") are not: people are
    named both ways."""
    a, b = _given_first(one), _given_first(other)
    return _words(a) == _words(b) or _joined(a) == _joined(b)


def _given_first(name: str) -> str:
    family, comma, given = name.partition(",")
    return f"{given} {family}" if comma else name


def _folded(value: str) -> str:
    """`value` as `shown_alike` reads it, and without accents: the marks an accented letter decomposes to dropped."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn" and ch not in _WRITING).casefold()


_WORD = re.compile(r"[^\W_]+")
_NOT_IN_A_WORD = re.compile(r"[\W_]+")


def _words(value: str) -> tuple[str, ...]:
    """The runs of letters and digits ("Lee-Park" two words)."""
    return tuple(_WORD.findall(_folded(value)))


def _joined(value: str) -> tuple[str, ...]:
    """The words between spaces without their punctuation ("Lee-Park" one word, "leepark")."""
    return tuple(w for w in (_NOT_IN_A_WORD.sub("", w) for w in _folded(value).split()) if w)


@functools.lru_cache(maxsize=4096)
def _orders(name: str) -> frozenset[tuple[str, ...]]:
    """A name's words in every order it is written in: as typed, and each turn of it that puts its last words
    first ("Mary Ann Lee" also as "Lee, Mary Ann" and "Ann Lee, Mary"), split at punctuation and joined across it;
    and, for a name of three words or more, the first with any other, either way round ("Mary Lee", "Lee, Mary",
    "Mary Ann"; "José Núñez" and "José Ortiz" of "José Núñez-Ortiz"): a person is named by their given name and one
    of their others as often as whole, and a schedule gives the whole (a review: "Held for Mary Lee" went to
    every wall)."""
    orders = {words[i:] + words[:i] for words in (_words(name), _joined(name)) for i in range(len(words))}
    for words in (_words(name), _joined(name)):
        if len(words) >= 3:
            orders |= {pair for other in words[1:] for pair in ((words[0], other), (other, words[0]))}
    return frozenset(orders)


def _holds(words: tuple[str, ...], name: tuple[str, ...]) -> bool:
    n = len(name)
    return any(words[i : i + n] == name for i in range(len(words) - n + 1))


_OTHER_LINE_ENDS = re.compile("\r\n?")


def line_breaks_as_one(notes: str) -> str:
    """`notes` with every line break written as one, LF: the same note saved on Windows (CRLF) or an old Mac (CR)
    is the same note, not a changed one."""
    return _OTHER_LINE_ENDS.sub("\n", notes)


def unreadable(field: str, value: str, multiline: bool = False) -> str | None:
    """Why `value` cannot be taken as the team would read it (naming `field`), or None. `multiline`: notes,
    where tabs and line breaks belong."""
    if not multiline and _LINE_BREAK.search(value):
        return f"{field} has a line break: it must be on one line"
    for ch in value:
        kind = unicodedata.category(ch)
        if kind == "Cc" and not (multiline and ch in "\t\r\n"):
            return f"{field} has a control character (U+{ord(ch):04X})"
        if kind == "Cf" and ch not in _WRITING:
            return f"{field} has an invisible character (U+{ord(ch):04X} {unicodedata.name(ch, 'format')})"
    if value and not any(_visible(ch) for ch in value):
        return f"{field} has nothing visible"
    return None


def _visible(ch: str) -> bool:
    """Whether `ch` draws something by itself (a name of only combining marks, Hangul fillers or the blank braille
    pattern has nothing for a screen to show)."""
    return not ch.isspace() and ch not in _BLANK and unicodedata.category(ch) not in _NOTHING_ALONE
