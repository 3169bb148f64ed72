"""The command line, through click's CliRunner (and a subprocess where imports matter)."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from geomap.cli import main
from tests.conftest import SEED


@pytest.fixture
def run(full_gazetteer_path):
    """Invoke the CLI with the session's real gazetteer; returns the click Result."""
    def invoke(*args, input=None):
        return CliRunner().invoke(main, [*args], input=input,
                                  env={"GEOMAP_GAZETTEER": str(full_gazetteer_path)})
    return invoke


def test_cli_help_does_not_load_spacy():
    code = ("import sys; from click.testing import CliRunner; from geomap.cli import main; "
            "r = CliRunner().invoke(main, ['map', '--help']); "
            "assert r.exit_code == 0, r.output; assert 'INPUTS' in r.output; "
            "assert 'spacy' not in sys.modules and 'folium' not in sys.modules, 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "geomap, version" in result.output


def test_cli_missing_input_is_a_usage_error(tmp_path):
    out = tmp_path / "out.html"
    result = CliRunner().invoke(main, ["map", str(tmp_path / "does-not-exist.txt"), "-o", str(out)])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_cli_unknown_option_is_a_usage_error():
    result = CliRunner().invoke(main, ["map", "--no-such-option", str(SEED)])
    assert result.exit_code == 2 and "No such option" in result.output


def test_cli_explicit_missing_gazetteer_fails_without_output(tmp_path):
    out = tmp_path / "out.html"
    result = CliRunner().invoke(main, ["map", str(SEED), "-o", str(out), "--gazetteer", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2  # a usage error, as for any input path that does not exist
    assert "--gazetteer: no gazetteer at" in result.output
    assert "gazetteer" in result.output and "geomap gazetteer build" in result.output
    assert not out.exists()


@pytest.mark.model
def test_cli_extract_json_contract(run):
    result = run("extract", str(SEED), "--format", "json", "-q")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"documents", "unresolved"}
    (doc,) = data["documents"]
    assert doc["id"] == "000_a7060b6cab235f63" and doc["source"] == str(SEED)
    text = SEED.read_text(encoding="utf-8")
    assert doc["mentions"], "no mentions"
    for m in doc["mentions"]:
        assert set(m) == {"text", "start", "end", "sentence", "label", "role", "place", "provenance"}
        assert m["role"] in ("literal", "metonymic", "demonym")
        assert text[m["start"]:m["end"]] == m["text"]
        assert m["text"] in m["sentence"] and m["sentence"] in text
        if m["place"] is not None:
            assert set(m["place"]) == {"name", "lat", "lon", "country_code", "feature_class", "feature_code",
                                       "geonameid", "population", "source", "confidence"}
            assert -90 <= m["place"]["lat"] <= 90 and -180 <= m["place"]["lon"] <= 180
            assert 0 <= m["place"]["confidence"] <= 1


@pytest.mark.model
def test_cli_extract_jsonl_and_stdin(run, tmp_path):
    out = tmp_path / "out.jsonl"
    result = run("extract", "-", "--format", "jsonl", "-o", str(out), input="Talks resumed in Baku.\n")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["id"] == "stdin" and [m["text"] for m in doc["mentions"]] == ["Baku"]
    assert doc["mentions"][0]["place"]["country_code"] == "AZ"


@pytest.mark.model
def test_cli_jsonl_input_documents(run, tmp_path):
    src = tmp_path / "batch.jsonl"
    src.write_text(json.dumps({"id": "x1", "text": "Officials in Tbilisi met."}) + "\n"
                   + json.dumps({"id": "x2", "text": "Nothing here."}) + "\n", encoding="utf-8")
    result = run("extract", str(src), "-q")
    data = json.loads(result.stdout)
    assert [d["id"] for d in data["documents"]] == ["x1", "x2"]
    assert data["documents"][0]["mentions"][0]["place"]["country_code"] == "GE"


@pytest.mark.model
def test_cli_empty_input_says_so_and_succeeds(run, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.txt"
    blank.write_text("   \n\t  \n", encoding="utf-8")
    result = run("extract", str(empty), str(blank))
    assert result.exit_code == 0
    assert "empty.txt: input is empty" in result.stderr and "blank.txt: input is empty" in result.stderr
    data = json.loads(result.stdout)
    assert all(d["mentions"] == [] for d in data["documents"])


@pytest.mark.model
def test_cli_binary_only_input_fails_and_keeps_existing_output(run, tmp_path):
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16)
    out = tmp_path / "map.html"
    out.write_text("previous map", encoding="utf-8")
    result = run("map", str(binary), "-o", str(out))
    assert result.exit_code == 1
    assert "binary" in result.stderr and "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "previous map"


@pytest.mark.model
def test_cli_bad_file_among_good_ones_is_skipped(run, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Aid convoys reached Yerevan on Friday.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    out = tmp_path / "out.json"
    result = run("extract", str(bad), str(good), "-o", str(out))
    assert result.exit_code == 1
    assert f"skipped {bad}" in result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [d["id"] for d in data["documents"]] == ["good"]
    assert data["documents"][0]["mentions"][0]["place"]["name"] == "Yerevan"


@pytest.mark.model
def test_cli_map_writes_self_contained_html(run, tmp_path):
    out = tmp_path / "map.html"
    result = run("map", str(SEED), "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script src=" not in html and "leaflet" in html.lower()
    assert "wrote" in result.stderr


@pytest.mark.model
def test_cli_gazetteer_lookup_json(run):
    result = run("gazetteer", "lookup", "Baku", "--format", "json")
    assert result.exit_code == 0
    best = json.loads(result.stdout)[0]
    assert (best["name"], best["country_code"], best["geonameid"]) == ("Baku", "AZ", 587084)


def test_cli_output_in_a_missing_folder_is_a_usage_error_before_any_work(tmp_path):
    result = CliRunner().invoke(main, ["map", str(SEED), "-o", str(tmp_path / "nowhere" / "map.html")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_cli_gazetteer_info_says_there_is_none_rather_than_building_one(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "GEOMAP_GAZETTEER": None, "HOME": str(tmp_path)}
    result = CliRunner().invoke(main, ["gazetteer", "info"], env=env)
    assert result.exit_code == 1 and "no gazetteer at" in result.output and "geomap gazetteer build" in result.output
    assert not any((tmp_path / "cache").rglob("*.sqlite"))          # nothing was built
    missing = tmp_path / "missing.sqlite"
    result = CliRunner().invoke(main, ["gazetteer", "info", "--gazetteer", str(missing)], env=env)
    assert result.exit_code == 2 and str(missing) in result.output and not missing.exists()
