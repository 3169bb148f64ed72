"""Export: write a :class:`~geomap.model.GeoparseResult` as JSON, JSON Lines, GeoJSON or CSV.

The JSON contract, read by other tools and tests::

    {"documents": [{"id", "source", "mentions": [{"text", "start", "end", "sentence", "label",
                                                   "role", "place", "provenance"}]}],
     "unresolved": [{"document", "text", "start", "end", "reason"}]}

``place`` is null or ``{"name", "lat", "lon", "country_code", "feature_class", "feature_code",
"geonameid", "population", "source", "confidence"}`` (WGS84 degrees). JSON Lines writes one
document object per line.

GeoJSON (RFC 7946) is one ``FeatureCollection`` with a ``Point`` Feature per distinct place,
coordinates ``[longitude, latitude]`` in WGS84 degrees; CSV (RFC 4180, UTF-8, CRLF) is one row
per mention with its place's fields (empty when unresolved, and ``reason`` says why).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from .atomic import atomic_write
from .model import GeoparseResult

__all__ = ["FORMATS", "SUFFIXES", "CSV_COLUMNS", "MAX_SENTENCES", "to_json", "to_geojson", "mention_rows",
           "mentions_dataframe", "write_json", "write_jsonl", "write_geojson", "write_csv", "write",
           "write_file"]

#: Output formats of ``geomap extract --format``.
FORMATS = ("json", "jsonl", "geojson", "csv")
#: The usual file name suffix of each format.
SUFFIXES = {"json": ".json", "jsonl": ".jsonl", "geojson": ".geojson", "csv": ".csv"}
#: Most sentences listed per place in GeoJSON properties.
MAX_SENTENCES = 50
#: Columns of the CSV output and of :func:`mentions_dataframe`, in order.
CSV_COLUMNS = ("document_id", "document_source", "document_title", "document_date", "document_url",
               "mention", "start", "end", "label", "role", "sentence",
               "place_name", "lat", "lon", "country_code", "feature_class", "feature_code", "geonameid",
               "population", "place_source", "confidence", "reason")
# Text columns that a spreadsheet could take for a formula (CWE-1236).
_TEXT_COLUMNS = frozenset({"document_id", "document_source", "document_title", "document_date",
                           "document_url", "mention", "sentence", "place_name", "reason"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_json(result: GeoparseResult, *, indent: int | None = 2) -> str:
    """The JSON contract as a string (UTF-8 text, non-ASCII kept)."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=indent)


def write_json(result: GeoparseResult, stream: TextIO) -> None:
    """Write the JSON contract to an open text stream."""
    stream.write(to_json(result))
    stream.write("\n")


def write_jsonl(result: GeoparseResult, stream: TextIO) -> None:
    """Write one document object of the JSON contract per line."""
    for document in result.documents:
        stream.write(json.dumps(document.to_dict(), ensure_ascii=False))
        stream.write("\n")


# ---------------------------------------------------------------------------------------------
# GeoJSON


def to_geojson(result: GeoparseResult, *, max_sentences: int = MAX_SENTENCES) -> dict[str, Any]:
    """The places of a result as an RFC 7946 GeoJSON FeatureCollection.

    Parameters
    ----------
    result : GeoparseResult
    max_sentences : int
        Most sentences listed per place (the distinct sentences, first ones first).

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}``: one Feature per distinct place
        in order of first mention, ``id`` the place's gazetteer key, a ``Point`` geometry with
        ``coordinates`` ``[lon, lat]`` (WGS84 decimal degrees, rounded to 6 decimals, about
        0.1 m) and ``properties``: ``name``, ``kind`` (country, region, city, site),
        ``country_code``, ``feature_class``, ``feature_code``, ``geonameid``, ``population``,
        ``source``, ``mentions`` (count), ``confidence`` (highest of its mentions, 0..1),
        ``forms`` (the names as written), ``documents`` (ids, in order), ``sentences`` (at most
        ``max_sentences``) and ``sentences_total``. Places without finite coordinates are left
        out (they are in the JSON and CSV outputs).
    """
    groups: dict[str, dict[str, Any]] = {}
    for doc in result.documents:
        for res in doc.resolutions:
            place = res.place
            if place is None or not (_finite(place.lat) and _finite(place.lon)):
                continue
            group = groups.get(place.key)
            if group is None:
                group = groups[place.key] = {"place": place, "mentions": 0, "confidence": 0.0, "forms": {},
                                             "documents": {}, "sentences": {}}
            group["mentions"] += 1
            group["confidence"] = max(group["confidence"], res.confidence)
            group["forms"][res.mention.text] = None
            group["documents"][doc.document.id] = None
            group["sentences"][res.mention.sentence] = None
    features = []
    for key, group in groups.items():
        place = group["place"]
        sentences = list(group["sentences"])
        features.append({
            "type": "Feature",
            "id": key,
            "geometry": {"type": "Point", "coordinates": [round(place.lon, 6), round(place.lat, 6)]},
            "properties": {
                "name": place.name, "kind": place.kind, "country_code": place.country_code,
                "feature_class": place.feature_class, "feature_code": place.feature_code,
                "geonameid": place.geonameid, "population": place.population, "source": place.source,
                "mentions": group["mentions"], "confidence": round(group["confidence"], 3),
                "forms": list(group["forms"]), "documents": list(group["documents"]),
                "sentences": sentences[:max_sentences], "sentences_total": len(sentences),
            },
        })
    return {"type": "FeatureCollection", "features": features}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def write_geojson(result: GeoparseResult, stream: TextIO) -> None:
    """Write :func:`to_geojson` to an open text stream (UTF-8 JSON, non-ASCII kept)."""
    stream.write(json.dumps(to_geojson(result), ensure_ascii=False, indent=1))
    stream.write("\n")


