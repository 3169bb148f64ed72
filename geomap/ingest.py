"""Ingest: turn files, folders, standard input and strings into :class:`~geomap.model.Document` objects.

Inputs, by file name suffix:

- ``.txt``, ``.md`` and any other name: one text document (id: the file name without suffix).
- ``.html``, ``.htm``: the article extracted with trafilatura (offline, from the file only): no
  script, style, navigation, aside or footer text; the page's title, date and canonical URL are
  kept when present. A page trafilatura finds no article in falls back to the text of its body
  without those elements.
- ``.jsonl``: one document per line; ``.csv``: one document per row (header row first, the
  delimiter ``,``, ``;``, tab or ``|`` read from the header). Fields ``id`` and ``text``,
  optional ``title``, ``date``, ``url``, ``source``; other names through :class:`Fields`.
- folders: every file below them whose name matches a pattern (default: the suffixes above),
  in sorted order; hidden files and folders are left out.
- ``-``: standard input, one text document with id ``stdin``.

Bytes are decoded as UTF-8 (with or without BOM) when they are valid UTF-8, otherwise with the
HTML page's declared charset, otherwise as detected by charset-normalizer, with a
:class:`~geomap.exc.GeomapWarning` naming the encoding used. ``encoding=`` forces one. Binary
files (NUL bytes, or no plausible text encoding) are refused with :class:`~geomap.exc.InputError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields as dataclass_fields
from pathlib import Path, PurePosixPath

from .exc import GeomapWarning, InputError
from .model import Document

__all__ = ["decode_bytes", "record_document", "read_path", "read_inputs", "expand_paths", "document_from_text",
           "html_to_document", "Fields", "STDIN", "SUPPORTED_SUFFIXES"]

STDIN = "-"
#: File name suffixes read from folders by default (any file named explicitly is read).
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl", ".csv")
# Bytes looked at to decide that a file is binary, and to find an HTML page's charset.
_SNIFF_BYTES = 8192
_HTML_SUFFIXES = (".html", ".htm")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Elements whose text is never article text.
_BOILERPLATE_XPATH = ["//nav", "//footer", "//aside", "//*[@role='navigation']", "//*[@role='contentinfo']",
                      "//*[@role='banner']", "//noscript", "//template", "//form"]
_NON_TEXT_TAGS = ("script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe",
                  "svg", "head", "button", "select")
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                         "article", "header", "main", "blockquote", "pre", "table", "tr", "td", "th",
                         "dd", "dt", "figcaption", "hr"})


@dataclass(frozen=True)
class Fields:
    """Names of the fields of ``.jsonl`` records and ``.csv`` columns.

    Attributes
    ----------
    id, text, title, date, url, source : str
        The record field holding each :class:`~geomap.model.Document` attribute; the defaults
        are the attribute names. Only ``text`` is required in a record; a record without an id
        gets ``<file stem>-<line or row number>``.

    Examples
    --------
    >>> Fields(text="body", id="uid").text
    'body'
    """

    id: str = "id"
    text: str = "text"
    title: str = "title"
    date: str = "date"
    url: str = "url"
    source: str = "source"


_DEFAULT_FIELDS = Fields()


# Byte order marks of the encodings whose text holds NUL bytes (UTF-32 first: its LE mark
# begins with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def headline(text: str) -> str | None:
    """The first line of a text when it reads as a headline (the seed article's "Putin, Aliyev
    confirm efforts on peace in South Caucasus"): followed by more text, at most 200 characters,
    without a sentence's closing full stop. None otherwise."""
    first, _, rest = text.strip().partition("\n")
    first = first.strip()
    if not rest.strip() or not first or len(first) > 200 or first.endswith((".", ":", ";", ",")):
        return None
    return first


def decode_bytes(data: bytes, source: str, *, encoding: str | None = None, html: bool = False) -> str:
    """Decode the bytes of a text file.

    Parameters
    ----------
    data : bytes
    source : str
        Name used in messages.
    encoding : str, optional
        Force this encoding instead of detecting one.
    html : bool
        The bytes are an HTML page: when they are not UTF-8, its ``<meta charset>`` is tried
        before detection.

    Returns
    -------
    str
        The text, with ``\\r\\n`` and ``\\r`` line ends turned into ``\\n``.

    Raises
    ------
    InputError
        If the data is binary or cannot be decoded (it is a ``ValueError``).

    Warns
    -----
    GeomapWarning
        When the data is not UTF-8 and another encoding was used (named in the message).
    """
    if encoding:
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as e:
            raise InputError(f"{source}: cannot decode as {encoding!r}: {e}") from e
    else:
        bom = next((name for mark, name in _BOMS if data.startswith(mark)), None)
        if bom is not None:          # UTF-16/32 text is full of NUL bytes: its BOM says what it is
            try:
                return data.decode(bom).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
            except UnicodeDecodeError as e:
                raise InputError(f"{source}: starts with a {bom} byte order mark but cannot be decoded: {e}") from e
        if b"\x00" in data[:_SNIFF_BYTES]:
            raise InputError(f"{source}: binary file (contains NUL bytes), not a text file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            declared = _declared_charset(data) if html else None
            if declared is not None:
                text, used = declared
            else:
                text, used = _detect(data, source)
            warnings.warn(f"{source}: not valid UTF-8; decoded as {used} "
                          "(use --encoding to force one)", GeomapWarning, stacklevel=2)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _declared_charset(data: bytes) -> tuple[str, str] | None:
    """``(text, charset)`` when an HTML page declares a charset that decodes it, else None."""
    match = _META_CHARSET.search(data[:_SNIFF_BYTES])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
        if name.startswith("utf-8"):
            return None  # declared UTF-8 but is not: detect
        return data.decode(name), name
    except (LookupError, UnicodeDecodeError):
        return None


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
    return codecs.lookup(encoding).name in _LATIN_CODE_PAGES


def document_from_text(text: str, *, id: str = "doc", source: str | None = "<string>") -> Document:
    """A :class:`~geomap.model.Document` from a string (line ends normalised to ``\\n``)."""
    return Document(id=id, text=text.replace("\r\n", "\n").replace("\r", "\n"), source=source)


# ---------------------------------------------------------------------------------------------
# HTML


def html_to_document(html: str, *, id: str = "page", source: str | None = None) -> Document:
    """The article of an HTML page as a :class:`~geomap.model.Document`.

    Uses trafilatura's main-content extraction, offline (the page is never fetched again and
    links are not followed), with navigation, aside, footer, form, script and style elements
    removed first. When trafilatura finds no article, the text of the page's body without
    those elements is used. Character references are decoded (``&lt;b&gt;`` is the text
    ``<b>``); no markup is kept.

    Parameters
    ----------
    html : str
        The page's markup.
    id : str
        Document id.
    source : str, optional
        Where the page came from (file path).

    Returns
    -------
    Document
        ``text``: paragraphs separated by line breaks (empty when the page holds no text);
        ``title``, ``date`` (ISO 8601 ``YYYY-MM-DD``, from the page's metadata, not guessed
        from its text) and ``url`` (its canonical http(s) address) when the page has them.
    """
    import trafilatura

    extracted = None
    if html.strip():
        try:
            extracted = trafilatura.bare_extraction(
                html, with_metadata=True, include_comments=False, include_images=False, include_tables=True,
                prune_xpath=_BOILERPLATE_XPATH,
                date_extraction_params={"extensive_search": False, "original_date": True})
        except Exception:  # noqa: BLE001 - a parser failure on one page falls back to plain text
            extracted = None
    title = date = url = None
    text = ""
    if extracted is not None:
        text = (extracted.text or "").strip()
        title, date, url = extracted.title or None, extracted.date or None, extracted.url or None
    if not text:
        fallback_title, text = _html_body_text(html)
        title = title or fallback_title
    if url and not url.lower().startswith(("http://", "https://")):
        url = None
    return Document(id=id, text=text, source=source, title=title, date=date, url=url)


def _html_body_text(html: str) -> tuple[str | None, str]:
    """``(title, text)`` of a page without its non-text and boilerplate elements."""
    import lxml.html
    from lxml import etree

    if not html.strip():
        return None, ""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None, ""
    title_el = root.find(".//title")
    title = title_el.text_content().strip() if title_el is not None else None
    for el in root.iter(*_NON_TEXT_TAGS):
        if el.getparent() is not None:
            el.drop_tree()
    for el in root.iter(etree.Comment, etree.ProcessingInstruction):
        if el.getparent() is not None:
            el.drop_tree()
    parts: list[str] = []
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK_TAGS:
            parts.append("\n")
        if el.text and isinstance(el.tag, str):
            parts.append(el.text)
        if el.tail:
            parts.append(el.tail)
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return title or None, "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------------------------
# Records: JSONL and CSV


def _value(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    value = str(value).strip() if not isinstance(value, str) else value.strip()
    return value or None


def record_document(record, where: str, default_id: str, path_source: str, fields: Fields) -> Document:
    """One ``.jsonl`` or ``.csv`` record (a dict) as a :class:`~geomap.model.Document`.

    ``fields`` names the record's keys (text, id, title, date, url, source); ``default_id`` is
    used when the record has no id, ``path_source`` when it has no source. Raises
    :class:`~geomap.exc.InputError` naming ``where`` (``file:line``) when the record has no text.
    """
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected an object with a string field {fields.text!r}, "
                         f"got {type(record).__name__}")
    text = record.get(fields.text)
    if not isinstance(text, str):
        if fields.text not in record:
            found = ", ".join(repr(k) for k in list(record)[:8]) or "none"
            raise InputError(f"{where}: no field {fields.text!r} (fields: {found}); "
                             "name the text field with --text-field")
        raise InputError(f"{where}: field {fields.text!r} is {type(text).__name__}, expected a string")
    return Document(id=_value(record, fields.id) or default_id, text=text,
                    source=_value(record, fields.source) or path_source,
                    title=_value(record, fields.title), date=_value(record, fields.date),
                    url=_value(record, fields.url))


def jsonl_records(text: str, source: str, fields: Fields, first_line: int = 1) -> Iterator[Document | InputError]:
    """The documents of JSONL ``text`` (one JSON object per line), each a
    :class:`~geomap.model.Document` or, for a bad line, the :class:`InputError` that says
    ``"<source>:<line>: why"``.

    ``first_line`` is the number of the text's first line in its file (the Dask engine reads
    files in pieces); default ids are ``"<file stem>-<line>"``.
    """
    stem = Path(source).stem
    for number, line in enumerate(text.split("\n"), first_line):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            yield InputError(f"{where}: invalid JSON: {e.msg}")
            continue
        try:
            yield record_document(record, where, f"{stem}-{number}", source, fields)
        except InputError as e:
            yield e


def _csv_records(text: str, source: str, fields: Fields) -> Iterator[Document | InputError]:
    stem = Path(source).stem
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=header.count)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, 2**31 - 1))  # articles are longer than csv's 128 KiB default
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            columns = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield InputError(f"{source}:1: invalid CSV header: {e}")
            return
        columns = [c.strip() for c in columns]
        if fields.text not in columns:
            yield InputError(f"{source}: no column {fields.text!r} in the header "
                             f"({', '.join(repr(c) for c in columns[:8])}); name it with --text-field")
            return
        number = 0
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield InputError(f"{source}:{line}: invalid CSV: {e}")
                return
            if not any(cell.strip() for cell in row):
                continue
            number += 1
            where = f"{source}:{line}"
            if len(row) != len(columns):
                yield InputError(f"{where}: {len(row)} fields where the header has {len(columns)}")
                continue
            try:
                yield record_document(dict(zip(columns, row)), where, f"{stem}-{number}", source, fields)
            except InputError as e:
                yield e
    finally:
        csv.field_size_limit(limit)


