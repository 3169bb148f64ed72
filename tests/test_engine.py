"""Tests of geomap.engine: worker processes, input partitions, Dask runs, results read back."""

from __future__ import annotations

import json
import os
import sys

import pytest
from click.testing import CliRunner

from geomap.cli import main
from geomap.engine import (ParserSettings, Partition, iter_parse, load_results, plan_partitions,
                           read_partition, run_dask)
from geomap.exc import GeomapError, InputError
from geomap.ingest import read_inputs
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution

ARTICLES = [
    ("talks", "Aliyev and Pashinyan met in Brussels to discuss Nagorno-Karabakh.\nTalks resume in Geneva."),
    ("gulf", "Tankers crossed the Strait of Hormuz on Monday, officials in Tehran said."),
    ("flood", "Floods hit Dhaka and Chittagong; aid arrived from New Delhi and Kathmandu."),
    ("summit", "Leaders flew from Nairobi to Addis Ababa for the African Union summit."),
    ("trade", "Exports from Rotterdam to Shanghai rose, while Hamburg lost business to Antwerp."),
    ("quake", "A quake shook Kathmandu and was felt in Lhasa and Lucknow."),
    ("vote", "Voters in Georgia and Tbilisi waited for results; Moscow and Washington watched."),
    ("", "No place at all is named in this short note about the weather."),
]