# ---------------------------------------------------------------------------------------------
# CSV and pandas


def mention_rows(result: GeoparseResult) -> list[dict[str, Any]]:
    """One dict per mention, keys :data:`CSV_COLUMNS`, in document and text order.

    Place fields are None for an unresolved mention, whose ``reason`` says why; ``lat``/``lon``
    are WGS84 degrees, ``confidence`` 0..1, ``start``/``end`` code point offsets into the
    document text.
    """
    rows = []
    for doc in result.documents:
        d = doc.document
        for res in doc.resolutions:
            m, p = res.mention, res.place
            rows.append({
                "document_id": d.id, "document_source": d.source, "document_title": d.title,
                "document_date": d.date, "document_url": d.url,
                "mention": m.text, "start": m.start, "end": m.end, "label": m.label, "role": res.role,
                "sentence": m.sentence,
                "place_name": p.name if p else None, "lat": p.lat if p else None, "lon": p.lon if p else None,
                "country_code": p.country_code if p else None,
                "feature_class": p.feature_class if p else None,
                "feature_code": p.feature_code if p else None, "geonameid": p.geonameid if p else None,
                "population": p.population if p else None, "place_source": p.source if p else None,
                "confidence": round(res.confidence, 3) if p else None,
                "reason": None if p else (res.reason or "unresolved"),
            })
    return rows


def _csv_cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if column in _TEXT_COLUMNS and isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # shown as text by spreadsheets, never run as a formula
    return value


def write_csv(result: GeoparseResult, stream: TextIO) -> None:
    """Write one CSV row per mention (header :data:`CSV_COLUMNS`) to a stream opened with ``newline=""``.

    Empty cells for missing values; text cells starting with ``= + - @``, a tab or CR get a
    leading ``'`` so that spreadsheets show them as text instead of running them as formulas.
    """
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in mention_rows(result):
        writer.writerow([_csv_cell(column, row[column]) for column in CSV_COLUMNS])


def mentions_dataframe(result: GeoparseResult):
    """The mentions of a result as a pandas DataFrame, one row per mention.

    Parameters
    ----------
    result : GeoparseResult

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CSV_COLUMNS` (see :func:`mention_rows`); ``lat``, ``lon``, ``confidence``
        float (NaN when unresolved), ``start``, ``end`` int, ``geonameid`` and ``population``
        nullable ``Int64``.

    Raises
    ------
    ImportError
        If pandas is not installed (``pip install 'geomap[pandas]'``).
    """
    try:
        import pandas as pd
    except ImportError as e:
        raise ImportError("mentions_dataframe needs pandas, which is not installed: "
                          "pip install 'geomap[pandas]' (or pip install pandas)") from e
    frame = pd.DataFrame.from_records(mention_rows(result), columns=list(CSV_COLUMNS))
    return frame.astype({"start": "int64", "end": "int64", "lat": "float64", "lon": "float64",
                         "confidence": "float64", "geonameid": "Int64", "population": "Int64"})


# ---------------------------------------------------------------------------------------------
# Writing files


_WRITERS: dict[str, Callable[[GeoparseResult, TextIO], None]] = {
    "json": write_json, "jsonl": write_jsonl, "geojson": write_geojson, "csv": write_csv}


def write(result: GeoparseResult, stream: TextIO, fmt: str = "json") -> None:
    """Write a result in one of :data:`FORMATS` to an open text stream.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    _WRITERS[fmt](result, stream)


def write_file(result: GeoparseResult, path: str | os.PathLike, fmt: str = "json") -> None:
    """Write a result to a file atomically, or to standard output for ``"-"``.

    The output goes to a temporary file beside ``path``, renamed over it once complete: a
    failed write never leaves a partial file nor replaces an existing one. The file is UTF-8;
    it keeps the permissions of the file it replaces (else the umask's).

    Parameters
    ----------
    result : GeoparseResult
    path : str or PathLike
        Target file, or ``"-"`` for standard output.
    fmt : str
        One of :data:`FORMATS`.

    Raises
    ------
    OSError
        If the folder is not writable or the disk is full (``path`` is then untouched).
    ValueError
        If ``fmt`` is unknown.
    """
    if fmt not in _WRITERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if str(path) == "-":
        write(result, sys.stdout, fmt)
        sys.stdout.flush()
        return
    with atomic_write(path, "w", newline="" if fmt == "csv" else None) as stream:
        write(result, stream, fmt)
