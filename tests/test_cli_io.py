"""The command line's inputs and outputs: every input kind, every bad-input kind with its message
and exit code, every output format, batches that lose nothing, and the TOML configuration.

Mined cases R35, R37, R38, R39, R41, R59 and R60 (shared/cases/cases.jsonl) are tested here with
their expected values; test_cli.py holds the first parts of R35, R39, R59 and R60. Coordinates
are GeoNames' and Natural Earth's, with the cases' tolerances.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from geomap.cli import main
from tests.conftest import SEED, haversine_km, payload_of

# mention -> (country code, lat, lon, max km)
YEREVAN = ("AM", 40.181, 44.514, 10)
TBILISI = ("GE", 41.694, 44.834, 10)
GYUMRI = ("AM", 40.789, 43.848, 10)
BAKU = ("AZ", 40.378, 49.892, 10)
ZURICH = ("CH", 47.367, 8.55, 10)


@pytest.fixture
def run(full_gazetteer_path, tmp_path, monkeypatch):
    """Invoke the CLI in tmp_path (no stray geomap.toml) with the session's real gazetteer."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args, input=None, env=None):
        return CliRunner().invoke(main, [str(a) for a in args], input=input,
                                  env={"GEOMAP_GAZETTEER": str(full_gazetteer_path), "GEOMAP_CONFIG": None,
                                       **(env or {})})
    return invoke


def _places(data: dict) -> dict[str, dict]:
    """{mention text: place} of the resolved mentions of a JSON contract."""
    return {m["text"]: m["place"] for d in data["documents"] for m in d["mentions"] if m["place"]}


def _assert_place(place: dict | None, expected: tuple) -> None:
    code, lat, lon, max_km = expected
    assert place is not None, "unresolved"
    assert place["country_code"] == code
    assert haversine_km(place["lat"], place["lon"], lat, lon) <= max_km, place


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------------------------------------
# Every input kind

HTML_PAGE = ("<html><head><title>Rail link</title><script>var defaultCity = \"Paris\";</script></head><body>"
             "<nav>Home | Europe | Asia</nav><article><p>Aid convoys reached Yerevan on Friday.</p></article>"
             "<footer>Related: London Paris Tokyo</footer></body></html>")


@pytest.mark.model
@pytest.mark.parametrize("name, content, args", [
    ("article.txt", "Aid convoys reached Yerevan on Friday.", []),
    ("article.md", "# Aid\n\nAid convoys reached *Yerevan* on Friday.\n", []),
    ("article.html", HTML_PAGE, []),
    ("article.htm", HTML_PAGE, []),
    ("feed.jsonl", json.dumps({"id": "article", "text": "Aid convoys reached Yerevan on Friday."}) + "\n", []),
    ("feed.csv", "id,text\narticle,\"Aid convoys reached Yerevan on Friday.\"\n", []),
    ("feed.csv", "uid;body\narticle;Aid convoys reached Yerevan on Friday.\n",
     ["--text-field", "body", "--id-field", "uid"]),
    ("feed.jsonl", json.dumps({"uid": "article", "body": "Aid convoys reached Yerevan on Friday."}) + "\n",
     ["--text-field", "body", "--id-field", "uid"]),
])
def test_cli_io_each_input_kind(run, tmp_path, name, content, args):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run("extract", path, *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (doc,) = data["documents"]
    assert doc["id"] == "article"
    _assert_place(_places(data)["Yerevan"], YEREVAN)
    assert "Paris" not in _places(data)


@pytest.mark.model
def test_cli_io_stdin(run):
    result = run("extract", "-", "--format", "csv", input="Aid convoys reached Yerevan on Friday.\n")
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(result.stdout, newline=""))
    assert (row["document_id"], row["document_source"], row["mention"]) == ("stdin", "<stdin>", "Yerevan")
    _assert_place({"country_code": row["country_code"], "lat": float(row["lat"]), "lon": float(row["lon"])},
                  YEREVAN)