# ---------------------------------------------------------------------------------------------
# Reading paths


def _read_stdin(encoding: str | None) -> Document:
    data = sys.stdin.buffer.read()
    return Document(id="stdin", text=decode_bytes(data, "<stdin>", encoding=encoding), source="<stdin>")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from e


def _path_items(path: str | Path, encoding: str | None, fields: Fields) -> Iterator[Document | InputError]:
    """Documents of one input file (or stdin), and an InputError per unusable record.

    Raises InputError when the whole file cannot be used (missing, binary, undecodable).
    """
    if str(path) == STDIN:
        yield _read_stdin(encoding)
        return
    path = Path(path)
    suffix = path.suffix.lower()
    data = _read_bytes(path)
    text = decode_bytes(data, str(path), encoding=encoding, html=suffix in _HTML_SUFFIXES)
    if suffix in (".jsonl", ".csv") and not text.strip():
        # An empty record file is reported like an empty text file, not dropped in silence.
        yield Document(id=path.stem, text="", source=str(path))
        return
    if suffix == ".jsonl":
        records = jsonl_records(text, str(path), fields)
    elif suffix == ".csv":
        records = _csv_records(text, str(path), fields)
    elif suffix in _HTML_SUFFIXES:
        yield html_to_document(text, id=path.stem, source=str(path))
        return
    else:
        yield Document(id=path.stem, text=text, source=str(path), title=headline(text))
        return
    count = 0
    for item in records:
        count += 1
        yield item
    if not count:  # a header without rows
        yield Document(id=path.stem, text="", source=str(path))


