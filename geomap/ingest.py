"""Ingest: turn files, standard input and strings into :class:`~geomap.model.Document` objects.

Text files are decoded as UTF-8 (with or without BOM) when they are valid UTF-8, otherwise the
encoding is detected with charset-normalizer and a warning names it. Binary files (NUL bytes,
or no plausible text encoding) are refused with :class:`~geomap.exc.InputError`. Files ending
in ``.jsonl`` hold one document per line with fields ``id`` and ``text`` (optional ``title``,
``date``, ``url``, ``source``).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from .exc import GeomapWarning, InputError
from .model import Document

__all__ = ["decode_bytes", "read_path", "document_from_text", "STDIN"]

STDIN = "-"
# Bytes looked at to decide that a file is binary.
_SNIFF_BYTES = 8192


def decode_bytes(data: bytes, source: str, *, encoding: str | None = None) -> str:
    """Decode the bytes of a text file.

    Parameters
    ----------
    data : bytes
    source : str
        Name used in messages.
    encoding : str, optional
        Force this encoding instead of detecting one.

    Returns
    -------
    str
        The text, with ``\\r\\n`` and ``\\r`` line ends turned into ``\\n``.

    Raises
    ------
    InputError
        If the data is binary or cannot be decoded.
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as e:
            raise InputError(f"{source}: cannot decode as {encoding!r}: {e}") from e
    else:
        if b"\x00" in data[:_SNIFF_BYTES]:
            raise InputError(f"{source}: binary file (contains NUL bytes), not a text file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text, used = _detect(data, source)
            warnings.warn(f"{source}: not valid UTF-8; decoded as {used} "
                          "(use --encoding to force one)", GeomapWarning, stacklevel=2)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _detect(data: bytes, source: str) -> tuple[str, str]:
    """Detect the encoding with charset-normalizer; return (text, encoding name)."""
    from charset_normalizer import from_bytes
    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{source}: cannot decode: not a text file in any known encoding")
    # charset-normalizer cannot tell single-byte Latin code pages apart on short texts
    # (it picks cp1250 for French as readily as cp1252, turning "où" into "oů"). Windows-1252
    # is by far the most common legacy encoding of English and Western European news, so it
    # wins whenever the detector chose a single-byte code page and the bytes are valid cp1252.
    if _is_latin_code_page(best.encoding):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), best.encoding


# Single-byte code pages for Latin scripts (Cyrillic, Greek, Arabic... pages are left alone).
_LATIN_CODE_PAGES = frozenset({
    "cp1250", "cp1252", "cp1254", "cp1257", "cp437", "cp775", "cp850", "cp852", "cp857", "cp858",
    "iso8859-1", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-9", "iso8859-10", "iso8859-13",
    "iso8859-14", "iso8859-15", "iso8859-16", "latin-1", "mac-roman", "mac-latin2", "mac-iceland",
    "mac-turkish", "hp-roman8"})


def _is_latin_code_page(encoding: str) -> bool:
    import codecs
    return codecs.lookup(encoding).name in _LATIN_CODE_PAGES


def document_from_text(text: str, *, id: str = "doc", source: str | None = "<string>") -> Document:
    """A :class:`~geomap.model.Document` from a string (line ends normalised to ``\\n``)."""
    return Document(id=id, text=text.replace("\r\n", "\n").replace("\r", "\n"), source=source)


def _jsonl_documents(text: str, source: str) -> Iterator[Document]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{source}:{number}: invalid JSON: {e.msg}") from e
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f"{source}:{number}: expected an object with a string field 'text'")
        doc_id = str(record.get("id") if record.get("id") is not None else f"{Path(source).stem}-{number}")
        yield Document(id=doc_id, text=record["text"], source=str(record.get("source") or source),
                       title=record.get("title"), date=record.get("date"), url=record.get("url"))


def read_path(path: str | Path, *, encoding: str | None = None) -> list[Document]:
    """Read one input: a text file, a ``.jsonl`` file, or ``-`` for standard input.

    Parameters
    ----------
    path : str or Path
        File to read; ``"-"`` reads standard input as one text document with id ``stdin``.
    encoding : str, optional
        Force an encoding (default: UTF-8, else detected, with a warning).

    Returns
    -------
    list of Document
        One document for a text file (id: the file name without suffix), one per line of a
        ``.jsonl`` file.

    Raises
    ------
    InputError
        If the file is missing, unreadable, binary, or a ``.jsonl`` line is invalid.
    """
    if str(path) == STDIN:
        data = sys.stdin.buffer.read()
        return [Document(id="stdin", text=decode_bytes(data, "<stdin>", encoding=encoding), source="<stdin>")]
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e
    text = decode_bytes(data, str(path), encoding=encoding)
    if path.suffix.lower() == ".jsonl":
        return list(_jsonl_documents(text, str(path)))
    return [Document(id=path.stem, text=text, source=str(path))]