def _write_corpus(path, *, bad_line: bool = False) -> None:
    lines = [json.dumps({"id": name, "text": text} if name else {"text": text}) for name, text in ARTICLES]
    if bad_line:
        lines.insert(3, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _mentions(documents) -> list:
    return [(d["id"], m["text"], m["start"], m["end"], m["label"], m["place"] and m["place"]["name"])
            for d in documents for m in d["mentions"]]


# ---------------------------------------------------------------------------------------------
# Partitions (no model)


def test_engine_jsonl_ranges_read_like_a_plain_run(tmp_path):
    corpus = tmp_path / "news.jsonl"
    _write_corpus(corpus, bad_line=True)
    partitions, skipped = plan_partitions([corpus], block_bytes=120)
    assert skipped == [] and len(partitions) > 3
    assert all(p.kind == "jsonl" for p in partitions)
    # The ranges tile the file exactly, each ending at a line end.
    data = corpus.read_bytes()
    assert partitions[0].start == 0 and partitions[-1].end == len(data)
    assert all(a.end == b.start and data[a.end - 1:a.end] == b"\n" for a, b in zip(partitions, partitions[1:]))
    documents, problems = [], []
    for partition in partitions:
        docs, bad = read_partition(partition)
        documents += docs
        problems += bad
    plain, plain_skipped = read_inputs([corpus])
    assert documents == plain                     # ids, texts, and news-9 for the record without id
    assert documents[-1].id == "news-9"
    assert problems == plain_skipped and problems[0][0] == f"{corpus}:4"


def test_engine_partitions_group_text_files_and_keep_csv_whole(tmp_path):
    for n in range(5):
        (tmp_path / f"a{n}.txt").write_text(f"Story {n} from Baku.", encoding="utf-8")
    (tmp_path / "b.csv").write_text('id,text\nx,"Line one\nin Baku"\ny,Yerevan\n', encoding="utf-8")
    partitions, _ = plan_partitions([tmp_path], partitions=2)
    kinds = [(p.kind, len(p.paths)) for p in partitions]
    assert ("files", 1) in kinds and sum(n for _, n in kinds) == 6
    csv_part = next(p for p in partitions if p.paths[0].endswith("b.csv"))
    docs, bad = read_partition(csv_part)
    assert [d.text for d in docs] == ["Line one\nin Baku", "Yerevan"] and bad == []


def test_engine_stdin_cannot_be_partitioned():
    with pytest.raises(InputError, match="standard input"):
        plan_partitions(["-"])


def test_engine_parquet_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed: .parquet inputs need it")
    import pyarrow.parquet as pq
    table = pa.table({"id": ["a", "b", "c"], "text": ["Baku.", "Yerevan.", "Tbilisi."]})
    pq.write_table(table, tmp_path / "n.parquet", row_group_size=2)
    partitions, _ = plan_partitions([tmp_path / "n.parquet"])
    assert [(p.kind, p.start, p.first_line) for p in partitions] == [("parquet", 0, 1), ("parquet", 1, 3)]
    assert [d.id for p in partitions for d in read_partition(p)[0]] == ["a", "b", "c"]


def test_engine_settings_share_geocoder_politeness_among_workers():
    from geomap.geocode import GeocoderSettings
    one = ParserSettings(fallback=GeocoderSettings(max_requests=20, min_delay=1.0), offline=False)
    shared = one.for_workers(2).fallback
    # Nominatim's policy is one request per second in all: two processes wait 2 s each.
    assert (shared.min_delay, shared.max_requests) == (2.0, 10)
    assert one.for_workers(1) is one
    assert ParserSettings(offline=True).for_workers(4).fallback == "nominatim"
    with pytest.raises(InputError, match="callable"):
        ParserSettings(fallback=lambda mention, countries: (None, "x"), offline=False).for_workers(2)


def test_engine_dask_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(GeomapError, match=r"pip install 'geomap\[dask\]'"):
        run_dask([tmp_path], tmp_path / "out")


def test_engine_output_folder_with_other_files_is_refused(tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed (pip install 'geomap[dask]')")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not geomap results"):
        run_dask([tmp_path / "missing.jsonl"], tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text(encoding="utf-8") == "mine"


# ---------------------------------------------------------------------------------------------
# Results read back (no model)


def test_engine_from_dict_recovers_sentence_offsets_and_reasons():
    text = "Ships left. The European Union met in Europe, then across Europe."
    sentence = "The European Union met in Europe, then across Europe."
    s0 = text.index(sentence)
    europe_2 = text.index("Europe,") + len("Europe, then across ")   # the third "Europe" word
    baku = Place("geonames:587084", "Baku", 40.37767, 49.89201, "AZ", "P", "PPLC", 587084, 2351300)
    eu = Place("curated:european-union", "European Union", 50.8, 4.4, None, "L", "RGN", None, None, "curated")
    mentions = [Mention("European Union", text.index("European"), text.index("European") + 14, sentence, s0, "ORG"),
                Mention("Europe", europe_2, europe_2 + 6, sentence, s0, "LOC")]
    result = GeoparseResult((DocumentResult(Document("d", text, "x.txt", title="T"), (
        Resolution(mentions[0], eu, 0.9, candidates=2, provenance={"candidates": 2}),
        Resolution(mentions[1], None, 0.0, "no gazetteer match"))),
        DocumentResult(Document("e", "Baku.", "y.txt"), (
            Resolution(Mention("Baku", 0, 4, "Baku.", 0, "GPE"), baku, 0.99),))))
    back = GeoparseResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.to_dict() == result.to_dict()
    assert [r.mention for r in back.resolutions] == [r.mention for r in result.resolutions]
    assert back.documents[0].resolutions[1].reason == "no gazetteer match"
    assert back.documents[1].resolutions[0].place == baku          # GeoNames key rebuilt exactly
    assert back.documents[0].document.text == "" and back.documents[0].document.title == "T"
    # One line of JSONL has no "unresolved" list: the reason is then generic.
    line = DocumentResult.from_dict(result.documents[0].to_dict())
    assert line.resolutions[1].reason == "unresolved" and line.resolutions[1].place is None


def test_engine_load_results_names_the_bad_line(tmp_path):
    (tmp_path / "r.jsonl").write_text('{"id": "a", "source": null, "mentions": []}\n{"id": 1}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"r\.jsonl:2: not a document"):
        load_results(tmp_path / "r.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no part-"):
        load_results(tmp_path / "empty")


# ---------------------------------------------------------------------------------------------
# With the model and the real gazetteer


@pytest.fixture
def run(full_gazetteer_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args],
                                  env={"GEOMAP_GAZETTEER": str(full_gazetteer_path), "GEOMAP_CONFIG": None,
                                       "GEOMAP_OFFLINE": "1"})
    return invoke


def test_engine_workers_give_the_same_results_in_order(full_gazetteer_path):
    documents = [Document(name or f"doc{k}", text) for k, (name, text) in enumerate(ARTICLES * 3)]
    settings = ParserSettings(gazetteer=str(full_gazetteer_path), offline=True)
    plain = [r.to_dict() for r in iter_parse(documents, settings=settings)]
    parallel = [r.to_dict() for r in iter_parse(documents, settings=settings, workers=2, chunk_size=3)]
    assert parallel == plain
    assert [d["id"] for d in parallel] == [d.id for d in documents]
    assert {"Brussels", "Dhaka", "Addis Ababa"} <= {m["text"] for d in plain for m in d["mentions"]}


def test_engine_cli_streaming_jsonl_equals_json_and_workers(run, tmp_path):
    corpus = tmp_path / "news.jsonl"
    _write_corpus(corpus)
    whole = run("extract", corpus, "--format", "json", "-o", "all.json")
    streamed = run("extract", corpus, "--format", "jsonl", "-o", "lines.jsonl")
    parallel = run("extract", corpus, "--format", "jsonl", "--workers", "2", "-o", "par.jsonl", "-q")
    assert (whole.exit_code, streamed.exit_code, parallel.exit_code) == (0, 0, 0), streamed.output
    documents = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))["documents"]
    lines = [json.loads(line) for line in (tmp_path / "lines.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lines == documents
    assert (tmp_path / "par.jsonl").read_text(encoding="utf-8") == (tmp_path / "lines.jsonl").read_text(encoding="utf-8")
    assert "news.jsonl [news-8]: no places found" in streamed.stderr
    assert streamed.stderr.strip().splitlines()[-1] == whole.stderr.strip().splitlines()[-1]


def test_engine_dask_local_cluster_same_mentions_as_plain_run(run, tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed (pip install 'geomap[dask]')")
    corpus = tmp_path / "news.jsonl"
    _write_corpus(corpus, bad_line=True)
    plain = run("extract", corpus, "--format", "jsonl", "-o", "plain.jsonl")
    dask = run("extract", corpus, "--engine", "dask", "--partitions", "3", "--output-dir", "results")
    assert plain.exit_code == 1 and dask.exit_code == 1            # the bad line is skipped, not fatal
    assert f"skipped {corpus}:4: invalid JSON" in dask.stderr
    parts = sorted((tmp_path / "results").glob("part-*.jsonl"))
    assert len(parts) == 3 and len(list((tmp_path / "results").glob("part-*.geojson"))) == 3
    plain_docs = [json.loads(line) for line in (tmp_path / "plain.jsonl").read_text(encoding="utf-8").splitlines()]
    dask_docs = [json.loads(line) for part in parts for line in part.read_text(encoding="utf-8").splitlines()]
    assert dask_docs == plain_docs
    assert _mentions(dask_docs) and ("gulf", "Strait of Hormuz") in {(m[0], m[1]) for m in _mentions(dask_docs)}
    summary = json.loads((tmp_path / "results" / "_summary.json").read_text(encoding="utf-8"))
    assert summary["documents"] == len(plain_docs) == 8 and summary["mentions"] == len(_mentions(plain_docs))
    # The map is built from the written results without parsing again.
    mapped = run("map", "--from", "results", "-o", "map.html")
    assert mapped.exit_code == 0, mapped.output
    assert f"8 documents, {summary['mentions']} mentions, {summary['places']} places" in mapped.stderr
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert "Addis Ababa" in html and "Kathmandu" in html
    # A second run replaces the folder; an unknown option combination is a usage error.
    again = run("extract", corpus, "--engine", "dask", "--output-dir", "results", "-q")
    assert again.exit_code == 1 and sorted((tmp_path / "results").glob("part-*.jsonl"))
    assert run("extract", corpus, "--engine", "dask").exit_code == 2
    assert run("extract", corpus, "--partitions", "2").exit_code == 2


def test_engine_map_from_needs_inputs_or_results(run):
    assert run("map", "-o", "m.html").exit_code == 2


def test_engine_dask_existing_scheduler(run, tmp_path):
    distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install 'geomap[dask]')")
    corpus = tmp_path / "news.jsonl"
    _write_corpus(corpus)
    plain = run("extract", corpus, "--format", "jsonl", "-o", "plain.jsonl")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = run("extract", corpus, "--engine", "dask", "--scheduler", cluster.scheduler_address,
                   "--output-dir", "results", "-q")
        assert done.exit_code == 0, done.output
        assert len(cluster.workers) == 1                            # the cluster is still there
    parts = sorted((tmp_path / "results").glob("part-*.jsonl"))
    dask_docs = [json.loads(line) for part in parts for line in part.read_text(encoding="utf-8").splitlines()]
    assert plain.exit_code == 0 and dask_docs == [
        json.loads(line) for line in (tmp_path / "plain.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.mark.model
def test_engine_cli_workers_warn_in_the_cli_format(tmp_path, full_gazetteer_path):
    """A warning raised in a worker process (here: the geocoder's host refuses connections)
    reaches the terminal as the CLI prints warnings, "warning: ...", not in Python's
    file:line format."""
    import socket
    import subprocess
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for number in range(4):
        (tmp_path / f"a{number}.txt").write_text("Officials from Verin Zarvostan and Gorayk met in Yerevan.",
                                                 encoding="utf-8")
    articles = sorted(map(str, tmp_path.glob("a*.txt")))
    done = subprocess.run(
        [sys.executable, "-m", "geomap", "extract", *articles, "--workers", "2", "--geocoder-url", url,
         "-o", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "GEOMAP_GAZETTEER": str(full_gazetteer_path), "GEOMAP_OFFLINE": "0",
             "GEOMAP_GEOCODER_CACHE": str(tmp_path / "geocoder.sqlite")})
    assert done.returncode == 0, done.stderr[-2000:]
    warned = [line for line in done.stderr.splitlines() if "connection refused" in line]
    assert warned and all(line.startswith("warning: geocoder unavailable") for line in warned), done.stderr
    assert "GeomapWarning" not in done.stderr and "warnings.warn" not in done.stderr
