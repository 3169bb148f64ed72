"""The lookup table's hash table (``gazetteer.store.lookup_shards`` writes it, the store reads
it): every row written is found under its hash, and no other hash finds anything, whatever the
number of shards, crowded home slots, empty shards and extreme hashes."""

import random
import sqlite3

import pytest

from gazetteer.store import SCHEMA, _LookupReader, lookup_shards


def written(rows: dict[int, bytes], names: int) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO lookup VALUES (?, ?, ?, ?)", lookup_shards(sorted(rows.items()), names))
    return conn


def sample_rows(rng: random.Random, count: int) -> dict[int, bytes]:
    rows = {rng.randrange(2 ** 32): rng.randbytes(rng.randrange(1, 300)) for _ in range(count)}
    home_slots = -(-len(rows) * 4 // 3)  # about the table's size: many hashes share a home slot
    rows.update({7 + k * home_slots: b"crowded %d" % k for k in range(40)})
    rows.update({hashed: b"run %d" % hashed for hashed in range(1_000, 1_060)})
    rows.update({0: b"zero", 1: b"one", 2 ** 32 - 1: b"last", 2 ** 31: b"middle"})
    return rows


@pytest.mark.parametrize("names, shards", [(10, 1), (3_000_000, 4), (40_000_000, 64)])
def test_lookup_table_finds_every_row_and_nothing_else(names, shards):
    rng = random.Random(names)
    rows = sample_rows(rng, 5_000)
    conn = written(rows, names)
    assert conn.execute("SELECT COUNT(*) FROM lookup").fetchone()[0] == shards
    reader = _LookupReader(conn)
    for hashed, row in rows.items():
        assert reader.row(hashed) == row, hashed
    absent = [hashed for hashed in (rng.randrange(2 ** 32) for _ in range(20_000)) if hashed not in rows]
    absent += [hashed for hashed in (7 + k * 6_700 for k in range(100)) if hashed not in rows]
    assert all(reader.row(hashed) is None for hashed in absent)


def test_lookup_table_with_empty_shards_and_no_rows():
    """Rows only in the lowest quarter of hashes: three of four shards are empty tables."""
    rows = {hashed: b"row %d" % hashed for hashed in range(0, 2 ** 30, 2 ** 18)}
    reader = _LookupReader(written(rows, 3_000_000))
    assert all(reader.row(hashed) == row for hashed, row in rows.items())
    assert [reader.row(hashed) for hashed in (2 ** 30, 2 ** 31 + 5, 2 ** 32 - 1, 2 ** 18 + 1)] == [None] * 4
    empty = _LookupReader(written({}, 0))
    assert empty.row(0) is None and empty.row(2 ** 32 - 1) is None


def test_lookup_table_shards_are_a_power_of_two():
    conn = written({5: b"five"}, 3_000_000)
    conn.execute("DELETE FROM lookup WHERE shard = 3")
    with pytest.raises(ValueError, match="3 lookup shards"):
        _LookupReader(conn)
