"""Export: JSON / JSON Lines (the contract), GeoJSON (RFC 7946) and CSV (RFC 4180), pandas, atomic files.

Results are built by hand from real places (GeoNames coordinates in tests/conftest.py), so these
tests need neither the model nor the gazetteer.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import pytest

from geomap import export
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Resolution
from tests.conftest import ARMENIA, BAKU, SUVA, TBILISI, YEREVAN, make_doc

TEXT_1 = "Talks resumed in Baku on Monday. Aliyev flew back to Baku after the summit in Tbilisi."
TEXT_2 = "Pashinyan spoke in Yerevan. Armenia and Baku agreed."


def _result() -> GeoparseResult:
    doc1 = make_doc("d1", TEXT_1, {"Baku": BAKU, "Tbilisi": TBILISI}, title="Talks", date="2024-05-03",
                    url="https://example.org/a", source="a.txt")
    doc2 = make_doc("d2", TEXT_2, {"Yerevan": YEREVAN, "Armenia": ARMENIA, "Baku": BAKU}, source="b.txt")
    # One unresolved mention, with its reason.
    text3 = "Convoys reached Xyzzyville."
    start = text3.index("Xyzzyville")
    unresolved = Resolution(Mention("Xyzzyville", start, start + 10, text3, 0, "GPE"), None, 0.0,
                            "no gazetteer match")
    doc3 = DocumentResult(Document("d3", text3, source="c.txt"), (unresolved,))
    return GeoparseResult((doc1, doc2, doc3))


def _features_by_name(collection: dict) -> dict[str, dict]:
    return {f["properties"]["name"]: f for f in collection["features"]}


# ---------------------------------------------------------------------------------------------
# GeoJSON


def test_export_geojson_is_valid_rfc7946():
    geojson = pytest.importorskip("geojson", reason="the geojson validator is in the test extra")
    stream = io.StringIO()
    export.write_geojson(_result(), stream)
    text = stream.getvalue()
    parsed = geojson.loads(text)
    assert parsed.is_valid, parsed.errors()
    data = json.loads(text)
    # RFC 7946 §3.3: a FeatureCollection has "features", an array of Feature objects; no "crs" (§4).
    assert data["type"] == "FeatureCollection" and "crs" not in data
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], (str, int, float))  # §3.2
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]  # §3.1.1: two numbers, longitude first
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert isinstance(feature["properties"], dict)


def test_export_geojson_coordinates_are_lon_lat():
    """RFC 7946 §3.1.1: [longitude, latitude]. Baku is at 40.38° N, 49.89° E (GeoNames 587084)."""
    features = _features_by_name(export.to_geojson(_result()))
    lon, lat = features["Baku"]["geometry"]["coordinates"]
    assert (round(lon, 2), round(lat, 2)) == (49.89, 40.38)
    # Suva (18.14° S, 178.44° E): the sign and the order both matter.
    suva = make_doc("s", "Ministers met in Suva.", {"Suva": SUVA})
    (feature,) = export.to_geojson(GeoparseResult((suva,)))["features"]
    assert [round(v, 2) for v in feature["geometry"]["coordinates"]] == [178.44, -18.14]


def test_export_geojson_one_feature_per_place_with_properties():
    data = export.to_geojson(_result())
    features = _features_by_name(data)
    assert list(features) == ["Baku", "Tbilisi", "Yerevan", "Armenia"]  # first mention order; none unresolved
    baku = features["Baku"]
    assert baku["id"] == "geonames:587084"
    props = baku["properties"]
    assert props["mentions"] == 3 and props["documents"] == ["d1", "d2"]
    assert (props["kind"], props["country_code"], props["feature_class"], props["feature_code"],
            props["geonameid"]) == ("city", "AZ", "P", "PPLC", 587084)
    assert props["sentences"] == ["Talks resumed in Baku on Monday.",
                                  "Aliyev flew back to Baku after the summit in Tbilisi.",
                                  "Armenia and Baku agreed."]
    assert props["sentences_total"] == 3 and props["forms"] == ["Baku"]
    armenia = features["Armenia"]["properties"]
    assert (armenia["kind"], armenia["geonameid"], armenia["source"]) == ("country", None, "naturalearth")


def test_export_geojson_caps_sentences():
    text = " ".join(f"Convoy {n} reached Baku." for n in range(120))
    data = export.to_geojson(GeoparseResult((make_doc("d", text, {"Baku": BAKU}),)))
    props = data["features"][0]["properties"]
    assert props["mentions"] == 120
    assert len(props["sentences"]) == export.MAX_SENTENCES == 50 and props["sentences_total"] == 120
    assert props["sentences"][0] == "Convoy 0 reached Baku."


def test_export_geojson_leaves_out_places_without_coordinates():
    from geomap.model import Place
    nowhere = Place("geonames:9999999", "Testville", float("nan"), float("nan"), "AM", "P", "PPL")
    result = GeoparseResult((make_doc("d", "Testville and Yerevan.", {"Testville": nowhere, "Yerevan": YEREVAN}),))
    text = json.dumps(export.to_geojson(result), allow_nan=False)  # NaN would not be JSON
    assert [f["properties"]["name"] for f in json.loads(text)["features"]] == ["Yerevan"]


# ---------------------------------------------------------------------------------------------
# CSV


def test_export_csv_one_row_per_mention():
    stream = io.StringIO(newline="")
    export.write_csv(_result(), stream)
    raw = stream.getvalue()
    assert raw.startswith(",".join(export.CSV_COLUMNS) + "\r\n")  # RFC 4180: CRLF line ends
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == 7  # d1: Baku, Baku, Tbilisi; d2: Yerevan, Armenia, Baku; d3: Xyzzyville
    first = rows[0]
    assert (first["document_id"], first["mention"], first["start"], first["end"]) == ("d1", "Baku", "17", "21")
    assert TEXT_1[17:21] == "Baku"
    assert (first["place_name"], first["country_code"], first["geonameid"]) == ("Baku", "AZ", "587084")
    assert (round(float(first["lat"]), 2), round(float(first["lon"]), 2)) == (40.38, 49.89)
    assert (first["document_title"], first["document_date"]) == ("Talks", "2024-05-03")
    assert first["sentence"] == "Talks resumed in Baku on Monday."
    last = rows[-1]
    assert last["mention"] == "Xyzzyville" and last["place_name"] == "" and last["lat"] == ""
    assert last["reason"] == "no gazetteer match"


def test_export_csv_quotes_commas_quotes_and_line_breaks():
    text = 'He said "Baku, Yerevan\nand Tbilisi" twice.'
    result = GeoparseResult((make_doc("q", text, {"Baku": BAKU}),))
    stream = io.StringIO(newline="")
    export.write_csv(result, stream)
    (row,) = csv.DictReader(io.StringIO(stream.getvalue(), newline=""))
    assert row["sentence"] == text


def test_export_csv_formula_like_text_is_shown_as_text():
    """A sentence starting with '=' must not become a spreadsheet formula (CWE-1236)."""
    text = "=HYPERLINK(\"http://evil.example\") Baku."
    result = GeoparseResult((make_doc("f", text, {"Baku": BAKU}),))
    stream = io.StringIO(newline="")
    export.write_csv(result, stream)
    (row,) = csv.DictReader(io.StringIO(stream.getvalue(), newline=""))
    assert row["sentence"] == "'" + text


# ---------------------------------------------------------------------------------------------
# pandas


def test_export_mentions_dataframe():
    pytest.importorskip("pandas", reason="pandas is the optional extra 'pandas' (in the test extra)")
    frame = export.mentions_dataframe(_result())
    assert list(frame.columns) == list(export.CSV_COLUMNS) and len(frame) == 7
    baku = frame[frame["mention"] == "Baku"]
    assert len(baku) == 3 and set(baku["document_id"]) == {"d1", "d2"}
    assert baku["lat"].round(2).tolist() == [40.38] * 3 and baku["lon"].round(2).tolist() == [49.89] * 3
    assert str(frame["geonameid"].dtype) == "Int64"
    unresolved = frame[frame["place_name"].isna()]
    assert unresolved["mention"].tolist() == ["Xyzzyville"] and math.isnan(unresolved["lat"].iloc[0])
    # The mentions per place, as a report would count them.
    counts = frame.groupby("place_name")["mention"].count().to_dict()
    assert counts == {"Armenia": 1, "Baku": 3, "Tbilisi": 1, "Yerevan": 1}


def test_export_mentions_dataframe_without_pandas_says_how_to_install(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"pip install 'geomap\[pandas\]'"):
        export.mentions_dataframe(_result())


# ---------------------------------------------------------------------------------------------
# JSON and files


def test_export_json_and_jsonl_keep_the_contract():
    result = _result()
    data = json.loads(export.to_json(result))
    assert set(data) == {"documents", "unresolved"}
    assert data["unresolved"] == [{"document": "d3", "text": "Xyzzyville", "start": 16, "end": 26,
                                   "reason": "no gazetteer match"}]
    stream = io.StringIO()
    export.write_jsonl(result, stream)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [d["id"] for d in lines] == ["d1", "d2", "d3"] and lines[0]["title"] == "Talks"


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_export_write_file_each_format(tmp_path, fmt):
    path = tmp_path / f"out{export.SUFFIXES[fmt]}"
    export.write_file(_result(), path, fmt)
    raw = path.read_bytes()
    assert raw and raw.decode("utf-8")
    if fmt == "csv":
        assert raw.count(b"\r\n") == 8 and b"\r\r\n" not in raw  # header + 7 rows
    elif fmt == "jsonl":
        assert len(raw.decode().splitlines()) == 3
    else:
        json.loads(raw)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_export_write_file_failure_keeps_the_existing_file(tmp_path, monkeypatch):
    path = tmp_path / "places.geojson"
    path.write_text("previous", encoding="utf-8")
    os.chmod(path, 0o640)

    def broken(result, stream):
        stream.write("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export._WRITERS, "geojson", broken)
    with pytest.raises(OSError, match="No space left"):
        export.write_file(_result(), path, "geojson")
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["places.geojson"]
    monkeypatch.undo()
    export.write_file(_result(), path, "geojson")
    assert json.loads(path.read_text(encoding="utf-8"))["type"] == "FeatureCollection"
    assert path.stat().st_mode & 0o777 == 0o640  # the replaced file's permissions are kept


def test_export_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'kml'"):
        export.write_file(_result(), tmp_path / "x.kml", "kml")