@pytest.mark.model
def test_cli_io_folder_recursive_with_glob(run, tmp_path):
    folder = tmp_path / "news"
    (folder / "2024").mkdir(parents=True)
    (folder / "a.txt").write_text("Aid convoys reached Yerevan on Friday.", encoding="utf-8")
    (folder / "2024" / "b.html").write_text(HTML_PAGE.replace("Yerevan", "Tbilisi"), encoding="utf-8")
    (folder / "2024" / "c.csv").write_text("id,text\nc1,Engineers in Gyumri repaired the line.\n", encoding="utf-8")
    (folder / "2024" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")  # not an input: ignored
    result = run("extract", folder, "-q")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["id"] for d in data["documents"]] == ["a", "b", "c1"]
    places = _places(data)
    _assert_place(places["Yerevan"], YEREVAN)
    _assert_place(places["Tbilisi"], TBILISI)
    _assert_place(places["Gyumri"], GYUMRI)
    only_html = json.loads(run("extract", folder, "--glob", "*.html", "-q").stdout)
    assert [d["id"] for d in only_html["documents"]] == ["b"]


# ---------------------------------------------------------------------------------------------
# Bad inputs: one clear line each, the right exit code, nothing lost


@pytest.mark.model
def test_cli_io_case_R35_empty_and_whitespace_inputs(run, tmp_path):
    """R35 (T-Res#171): exit 0, an 'input is empty' line each, no places, a valid map with no marker."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.txt"
    blank.write_text("   \n\t  \n", encoding="utf-8")
    out = tmp_path / "map.html"
    result = run("map", empty, blank, "-o", out, "--geojson", tmp_path / "p.geojson")
    assert result.exit_code == 0, result.output
    _no_traceback(result)
    lines = result.stderr.splitlines()
    assert f"{empty}: input is empty (no text)" in lines and f"{blank}: input is empty (no text)" in lines
    assert re.search(r"(?i)empty|no text", result.stderr)
    payload = payload_of(out.read_text(encoding="utf-8"))
    assert payload["places"] == []
    assert json.loads((tmp_path / "p.geojson").read_text(encoding="utf-8"))["features"] == []


@pytest.mark.model
def test_cli_io_case_R37_no_places(run, tmp_path):
    """R37 (article-tagging#140): exit 0, no places, a 'no places found' line; the map has no marker."""
    path = tmp_path / "budget.txt"
    path.write_text("The committee approved the budget after a long debate about pensions and school meals.",
                    encoding="utf-8")
    out = tmp_path / "map.html"
    result = run("map", path, "-o", out, "--csv", tmp_path / "m.csv")
    assert result.exit_code == 0, result.output
    assert f"{path}: no places found" in result.stderr.splitlines()
    payload = payload_of(out.read_text(encoding="utf-8"))
    assert payload["places"] == [] and payload["bounds"] is None
    assert (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines() == [",".join(
        __import__("geomap.export", fromlist=["CSV_COLUMNS"]).CSV_COLUMNS)]
    data = json.loads(run("extract", path, "-q").stdout)
    assert _places(data) == {}


@pytest.mark.model
def test_cli_io_case_R39_binary_input(run, tmp_path):
    """R39 (NLP-Suite#1424): PNG signature + 4096 random bytes: non-zero exit, one clear line, no outputs."""
    rng = random.Random(1424)
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4096)))
    out, geo, table = tmp_path / "out.html", tmp_path / "out.geojson", tmp_path / "out.csv"
    result = run("map", binary, "-o", out, "--geojson", geo, "--csv", table)
    assert result.exit_code == 1
    _no_traceback(result)
    assert re.search(r"(?i)binary|not a text file|cannot decode", result.stderr)
    assert f"skipped {binary}: binary file (contains NUL bytes), not a text file" in result.stderr.splitlines()
    assert not out.exists() and not geo.exists() and not table.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.txt"]  # no temporary files either


