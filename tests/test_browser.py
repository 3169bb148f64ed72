"""Open rendered maps in headless Chromium: offline, no console errors, markers, literal popups,
choropleth, legend, side panel (filter, keyboard, document checkboxes, dates), embedding, PNG.

Needs the ``chromium`` binary (Debian's package; CI installs it) and the ``playwright`` Python
package; the tests skip with a reason when either is missing (fixtures in ``conftest.py``).
Cases tagged R13... are the browser side of the mined failure cases in
``shared/cases/cases.jsonl``.
"""

from __future__ import annotations

import re
import struct
import time

import pytest
from click.testing import CliRunner

from geomap import api, render
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution
from tests.conftest import (APIA, BAKU, BOX_OUTLINES, BRUSSELS, BUENOS_AIRES, HOSTILE, HOSTILE_TITLE,
                            KYIV, LONGYEARBYEN, NUKUALOFA, SEED, STEPANAKERT, SUVA, TBILISI, USA,
                            YAMOUSSOUKRO, YEREVAN, MapPage, haversine_km, make_doc, sample_result)

pytestmark = pytest.mark.browser


def drawn(opened: MapPage, expression: str):
    """Evaluate ``expression`` with ``S`` bound to the page's geomap state."""
    return opened.page.evaluate(f"(() => {{ const S = geomap.state(); return {expression}; }})()")


# ---------------------------------------------------------------------------------------------
# The seed article, through the whole pipeline


@pytest.fixture(scope="module")
def seed_result(geoparser):
    return geoparser.parse(api.read_documents([SEED])[0])


def test_browser_seed_map(open_map, seed_result, full_gazetteer, tmp_path):
    result = seed_result
    opened = open_map(api.render_map(result, gazetteer=full_gazetteer, title="South Caucasus talks"))
    page = opened.page
    n_places = len({r.place.key for r in result.resolutions if r.place is not None})
    assert n_places >= 5
    assert opened.markers().count() == n_places
    assert page.locator(".geomap-row").count() == n_places
    # Legend: kinds, sizes, the six country classes.
    legend = page.locator(".geomap-legend").inner_text()
    for text in ("Place type", "country", "city or other place", "Mentions (circle area)",
                 "Mentions per country", "1", "2–4", "5–9", "10–19", "20–49", "50+"):
        assert text in legend
    # Choropleth: Azerbaijan and Armenia are shaded by their roll-up counts.
    counts = drawn(opened, "S.countryCounts")
    by_country: dict[str, int] = {}
    for r in result.resolutions:
        if r.place is not None and r.place.country_code:
            by_country[r.place.country_code] = by_country.get(r.place.country_code, 0) + 1
    assert counts == by_country
    assert counts["AZ"] >= 2 and counts["AM"] >= 2
    fills = drawn(opened, "S.basemapLayers[0].getLayers().filter(l => l.feature && "
                          "['AZ','AM'].includes(S.data.basemap[l.feature.properties.i][0]))"
                          ".map(l => [S.data.basemap[l.feature.properties.i][0], l.options.fillColor])")
    classes = render.CHOROPLETH_CLASSES
    for code, fill in fills:
        n = counts[code]
        assert fill == next(c[3] for c in classes if n >= c[0] and (c[1] is None or n <= c[1]))
    # Co-mention arcs: pairs of places named in one sentence, strongest first, at most 150.
    pairs: dict[tuple[str, str], int] = {}
    for doc in result.documents:
        by_sentence: dict[int, set[str]] = {}
        for r in doc.resolutions:
            if r.place is not None:
                by_sentence.setdefault(r.mention.sentence_start, set()).add(r.place.name)
        for names in by_sentence.values():
            for a in names:
                for b in names:
                    if a < b:
                        pairs[(a, b)] = pairs.get((a, b), 0) + 1
    drawn_edges = drawn(opened, "S.data.edges.map(e => [S.data.places[e[0]].name, S.data.places[e[1]].name, e[2]])")
    assert len(drawn_edges) == min(150, len(pairs)) >= 1
    assert {tuple(sorted(e[:2])): e[2] for e in drawn_edges}.items() <= pairs.items()
    assert drawn_edges[0][2] == max(pairs.values())
    assert page.locator("path.geomap-edge").count() >= 1
    control = page.locator(".leaflet-control-layers").inner_text()
    for name in ("Countries: mentions (choropleth)", "Places", "Labels (top places)"):
        assert name in control
    assert page.locator(".leaflet-control-scale").count() == 1
    assert "Boundaries: Natural Earth — de facto, no endorsement implied" in \
        page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".geomap-title h1").inner_text() == "South Caucasus talks"
    # Filter box: typing filters the list; Enter opens the popup of the first match.
    page.fill(".geomap-filter", "baku")
    visible = page.locator(".geomap-row:visible")
    assert visible.count() == 1 and visible.first.inner_text().startswith("Baku")
    page.press(".geomap-filter", "Enter")
    popup = page.locator(".leaflet-popup-content .geomap-popup")
    popup.wait_for()
    assert popup.text_content().startswith("Baku · city · ")
    assert popup.locator("mark").first.text_content() == "Baku"
    page.screenshot(path=str(tmp_path / "seed.png"))
    opened.assert_clean()


