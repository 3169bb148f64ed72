"""The Python API for reports and notebooks: geoparse a text or many documents, read files and
folders, build the map (a folium.Map), and get the results as dicts, GeoJSON or a DataFrame.

Coordinates are GeoNames' (Brussels 2800866, Baku 587084, Yerevan 616052), with tolerances.
"""

from __future__ import annotations

import pytest

import geomap
from geomap.ingest import Fields
from geomap.model import Document
from tests.conftest import haversine_km, payload_of

pytestmark = pytest.mark.model


def _resolved(result) -> dict[str, object]:
    return {r.mention.text: r.place for r in result.resolutions if r.place is not None}


def test_api_geoparse_one_text(full_gazetteer):
    result = geomap.geoparse("Aliyev and Pashinyan met in Brussels to discuss Nagorno-Karabakh.",
                             gazetteer=full_gazetteer, offline=True)
    assert [d.document.id for d in result.documents] == ["doc"]
    brussels = _resolved(result)["Brussels"]
    assert brussels.country_code == "BE" and haversine_km(brussels.lat, brussels.lon, 50.850, 4.349) < 10
    assert _resolved(result)["Nagorno-Karabakh"] is not None
    assert "Aliyev" not in _resolved(result) and "Pashinyan" not in _resolved(result)
    data = result.to_dict()  # the JSON contract
    assert set(data) == {"documents", "unresolved"} and data["documents"][0]["mentions"][0]["place"]["name"]


def test_api_geoparse_many_documents_keeps_their_metadata(full_gazetteer):
    docs = [Document("a1", "Talks resumed in Baku.", source="Wire", title="Talks", date="2024-05-03",
                     url="https://example.org/a1"),
            "Aid convoys reached Yerevan on Friday."]
    result = geomap.geoparse(docs, gazetteer=full_gazetteer, offline=True)
    assert [d.document.id for d in result.documents] == ["a1", "doc-2"]
    assert result.documents[0].document.title == "Talks" and result.documents[0].to_dict()["date"] == "2024-05-03"
    places = _resolved(result)
    assert places["Baku"].geonameid == 587084 and places["Yerevan"].geonameid == 616052
    assert [p.name for p in result.places] == ["Baku", "Yerevan"]


def test_api_geoparse_paths_folder_fields_and_skipped(full_gazetteer, tmp_path):
    (tmp_path / "a.txt").write_text("Talks resumed in Baku.", encoding="utf-8")
    (tmp_path / "b.csv").write_text("uid,body\nb1,Aid convoys reached Yerevan on Friday.\n", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"\x00binary")
    result = geomap.geoparse_paths([tmp_path], gazetteer=full_gazetteer, offline=True,
                                   fields=Fields(text="body", id="uid"))
    assert [d.document.id for d in result.documents] == ["a", "b1"]
    assert result.skipped == ((str(tmp_path / "c.txt"), "binary file (contains NUL bytes), not a text file"),)
    assert set(_resolved(result)) == {"Baku", "Yerevan"}
    only_csv = geomap.geoparse_paths([tmp_path], gazetteer=full_gazetteer, offline=True, glob="*.csv",
                                     fields=Fields(text="body", id="uid"))
    assert [d.document.id for d in only_csv.documents] == ["b1"] and only_csv.skipped == ()


def test_api_geoparse_paths_progress_bar_on_stderr(full_gazetteer, tmp_path, capsys):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text("Talks resumed in Baku.", encoding="utf-8")
    geomap.geoparse_paths([tmp_path], gazetteer=full_gazetteer, offline=True, progress=True)
    captured = capsys.readouterr()
    assert "geoparsing:" in captured.err and "/3 [" in captured.err and captured.out == ""  # tqdm: n/total
    geomap.geoparse_paths([tmp_path], gazetteer=full_gazetteer, offline=True)
    assert capsys.readouterr().err == ""  # no bar unless asked (the CLI asks when stderr is a terminal)


def test_api_render_map_returns_a_folium_map(full_gazetteer):
    import folium

    from geomap.api import render_map_html
    result = geomap.geoparse("Talks resumed in Baku; Yerevan and Tbilisi welcomed them.",
                             gazetteer=full_gazetteer, offline=True)
    fmap = geomap.render_map(result, gazetteer=full_gazetteer, title="Talks")
    assert isinstance(fmap, folium.Map)
    assert "srcdoc" in fmap._repr_html_()  # shows inline in Jupyter
    payload = payload_of(render_map_html(result, gazetteer=full_gazetteer, title="Talks"))
    assert payload["title"] == "Talks"
    assert sorted(p["name"] for p in payload["places"]) == ["Baku", "Tbilisi", "Yerevan"]


def test_api_results_as_dataframe_and_geojson(full_gazetteer):
    pytest.importorskip("pandas", reason="pandas is the optional extra 'pandas' (in the test extra)")
    result = geomap.geoparse(["Talks resumed in Baku.", "Officials in Baku and Yerevan agreed."],
                             gazetteer=full_gazetteer, offline=True)
    frame = geomap.mentions_dataframe(result)
    assert frame["mention"].tolist() == ["Baku", "Baku", "Yerevan"]
    assert frame["document_id"].tolist() == ["doc-1", "doc-2", "doc-2"]
    baku = frame[frame["mention"] == "Baku"].iloc[0]
    assert haversine_km(baku["lat"], baku["lon"], 40.378, 49.892) < 10 and baku["geonameid"] == 587084
    collection = geomap.to_geojson(result)
    by_name = {f["properties"]["name"]: f for f in collection["features"]}
    assert by_name["Baku"]["properties"]["mentions"] == 2
    assert by_name["Baku"]["properties"]["documents"] == ["doc-1", "doc-2"]
    lon, lat = by_name["Yerevan"]["geometry"]["coordinates"]
    assert haversine_km(lat, lon, 40.181, 44.514) < 10


def test_api_read_documents_without_geoparsing(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "x", "text": "Baku."}\n{"oops": 1}\n', encoding="utf-8")
    documents, skipped = geomap.read_documents([tmp_path / "a.jsonl"])
    assert [d.id for d in documents] == ["x"]
    assert skipped == [(f"{tmp_path / 'a.jsonl'}:2",
                        "no field 'text' (fields: 'oops'); name the text field with --text-field")]


def test_api_guards_against_wrong_argument_types(tmp_path):
    import geomap
    from geomap.api import Geoparser
    from geomap.exc import InputError
    with pytest.raises(InputError, match="decode bytes first"):
        geomap.geoparse(b"Talks in Baku.")
    with pytest.raises(InputError):
        geomap.geoparse(None)
    with pytest.raises(InputError, match="parse_text"):
        Geoparser.parse(object.__new__(Geoparser), "Talks in Baku.")
    assert {"geoparse", "render_map", "Geoparser"} <= set(dir(geomap))


@pytest.mark.model
def test_api_geoparse_paths_takes_one_path(full_gazetteer_path, tmp_path):
    import geomap
    path = tmp_path / "one.txt"
    path.write_text("Officials in Tbilisi met.", encoding="utf-8")
    result = geomap.geoparse_paths(str(path), gazetteer=full_gazetteer_path, offline=True)
    assert [d.document.id for d in result.documents] == ["one"] and not result.skipped
