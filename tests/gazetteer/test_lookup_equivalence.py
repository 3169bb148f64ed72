"""``Gazetteer.lookup`` gives exactly what a plain SQL join of ``names`` and ``places`` gives.

The reference below reads the relational tables the way the store's docstring describes them:
every place whose name normalises like the query, one candidate per place, in place-id order,
keeping the best name kind (official and curated first, then short, abbreviation, alternate,
historic, demonym). Whatever fast path ``lookup`` takes must agree with it on every name of
the tiny gazetteer, on names written differently, and on unknown names.
"""

import sqlite3
import struct
import threading
import zlib

import msgpack
import pytest

from gazetteer import Gazetteer, GazetteerCorruptError, normalize_name
from gazetteer.build import build_gazetteer
from gazetteer.store import lookup_shards
from tests.conftest import tiny_records

KIND_RANK = {"official": 0, "curated": 0, "short": 1, "abbreviation": 2, "alternate": 3, "historic": 4,
             "demonym": 5}
PLACE_COLUMNS = ("id, key, name, lat, lon, feature_class, feature_code, country_code, admin1, population, "
                 "source, source_id, wikidata")


def reference_lookup(conn: sqlite3.Connection, name: str) -> list[tuple]:
    """(place columns, matched name, kind) per matching place, by a straightforward join; the
    matched name is ``name`` as asked."""
    best: dict[int, tuple] = {}
    rows = conn.execute(
        f"SELECT n.kind, {', '.join('p.' + c for c in PLACE_COLUMNS.split(', '))} FROM names n "
        "JOIN places p ON p.id = n.place_id WHERE n.name_norm = ? ORDER BY p.id, n.kind",
        (normalize_name(name),))
    for kind, *place in rows:
        previous = best.get(place[0])
        if previous is None or KIND_RANK[kind] < KIND_RANK[previous[2]]:
            best[place[0]] = (tuple(place), name, kind)
    return list(best.values())


def as_rows(candidates) -> list[tuple]:
    return [(tuple(getattr(c.place, f) for f in PLACE_COLUMNS.split(", ")), c.matched_name, c.name_kind)
            for c in candidates]


def query_names(conn: sqlite3.Connection) -> list[str]:
    """Every stored name (normalised), every place name as written, demonyms in other cases,
    spellings that normalise alike, and names that are no place."""
    stored = [row[0] for row in conn.execute("SELECT DISTINCT name_norm FROM names")]
    written = [row[0] for row in conn.execute("SELECT name FROM places")]
    return [*stored, *written, *(n.upper() for n in stored), "ARMENIAN", "azeri", "Bakı", "U.S.", "Nagorno–Karabakh",
            "the South Caucasus", "Zarvostan", "Monday", "", "...", "Baku Baku"]


@pytest.fixture()
def fresh_tiny(tiny_gazetteer_path):
    """A new instance per test: nothing cached yet, every lookup reads the file."""
    return Gazetteer(tiny_gazetteer_path)


def test_lookup_equals_sql_join_on_every_name(fresh_tiny, tiny_gazetteer_path):
    with sqlite3.connect(tiny_gazetteer_path) as conn:
        names = query_names(conn)
        assert len(names) > 60
        for name in names:
            assert as_rows(fresh_tiny.lookup(name)) == reference_lookup(conn, name), name


def test_lookup_equals_sql_join_when_asked_again(fresh_tiny, tiny_gazetteer_path):
    """A name's first, second and later lookups take different paths (the row read, the row
    decoded again and kept decoded, the decoded answer): all give the join's answer, as do
    other spellings asked after it."""
    with sqlite3.connect(tiny_gazetteer_path) as conn:
        names = query_names(conn)
        expected = [reference_lookup(conn, name) for name in names]
        for _ in range(3):
            assert [as_rows(fresh_tiny.lookup(name)) for name in names] == expected
        for spelling in ("BAKU", "baku", "Bakı", "ARMENIA", "u.s.", "NAGORNO KARABAKH"):
            assert as_rows(fresh_tiny.lookup(spelling)) == reference_lookup(conn, spelling), spelling


