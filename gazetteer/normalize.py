"""Name normalisation shared by the gazetteer build and every lookup.

Both sides must normalise identically, so this is the only place that decides which
spellings are "the same name": case, diacritics, curly apostrophes, dashes, full stops
and a leading English article are ignored.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_name", "is_latin"]

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
        single-spaced, without a leading "the". Empty for a name with no letters.
    """
    if name.isascii():
        # ASCII text is its own NFKC and NFKD form, has no combining marks, and folds once: the
        # common case, kept short because every lookup normalises its name.
        text = name.encode("ascii").translate(_ASCII_FOLD, _ASCII_DROP).decode("ascii")
    else:
        text = unicodedata.normalize("NFKC", name).translate(_FOLD)
        if not text.isascii():
            text = unicodedata.normalize("NFKD", text)
            text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = text.casefold().translate(_FOLD)
    # split() drops exactly the characters the regex \s would match (str.isspace), ends included.
    text = " ".join(text.split())
    return text[4:] if text.startswith("the ") else text
