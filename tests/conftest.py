"""Shared fixtures: a tiny gazetteer built from real rows, the full packaged gazetteer,
the spaCy pipeline, and helpers to measure distances."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a7060b6cab235f63.txt"
SHARED = ROOT.parent / "shared"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (R = 6371.0088 km), as the shared scorer computes it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _record(key, name, lat, lon, fclass, fcode, cc, population=None, source="geonames", names=(),
            geometry=None, members=None, admin1=None):
    return {"key": key, "name": name, "lat": lat, "lon": lon, "feature_class": fclass, "feature_code": fcode,
            "country_code": cc, "admin1": admin1, "population": population, "source": source,
            "source_id": key.split(":", 1)[1], "wikidata": None,
            "names": [(name, "en", "official"), *names], "geometry": geometry, "members": members}


def tiny_records():
    """A dozen real places (GeoNames / Natural Earth coordinates) and a few traps."""
    from shapely.geometry import box
    return [
        _record("ne:AM", "Armenia", 40.459077, 44.800564, "A", "PCLI", "AM", 2957731, "naturalearth",
                [("Armenian", "en", "demonym")], geometry=box(43.4, 38.8, 46.6, 41.3)),
        _record("ne:AZ", "Azerbaijan", 40.402387, 47.210994, "A", "PCLI", "AZ", 10023318, "naturalearth",
                [("Azeri", "en", "demonym")], geometry=box(44.8, 38.4, 50.4, 41.9)),
        _record("ne:GE", "Georgia", 42.168639, 43.505208, "A", "PCLI", "GE", 3720382, "naturalearth",
                geometry=box(40.0, 41.0, 46.7, 43.6)),
        _record("ne:US", "United States", 39.538479, -97.482602, "A", "PCLI", "US", 328239523, "naturalearth",
                [("U.S.", "en", "abbreviation"), ("US", "en", "abbreviation")]),
        _record("geonames:587084", "Baku", 40.37767, 49.89201, "P", "PPLC", "AZ", 2351300,
                names=[("Bakı", "", "alternate")]),
        _record("geonames:616052", "Yerevan", 40.17765, 44.5126, "P", "PPLC", "AM", 1144700,
                names=[("Erevan", "", "alternate")]),
        _record("geonames:611717", "Tbilisi", 41.69411, 44.83368, "P", "PPLC", "GE", 1049498),
        _record("geonames:2800866", "Brussels", 50.85045, 4.34878, "P", "PPLC", "BE", 1019022),
        _record("geonames:4833850", "Brussels", 44.73611, -87.62093, "P", "PPL", "US", 1110),
        _record("geonames:4196586", "Georgia", 33.83, -84.38, "P", "PPL", "US", 900),  # a trap
        _record("geonames:616599", "Gyumri", 40.7942, 43.84528, "P", "PPL", "AM", 121976,
                names=[("Leninakan", "", "historic")]),
        _record("geonames:8000001", "Armenia", 4.53389, -75.68111, "P", "PPL", "CO", 272574),  # Armenia, Colombia
        _record("geonames:147105", "Shusha", 39.76006, 46.74989, "P", "PPL", "AZ", 19400),
        _record("curated:south-caucasus", "South Caucasus", 41.5, 45.0, "L", "RGN", None, source="curated",
                members=["AM", "AZ", "GE"]),
        _record("curated:nagorno-karabakh", "Nagorno-Karabakh", 39.85, 46.75, "L", "RGN", "AZ", source="curated",
                names=[("Artsakh", "en", "alternate")]),
        _record("curated:kremlin", "Kremlin", 55.752, 37.617, "S", "CSTL", "RU", source="curated"),
        _record("geonames:9999999", "Testville", float("nan"), float("nan"), "P", "PPL", "AM", 1000),
        # Namesakes that only a qualifier or context can tell apart (GeoNames coordinates).
        _record("geonames:2988507", "Paris", 48.85341, 2.3488, "P", "PPLC", "FR", 2138551, admin1="11"),
        _record("geonames:4717560", "Paris", 33.66094, -95.55551, "P", "PPL", "US", 24782, admin1="TX"),
        _record("geonames:4736286", "Texas", 31.25044, -99.25061, "A", "ADM1", "US", 22875689, admin1="TX"),
        _record("geonames:4197000", "Georgia", 32.75042, -83.50018, "A", "ADM1", "US", 9919945, admin1="GA"),
        _record("geonames:264371", "Athens", 37.98376, 23.72784, "P", "PPLC", "GR", 664046, admin1="ESYE31"),
        _record("geonames:4180386", "Athens", 33.96095, -83.37794, "P", "PPL", "US", 127064, admin1="GA"),
        _record("geonames:4180439", "Atlanta", 33.749, -84.38798, "P", "PPLA", "US", 498044, admin1="GA"),
        _record("geonames:2653941", "Cirencester", 51.71227, -1.96861, "P", "PPL", "GB", 19076, admin1="ENG"),
        _record("geonames:616629", "Armavir", 40.15446, 44.03815, "P", "PPL", "AM", 29319, admin1="03"),
        _record("geonames:582182", "Armavir", 44.9892, 41.1234, "P", "PPL", "RU", 190709, admin1="38"),
    ]


@pytest.fixture(scope="session")
def tiny_gazetteer_path(tmp_path_factory) -> Path:
    """Path of a gazetteer built from :func:`tiny_records`."""
    from gazetteer.build import build_gazetteer
    path = tmp_path_factory.mktemp("tiny") / "tiny.sqlite"
    build_gazetteer(path, records=tiny_records(), progress=False)
    return path


@pytest.fixture
def tiny_copy(tmp_path, tiny_gazetteer_path):
    """``tiny_copy(name, *sql)``: a copy of the tiny gazetteer in ``tmp_path`` under ``name``,
    changed by the SQL statements given (each a string, or a (string, parameters) pair)."""
    def copy(name: str = "copy.sqlite", *statements) -> Path:
        target = tmp_path / name
        target.write_bytes(tiny_gazetteer_path.read_bytes())
        if statements:
            with sqlite3.connect(target) as conn:
                for statement in statements:
                    conn.execute(*((statement,) if isinstance(statement, str) else statement))
            conn.close()
        return target
    return copy


@pytest.fixture(scope="session")
def tiny_gazetteer(tiny_gazetteer_path):
    """The tiny gazetteer, opened."""
    from gazetteer import Gazetteer
    return Gazetteer(tiny_gazetteer_path)


@pytest.fixture(scope="session")
def full_gazetteer_path(tmp_path_factory) -> Path:
    """The real gazetteer from the packaged sources, built once per test session (~15 s)."""
    from gazetteer.build import build_gazetteer
    path = tmp_path_factory.mktemp("full") / "gazetteer.sqlite"
    build_gazetteer(path, progress=False)
    return path


@pytest.fixture(scope="session")
def full_gazetteer(full_gazetteer_path):
    """The real gazetteer, opened."""
    from gazetteer import Gazetteer
    return Gazetteer(full_gazetteer_path)


@pytest.fixture(scope="session")
def nlp():
    """The English spaCy pipeline as geomap loads it."""
    from geomap.recognize import load_nlp
    return load_nlp()


@pytest.fixture(scope="session")
def geoparser(nlp, full_gazetteer):
    """A Geoparser on the real gazetteer."""
    from geomap.api import Geoparser
    return Geoparser(nlp=nlp, gazetteer=full_gazetteer)


@pytest.fixture(scope="session")
def tiny_geoparser(nlp, tiny_gazetteer):
    """A Geoparser on the tiny gazetteer."""
    from geomap.api import Geoparser
    return Geoparser(nlp=nlp, gazetteer=tiny_gazetteer)


# ---------------------------------------------------------------------------------------------
# Shared by the render and browser tests: places with real coordinates (GeoNames ids and
# coordinates; Natural Earth label points for countries), results built by hand, HTML facts,
# and a headless Chromium.

from geomap.model import Document, DocumentResult, GeoparseResult, Mention, Place, Resolution  # noqa: E402

BAKU = Place("geonames:587084", "Baku", 40.37767, 49.89201, "AZ", "P", "PPLC", 587084, 2351300)
YEREVAN = Place("geonames:616052", "Yerevan", 40.18111, 44.51361, "AM", "P", "PPLC", 616052, 1093485)
BRUSSELS = Place("geonames:2800866", "Brussels", 50.85045, 4.34878, "BE", "P", "PPLC", 2800866, 1019022)
TBILISI = Place("geonames:611717", "Tbilisi", 41.69411, 44.83368, "GE", "P", "PPLC", 611717, 1049498)
KYIV = Place("geonames:703448", "Kyiv", 50.45466, 30.5238, "UA", "P", "PPLC", 703448, 2797553)
MOSCOW = Place("geonames:524901", "Moscow", 55.75222, 37.61556, "RU", "P", "PPLC", 524901, 10381222)
STEPANAKERT = Place("geonames:174875", "Stepanakert", 39.8177, 46.7528, "AZ", "P", "PPLA", 174875, 55200)
YAMOUSSOUKRO = Place("geonames:2279755", "Yamoussoukro", 6.82055, -5.27674, "CI", "P", "PPLC", 2279755)
BUENOS_AIRES = Place("geonames:3435910", "Buenos Aires", -34.61315, -58.37723, "AR", "P", "PPLC", 3435910)
LONGYEARBYEN = Place("geonames:2729907", "Longyearbyen", 78.2186, 15.64007, "SJ", "P", "PPLC", 2729907)
SUVA = Place("geonames:2198148", "Suva", -18.14161, 178.44149, "FJ", "P", "PPLC", 2198148)
APIA = Place("geonames:4035413", "Apia", -13.83333, -171.76666, "WS", "P", "PPLC", 4035413)
NUKUALOFA = Place("geonames:4032402", "Nuku'alofa", -21.13938, -175.2018, "TO", "P", "PPLC", 4032402)
WASHINGTON = Place("geonames:4140963", "Washington", 38.89511, -77.03637, "US", "P", "PPLC", 4140963)
ARMENIA = Place("ne:AM", "Armenia", 40.29, 44.93, "AM", "A", "PCLI", source="naturalearth")
AZERBAIJAN = Place("ne:AZ", "Azerbaijan", 40.35, 47.70, "AZ", "A", "PCLI", source="naturalearth")
USA = Place("ne:US", "United States", 39.76, -98.5, "US", "A", "PCLI", source="naturalearth")
SOUTH_CAUCASUS = Place("curated:south-caucasus", "South Caucasus", 41.5, 45.0, None, "L", "RGN",
                       source="curated")
KARABAKH = Place("curated:nagorno-karabakh", "Nagorno-Karabakh", 39.85, 46.75, "AZ", "L", "RGN",
                 source="curated")
BLACK_SEA = Place("geonames:630673", "Black Sea", 43.0, 35.0, None, "H", "SEA", 630673)
KREMLIN = Place("curated:kremlin", "Kremlin", 55.752, 37.617, "RU", "S", "CSTL", source="curated")

#: Article text that breaks naive map code: markup, template syntax, quotes, backslashes,
#: CR/LF and tab, right-to-left and non-Latin scripts, emoji.
HOSTILE = ("Officials in Tbilisi said <script>alert('x')</script> and <img src=x onerror=alert(1)> "
           "`backtick` ${document.title} {{ 7*7 }} \"quotes\" 'single' \\ back\\slash\r\n"
           "\tand עברית, العربية, 中文, Ελληνικά, emoji 🗺️👩🏽‍💻 appeared.")
HOSTILE_TITLE = "Op-ed: <script>alert(\"title\")</script> & {{ 7*7 }} `${x}`"

# Rough country boxes in lon/lat order, standing in for Gazetteer.country_outlines().
BOX_OUTLINES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": name, "country_code": code},
     "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
    for name, code, (w, s, e, n) in [
        ("Azerbaijan", "AZ", (44.8, 38.4, 50.4, 41.9)), ("Armenia", "AM", (43.4, 38.8, 46.6, 41.3)),
        ("Georgia", "GE", (40.0, 41.0, 46.7, 43.6)), ("Belgium", "BE", (2.5, 49.5, 6.4, 51.5))]]}


def make_doc(doc_id: str, text: str, places: dict[str, Place], *, confidence: float = 0.9,
             provenance: dict | None = None, **meta: str) -> DocumentResult:
    """A DocumentResult whose mentions are every whole-word occurrence of the given forms.

    Sentences end at ``.``, ``!`` or ``?`` followed by white space and a capital letter (so
    "U.S. and US" stays one, and a CR/LF inside a sentence stays in it).
    """
    import re
    cuts = [(m.start(), m.end()) for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z])", text)]
    starts = [0] + [end for _, end in cuts]
    ends = [start for start, _ in cuts] + [len(text)]
    resolutions = []
    for sentence_start, sentence_end in zip(starts, ends):
        sentence = text[sentence_start:sentence_end]
        taken: set[int] = set()
        for form, place in sorted(places.items(), key=lambda kv: -len(kv[0])):  # "U.S." before "U.S"
            for hit in re.finditer(r"(?<!\w)" + re.escape(form) + r"(?!\w)", sentence):
                if taken & set(range(hit.start(), hit.end())):
                    continue
                taken |= set(range(hit.start(), hit.end()))
                start = sentence_start + hit.start()
                mention = Mention(form, start, start + len(form), sentence, sentence_start, "GPE")
                resolutions.append(Resolution(mention, place, confidence, provenance=provenance))
    resolutions.sort(key=lambda r: r.mention.start)
    return DocumentResult(Document(doc_id, text, **meta), tuple(resolutions))


def sample_result() -> GeoparseResult:
    """Two documents: peace talks (8 places, two surface forms of Kyiv) and a hostile op-ed."""
    talks = make_doc(
        "talks", "Aliyev met Pashinyan in Brussels. Talks in Baku and Yerevan resumed. "
        "Baku hosted a second round. Kyiv and Kiev are one city. Armenia and the South Caucasus "
        "watched. U.S. and US officials agreed.",
        {"Brussels": BRUSSELS, "Baku": BAKU, "Yerevan": YEREVAN, "Kyiv": KYIV, "Kiev": KYIV,
         "Armenia": ARMENIA, "South Caucasus": SOUTH_CAUCASUS, "U.S.": USA, "US": USA},
        title="Peace talks", source="Wire A", date="2024-05-02", url="https://example.org/talks")
    hostile = make_doc("hostile", HOSTILE + "\nLater Baku replied.", {"Tbilisi": TBILISI, "Baku": BAKU},
                       title=HOSTILE_TITLE, source="Blog <b>D</b>", date="2024-05-06",
                       url="javascript:alert(1)")
    return GeoparseResult((talks, hostile))


class HtmlFacts:
    """Start tags with their attributes, and the text of each ``<script>`` element, of a page."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        facts = self
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []

        class _Parser(HTMLParser):
            script: dict[str, str | None] | None = None
            text: list[str] = []

            def handle_starttag(self, tag, attrs):
                facts.tags.append((tag, dict(attrs)))
                if tag == "script":
                    self.script, self.text = dict(attrs), []

            def handle_data(self, data):
                if self.script is not None:
                    self.text.append(data)

            def handle_endtag(self, tag):
                if tag == "script" and self.script is not None:
                    facts.scripts.append((self.script, "".join(self.text)))
                    self.script = None

        parser = _Parser(convert_charrefs=True)
        parser.feed(html)
        parser.close()

    @property
    def code(self) -> list[str]:
        """The inline JavaScript blocks (not the JSON data block)."""
        return [text for attrs, text in self.scripts
                if attrs.get("type") in (None, "text/javascript") and "src" not in attrs]