# ---------------------------------------------------------------------------------------------
# Hand-built maps


def test_browser_map_is_offline_and_draws_one_marker_per_place(open_map):
    result = sample_result()
    opened = open_map(result, outlines=BOX_OUTLINES)
    page = opened.page
    assert opened.markers().count() == len(result.places) == 8
    assert page.locator(".geomap-place-country").count() == 2  # Armenia, United States
    assert page.locator(".geomap-place-region").count() == 1
    assert page.locator(".geomap-title-counts").inner_text() == "2 documents · 12 mentions · 8 places"
    assert page.locator(".geomap-empty").count() == 0
    assert page.locator(".leaflet-marker-pane .geomap-cluster").count() == 0  # a small map folds nothing
    opened.assert_clean()


def test_browser_popup_lists_sentences_with_marks(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    popup = opened.open_popup("Baku")
    text = popup.text_content()
    assert text.startswith("Baku · city · 3 mentions")
    assert "Talks in Baku and Yerevan resumed." in text
    assert "Baku hosted a second round." in text
    assert popup.locator("mark").all_text_contents() == ["Baku", "Baku", "Baku"]
    link = popup.locator("a.geomap-doc-title")
    assert link.text_content() == "Peace talks"
    assert link.get_attribute("href") == "https://example.org/talks"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert "Wire A, 2024-05-02" in text
    opened.assert_clean()  # the link is shown, not followed


def test_browser_hostile_text_is_shown_literally(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    popup = opened.open_popup("Tbilisi")
    text = popup.text_content()
    assert HOSTILE in text
    assert "49" not in text and "{{ 7*7 }}" in text and "${document.title}" in text
    assert HOSTILE_TITLE in text
    assert "Blog <b>D</b>" in text
    assert popup.locator("img, script, b").count() == 0
    assert popup.locator("a").count() == 0  # javascript: URL is not linked
    assert popup.locator("mark").all_text_contents() == ["Tbilisi"]
    # The side panel shows the same metadata as text.
    panel = opened.page.locator(".geomap-documents")
    assert HOSTILE_TITLE in panel.text_content() and "Blog <b>D</b> (1)" in panel.text_content()
    assert panel.locator("b, script, img").count() == 0
    assert opened.page.locator("img[src=x]").count() == 0
    opened.assert_clean()


def test_browser_popup_cap_and_scroll(open_map):
    text = " ".join(f"Item {i} was seen in Baku." for i in range(40))
    opened = open_map(GeoparseResult((make_doc("d", text, {"Baku": BAKU}),)))
    popup = opened.open_popup("Baku")
    assert popup.locator("li").count() == 25
    assert popup.locator(".geomap-popup-more").text_content() == "and 15 more sentences"
    assert opened.page.locator(".leaflet-popup-scrolled").count() == 1  # scrollable
    opened.assert_clean()


def test_browser_low_confidence_popup(open_map):
    runner = {"name": "Brussels", "country_code": "US", "feature_code": "PPL", "score": 3.1}
    result = GeoparseResult((make_doc("d", "Delegates reached Brussels late.", {"Brussels": BRUSSELS},
                                      confidence=0.52, provenance={"runner_up": runner, "candidates": 2}),))
    popup = open_map(result).open_popup("Brussels")
    assert "Uncertain match: confidence 0.52 among 2 candidates; runner-up: Brussels (US)" in popup.text_content()


def test_browser_region_popup_says_approximate(open_map):
    from tests.conftest import SOUTH_CAUCASUS
    result = GeoparseResult((make_doc("d", "Envoys toured the South Caucasus.", {"South Caucasus": SOUTH_CAUCASUS}),))
    popup = open_map(result).open_popup("South Caucasus")
    text = popup.text_content()
    assert text.startswith("South Caucasus · region · 1 mention")
    assert "Approximate centre of a region" in text


CASES = {
    "R42": ("The envoy's convoy reached Côte d'Ivoire's capital, Yamoussoukro, after a day's delay.",
            {"Yamoussoukro": YAMOUSSOUKRO}, "Yamoussoukro", ["Côte d'Ivoire's", "day's"]),
    "R43": ("A spokesman called the deal \"historic\" in Yerevan,\r\nbut added: 'details remain secret.'\n"
            "\tTalks resume in Tbilisi.", {"Yerevan": YEREVAN, "Tbilisi": TBILISI}, "Yerevan",
            ["\"historic\"", "'details remain secret.'"]),
    "R44": ("Protesters in Baku held signs reading `${document.title}` and `end`, a reporter said.",
            {"Baku": BAKU}, "Baku", ["`${document.title}`"]),
    "R46": ("Officials in Tbilisi said <script>alert('x')</script> and <img src=x onerror=alert(1)> appeared "
            "in the leaked memo.", {"Tbilisi": TBILISI}, "Tbilisi", ["<script>alert('x')</script>"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_browser_cases_hostile_popups(open_map, case):
    """R42 (folium#850), R43 (folium#252), R44 (folium#1640), R46 (planwise#164)."""
    text, places, name, literal = CASES[case]
    opened = open_map(GeoparseResult((make_doc(case, text, places),)), outlines=BOX_OUTLINES,
                      title="Page title")
    assert opened.markers().count() == len(places)
    popup = opened.open_popup(name)
    content = popup.text_content()
    for needle in literal:
        assert needle in content
    assert "Page title" not in content  # ${document.title} was not evaluated
    assert popup.locator("script, img").count() == 0
    assert opened.page.locator("img[src=x], [onerror]").count() == 0
    opened.assert_clean()  # no console error, no dialog, no request


def test_browser_case_R13_one_marker_sentence_once(open_map):
    """R13 (mordecai#91): one marker whose popup lists the sentence once."""
    text = ("Officials said the U.S. would send monitors, and a senior U.S diplomat added that US envoys "
            "were already in the region.")
    opened = open_map(GeoparseResult((make_doc("d", text, {"U.S.": USA, "U.S": USA, "US": USA}),)))
    assert opened.markers().count() == 1
    popup = opened.open_popup("United States")
    assert popup.locator("li").count() == 1
    assert popup.locator("mark").all_text_contents() == ["U.S.", "U.S", "US"]
    opened.assert_clean()


def test_browser_case_R22_popups_name_every_spelling(open_map):
    """R22 (locationtagger#2): 2 markers, each popup names both spellings."""
    text = ("Officials in Kyiv, a city many English style guides once spelled Kiev, condemned the strike. "
            "Separately, residents left Khankendi, which Armenians call Stepanakert.")
    opened = open_map(GeoparseResult((make_doc("d", text, {"Kyiv": KYIV, "Kiev": KYIV, "Khankendi": STEPANAKERT,
                                                           "Stepanakert": STEPANAKERT}),)))
    assert opened.markers().count() == 2
    assert "As written: Kyiv, Kiev" in opened.open_popup("Kyiv").text_content()
    assert "As written: Khankendi, Stepanakert" in opened.open_popup("Stepanakert").text_content()
    opened.assert_clean()


def test_browser_case_R37_empty_map(open_map):
    """R37 (article-tagging#140): no marker, a note, a finite centre."""
    text = "The committee approved the budget after a long debate about pensions and school meals."
    opened = open_map(GeoparseResult((DocumentResult(Document("d", text), ()),)), outlines=BOX_OUTLINES)
    page = opened.page
    assert page.locator(".geomap-empty").inner_text() == "No places found"
    assert page.locator("path.geomap-place").count() == 0
    lat, lon, zoom = page.evaluate("[map_0.getCenter().lat, map_0.getCenter().lng, map_0.getZoom()]")
    assert all(isinstance(v, (int, float)) and v == v for v in (lat, lon, zoom))  # finite, not NaN
    assert (lat, lon) != (0, 0)
    opened.assert_clean()


def test_browser_case_R55_nan_place_skipped(open_map):
    """R55 (mesh-rangetest-map#4): NaN coordinates do not abort the map; one marker."""
    testville = Place("geonames:9999999", "Testville", float("nan"), float("nan"), "AM", "P", "PPL")
    opened = open_map(GeoparseResult((make_doc("d", "Inspectors visited Testville and Yerevan.",
                                               {"Testville": testville, "Yerevan": YEREVAN}),)))
    assert opened.markers().count() == 1
    center = opened.page.evaluate("[map_0.getCenter().lat, map_0.getCenter().lng]")
    assert haversine_km(*center, 40.181, 44.514) < 200
    assert "1 place without coordinates not shown" in opened.page.locator(".geomap-title").inner_text()
    opened.assert_clean()


def test_browser_case_R54_markers_at_lat_lon(open_map):
    """R54 (folium#1082): the drawn markers sit at (lat, lon), not (lon, lat)."""
    opened = open_map(GeoparseResult((make_doc("d", "Engineers in Baku and Buenos Aires compared notes.",
                                               {"Baku": BAKU, "Buenos Aires": BUENOS_AIRES}),)))
    positions = drawn(opened, "S.markers.map(m => [S.data.places[S.markers.indexOf(m)].name, m.getLatLng().lat, "
                              "m.getLatLng().lng])")
    gold = {"Baku": (40.378, 49.892, 15), "Buenos Aires": (-34.604, -58.382, 20)}
    for name, lat, lon in positions:
        assert haversine_km(lat, lon, gold[name][0], gold[name][1]) <= gold[name][2]
    opened.assert_clean()


def test_browser_case_R57_poles(open_map):
    """R57 (gbif/portal-feedback#1278): poles drawn at the Mercator edge, view finite."""
    south = Place("curated:south-pole", "South Pole", -90.0, 0.0, "AQ", "T", "PT", source="curated")
    north = Place("curated:north-pole", "North Pole", 90.0, 0.0, None, "T", "PT", source="curated")
    opened = open_map(GeoparseResult((make_doc(
        "d", "Supplies reached the South Pole, and an icebreaker left Longyearbyen for the North Pole.",
        {"South Pole": south, "Longyearbyen": LONGYEARBYEN, "North Pole": north}),)))
    assert opened.markers().count() == 3
    bounds = opened.page.evaluate("[map_0.getBounds().getSouth(), map_0.getBounds().getNorth()]")
    assert all(v == v for v in bounds)
    assert "true latitude 90.00°N" in opened.open_popup("North Pole").text_content()
    opened.assert_clean()


def test_browser_case_R58_300_places_load_fast(open_map):
    """R58 (folium#1399): 5,000 sentences over 300 places: 300 markers, no errors, loads < 10 s."""
    from tests.test_render import world_cities
    places = world_cities(300)
    sentences, resolutions, offset = [], [], 0
    for i in range(5000):
        place = places[i % 300]
        sentence = f"Aid reached {place.name} on day {i + 1}."
        start = offset + len("Aid reached ")
        resolutions.append(Resolution(Mention(place.name, start, start + len(place.name), sentence, offset, "GPE"),
                                      place, 0.9))
        sentences.append(sentence)
        offset += len(sentence) + 1
    result = GeoparseResult((DocumentResult(Document("aid", " ".join(sentences)), tuple(resolutions)),))
    started = time.perf_counter()
    opened = open_map(result, outlines=BOX_OUTLINES)
    assert time.perf_counter() - started < 10
    page = opened.page
    assert opened.markers().count() == 300  # one per distinct place
    # Clustering: at the world view, circles hidden under a bigger one are counted in its
    # "+N" badge; every place is either drawn or counted once.
    badges = page.locator(".leaflet-marker-pane .geomap-cluster")
    assert badges.count() >= 5
    folded = sum(int(t.lstrip("+")) for t in badges.all_inner_texts())
    shown = page.locator('path.geomap-place[data-clustered="false"]:not([data-count="0"])').count()
    assert shown + folded == 300 and folded > 0
    # A badge zooms in; fewer places are folded there.
    zoom = page.evaluate("map_0.getZoom()")
    badges.first.click()
    page.wait_for_function(f"map_0.getZoom() > {zoom}")
    page.wait_for_timeout(400)  # the zoom animation ends, clusters are recomputed
    assert page.locator('path.geomap-place[data-clustered="true"]').count() < folded
    # The list opens a folded place's popup by zooming in until it stands alone.
    hidden = page.evaluate("geomap.state().clustered.findIndex(Boolean)")
    name = page.evaluate(f"geomap.state().data.places[{hidden}].name")
    page.fill(".geomap-filter", name)
    page.locator(f".geomap-row[data-index='{hidden}']").press("Enter")
    popup = page.locator(".leaflet-popup-content .geomap-popup")
    popup.wait_for()
    assert popup.text_content().startswith(name + " · city · ")
    assert page.evaluate(f"geomap.state().clustered[{hidden}]") in (None, False)
    opened.assert_clean()


def test_browser_antimeridian_places_shown_together(open_map):
    opened = open_map(GeoparseResult((make_doc("d", "Leaders from Suva, Apia and Nuku'alofa met.",
                                               {"Suva": SUVA, "Apia": APIA, "Nuku'alofa": NUKUALOFA}),)))
    page = opened.page
    west, east = page.evaluate("[map_0.getBounds().getWest(), map_0.getBounds().getEast()]")
    assert east - west < 90  # a regional view, not the whole world
    box = page.locator(".folium-map").bounding_box()
    for name in ("Suva", "Apia", "Nuku'alofa"):
        mark = page.locator(f'path.geomap-place[aria-label="{name}"]').bounding_box()
        assert box["x"] < mark["x"] < box["x"] + box["width"] and box["y"] < mark["y"] < box["y"] + box["height"]
    opened.assert_clean()


# ---------------------------------------------------------------------------------------------
# Side panel


def test_browser_filter_and_keyboard(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    page = opened.page
    rows = page.locator(".geomap-row")
    assert rows.count() == 8
    assert rows.first.inner_text().replace("\n", " ").startswith("Baku · city")
    page.fill(".geomap-filter", "kiev")  # an alternate spelling finds Kyiv
    assert [r.split("\n")[0] for r in page.locator(".geomap-row:visible").all_inner_texts()] == ["Kyiv · city"]
    page.fill(".geomap-filter", "zzz")
    assert page.locator(".geomap-row:visible").count() == 0
    assert page.locator(".geomap-list-empty").is_visible()
    page.fill(".geomap-filter", "")
    assert page.locator(".geomap-row:visible").count() == 8
    # Keyboard only: Tab into the filter, arrow down to the rows, Enter opens the popup.
    page.focus(".geomap-filter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.getAttribute('data-index')")
    name = page.evaluate(f"geomap.state().data.places[{focused}].name")
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content .geomap-popup")
    popup.wait_for()
    assert popup.text_content().startswith(name + " · ")
    assert page.locator(".geomap-row[tabindex='0']").count() == 8
    opened.assert_clean()


def test_browser_document_checkboxes_recount(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    page = opened.page
    baku = page.locator('path.geomap-place[aria-label="Baku"]')
    radius_before = drawn(opened, "S.markers[S.data.places.findIndex(p => p.name === 'Baku')].getRadius()")
    assert page.locator(".geomap-source summary").all_inner_texts() == ["Blog <b>D</b> (1)", "Wire A (1)"]
    page.locator(".geomap-documents input[aria-label^='Show Op-ed']").uncheck()
    assert page.locator(".geomap-title-counts").inner_text() == "1 document · 10 mentions · 7 places"
    assert baku.get_attribute("data-count") == "2"
    assert page.locator('path.geomap-place[aria-label="Tbilisi"]').is_hidden()
    radius_after = drawn(opened, "S.markers[S.data.places.findIndex(p => p.name === 'Baku')].getRadius()")
    assert radius_after < radius_before
    assert drawn(opened, "S.countryCounts") == {"AZ": 2, "AM": 2, "BE": 1, "UA": 2, "US": 2}
    popup = opened.open_popup("Baku")
    assert popup.locator("li").count() == 2 and "Officials in Tbilisi" not in popup.text_content()
    assert page.locator(".geomap-row:visible").count() == 7
    # The whole source group off and on again.
    page.locator(".geomap-source summary input").nth(1).uncheck()
    assert page.locator(".geomap-title-counts").inner_text() == "0 documents · 0 mentions · 0 places"
    page.locator(".geomap-source summary input").nth(1).check()
    page.locator(".geomap-source summary input").nth(0).check()
    assert page.locator(".geomap-title-counts").inner_text() == "2 documents · 12 mentions · 8 places"
    opened.assert_clean()


def canvas_colour(opened: MapPage, lat: float, lon: float) -> str:
    """The basemap canvas's colour (#rrggbb) where (lat, lon) is drawn."""
    return opened.page.evaluate("""([lat, lon]) => {
        const S = geomap.state(), point = S.map.latLngToContainerPoint([lat, lon]);
        const box = S.map.getContainer().getBoundingClientRect();
        const canvas = S.map.getPane("geomapBasemap").querySelector("canvas");
        const area = canvas.getBoundingClientRect();
        const x = Math.round((box.left + point.x - area.left) * canvas.width / area.width);
        const y = Math.round((box.top + point.y - area.top) * canvas.height / area.height);
        const [r, g, b] = canvas.getContext("2d").getImageData(x, y, 1, 1).data;
        return "#" + [r, g, b].map(v => v.toString(16).padStart(2, "0")).join("");
    }""", [lat, lon])


def test_browser_choropleth_pixels_follow_counts(open_map):
    """Countries are painted in their class colour; a document filter repaints them."""
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    classes = {label: colour for _, _, label, colour in render.CHOROPLETH_CLASSES}
    # Belgium: Brussels once. Georgia: Tbilisi once. Azerbaijan: Baku three times.
    assert canvas_colour(opened, 49.8, 6.0) == classes["1"]
    assert canvas_colour(opened, 43.2, 41.0) == classes["1"]
    assert canvas_colour(opened, 38.7, 50.0) == classes["2–4"]
    opened.page.locator(".geomap-documents input[aria-label^='Show Op-ed']").uncheck()
    land = opened.page.evaluate("geomap.state().countryStyle({properties: {i: 2}}).fillColor")
    assert canvas_colour(opened, 43.2, 41.0) == land == "#efece6"  # Georgia: no mention left
    assert canvas_colour(opened, 38.7, 50.0) == classes["2–4"]  # Baku twice
    opened.assert_clean()


def test_browser_panel_folds_away(open_map):
    opened = open_map(sample_result())
    page = opened.page
    width = page.locator(".folium-map").bounding_box()["width"]
    assert page.locator(".geomap-side").is_visible()
    page.locator(".geomap-panel-toggle").click()
    assert page.locator(".geomap-side").is_hidden()
    assert page.locator(".folium-map").bounding_box()["width"] == 1200 > width
    assert page.locator(".geomap-panel-toggle").get_attribute("aria-expanded") == "false"
    opened.assert_clean()


def test_browser_small_frame_folds_panel_and_legend(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES, width=640, height=420)
    page = opened.page
    assert page.locator(".geomap-side").is_hidden()
    assert page.locator(".geomap-legend").get_attribute("open") is None
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert opened.markers().count() == 8
    opened.assert_clean()


def test_browser_time_filter(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    page = opened.page
    selects = page.locator(".geomap-dates select")
    assert selects.count() == 2
    assert selects.nth(0).locator("option").all_inner_texts() == ["2024-05-02", "2024-05-06"]
    selects.nth(0).select_option("2024-05-06")
    assert page.locator(".geomap-title-counts").inner_text() == "1 document · 2 mentions · 2 places"
    assert opened.markers().count() == 2
    opened.assert_clean()


def test_browser_many_documents_pooled_filter(open_map):
    """13,000 documents are too many to list: the panel says so and filters by source and day,
    and popups say how many sentences and documents they leave out."""
    import datetime
    docs = []
    for i in range(13_000):
        named = [BAKU, YEREVAN] if i % 2 == 0 else [BAKU]
        text = f"Talks in {' and '.join(p.name for p in named)} resumed, report {i}."
        resolutions = tuple(Resolution(Mention(p.name, text.index(p.name), text.index(p.name) + len(p.name),
                                               text, 0, "GPE"), p, 0.9) for p in named)
        date = (datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 60)).isoformat()  # 1 Jan..29 Feb
        docs.append(DocumentResult(Document(f"w{i}", text, source=f"Wire {'AB'[i % 2]}", title=f"Report {i}",
                                            date=date), resolutions))
    opened = open_map(GeoparseResult(tuple(docs)))
    page = opened.page
    counts = page.locator(".geomap-title-counts")
    assert counts.inner_text() == "13000 documents · 19500 mentions · 2 places"
    panel = page.locator(".geomap-documents")
    assert ("13,000 documents, too many to list one by one: the filter takes them by source and day."
            in panel.text_content())
    assert page.locator(".geomap-source summary").all_inner_texts() == ["Wire A (6500)", "Wire B (6500)"]
    popup = opened.open_popup("Baku")
    assert popup.locator("li").count() == 25
    assert popup.locator(".geomap-popup-more").text_content() == (
        "and 12975 more sentences, 12975 documents not quoted")
    # A whole source off: Wire A's 6,500 documents name Baku and Yerevan once each.
    page.locator(".geomap-source summary input").nth(1).uncheck()
    assert counts.inner_text() == "6500 documents · 13000 mentions · 2 places"
    popup = opened.open_popup("Baku")
    assert popup.locator("li").count() == 13  # the even documents among the first 25
    assert popup.locator(".geomap-popup-more").text_content() == (
        "and 6487 more sentences, 6487 documents not quoted")
    page.locator(".geomap-source summary input").nth(1).check()
    # One day of one source: Wire A on 1 January holds documents 0, 60, ..., 12960.
    page.locator(".geomap-source").nth(0).locator("summary").click()  # unfold the group
    row = page.locator("input[aria-label='Show Wire A, 2024-01-01']")
    assert row.locator("xpath=..").inner_text() == "2024-01-01 (217 documents)"
    row.uncheck()
    assert counts.inner_text() == "12783 documents · 19066 mentions · 2 places"
    row.check()
    # Dates from 1 February: day 31 to 59 of each 60-day cycle (216 cycles, then days 0 to 39).
    page.locator(".geomap-dates select").nth(0).select_option("2024-02-01")
    assert counts.inner_text() == "6273 documents · 9301 mentions · 2 places"
    opened.assert_clean()


def test_browser_layer_control_switches_layers(open_map):
    opened = open_map(sample_result(), outlines=BOX_OUTLINES)
    page = opened.page
    control = page.locator(".leaflet-control-layers")
    control.get_by_text("Places", exact=True).click()
    assert page.locator("path.geomap-place").count() == 0
    control.get_by_text("Places", exact=True).click()
    assert page.locator("path.geomap-place").count() == 8
    control.get_by_text("Countries: mentions (choropleth)").click()
    assert drawn(opened, "S.choropleth") is False
    opened.assert_clean()


def test_browser_osm_attribution_for_geocoded_places(open_map):
    geocoded = Place("nominatim:1", "Gyumri", 40.7894, 43.8475, "AM", "P", "PPL", source="geocoder:nominatim")
    opened = open_map(GeoparseResult((make_doc("d", "Rallies in Gyumri.", {"Gyumri": geocoded}),)))
    assert "© OpenStreetMap contributors" in opened.page.locator(".leaflet-control-attribution").inner_text()


# ---------------------------------------------------------------------------------------------
# Embedding, CDN mode, PNG


def test_browser_map_works_in_sandboxed_iframe(browser, tmp_path):
    render.save_map(render.build_map(sample_result(), outlines=BOX_OUTLINES), tmp_path / "map.html")
    host = tmp_path / "report.html"
    host.write_text('<!DOCTYPE html><html><body><h1>Report</h1>'
                    '<iframe sandbox="allow-scripts" src="map.html" width="900" height="500"></iframe>'
                    '</body></html>', encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(host.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("path.geomap-place").first.wait_for()
    assert frame.locator("path.geomap-place").count() == 8
    assert errors == []
    page.close()


def test_browser_repr_html_iframe_renders(browser, tmp_path):
    fmap = render.build_map(sample_result(), outlines=BOX_OUTLINES)
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body style='width:900px'>{fmap._repr_html_()}</body></html>",
                    encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(host.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("path.geomap-place").first.wait_for()
    assert frame.locator("path.geomap-place").count() == 8
    assert errors == []
    page.close()


def test_browser_cdn_page_loads_leaflet_with_integrity(browser, tmp_path):
    """The --cdn page asks only for Leaflet's two files; served as published, they pass SRI."""
    import xstatic.pkg.leaflet as xl
    path = tmp_path / "cdn.html"
    render.save_map(render.build_map(sample_result(), cdn=True), path)
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    base = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/"

    def serve(route):
        name = route.request.url.rsplit("/", 1)[1]
        body = open(f"{xl.BASE_DIR}/{name}", "rb").read()
        route.fulfill(status=200, body=body, headers={
            "Access-Control-Allow-Origin": "*",
            "Content-Type": "text/css" if name.endswith(".css") else "application/javascript"})

    page.route(base + "*", serve)
    page.route(re.compile(r"^https?://(?!cdn\.jsdelivr\.net/npm/leaflet@1\.9\.3/dist/).*"),
               lambda route: route.abort())
    page.goto(path.as_uri())
    page.wait_for_function("window.geomapReady === true")
    assert page.locator("path.geomap-place").count() == 8
    assert sorted(u for u in requests if u.startswith("http")) == [base + "leaflet.css", base + "leaflet.js"]
    assert errors == []
    page.close()


def test_browser_cli_png(tmp_path, tiny_gazetteer_path):
    if render.find_browser() is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    from geomap.cli import main
    article = tmp_path / "talks.txt"
    article.write_text("Talks in Baku and Yerevan resumed, and Tbilisi watched.\n", encoding="utf-8")
    out, png = tmp_path / "map.html", tmp_path / "map.png"
    done = CliRunner().invoke(main, ["map", str(article), "-o", str(out), "--png", str(png), "--offline",
                                     "--gazetteer", str(tiny_gazetteer_path), "--title", "Talks"])
    assert done.exit_code == 0, done.output
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1400, 900)
    assert out.exists()


def test_cli_png_without_browser_is_a_clear_error(tmp_path, tiny_gazetteer_path, monkeypatch):
    from geomap.cli import main
    monkeypatch.setenv("GEOMAP_CHROMIUM", str(tmp_path / "no-chromium"))
    article = tmp_path / "talks.txt"
    article.write_text("Talks in Baku resumed.\n", encoding="utf-8")
    out, png = tmp_path / "map.html", tmp_path / "map.png"
    done = CliRunner().invoke(main, ["map", str(article), "-o", str(out), "--png", str(png), "--offline",
                                     "--gazetteer", str(tiny_gazetteer_path)])
    assert done.exit_code == 1
    assert "no PNG written" in done.output and "apt-get install chromium" in done.output
    assert "Traceback" not in done.output
    assert out.exists() and not png.exists()  # the HTML map is kept


def test_cli_cdn_writes_small_page(tmp_path, tiny_gazetteer_path):
    from geomap.cli import main
    article = tmp_path / "talks.txt"
    article.write_text("Talks in Baku resumed.\n", encoding="utf-8")
    offline, linked = tmp_path / "offline.html", tmp_path / "cdn.html"
    for out, extra in ((offline, []), (linked, ["--cdn"])):
        done = CliRunner().invoke(main, ["map", str(article), "-o", str(out), "--offline",
                                         "--gazetteer", str(tiny_gazetteer_path), *extra])
        assert done.exit_code == 0, done.output
    assert "cdn.jsdelivr.net" in linked.read_text(encoding="utf-8")
    assert "cdn.jsdelivr.net" not in offline.read_text(encoding="utf-8")
    assert linked.stat().st_size < offline.stat().st_size - 140_000
