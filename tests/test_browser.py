"""Open rendered maps in headless Chromium: offline, no console errors, markers, literal popups.

Needs the ``chromium`` binary (Debian's package; CI installs it) and the ``playwright`` Python
package; the tests skip with a reason when either is missing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from geomap import render
from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

BAKU = Place("geonames:587084", "Baku", 40.3777, 49.8920, "AZ", "P", "PPLC", 587084)
YEREVAN = Place("geonames:616052", "Yerevan", 40.1811, 44.5136, "AM", "P", "PPLC", 616052)
BRUSSELS = Place("geonames:2800866", "Brussels", 50.8505, 4.3488, "BE", "P", "PPLC", 2800866)
TBILISI = Place("geonames:611717", "Tbilisi", 41.6941, 44.8337, "GE", "P", "PPLC", 611717)
ARMENIA = Place("ne:AM", "Armenia", 40.29, 44.93, "AM", "A", "PCLI", source="naturalearth")
CAUCASUS = Place("curated:south-caucasus", "South Caucasus", 42.6, 46.5, None, "L", "RGN",
                 source="curated")

HOSTILE = ("Officials in Tbilisi said <script>alert('x')</script> and <img src=x onerror=alert(1)> "
           "`backtick` ${x} {{ 7*7 }} \"quotes\" \\ back\\slash, emoji 🗺️ and עברית appeared.")

OUTLINES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": name, "country_code": code},
     "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
    for name, code, (w, s, e, n) in [
        ("Azerbaijan", "AZ", (44.8, 38.4, 50.4, 41.9)), ("Armenia", "AM", (43.4, 38.8, 46.6, 41.3)),
        ("Georgia", "GE", (40.0, 41.0, 46.7, 43.6)), ("Belgium", "BE", (2.5, 49.5, 6.4, 51.5))]]}


def make_doc(doc_id: str, text: str, places: dict[str, Place], **meta: str) -> DocumentResult:
    """A DocumentResult whose mentions are every whole-word occurrence of the given forms."""
    cuts = [(m.start(), m.end()) for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z])", text)]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(text)]
    resolutions = []
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
    talks = make_doc(
        "talks", "Aliyev met Pashinyan in Brussels. Talks in Baku and Yerevan resumed. "
        "Baku hosted a second round. Armenia and the South Caucasus watched.",
        {"Brussels": BRUSSELS, "Baku": BAKU, "Yerevan": YEREVAN, "Armenia": ARMENIA,
         "South Caucasus": CAUCASUS},
        title="Peace talks", source="Wire A", date="2024-05-02", url="https://example.org/talks")
    hostile = make_doc("hostile", HOSTILE, {"Tbilisi": TBILISI},
                       title="Op-ed: <script>alert(\"title\")</script> {{ 7*7 }}",
                       source="Blog <b>D</b>", url="javascript:alert(1)")
    return GeoparseResult((talks, hostile))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("no chromium binary (apt-get install chromium); CI installs it")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class MapPage:
    """A map opened from file://, with every request, console error and dialog recorded."""

    def __init__(self, browser, path: Path):
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1200, "height": 800})
        self.page.set_default_timeout(3000)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url)
        self.page.wait_for_selector(".geomap-title")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert [u for u in self.requests if not u.startswith("data:")] == [self.url]
        assert self.errors == []
        assert self.dialogs == []

    def open_popup(self, name: str):
        self.page.locator(f'path.geomap-place[aria-label="{name}"]').click()
        popup = self.page.locator(".leaflet-popup-content .geomap-popup")
        popup.wait_for()
        return popup


@pytest.fixture
def map_page(browser, tmp_path):
    pages = []

    def open_map(result: GeoparseResult, **kwargs) -> MapPage:
        path = tmp_path / "map.html"
        render.save_map(render.build_map(result, **kwargs), path)
        pages.append(MapPage(browser, path))
        return pages[-1]

    yield open_map
    for opened in pages:
        opened.page.close()


def test_browser_map_is_offline_and_draws_one_marker_per_place(map_page, tmp_path):
    result = sample_result()
    opened = map_page(result, outlines=OUTLINES)
    page = opened.page
    assert page.locator("path.geomap-place").count() == len(result.places) == 6
    assert page.locator(".geomap-place-country").count() == 1
    assert page.locator(".geomap-place-region").count() == 1
    assert "2 documents · 7 mentions · 6 places" in page.locator(".geomap-title").inner_text()
    legend = page.locator(".geomap-legend").inner_text()
    for kind in ("country", "region", "city"):
        assert kind in legend
    assert "Natural Earth" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".geomap-empty").count() == 0
    page.screenshot(path=str(tmp_path / "map.png"))
    opened.assert_clean()


def test_browser_popup_lists_sentences_with_marks(map_page):
    opened = map_page(sample_result(), outlines=OUTLINES)
    popup = opened.open_popup("Baku")
    text = popup.text_content()
    assert text.startswith("Baku · city · 2 mentions")
    assert "Talks in Baku and Yerevan resumed." in text
    assert "Baku hosted a second round." in text
    assert popup.locator("mark").all_text_contents() == ["Baku", "Baku"]
    link = popup.locator("a.geomap-doc-title")
    assert link.text_content() == "Peace talks"
    assert link.get_attribute("href") == "https://example.org/talks"
    assert "Wire A, 2024-05-02" in text
    opened.assert_clean()  # the link is shown, not followed


def test_browser_hostile_text_is_shown_literally(map_page):
    opened = map_page(sample_result(), outlines=OUTLINES)
    popup = opened.open_popup("Tbilisi")
    text = popup.text_content()
    assert HOSTILE in text
    assert "49" not in text and "{{ 7*7 }}" in text and "${x}" in text
    assert "Op-ed: <script>alert(\"title\")</script> {{ 7*7 }}" in text
    assert "Blog <b>D</b>" in text
    assert popup.locator("img, script, b").count() == 0
    assert popup.locator("a").count() == 0  # javascript: URL is not linked
    assert popup.locator("mark").all_text_contents() == ["Tbilisi"]
    assert opened.page.locator("img[src=x]").count() == 0
    opened.assert_clean()


def test_browser_empty_map_shows_note_and_world(map_page):
    empty = GeoparseResult((DocumentResult(Document("d", "Nothing to map."), ()),))
    opened = map_page(empty, outlines=OUTLINES)
    page = opened.page
    assert page.locator(".geomap-empty").inner_text() == "No places found"
    assert page.locator("path.geomap-place").count() == 0
    center = page.evaluate("[map_0.getCenter().lat, map_0.getCenter().lng, map_0.getZoom()]")
    assert all(isinstance(v, (int, float)) and v == v for v in center)  # finite, not NaN
    opened.assert_clean()
