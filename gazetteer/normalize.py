"""Name normalisation shared by the gazetteer build and every lookup.

Both sides must normalise identically, so this is the only place that decides which
spellings are "the same name": case, diacritics, curly apostrophes, dashes, full stops
and a leading English article are ignored.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["normalize_name", "is_latin", "LONGEST_NAME"]

# No place name is longer (the longest stored, normalised, has 193 characters): longer text
# normalises to "" and finds nothing. Unicode normalisation takes quadratic time on long runs
# of combining marks, and article text is untrusted.
LONGEST_NAME = 1000

# Letters that Unicode decomposition leaves alone but that English text writes plainly.
_FOLD = str.maketrans({
    "ı": "i", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ə": "e", "Ə": "e", "þ": "th", "ß": "ss",
    "ʻ": "", "ʼ": "", "’": "", "‘": "", "'": "", "`": "", "´": "", "ʿ": "", "ʾ": "",
    ".": "", "\u00ad": "",
    "-": " ", "‐": " ", "‑": " ", "‒": " ", "–": " ", "—": " ", "―": " ", "_": " ",
    ",": " ", "(": " ", ")": " ", "\"": " ", "“": " ", "”": " ",
})
# _FOLD and lower() restricted to ASCII, as a bytes table: bytes.translate does both in one pass,
# several times faster than str.translate with a dict (most names in English news are ASCII).
_ASCII_FOLD = bytes(range(256)).translate(bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-_,()\"", b"abcdefghijklmnopqrstuvwxyz      "))
_ASCII_DROP = b"'`."
# Basic Latin, Latin-1, Latin Extended-A/B and Additional, schwa, and the apostrophes that
# transliterations use: the names an English text can contain.
_LATIN = re.compile(r"^[\x00-\x7f\u00a0-\u024f\u1e00-\u1eff\u0259\u02bb\u02bc\u2018\u2019]+$")


# Whether a name holds anything _FOLD changes: a regex search is quicker than str.translate
# with a dict, which most names (no such character) need not go through.
_TO_FOLD = re.compile("[" + "".join(map(re.escape, map(chr, _FOLD))) + "]")


@functools.cache
def _combining_marks() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for deleting combining marks (what ``unicodedata.combining`` says of this
    Python's Unicode version; none lies beyond plane 1), built on the first non-ASCII name
    (10 ms): one matching every mark, and one matching any character that is neither ASCII
    nor a mark of the Combining Diacritical Marks block.

    A decomposed Latin name ("Poljc\u030cane") seldom holds anything else, and deleting its
    marks is then an ASCII encoding that ignores errors: three times quicker than the
    first pattern's ``sub``, itself quicker than filtering character by character."""
    ranges: list[list[int]] = []
    for code in range(0x20000):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])

    def char_class(spans: list[list[int]]) -> str:
        return "".join(f"{re.escape(chr(first))}-{re.escape(chr(last))}" for first, last in spans)

    diacritics = [[max(first, 0x300), min(last, 0x36F)] for first, last in ranges
                  if first <= 0x36F and last >= 0x300]
    return re.compile(f"[{char_class(ranges)}]"), re.compile(f"[^\x00-\x7f{char_class(diacritics)}]")


def is_latin(name: str) -> bool:
    """True when ``name`` is written in Latin script only ("Bakı", "Kyiv"; not "Баку")."""
    return bool(_LATIN.match(name))


def normalize_name(name: str) -> str:
    """Return the lookup key of a place name.

    ``"Nagorno–Karabakh"``, ``"nagorno-karabakh"`` and ``"Nagorno Karabakh"`` all give
    ``"nagorno karabakh"``; ``"U.S."`` and ``"US"`` give ``"us"``; ``"Bakı"`` gives ``"baki"``;
    ``"the South Caucasus"`` gives ``"south caucasus"``.

    Parameters
    ----------
    name : str
        A name as written, in any script.

    Returns
    -------
    str
        Lower-case, without diacritics, apostrophes or full stops, dashes as spaces,
        single-spaced, without a leading "the". Empty for a name with no letters, and for
        text longer than :data:`LONGEST_NAME` characters.
    """
    if len(name) > LONGEST_NAME:
        return ""
    if name.isascii():
        # ASCII text is its own NFKC and NFKD form, has no combining marks, and folds once: the
        # common case, kept short because every lookup normalises its name.
        text = name.encode("ascii").translate(_ASCII_FOLD, _ASCII_DROP).decode("ascii")
    else:
        text = unicodedata.normalize("NFKC", name)
        if _TO_FOLD.search(text):
            text = text.translate(_FOLD)
        if not text.isascii():
            marks, not_diacritic = _combining_marks()
            text = unicodedata.normalize("NFKD", text)
            if not_diacritic.search(text):
                text = marks.sub("", text)
            else:
                text = text.encode("ascii", "ignore").decode("ascii")
        text = text.casefold()
        if text.isascii():  # what most Latin names become: the ASCII fold, as above
            text = text.encode("ascii").translate(_ASCII_FOLD, _ASCII_DROP).decode("ascii")
        elif _TO_FOLD.search(text):
            text = text.translate(_FOLD)
    # split() drops exactly the characters the regex \s would match (str.isspace), ends included.
    text = " ".join(text.split())
    return text[4:] if text.startswith("the ") else text