def read_path(path: str | Path, *, encoding: str | None = None,
              fields: Fields | None = None) -> list[Document]:
    """Read one input: a text, Markdown, HTML, ``.jsonl`` or ``.csv`` file, or ``-`` for standard input.

    Parameters
    ----------
    path : str or Path
        File to read; ``"-"`` reads standard input as one text document with id ``stdin``.
    encoding : str, optional
        Force an encoding (default: UTF-8, else detected, with a warning).
    fields : Fields, optional
        Field names of ``.jsonl`` records and ``.csv`` columns (default: ``id``, ``text``...).

    Returns
    -------
    list of Document
        One document for a text or HTML file (id: the file name without suffix), one per
        record of a ``.jsonl`` or ``.csv`` file (one empty document for an empty one).

    Raises
    ------
    InputError
        If the file is missing, unreadable, binary, or any record is invalid (the message
        names the file and line). :func:`read_inputs` skips bad records instead.
    """
    documents = []
    for item in _path_items(path, encoding, fields or _DEFAULT_FIELDS):
        if isinstance(item, InputError):
            raise item
        documents.append(item)
    return documents


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def expand_paths(paths: Iterable[str | os.PathLike], *, glob: str | None = None
                 ) -> Iterator[str | Path | InputError]:
    """The input files that ``paths`` name: files as given, folders searched recursively.

    Parameters
    ----------
    paths : iterable of str or PathLike
        Files, folders, or ``"-"`` (standard input, passed through).
    glob : str, optional
        Pattern that files inside folders must match, relative to the folder and matched
        from the right as :meth:`pathlib.PurePath.match` does (``"*.html"`` matches at any depth,
        ``"2024/*.txt"`` only in folders named 2024). Default: the :data:`SUPPORTED_SUFFIXES`.

    Yields
    ------
    str, Path or InputError
        Each file, in the order given and sorted within a folder (hidden files and folders
        left out); an InputError for a folder that holds no matching file.
    """
    for path in paths:
        if str(path) == STDIN or not Path(path).is_dir():
            yield path if isinstance(path, (str, Path)) else Path(path)
            continue
        folder = Path(path)
        found = 0
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not _is_hidden(d))
            for name in sorted(files):
                if _is_hidden(name):
                    continue
                rel = PurePosixPath(Path(root).relative_to(folder).as_posix(), name)
                if glob is None:
                    if rel.suffix.lower() not in SUPPORTED_SUFFIXES:
                        continue
                elif not rel.match(glob):
                    continue
                found += 1
                yield Path(root) / name
        if not found:
            wanted = repr(glob) if glob else "with a suffix " + ", ".join(SUPPORTED_SUFFIXES)
            yield InputError(f"{folder}: no input files {('matching ' + wanted) if glob else wanted} "
                             "in this folder" + ("" if glob else " (use --glob to choose others)"))


