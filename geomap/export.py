"""Export: write a :class:`~geomap.model.GeoparseResult` as JSON or JSON Lines.

The JSON contract, read by other tools and tests::

    {"documents": [{"id", "source", "mentions": [{"text", "start", "end", "sentence", "label",
                                                   "place"}]}],
     "unresolved": [{"document", "text", "start", "end", "reason"}]}

``place`` is null or ``{"name", "lat", "lon", "country_code", "feature_class", "feature_code",
"geonameid", "population", "source", "confidence"}`` (WGS84 degrees). JSON Lines writes one
document object per line.
"""

from __future__ import annotations

import json
from typing import TextIO

from .model import GeoparseResult

__all__ = ["to_json", "write_json", "write_jsonl", "FORMATS"]

FORMATS = ("json", "jsonl")


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
