"""The gazetteer store: lookups, metadata, life cycle (built from a dozen real rows)."""

import sqlite3
import threading
from pathlib import Path

import pytest

from gazetteer import Gazetteer, GazetteerCorruptError, GazetteerNotBuiltError, open_gazetteer
from gazetteer.build import build_gazetteer, needs_rebuild
from tests.conftest import tiny_records


def test_store_lookup_ignores_case_diacritics_and_dashes(tiny_gazetteer):
    for written in ("Baku", "BAKU", "baku", "Bakı"):
        names = {c.place.key for c in tiny_gazetteer.lookup(written)}
        assert "geonames:587084" in names, written
    assert [c.place.key for c in tiny_gazetteer.lookup("Nagorno–Karabakh")] == ["curated:nagorno-karabakh"]


def test_store_lookup_reports_name_kind(tiny_gazetteer):
    kinds = {c.place.key: c.name_kind for c in tiny_gazetteer.lookup("Armenian")}
    assert kinds == {"ne:AM": "demonym"}
    kinds = {c.place.key: c.name_kind for c in tiny_gazetteer.lookup("Leninakan")}
    assert kinds == {"geonames:616599": "historic"}


def test_store_lookup_unknown_name_is_empty(tiny_gazetteer):
    assert tiny_gazetteer.lookup("Zarvostan") == []


def test_store_place_fields(tiny_gazetteer):
    baku = tiny_gazetteer.get("geonames:587084")
    assert (baku.geonameid, baku.country_code, baku.feature_class, baku.feature_code) == (587084, "AZ", "P", "PPLC")
    assert tiny_gazetteer.country("am").name == "Armenia"
    assert tiny_gazetteer.country("AM").geonameid is None  # Natural Earth, not GeoNames


def test_store_region_point_comes_from_member_geometry(tiny_gazetteer):
    region = tiny_gazetteer.get("curated:south-caucasus")
    # Members are boxes spanning 40.0–50.4 E and 38.4–43.6 N: the point must be inside them.
    assert 40.0 <= region.lon <= 50.4 and 38.4 <= region.lat <= 43.6


def test_store_country_outlines_are_geojson_lon_lat(tiny_gazetteer):
    outlines = tiny_gazetteer.country_outlines()
    assert outlines["type"] == "FeatureCollection"
    armenia = next(f for f in outlines["features"] if f["properties"]["country_code"] == "AM")
    lons = [pt[0] for ring in armenia["geometry"]["coordinates"] for pt in ring]
    lats = [pt[1] for ring in armenia["geometry"]["coordinates"] for pt in ring]
    assert min(lons) == pytest.approx(43.4) and max(lats) == pytest.approx(41.3)


def test_store_missing_file_says_how_to_build(tmp_path):
    with pytest.raises(GazetteerNotBuiltError, match="geomap gazetteer build"):
        Gazetteer(tmp_path / "nope.sqlite")


def test_store_explicit_missing_path_is_not_built_silently(tmp_path):
    with pytest.raises(GazetteerNotBuiltError):
        open_gazetteer(tmp_path / "typo.sqlite")
    assert not (tmp_path / "typo.sqlite").exists()


def test_store_corrupt_file_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GazetteerCorruptError, match="rebuild"):
        Gazetteer(bad)
    assert needs_rebuild(bad).startswith("corrupt")


def test_store_truncated_file_gives_clear_error(tmp_path, tiny_gazetteer_path):
    data = tiny_gazetteer_path.read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(GazetteerCorruptError):
        g = Gazetteer(cut)
        g.lookup("Baku")


def test_store_damaged_schema_text_gives_clear_error(tmp_path, tiny_gazetteer_path):
    """A byte of the schema's SQL text flipped: SQLite's error quotes bytes that are not UTF-8."""
    data = bytearray(tiny_gazetteer_path.read_bytes())
    data[data.find(b"CREATE TABLE lookup") + 7] = 0xFF
    damaged = tmp_path / "schema.sqlite"
    damaged.write_bytes(bytes(data))
    with pytest.raises(GazetteerCorruptError, match="rebuild"):
        Gazetteer(damaged).lookup("Baku")