def read_inputs(paths: Iterable[str | os.PathLike], *, encoding: str | None = None,
                fields: Fields | None = None, glob: str | None = None
                ) -> tuple[list[Document], list[tuple[str, str]]]:
    """Read files, folders and standard input, skipping what cannot be read.

    Parameters
    ----------
    paths : iterable of str or PathLike
        As for :func:`expand_paths`; each file is read as :func:`read_path` reads it.
    encoding : str, optional
        Force an encoding for every file.
    fields : Fields, optional
        Field names of ``.jsonl`` and ``.csv`` records.
    glob : str, optional
        Pattern for files inside folders (see :func:`expand_paths`).

    Returns
    -------
    (documents, skipped)
        ``documents`` in input order, ids made unique (a second ``a`` becomes ``a-2``);
        ``skipped`` holds ``(source, reason)`` for each file (``path``) or record
        (``path:line``) that could not be read. One bad input loses nothing else.
    """
    fields = fields or _DEFAULT_FIELDS
    documents: list[Document] = []
    skipped: list[tuple[str, str]] = []
    seen_ids: dict[str, int] = {}

    def skip(error: InputError, source: str) -> None:
        message = str(error)
        # "path:12: invalid JSON" -> ("path:12", "invalid JSON")
        where, sep, reason = message.partition(": ")
        if not sep or not where.startswith(source):
            where, reason = source, message
        skipped.append((where, reason))

    for path in expand_paths(paths, glob=glob):
        if isinstance(path, InputError):
            skip(path, str(path).split(": ", 1)[0])
            continue
        source = "<stdin>" if str(path) == STDIN else str(path)
        try:
            for item in _path_items(path, encoding, fields):
                if isinstance(item, InputError):
                    skip(item, source)
                    continue
                # Two files named alike in different folders must stay two documents.
                count = seen_ids.get(item.id, 0)
                seen_ids[item.id] = count + 1
                if count:
                    item = Document(f"{item.id}-{count + 1}", item.text, item.source, item.title, item.date,
                                    item.url)
                documents.append(item)
        except InputError as e:
            skip(e, source)
    return documents, skipped


# Keep the attribute list of Fields importable for option parsing.
FIELD_NAMES = tuple(f.name for f in dataclass_fields(Fields))
__all__.append("FIELD_NAMES")