def payload_of(html: str) -> dict:
    """The page's one JSON payload, decoded."""
    import json
    blocks = [text for attrs, text in HtmlFacts(html).scripts if attrs.get("type") == "application/json"]
    assert len(blocks) == 1, "exactly one JSON payload"
    return json.loads(blocks[0])


def payload_place(payload: dict, name: str) -> dict:
    """The one place of a payload with this name."""
    (entry,) = [p for p in payload["places"] if p["name"] == name]
    return entry


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through Playwright; skips when either is missing."""
    import shutil
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("no chromium binary (apt-get install chromium); CI installs it")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class MapPage:
    """A map page opened from file://, with every request, console error and dialog recorded."""

    def __init__(self, browser, path: Path, *, width: int = 1200, height: int = 800):
        self.url = path.resolve().as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.set_default_timeout(5000)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url)
        self.page.wait_for_function("window.geomapReady === true")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        """Zero network requests (only the page itself and data: URIs), errors and dialogs."""
        assert [u for u in self.requests if not u.startswith("data:")] == [self.url]
        assert self.errors == []
        assert self.dialogs == []

    def markers(self):
        """Locator of the drawn (not filtered out) place markers."""
        return self.page.locator('path.geomap-place:not([data-count="0"])')

    def open_popup(self, name: str):
        """Click a place's marker; return the popup's content locator."""
        # As a reader would: close the open popup and bring the marker to the middle first
        # (an earlier popup may have panned it under a control).
        self.page.evaluate("""name => {
            const S = geomap.state(), i = S.data.places.findIndex(p => p.name === name);
            S.map.closePopup();
            S.map.panTo(S.markers[i].getLatLng(), {animate: false});
        }""", name)
        self.page.locator(f'path.geomap-place[aria-label="{name}"]').click()
        # A popup closed a moment ago fades out before it leaves the DOM.
        self.page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 1")
        popup = self.page.locator(".leaflet-popup-content .geomap-popup")
        popup.wait_for()
        return popup


@pytest.fixture
def open_map(browser, tmp_path):
    """Render a result or map to a file and open it in Chromium; returns a :class:`MapPage`."""
    from geomap import render
    pages = []

    def opener(result, *, width: int = 1200, height: int = 800, **kwargs) -> MapPage:
        """``result``: a GeoparseResult (built with ``build_map(result, **kwargs)``) or a map."""
        import folium
        path = tmp_path / f"map{len(pages)}.html"
        fmap = result if isinstance(result, folium.Map) else render.build_map(result, **kwargs)
        render.save_map(fmap, path)
        pages.append(MapPage(browser, path, width=width, height=height))
        return pages[-1]

    yield opener
    for opened in pages:
        opened.page.close()


@pytest.fixture(scope="session", autouse=True)
def _no_online_geocoder(tmp_path_factory):
    """Tests never reach an online geocoder nor the user's geocoder cache: GEOMAP_OFFLINE=1 and a
    temporary cache for the whole session (tests of the fallback turn it on against a local stub)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEOMAP_OFFLINE", "1")
        mp.setenv("GEOMAP_GEOCODER_CACHE", str(tmp_path_factory.mktemp("geocoder") / "geocoder.sqlite"))
        yield