def test_lookup_gives_a_new_list_each_time(fresh_tiny):
    """Callers may change what they get: the next lookup is unaffected."""
    first = fresh_tiny.lookup("Armenia")
    assert [c.place.key for c in first] == ["ne:AM", "geonames:8000001"]
    first.clear()
    for _ in range(3):
        again = fresh_tiny.lookup("Armenia")
        assert [c.place.key for c in again] == ["ne:AM", "geonames:8000001"]
        again.pop()
    assert fresh_tiny.lookup_many(["Armenia"]) == [fresh_tiny.lookup("Armenia")]


def test_lookup_many_equals_sql_join_and_lookup_one_by_one(tiny_gazetteer_path):
    """A batch with duplicates, spellings that normalise alike, unknown and empty names gives,
    name by name, the join's answer and what one-by-one lookups on a fresh instance give."""
    with sqlite3.connect(tiny_gazetteer_path) as conn:
        names = query_names(conn)
        batch = [*names, *reversed(names), "Baku", "BAKU", "Zarvostan"]
        one_by_one = Gazetteer(tiny_gazetteer_path)
        expected = [as_rows(one_by_one.lookup(name)) for name in batch]
        gaz = Gazetteer(tiny_gazetteer_path)
        answers = gaz.lookup_many(batch)
        assert len(answers) == len(batch)
        assert [as_rows(candidates) for candidates in answers] == expected
        for name, candidates in zip(batch, answers):
            assert as_rows(candidates) == reference_lookup(conn, name), name
        # A name twice in the batch: two lists.
        assert answers[batch.index("Baku")] is not answers[len(batch) - 3]
        # The cache is shared both ways: the same answers, whichever call asked first.
        assert [as_rows(gaz.lookup(name)) for name in batch] == expected
        assert [as_rows(c) for c in gaz.lookup_many(batch)] == expected
        assert [as_rows(c) for c in gaz.lookup_many(batch)] == expected
        assert gaz.lookup_many([]) == []
        assert Gazetteer(tiny_gazetteer_path).lookup_many(iter(["Yerevan", "Monday"]))[1] == []


def test_lookup_many_after_some_lookups(tiny_gazetteer_path):
    """Names cached as asked, cached under another spelling, and new ones, in one batch."""
    gaz = Gazetteer(tiny_gazetteer_path)
    baku = gaz.lookup("Baku")
    yerevan = gaz.lookup("Yerevan")
    gaz.lookup("Yerevan")  # asked twice: kept decoded
    answers = gaz.lookup_many(["BAKU", "Yerevan", "Armenia", "Baku", "Zarvostan", "armenia"])
    assert answers[1] == yerevan and answers[3] == baku
    assert [c.place for c in answers[0]] == [c.place for c in baku]  # "BAKU" normalises like "Baku"
    assert [c.matched_name for c in answers[0]] == ["BAKU"]
    assert [c.place.key for c in answers[2]] == ["ne:AM", "geonames:8000001"]
    assert [c.place for c in answers[5]] == [c.place for c in answers[2]] and answers[4] == []


def test_lookup_keeps_best_kind_and_place_order(tmp_path):
    """A place reached through several names, and namesakes in id order."""
    records = tiny_records()
    yerevan = next(r for r in records if r["key"] == "geonames:616052")
    yerevan["names"] += [("Erevan", "", "historic"), ("Yerevan", "en", "alternate"), ("YVN", "", "abbreviation")]
    path = build_gazetteer(tmp_path / "g.sqlite", records=records, progress=False)
    gaz = Gazetteer(path)
    assert [(c.place.key, c.name_kind) for c in gaz.lookup("Erevan")] == [("geonames:616052", "alternate")]
    assert [(c.place.key, c.name_kind) for c in gaz.lookup("Yerevan")] == [("geonames:616052", "official")]
    assert [c.place.key for c in gaz.lookup("Armenia")] == ["ne:AM", "geonames:8000001"]
    assert [c.place.key for c in gaz.lookup("Georgia")] == ["ne:GE", "geonames:4196586", "geonames:4197000"]
    with sqlite3.connect(path) as conn:
        for name in ("Erevan", "Yerevan", "YVN", "Armenia", "Georgia", "Brussels", "Paris"):
            assert as_rows(Gazetteer(path).lookup(name)) == reference_lookup(conn, name), name