@pytest.mark.parametrize("name", ["g#1.sqlite", "g?mode=rw.sqlite", "g%41.sqlite", "g b.sqlite"])
def test_store_opens_paths_with_uri_characters(tmp_path, tiny_copy, name):
    """The file is opened read-only through an SQLite URI: "#", "?" and "%" in its path are
    escaped, and nothing is created beside it."""
    copy = tiny_copy(name)
    assert [c.place.name for c in Gazetteer(copy).lookup("Yerevan")] == ["Yerevan"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert needs_rebuild(copy) is None


def test_store_closes_the_connection_of_a_thread_that_ended(tiny_gazetteer_path):
    """Many short-lived threads sharing one instance (a server's request threads) leave no
    connection, file descriptor or memory map behind."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        pytest.skip("counts open file descriptors through /proc (Linux)")
    gaz = Gazetteer(tiny_gazetteer_path)
    gaz.lookup("Baku")
    before = len(list(fds.iterdir()))
    for number in range(60):
        thread = threading.Thread(target=gaz.lookup, args=(f"Name {number}",))
        thread.start()
        thread.join()
    assert len(list(fds.iterdir())) <= before + 2
    assert [c.place.name for c in gaz.lookup("Shusha")] == ["Shusha"]


def test_store_other_schema_version_is_rejected(tiny_copy):
    copy = tiny_copy("old.sqlite", "UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(GazetteerCorruptError, match="schema"):
        Gazetteer(copy)
    assert needs_rebuild(copy) is not None


def test_build_is_atomic_when_a_source_fails(tmp_path, tiny_gazetteer_path):
    target = tmp_path / "g.sqlite"
    target.write_bytes(tiny_gazetteer_path.read_bytes())
    before = target.read_bytes()

    def broken():
        yield from tiny_records()[:3]
        raise RuntimeError("source failed half way")

    with pytest.raises(RuntimeError):
        build_gazetteer(target, records=broken(), progress=False)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_build_concurrent_processes_do_not_corrupt(tmp_path):
    target = tmp_path / "g.sqlite"
    errors = []

    def run():
        try:
            build_gazetteer(target, records=tiny_records(), progress=False)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [c.place.name for c in Gazetteer(target).lookup("Yerevan")] == ["Yerevan"]


def test_build_refuses_to_overwrite_a_file_that_is_not_a_gazetteer(tmp_path):
    from gazetteer import GazetteerError
    article = tmp_path / "article.txt"
    article.write_text("Talks resumed in Baku.", encoding="utf-8")
    with pytest.raises(GazetteerError, match="refusing to overwrite"):
        build_gazetteer(article, records=tiny_records(), progress=False)
    assert article.read_text(encoding="utf-8") == "Talks resumed in Baku."
    build_gazetteer(article, records=tiny_records(), progress=False, force=True)
    assert Gazetteer(article).lookup("Baku")


def test_store_open_gazetteer_does_not_block_a_rebuild(tmp_path, tiny_gazetteer_path):
    """A reader keeps its lock on the file for its lifetime; a rebuild renames a new file over
    it, so the rebuild goes through, new readers see the new file and the old one keeps working."""
    target = tmp_path / "g.sqlite"
    target.write_bytes(tiny_gazetteer_path.read_bytes())
    reader = Gazetteer(target)
    assert [c.place.name for c in reader.lookup("Baku")] == ["Baku"]
    without_baku = [r for r in tiny_records() if r["key"] != "geonames:587084"]
    build_gazetteer(target, records=without_baku, progress=False, force=True)
    assert needs_rebuild(target) is None
    assert Gazetteer(target).lookup("Baku") == []
    assert [c.place.name for c in reader.lookup("Yerevan")] == ["Yerevan"]


def test_store_closed_or_dropped_instance_releases_the_file(tmp_path, tiny_gazetteer_path):
    """A reader holds its lock on the file until closed or dropped; then the file can be
    changed in place again (as tests and users with the sqlite3 shell do)."""
    copy = tmp_path / "g.sqlite"
    copy.write_bytes(tiny_gazetteer_path.read_bytes())

    def write_in_place():
        with sqlite3.connect(copy, timeout=0) as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        conn.close()

    gaz = Gazetteer(copy)
    assert gaz.lookup("Baku")
    gaz.close()
    write_in_place()
    assert gaz.lookup("Yerevan")  # opens a new connection
    del gaz
    write_in_place()
