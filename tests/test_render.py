"""Tests of geomap.render without a browser: facts asserted on the HTML and its JSON payload."""

from __future__ import annotations

import json
import math
import os
import re
from html.parser import HTMLParser

import folium
import pytest

from geomap import render
from geomap.exc import InputError
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution

BAKU = Place("geonames:587084", "Baku", 40.3777, 49.8920, "AZ", "P", "PPLC", 587084)
YEREVAN = Place("geonames:616052", "Yerevan", 40.1811, 44.5136, "AM", "P", "PPLC", 616052)
BRUSSELS = Place("geonames:2800866", "Brussels", 50.8505, 4.3488, "BE", "P", "PPLC", 2800866)
TBILISI = Place("geonames:611717", "Tbilisi", 41.6941, 44.8337, "GE", "P", "PPLC", 611717)
KYIV = Place("geonames:703448", "Kyiv", 50.4547, 30.5238, "UA", "P", "PPLC", 703448)
USA = Place("ne:US", "United States", 39.76, -98.5, "US", "A", "PCLI", source="naturalearth")
CAUCASUS = Place("curated:south-caucasus", "South Caucasus", 41.5, 45.0, None, "L", "RGN",
                 source="curated")
KREMLIN = Place("geonames:6695152", "Kremlin", 55.7520, 37.6175, "RU", "S", "CSTL")

HOSTILE = ("Officials in Tbilisi said <script>alert('x')</script> and <img src=x onerror=alert(1)> "
           "`backtick` ${x} {{ 7*7 }} \"quotes\" \\ back\\slash, emoji 🗺️ and עברית appeared.")

# Rough country boxes in lon/lat order, standing in for Gazetteer.country_outlines().
OUTLINES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": name, "country_code": code},
     "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
    for name, code, (w, s, e, n) in [
        ("Azerbaijan", "AZ", (44.8, 38.4, 50.4, 41.9)), ("Armenia", "AM", (43.4, 38.8, 46.6, 41.3)),
        ("Georgia", "GE", (40.0, 41.0, 46.7, 43.6)), ("Belgium", "BE", (2.5, 49.5, 6.4, 51.5))]]}


def make_doc(doc_id: str, text: str, places: dict[str, Place], **meta: str) -> DocumentResult:
    """A DocumentResult whose mentions are every whole-word occurrence of the given forms."""
    resolutions = []
    # Sentences end at . ! or ? followed by a capital letter, so "U.S. and US" stays one.
    cuts = [(m.start(), m.end()) for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z])", text)]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(text)]
    for sentence_start, sentence_end in zip(starts, ends):
        sentence = text[sentence_start:sentence_end]
        for form, place in places.items():
            for hit in re.finditer(r"(?<!\w)" + re.escape(form) + r"(?!\w)", sentence):
                start = sentence_start + hit.start()
                mention = Mention(form, start, start + len(form), sentence, sentence_start, "GPE")
                resolutions.append(Resolution(mention, place, 0.9))
    resolutions.sort(key=lambda r: r.mention.start)
    return DocumentResult(Document(doc_id, text, **meta), tuple(resolutions))


def sample_result() -> GeoparseResult:
    first = make_doc(
        "caucasus", "Aliyev met Pashinyan in Brussels. Talks in Baku and Yerevan resumed. "
        "Baku hosted a second round. Kyiv and Kiev are one city. U.S. and US officials agreed.",
        {"Brussels": BRUSSELS, "Baku": BAKU, "Yerevan": YEREVAN, "Kyiv": KYIV, "Kiev": KYIV,
         "U.S.": USA, "US": USA},
        title="Peace talks", source="Wire A", date="2024-05-02", url="https://example.org/talks")
    second = make_doc("hostile", HOSTILE + " Later Baku replied.", {"Tbilisi": TBILISI, "Baku": BAKU},
                      title="Op-ed: <script>alert(\"title\")</script> & {{ 7*7 }}",
                      source="Blog <b>D</b>", url="javascript:alert(1)")
    return GeoparseResult((first, second))