@pytest.mark.model
def test_cli_io_case_R41_html_page(run, tmp_path):
    """R41 (geograpy3#22): the article's places; none from script, style, nav or footer; no markup in popups."""
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>World</title><style>.nav{color:red}</style><script>var defaultCity = "
                    "\"Paris\";</script></head><body><nav>Home | Europe | Asia | Sport</nav><article><p>Engineers "
                    "in Gyumri repaired the rail link to Tbilisi.</p></article><footer>Related: London Paris Tokyo"
                    "</footer></body></html>", encoding="utf-8")
    out = tmp_path / "map.html"
    result = run("map", page, "-o", out, "--geojson", tmp_path / "p.geojson")
    assert result.exit_code == 0, result.output
    collection = json.loads((tmp_path / "p.geojson").read_text(encoding="utf-8"))
    names = {f["properties"]["name"] for f in collection["features"]}
    assert names == {"Gyumri", "Tbilisi"}  # hard rule: no Paris; soft rule: no Europe, Asia, London, Tokyo
    data = json.loads(run("extract", page, "-q").stdout)
    places = _places(data)
    _assert_place(places["Gyumri"], GYUMRI)
    _assert_place(places["Tbilisi"], TBILISI)
    assert data["documents"][0]["title"] == "World"
    payload = payload_of(out.read_text(encoding="utf-8"))
    assert all("<" not in text for _, text in payload["sentences"])


@pytest.mark.model
def test_cli_io_cp1252_without_a_flag_warns_and_decodes(run, tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Bankers in Zürich met envoys from Bakı’s ministry on Friday.".replace("ı", "i")
                     .encode("cp1252"))
    result = run("extract", path, "-q")
    assert result.exit_code == 0, result.output
    assert f"warning: {path}: not valid UTF-8; decoded as cp1252 (use --encoding to force one)" in result.stderr
    data = json.loads(result.stdout)
    assert "Zürich" in data["documents"][0]["mentions"][0]["sentence"]
    _assert_place(_places(data)["Zürich"], ZURICH)
    forced = run("extract", path, "-q", "--encoding", "latin-1")
    assert forced.exit_code == 0 and "warning" not in forced.stderr
    wrong = run("extract", path, "-q", "--encoding", "utf-8")
    assert wrong.exit_code == 1 and "cannot decode as 'utf-8'" in wrong.stderr
    _no_traceback(wrong)


