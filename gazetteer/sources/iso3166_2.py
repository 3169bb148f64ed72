"""Coordinates of ISO 3166-2 subdivisions, as shipped in the PyPI package ``iso3166-2``
(its data file ``iso3166-2.json``: about 5,000 subdivisions of 250 countries, each with a
name, a type and a ``latLng`` point). The package is MIT-licensed.

Only the JSON file is read, directly: nothing of the package is imported, so its updater and
anything else that could reach the network never runs.
"""

from __future__ import annotations

import importlib.util
import json
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

from ..errors import GazetteerError

__all__ = ["SubdivisionPoint", "data_path", "load_points", "source_version"]

_PACKAGE = "iso3166_2"
_DATA_FILE = "iso3166-2.json"


class SubdivisionPoint(NamedTuple):
    """One ISO 3166-2 subdivision: its ``name``, ``type`` and point (WGS84 degrees)."""

    code: str
    name: str
    type: str
    lat: float
    lon: float


def data_path() -> Path:
    """Path of ``iso3166-2.json`` inside the installed package (found without importing it).

    Raises
    ------
    GazetteerError
        If the package ``iso3166-2`` or its data file is missing.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GazetteerError("the package iso3166-2 is not installed; reinstall geomap to get it")
    path = Path(next(iter(spec.submodule_search_locations))) / _DATA_FILE
    if not path.is_file():
        raise GazetteerError(f"ISO 3166-2 data not found at {path}")
    return path


def source_version() -> str:
    """Version string of the source package, recorded in the gazetteer's metadata."""
    return f"iso3166-2 {version('iso3166-2')}"


def load_points() -> dict[str, SubdivisionPoint]:
    """ISO 3166-2 code (``"AZ-SUS"``) → :class:`SubdivisionPoint`, for every subdivision
    with a valid point. The points are the package's own: callers must check them (the
    package places ``CN-TW`` on Hong Kong, for instance)."""
    with data_path().open("rb") as fh:
        data = json.load(fh)
    points: dict[str, SubdivisionPoint] = {}
    for subdivisions in data.values():
        for code, sub in subdivisions.items():
            lat_lon = sub.get("latLng") or ()
            if len(lat_lon) != 2 or lat_lon[0] is None or lat_lon[1] is None:
                continue
            lat, lon = float(lat_lon[0]), float(lat_lon[1])
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                points[code] = SubdivisionPoint(code, sub.get("name") or "", sub.get("type") or "", lat, lon)
    return points