class _Tags(HTMLParser):
    """Start tags with attributes, and the text of each <script> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._text = dict(attrs), []

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def parse(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    tags.close()
    return tags


def payload_of(html: str) -> dict:
    blocks = [text for attrs, text in parse(html).scripts if attrs.get("type") == "application/json"]
    assert len(blocks) == 1, "exactly one JSON payload"
    return json.loads(blocks[0])


def place(payload: dict, name: str) -> dict:
    (entry,) = [p for p in payload["places"] if p["name"] == name]
    return entry


@pytest.fixture(scope="module")
def page() -> str:
    return render.map_html(render.build_map(sample_result(), outlines=OUTLINES))


def test_render_links_nothing_remote(page):
    tags = parse(page)
    for tag, attrs in tags.tags:
        assert not (tag == "script" and "src" in attrs), attrs
        assert tag != "link", attrs
        for name in ("src", "href"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(name) or "", re.I), (tag, attrs)
    # Also as raw text: no src=/href= with a web address anywhere, inline scripts included.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    for cdn in ("cdn.jsdelivr", "code.jquery", "cdnjs", "bootstrapcdn", "fontawesome"):
        assert cdn not in page


def test_render_inlines_leaflet(page):
    assert 'version="1.9.3"' in page
    assert ".leaflet-container" in page
    assert "url(images/" not in page  # Leaflet's CSS images are data: URIs
    assert "data:image/png;base64," in page
    assert "sourceMappingURL" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_render_does_not_touch_folium_class_lists():
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    render.map_html(render.build_map(sample_result()))
    assert (folium.Map.default_js, folium.Map.default_css) == before
    assert render.OfflineMap.default_js == [] and render.OfflineMap.default_css == []


def test_render_one_marker_per_place_lat_lon_order(page):
    payload = payload_of(page)
    result = sample_result()
    assert len(payload["places"]) == len(result.places) == 6
    gold = {p.name: [p.lat, p.lon] for p in result.places}
    assert {p["name"]: p["latlon"] for p in payload["places"]} == gold
    assert place(payload, "Baku")["latlon"] == [40.3777, 49.8920]  # Leaflet order: [lat, lon]
    assert place(payload, "Baku")["count"] == 3
    assert place(payload, "Baku")["kind"] == "city"
    assert place(payload, "United States")["kind"] == "country"
    # Biggest first, so small circles are drawn on top; area grows with the count.
    counts = [p["count"] for p in payload["places"]]
    assert counts == sorted(counts, reverse=True)
    assert place(payload, "Baku")["r"] > place(payload, "Yerevan")["r"]


def test_render_groups_surface_forms_into_one_place(page):
    kyiv = place(payload_of(page), "Kyiv")
    assert kyiv["forms"] == ["Kyiv", "Kiev"]
    assert kyiv["count"] == 2
    assert len(kyiv["sentences"]) == 1


def test_render_sentence_listed_once_with_every_mention_marked(page):
    payload = payload_of(page)
    usa = place(payload, "United States")
    assert usa["count"] == 2
    ((sentence_id, ranges),) = usa["sentences"]
    doc_index, text = payload["sentences"][sentence_id]
    assert text == "U.S. and US officials agreed."
    assert [text[a:b] for a, b in ranges] == ["U.S.", "US"]
    doc = payload["documents"][doc_index]
    assert doc == {"label": "Peace talks", "meta": "Wire A, 2024-05-02",
                   "url": "https://example.org/talks"}


def test_render_popup_sentences_grouped_by_document(page):
    payload = payload_of(page)
    baku = place(payload, "Baku")
    docs = [payload["sentences"][sid][0] for sid, _ in baku["sentences"]]
    assert docs == sorted(docs) and len(set(docs)) == 2
    assert len(baku["sentences"]) == 3


def test_render_hostile_text_stays_data(page):
    tags = parse(page)
    assert not [t for t, _ in tags.tags if t == "img"]
    assert "<img src=x onerror" not in page
    assert "alert('x')</script>" not in page
    payload = payload_of(page)
    texts = [text for _, text in payload["sentences"]]
    assert HOSTILE in texts  # decoded from the escaped JSON, byte for byte
    (block,) = [text for attrs, text in tags.scripts if attrs.get("type") == "application/json"]
    assert not re.search(r"[<>&\u2028\u2029]", block)
    hostile_doc = payload["documents"][payload["sentences"][texts.index(HOSTILE)][0]]
    assert hostile_doc["label"] == "Op-ed: <script>alert(\"title\")</script> & {{ 7*7 }}"
    assert hostile_doc["url"] is None  # javascript: never becomes a link
    # Outside the payload no data appears: Jinja never saw it as template source.
    outside = page.replace(block, "")
    for needle in ("Officials in Tbilisi", "Op-ed", "Blog"):
        assert needle not in outside


def test_render_title_is_escaped_and_literal():
    html = render.map_html(render.build_map(sample_result(), title="<b>Caucasus</b> {{ 7*7 }}"))
    assert "<title>&lt;b&gt;Caucasus&lt;/b&gt; {{ 7*7 }}</title>" in html
    assert payload_of(html)["title"] == "<b>Caucasus</b> {{ 7*7 }}"


def test_render_default_title_counts(page):
    assert "<title>geomap: 2 documents · 10 mentions · 6 places</title>" in page
    assert payload_of(page)["counts"] == "2 documents · 10 mentions · 6 places"


def test_render_empty_result_gives_world_view():
    empty = GeoparseResult((DocumentResult(Document("d", "No places here."), ()),))
    html = render.map_html(render.build_map(empty, outlines=OUTLINES))
    payload = payload_of(html)
    assert payload["places"] == [] and payload["bounds"] is None
    assert "No places found" in html
    center = re.search(r'center: \[([^\]]*)\]', html).group(1)
    assert all(math.isfinite(float(v)) for v in center.split(","))
    assert "NaN" not in html.split("</head>", 1)[1]  # payload and map script (Leaflet has isNaN)
    assert len(payload["basemap"]) == 4


def test_render_unusable_coordinates():
    polar = Place("geonames:1", "North Pole camp", 89.9, 10.0, None, "S", "CMP")
    broken = Place("geonames:2", "Nowhere", float("nan"), 3.0, None, "P", "PPL")
    missing = Place("geonames:3", "Lost", None, None, None, "P", "PPL")  # type: ignore[arg-type]
    result = GeoparseResult((make_doc(
        "d", "They flew from Baku to the North Pole camp. Nowhere and Lost were not reached.",
        {"Baku": BAKU, "North Pole camp": polar, "Nowhere": broken, "Lost": missing}),))
    html = render.map_html(render.build_map(result))
    payload = payload_of(html)
    assert [p["name"] for p in payload["places"]] == ["Baku", "North Pole camp"]
    polar_entry = place(payload, "North Pole camp")
    assert polar_entry["latlon"] == [85.05, 10.0]
    assert "89.90°N" in polar_entry["note"]
    assert payload["notes"] == ["2 places without coordinates not shown"]
    assert "NaN" not in html.split("</head>", 1)[1]  # payload and map script (Leaflet has isNaN)


def test_render_colours_by_kind_with_named_legend():
    result = GeoparseResult((make_doc(
        "d", "Guards at the Kremlin spoke of Baku, the South Caucasus and the U.S. again.",
        {"Kremlin": KREMLIN, "Baku": BAKU, "South Caucasus": CAUCASUS, "U.S.": USA}),))
    payload = payload_of(render.map_html(render.build_map(result)))
    assert {p["name"]: p["kind"] for p in payload["places"]} == {
        "Kremlin": "site", "Baku": "city", "South Caucasus": "region", "United States": "country"}
    assert payload["legend"]["kinds"] == ["country", "region", "city", "site"]
    assert payload["colors"] == {"country": "#cc79a7", "region": "#009e73", "city": "#0072b2",
                                 "site": "#e69f00"}


def test_render_caps_sentences_per_place():
    text = " ".join(f"Item {i} was seen in Baku." for i in range(30))
    payload = payload_of(render.map_html(render.build_map(
        GeoparseResult((make_doc("d", text, {"Baku": BAKU}),)))))
    baku = place(payload, "Baku")
    assert baku["count"] == 30
    assert len(baku["sentences"]) == render.MAX_SENTENCES == 25
    assert baku["more"] == 5


def test_render_offsets_are_javascript_string_indices():
    text = "The 🗺️ of Baku and Tbilisi."
    payload = payload_of(render.map_html(render.build_map(
        GeoparseResult((make_doc("d", text, {"Baku": BAKU, "Tbilisi": TBILISI}),)))))
    for entry in payload["places"]:
        ((sid, ranges),) = entry["sentences"]
        units = payload["sentences"][sid][1].encode("utf-16-le")
        assert [units[2 * a:2 * b].decode("utf-16-le") for a, b in ranges] == [entry["name"]]


def test_render_is_deterministic():
    first = render.map_html(render.build_map(sample_result(), outlines=OUTLINES, title="T"))
    fmap = render.build_map(sample_result(), outlines=OUTLINES, title="T")
    assert render.map_html(fmap) == first
    assert render.map_html(fmap) == first  # rendering twice changes nothing


def test_render_tiles_are_opt_in():
    plain = render.map_html(render.build_map(sample_result()))
    assert "tile.openstreetmap.org" not in plain and "L.tileLayer(" not in plain.split("</head>")[1]
    tiled = render.map_html(render.build_map(sample_result(), tiles="OpenStreetMap"))
    assert "tile.openstreetmap.org" in tiled
    with pytest.raises(InputError):
        render.build_map(sample_result(), tiles="no such tiles")


def test_render_rejects_bad_outlines():
    with pytest.raises(InputError):
        render.build_map(sample_result(), outlines=["not", "geojson"])  # type: ignore[arg-type]
    nan_outline = {"type": "Polygon", "coordinates": [[[0, 0], [1, float("nan")], [0, 0]]]}
    with pytest.raises(InputError):
        render.build_map(sample_result(), outlines=nan_outline)


def test_render_stays_compact_for_300_places():
    places = [Place(f"k{i}", f"Place{i}", -60 + i * 0.4, -170 + i, None, "P", "PPL")
              for i in range(300)]
    docs = []
    for d in range(100):
        forms = {f"Place{(d * 7 + j) % 300}": places[(d * 7 + j) % 300] for j in range(10)}
        text = " ".join(f"Reporters in {form} saw rain and heard news from {form} today."
                        for form in forms) * 5
        docs.append(make_doc(f"d{d}", text, forms, title=f"Report {d}"))
    result = GeoparseResult(tuple(docs))
    assert len(result.resolutions) == 10_000
    html = render.map_html(render.build_map(result))
    assert len(payload_of(html)["places"]) == 300
    assert len(html.encode("utf-8")) < 1_500_000


def test_save_map_writes_page_atomically(tmp_path):
    fmap = render.build_map(sample_result())
    target = tmp_path / "map.html"
    render.save_map(fmap, target)
    assert target.read_text(encoding="utf-8") == render.map_html(fmap)
    assert os.listdir(tmp_path) == ["map.html"]
    assert (target.stat().st_mode & 0o777) == 0o644


def test_save_map_leaves_existing_file_when_rendering_fails(tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old map", encoding="utf-8")
    fmap = render.build_map(sample_result())

    def boom(self, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(render.PlaceLayer, "render", boom)
    with pytest.raises(RuntimeError):
        render.save_map(fmap, target)
    assert target.read_text(encoding="utf-8") == "old map"
    assert os.listdir(tmp_path) == ["map.html"]


def test_save_map_leaves_no_partial_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old map", encoding="utf-8")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(render.os, "replace", full_disk)
    with pytest.raises(OSError):
        render.save_map(render.build_map(sample_result()), str(target))
    assert target.read_text(encoding="utf-8") == "old map"
    assert os.listdir(tmp_path) == ["map.html"]


def test_save_map_into_missing_directory_raises(tmp_path):
    with pytest.raises(OSError):
        render.save_map(render.build_map(sample_result()), tmp_path / "missing" / "map.html")
    assert os.listdir(tmp_path) == []