@pytest.mark.model
def test_cli_io_folder_with_one_bad_file_among_good_ones(run, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a.txt").write_text("Aid convoys reached Yerevan on Friday.", encoding="utf-8")
    (folder / "b.txt").write_bytes(b"\x00\x01\x02 not text")
    (folder / "c.jsonl").write_text('{"id": "c1", "text": "Talks resumed in Baku."}\n{broken\n'
                                    '{"id": "c3", "text": "Engineers in Gyumri repaired the line."}\n', encoding="utf-8")
    out = tmp_path / "places.json"
    out.write_text("previous", encoding="utf-8")
    result = run("extract", folder, "-o", out)
    assert result.exit_code == 1
    _no_traceback(result)
    lines = result.stderr.splitlines()
    assert f"skipped {folder / 'b.txt'}: binary file (contains NUL bytes), not a text file" in lines
    assert any(line.startswith(f"skipped {folder / 'c.jsonl'}:2: invalid JSON") for line in lines)
    assert "3 documents, 3 mentions, 3 places, 0 unresolved, 2 skipped" in lines  # the summary
    data = json.loads(out.read_text(encoding="utf-8"))  # the good ones are all there
    assert [d["id"] for d in data["documents"]] == ["a", "c1", "c3"]
    places = _places(data)
    _assert_place(places["Yerevan"], YEREVAN)
    _assert_place(places["Baku"], BAKU)
    _assert_place(places["Gyumri"], GYUMRI)


@pytest.mark.model
def test_cli_io_nothing_readable_keeps_existing_outputs(run, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("uid,body\n1,Baku\n", encoding="utf-8")
    out = tmp_path / "places.geojson"
    out.write_text("previous", encoding="utf-8")
    result = run("extract", bad, "--format", "geojson", "-o", out)
    assert result.exit_code == 1
    assert f"skipped {bad}: no column 'text' in the header ('uid', 'body'); name it with --text-field" \
        in result.stderr.splitlines()
    assert "Error: no input could be read; nothing written" in result.stderr
    assert out.read_text(encoding="utf-8") == "previous"


def test_cli_io_case_R60_missing_path_unknown_option_help(tmp_path, monkeypatch):
    """R60 (EyeWitness#517): exit 2 with one line, no output, no traceback; unknown option 2; --help 0."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["map", "does-not-exist.txt", "-o", "out.html"])
    assert result.exit_code == 2
    _no_traceback(result)
    assert re.search(r"(?i)does not exist|no such file", result.stderr)
    assert "'does-not-exist.txt' does not exist" in result.stderr
    assert not (tmp_path / "out.html").exists()
    unknown = CliRunner().invoke(main, ["extract", "--no-such-option", "x.txt"])
    assert unknown.exit_code == 2 and "Usage:" in unknown.stderr and "No such option" in unknown.stderr
    # --help answers without loading spaCy, folium, trafilatura or pandas (it stays fast).
    code = ("import sys; from click.testing import CliRunner; from geomap.cli import main\n"
            "for cmd in (['--help'], ['map', '--help'], ['extract', '--help'], ['eval', '--help'], ['gazetteer', '--help'],\n"
            "            ['gazetteer', 'build', '--help'], ['gazetteer', 'import', '--help'],\n"
            "            ['gazetteer', 'info', '--help'], ['gazetteer', 'lookup', '--help']):\n"
            "    r = CliRunner().invoke(main, cmd); assert r.exit_code == 0 and 'Example' in r.output, r.output\n"
            "heavy = [m for m in ('spacy', 'folium', 'trafilatura', 'pandas') if m in sys.modules]\n"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.model
def test_cli_io_case_R59_gazetteer_missing_through_the_environment(tmp_path, monkeypatch):
    """R59 (geoparser#91): GEOMAP_GAZETTEER names no file: non-zero exit naming the gazetteer, no map."""
    monkeypatch.chdir(tmp_path)
    article = tmp_path / "a.txt"
    article.write_text("Aid convoys reached Yerevan and Tbilisi on Friday.", encoding="utf-8")
    out = tmp_path / "out.html"
    result = CliRunner().invoke(main, ["map", str(article), "-o", str(out), "--geojson", "p.geojson"],
                                env={"GEOMAP_GAZETTEER": str(tmp_path / "missing.sqlite")})
    assert result.exit_code == 2  # a usage error: the named file does not exist
    _no_traceback(result)
    assert "GEOMAP_GAZETTEER: no gazetteer at" in result.stderr
    assert re.search(r"(?i)gazetteer", result.stderr) and "geomap gazetteer build" in result.stderr
    assert "0 places" not in result.stderr
    assert not out.exists() and not (tmp_path / "p.geojson").exists()


@pytest.mark.model
@pytest.mark.slow
def test_cli_io_case_R38_text_longer_than_max_length(run, tmp_path):
    """R38 (libratom#29, spaCy E088): a 1.2 MB file is read in pieces: 3 deduplicated places, capped popups.

    Slow (about 45 s on a 2-core machine: spaCy reads 210,000 words), run by default.
    """
    sentence = "Trucks carrying grain crossed from Georgia into Armenia and reached Gyumri before dawn. "
    copies = 1_200_000 // len(sentence) + 1
    long_file = tmp_path / "long.txt"
    long_file.write_text(sentence * copies, encoding="utf-8")
    assert long_file.stat().st_size > 1_200_000
    out, geo = tmp_path / "long.html", tmp_path / "long.geojson"
    result = run("map", long_file, "-o", out, "--geojson", geo, "--offline")
    assert result.exit_code == 0, result.output
    _no_traceback(result)
    assert "E088" not in result.stderr
    features = {f["properties"]["name"]: f for f in json.loads(geo.read_text(encoding="utf-8"))["features"]}
    assert len(features) == 3
    expected = {"Gyumri": ("AM", 40.789, 43.848, 10), "Armenia": ("AM", 40.25, 45.0, 161),
                "Georgia": ("GE", 42.0, 43.5, 161)}
    for name, (code, lat, lon, max_km) in expected.items():
        props = features[name]["properties"]
        lon_found, lat_found = features[name]["geometry"]["coordinates"]
        assert props["country_code"] == code and haversine_km(lat_found, lon_found, lat, lon) <= max_km
        assert props["mentions"] == copies  # every piece read, none twice
        assert len(props["sentences"]) <= 50
    html = out.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < 5_000_000
    payload = payload_of(html)
    assert len(payload["places"]) == 3
    assert all(len(p["sentences"]) <= 50 and p["more"] > 0 for p in payload["places"])  # "and N more"


# ---------------------------------------------------------------------------------------------
# Output formats


@pytest.mark.model
def test_cli_io_extract_geojson_of_the_seed(run, tmp_path):
    geojson = pytest.importorskip("geojson", reason="the geojson validator is in the test extra")
    out = tmp_path / "places.geojson"
    result = run("extract", SEED, "--format", "geojson", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert geojson.loads(text).is_valid
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection"
    by_name = {f["properties"]["name"]: f for f in collection["features"]}
    # Baku: 40.38° N, 49.89° E; GeoJSON puts longitude first (RFC 7946 §3.1.1).
    lon, lat = by_name["Baku"]["geometry"]["coordinates"]
    assert [round(lon, 2), round(lat, 2)] == [49.89, 40.38]
    assert by_name["Baku"]["properties"]["geonameid"] == 587084
    assert by_name["Baku"]["properties"]["documents"] == ["000_a7060b6cab235f63"]


@pytest.mark.model
def test_cli_io_map_writes_geojson_and_csv_in_the_same_run(run, tmp_path):
    out, geo, table = tmp_path / "map.html", tmp_path / "places.geojson", tmp_path / "mentions.csv"
    result = run("map", SEED, "-o", out, "--geojson", geo, "--csv", table)
    assert result.exit_code == 0, result.output
    assert {f"wrote {out}", f"wrote {geo}", f"wrote {table}"} <= set(result.stderr.splitlines())
    features = json.loads(geo.read_text(encoding="utf-8"))["features"]
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"), newline="")))
    payload = payload_of(out.read_text(encoding="utf-8"))
    # One map marker, one feature per place; one CSV row per mention; all from the same run.
    assert sorted(p["name"] for p in payload["places"]) == sorted(f["properties"]["name"] for f in features)
    assert len(rows) == sum(f["properties"]["mentions"] for f in features) + sum(1 for r in rows if not r["lat"])
    text = SEED.read_text(encoding="utf-8")
    assert all(text[int(r["start"]):int(r["end"])] == r["mention"] for r in rows)


@pytest.mark.model
def test_cli_io_quiet_and_verbose(run):
    quiet = run("extract", SEED, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    verbose = run("extract", SEED, "-v")
    lines = verbose.stderr.splitlines()
    assert any(re.fullmatch(rf"{re.escape(str(SEED))}: \d+ mentions, \d+ places, \d+ unresolved", line)
               for line in lines)
    assert re.fullmatch(r"1 documents, \d+ mentions, \d+ places, \d+ unresolved, 0 skipped", lines[-1])


@pytest.mark.model
def test_cli_io_progress_bar_only_when_stderr_is_a_terminal(run, tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text("Aid convoys reached Yerevan on Friday.", encoding="utf-8")
    plain = run("extract", tmp_path, "-o", tmp_path / "out.json")
    assert plain.exit_code == 0 and "geoparsing" not in plain.stderr  # CliRunner's stderr is no terminal
    import click

    from geomap import cli
    real = click.get_text_stream

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(cli.click, "get_text_stream", lambda name, *a, **k: Terminal() if name == "stderr"
                        else real(name, *a, **k))
    bar = run("extract", tmp_path, "-o", tmp_path / "out.json")
    assert bar.exit_code == 0 and "geoparsing:" in bar.stderr and "/3 [" in bar.stderr
    quiet = run("extract", tmp_path, "-o", tmp_path / "out.json", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""


# ---------------------------------------------------------------------------------------------
# Configuration: CLI > environment > geomap.toml > defaults


@pytest.mark.model
def test_cli_io_config_file_in_the_working_directory(run, tmp_path):
    (tmp_path / "geomap.toml").write_text('[extract]\nformat = "geojson"\nquiet = true\n', encoding="utf-8")
    result = run("extract", SEED)
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["type"] == "FeatureCollection"
    # The command line wins over the file.
    assert "documents" in json.loads(run("extract", SEED, "--format", "json").stdout)


@pytest.mark.model
def test_cli_io_config_precedence_environment_over_file(run, tmp_path, full_gazetteer_path):
    config = tmp_path / "other.toml"
    config.write_text(f'gazetteer = "{tmp_path / "missing.sqlite"}"\n[map]\ntitle = "From the file"\n',
                      encoding="utf-8")
    # GEOMAP_GAZETTEER (set by the fixture) wins over the file's gazetteer.
    result = run("--config", config, "extract", SEED, "-q")
    assert result.exit_code == 0, result.output
    # Without the environment variable the file's (missing) gazetteer is used.
    result = run("--config", config, "extract", SEED, "-q", env={"GEOMAP_GAZETTEER": None})
    assert result.exit_code == 2 and "the configuration file's gazetteer: no gazetteer at" in result.stderr
    assert "missing.sqlite" in result.stderr
    # GEOMAP_CONFIG names the file too; a command-line option beats it.
    result = run("extract", SEED, "-q", "--gazetteer", full_gazetteer_path,
                 env={"GEOMAP_GAZETTEER": None, "GEOMAP_CONFIG": str(config)})
    assert result.exit_code == 0, result.output


def test_cli_io_config_reaches_nested_commands(full_gazetteer_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "geomap.toml").write_text(f'gazetteer_path = "{full_gazetteer_path}"\n'
                                          '[gazetteer.lookup]\nlimit = 1\nformat = "json"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["gazetteer", "lookup", "Baku"], env={"GEOMAP_GAZETTEER": None})
    assert result.exit_code == 0, result.output
    (best,) = json.loads(result.stdout)
    assert (best["name"], best["geonameid"]) == ("Baku", 587084)


@pytest.mark.parametrize("content, message", [
    ('[map]\ntitel = "x"\n', "[map] has no option 'titel'"),
    ('colour = "red"\n', "the top level has no option 'colour'"),
    ('[mapp]\ntitle = "x"\n', "there is no command 'mapp'"),
    ('[map\ntitle = "x"\n', "not valid TOML"),
])
def test_cli_io_bad_config_is_a_usage_error(tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "geomap.toml").write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["extract", str(SEED)], env={"GEOMAP_CONFIG": None})
    assert result.exit_code == 2
    assert "geomap.toml" in result.stderr and message in result.stderr
    _no_traceback(result)


def test_a_reader_that_closes_the_pipe_early_ends_geomap_quietly(full_gazetteer_path, tmp_path):
    # "geomap extract ... | head": no "Broken pipe" error, no traceback; click's status 1.
    inputs = []
    for i in range(8):
        inputs.append(tmp_path / f"copy{i}.txt")
        inputs[-1].write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "geomap", "extract", *map(str, inputs), "--format", "jsonl",
                             "--gazetteer", str(full_gazetteer_path), "--offline"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(20)
    proc.stdout.close()                                          # what head does after its lines
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 1
    assert "Broken pipe" not in stderr and "Traceback" not in stderr and "Error" not in stderr, stderr


@pytest.mark.parametrize("option, value, message", [
    ("--encoding", "nonsense", "unknown encoding 'nonsense'"),
    ("--tiles", "NoSuchTiles", "unknown tile set 'NoSuchTiles'"),
])
def test_a_bad_option_value_is_a_usage_error(run, option, value, message):
    result = run("map", SEED, option, value, "-o", "out.html")
    assert result.exit_code == 2 and message in result.output, result.output      # click: 2 for bad usage


def test_an_interrupted_jsonl_extract_keeps_the_old_file(run, tmp_path, monkeypatch):
    # click's own atomic file renames even after an error; geomap's must not.
    import geomap.engine

    def interrupted(documents, **kwargs):
        yield from geomap.engine.ParserSettings(offline=True).geoparser().iter_parse(list(documents)[:1])
        raise KeyboardInterrupt          # Ctrl-C after the first document

    monkeypatch.setattr(geomap.engine, "iter_parse", interrupted)
    out = tmp_path / "w.jsonl"
    out.write_text("keep\n", encoding="utf-8")
    result = run("extract", SEED, SEED, "--format", "jsonl", "-o", out)
    assert result.exit_code == 1 and "Aborted" in result.output
    assert out.read_text(encoding="utf-8") == "keep\n" and [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_map_outputs_are_checked_before_any_work(run, tmp_path):
    keep = tmp_path / "keep.html"
    keep.write_text("old", encoding="utf-8")
    result = run("map", SEED, "-o", keep, "--geojson", tmp_path / "missing" / "x.geojson")
    assert result.exit_code == 2 and "does not exist" in result.output
    assert keep.read_text(encoding="utf-8") == "old"
    (tmp_path / "folder").mkdir()
    result = run("map", SEED, "--csv", tmp_path / "folder")
    assert result.exit_code == 2 and "folder" in result.output