def _named(key: str, name: str) -> dict:
    """A curated place called ``name`` (fields of a real record, Shusha's)."""
    shusha = next(r for r in tiny_records() if r["key"] == "geonames:147105")
    return {**shusha, "key": key, "name": name, "source": "curated", "source_id": key.split(":", 1)[1],
            "names": [(name, "en", "official")]}


def test_lookup_tells_apart_names_with_the_same_crc32(tmp_path):
    """"plumless" and "buckeroo" are a well-known CRC-32 collision: each name finds its own
    place, and a name that only shares a stored name's checksum finds nothing."""
    assert zlib.crc32(b"plumless") == zlib.crc32(b"buckeroo")
    both = build_gazetteer(tmp_path / "both.sqlite", progress=False, records=[
        *tiny_records(), _named("curated:plumless", "Plumless"), _named("curated:buckeroo", "Buckeroo")])
    gaz = Gazetteer(both)
    assert [c.place.key for c in gaz.lookup("Plumless")] == ["curated:plumless"]
    assert [c.place.key for c in gaz.lookup("BUCKEROO")] == ["curated:buckeroo"]
    one = build_gazetteer(tmp_path / "one.sqlite", progress=False,
                          records=[*tiny_records(), _named("curated:plumless", "Plumless")])
    assert Gazetteer(one).lookup("Buckeroo") == []
    assert [c.place.name for c in Gazetteer(one).lookup("plumless")] == ["Plumless"]
    # The same in one batch: both names' hashes are one row, read once.
    answers = Gazetteer(both).lookup_many(["Plumless", "BUCKEROO", "Baku", "buckeroo", "plumless"])
    assert [[c.place.key for c in candidates] for candidates in answers] == [
        ["curated:plumless"], ["curated:buckeroo"], ["geonames:587084"], ["curated:buckeroo"], ["curated:plumless"]]
    assert [[c.place.key for c in candidates] for candidates in Gazetteer(one).lookup_many(["Buckeroo", "Plumless"])
            ] == [[], ["curated:plumless"]]


def stored_rows(conn: sqlite3.Connection) -> dict[int, bytes]:
    """Every name hash's row in the lookup table, read as its format says (12-byte slots:
    hash, offset and length of the row in the shard's rows; length 0 for an empty slot)."""
    rows = {}
    for slots, data in conn.execute("SELECT slots, rows FROM lookup"):
        for hashed, offset, length in struct.iter_unpack("<III", slots):
            if length:
                rows[hashed] = data[offset:offset + length]
    return rows


def test_lookup_of_a_damaged_entry_says_how_to_rebuild(tiny_copy):
    copy = tiny_copy("damaged.sqlite")
    with sqlite3.connect(copy) as conn:
        rows = stored_rows(conn)
        assert zlib.crc32(b"baku") in rows and zlib.crc32(b"yerevan") in rows
        # A row cut short: MessagePack of [["baku", 0, [1, 2 ...
        rows[zlib.crc32(b"baku")] = b"\x91\x93\xa4baku\x00\x9d\x01\x02"
        # A row of the wrong shape: a place of two columns.
        rows[zlib.crc32(b"yerevan")] = msgpack.packb([["yerevan", 0, [1, 2]]])
        # A row that is no list of names: a map.
        rows[zlib.crc32(b"tbilisi")] = msgpack.packb([{}])
        conn.execute("DELETE FROM lookup")
        conn.executemany("INSERT INTO lookup VALUES (?, ?, ?, ?)",
                         lookup_shards(sorted(rows.items()), len(rows)))
    with pytest.raises(GazetteerCorruptError, match="rebuild"):
        Gazetteer(copy).lookup("Baku")
    with pytest.raises(GazetteerCorruptError, match="'yerevan'.*rebuild"):
        Gazetteer(copy).lookup("Yerevan")
    with pytest.raises(GazetteerCorruptError, match="'tbilisi'.*rebuild"):
        Gazetteer(copy).lookup("Tbilisi")
    assert [c.place.name for c in Gazetteer(copy).lookup("Armenia")] == ["Armenia", "Armenia"]
    with pytest.raises(GazetteerCorruptError, match="'baku'.*rebuild"):
        Gazetteer(copy).lookup_many(["Armenia", "Baku", "Shusha"])
    assert [[c.place.name for c in found] for found in Gazetteer(copy).lookup_many(["Shusha", "Armenia"])
            ] == [["Shusha"], ["Armenia", "Armenia"]]


def test_lookup_of_a_damaged_table_says_how_to_rebuild(tiny_copy):
    """Slots cut short, and a shard missing, each in a copy of the file."""
    cut = tiny_copy("cut.sqlite", "UPDATE lookup SET slots = substr(slots, 1, 30)")
    with pytest.raises(GazetteerCorruptError, match="rebuild"):
        for name in ("Baku", "Yerevan", "Armenia", "Shusha", "Zarvostan"):
            Gazetteer(cut).lookup(name)
    missing = tiny_copy("missing.sqlite")
    with sqlite3.connect(missing) as conn:
        rows = stored_rows(conn)
        conn.execute("DELETE FROM lookup")
        four_shards = list(lookup_shards(sorted(rows.items()), 3_000_000))
        conn.executemany("INSERT INTO lookup VALUES (?, ?, ?, ?)", four_shards[:3])
    with pytest.raises(GazetteerCorruptError, match="3 lookup shards.*rebuild"):
        Gazetteer(missing).lookup("Baku")


def test_lookup_equals_sql_join_on_the_packaged_gazetteer(full_gazetteer_path):
    """Every 20th stored name and place name of the real gazetteer (namesakes, collisions of
    the lookup key, names in many scripts), against the join."""
    gaz = Gazetteer(full_gazetteer_path)
    with sqlite3.connect(full_gazetteer_path) as conn:
        stored = [row[0] for row in conn.execute("SELECT DISTINCT name_norm FROM names ORDER BY name_norm")]
        written = [row[0] for row in conn.execute("SELECT name FROM places ORDER BY id")]
        names = stored[::20] + written[::20]
        assert len(names) > 30_000
        for name in names:
            assert as_rows(gaz.lookup(name)) == reference_lookup(conn, name), name
    # In batches of a document's size, on a fresh instance: the same answers.
    batched = Gazetteer(full_gazetteer_path)
    answers = [found for start in range(0, len(names), 40) for found in batched.lookup_many(names[start:start + 40])]
    assert [as_rows(found) for found in answers] == [as_rows(gaz.lookup(name)) for name in names]


def test_lookup_equals_sql_join_when_the_table_has_many_shards(tmp_path, monkeypatch):
    """A build that splits the lookup table (as a full GeoNames import does, here with 16 names
    a shard) answers every name as the join does."""
    monkeypatch.setattr("gazetteer.store._SHARD_NAMES", 16)
    path = build_gazetteer(tmp_path / "sharded.sqlite", records=tiny_records(), progress=False)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] >= 4
        gaz = Gazetteer(path)
        for name in query_names(conn):
            assert as_rows(gaz.lookup(name)) == reference_lookup(conn, name), name


def test_lookup_from_many_threads_sharing_one_instance(tiny_gazetteer_path):
    """Each thread reads through its own connection and blobs; all share the cache."""
    with sqlite3.connect(tiny_gazetteer_path) as conn:
        names = query_names(conn)
        expected = [reference_lookup(conn, name) for name in names]
    gaz = Gazetteer(tiny_gazetteer_path)
    answers: dict[int, list] = {}

    def ask(number: int) -> None:
        order = names[number:] + names[:number]  # first, second and later asks interleave
        for _ in range(3):
            got = {name: as_rows(gaz.lookup(name)) for name in order}
        answers[number] = [got[name] for name in names]

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answers[number] == expected for number in range(4))


def test_lookup_of_text_no_place_can_have(fresh_tiny):
    """Lone surrogates (text decoded badly) and text longer than any place name find nothing,
    quickly, and are not kept; they are no sign of a damaged file."""
    for name in ("\ud800", "Bak\udcff", "\udcff" * 3):
        assert fresh_tiny.lookup(name) == [] and not fresh_tiny.has_name(name)
    long_marks = "a" + "\u0301\u0316" * 50_000  # Unicode normalisation is quadratic on these
    assert normalize_name(long_marks) == ""  # not normalised at all ("a" if it were)
    assert fresh_tiny.lookup(long_marks) == [] and fresh_tiny.lookup("Baku " * 1_000) == []
    assert long_marks not in fresh_tiny._cache
