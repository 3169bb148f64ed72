"""Render a :class:`~geomap.model.GeoparseResult` as one self-contained, offline Folium map page.

The page opens with zero network requests: Leaflet's JS and CSS come inlined from the
``xstatic-leaflet`` package (its images as ``data:`` URIs), together with geomap's own small
runtime (``static/geomap.js``, ``static/geomap.css``), and the basemap is Natural Earth country
outlines drawn on a sea-blue background instead of web tiles. With ``cdn=True`` the page links
Leaflet 1.9.3 from a CDN instead (with Subresource Integrity hashes), which makes it smaller.

What the page shows: one circle per place (area ∝ mentions, colour by kind), labels for the
most-mentioned places, a country choropleth of mention counts (places roll up to their country
by ISO code), co-mention arcs, title, legend, layer control, scale and attribution, and a side
panel listing the places (filterable, keyboard-operable) and the documents (checkboxes and a
date range that recompute every count in the page; past :data:`MAX_FILTER_CELLS` counts the
documents are pooled by source and date, so the page does not grow with them).

All data (places, sentences, documents, outlines) travels as ONE compact JSON payload in a
``<script type="application/json" id="geomap-data">`` block. The JSON is escaped so that no
``<``, ``>``, ``&``, U+2028 or U+2029 appears literally, hence article text such as
``</script>`` cannot end the block, and the runtime inserts every string with ``textContent``.
Data never goes through a Jinja template as template source (branca compiles the output of a
``MacroElement`` macro again, which would evaluate ``{{ ... }}`` found in an article), so the
payload and the inlined assets are added as :class:`_Raw` elements that render verbatim.

Element ids are fixed rather than random, so the same result always gives byte-identical HTML.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet as xstatic_leaflet
from branca.element import Element, Figure

from .atomic import atomic_write, output_target
from .exc import GeomapError, InputError
from .model import GeoparseResult, Mention, Place, Resolution

__all__ = ["ATTRIBUTION", "CHOROPLETH_CLASSES", "KIND_COLORS", "KIND_LABELS", "LOW_CONFIDENCE",
           "MAX_EDGES", "MAX_FILTER_CELLS", "MAX_SENTENCES", "OSM_ATTRIBUTION", "BrowserNotFoundError",
           "OfflineMap", "PlaceLayer", "build_map", "find_browser", "map_html", "save_map", "save_png"]

#: Marker colour per kind group, from the Okabe-Ito palette (safe for colour-blind readers).
#: Countries, regions and seas (every area that is not a country), cities and other places.
KIND_COLORS: dict[str, str] = {"country": "#cc79a7", "region": "#009e73", "city": "#0072b2"}
#: Legend text of each kind group; every popup and list row also names the kind in words.
KIND_LABELS: dict[str, str] = {"country": "country", "region": "region or sea",
                               "city": "city or other place"}
#: Country choropleth classes: (lowest count, highest count or None, label, fill colour). Fixed
#: so that maps of different corpora read alike; colours are ColorBrewer YlOrBr (sequential,
#: colour-blind safe).
CHOROPLETH_CLASSES: list[tuple[int, int | None, str, str]] = [
    (1, 1, "1", "#fff7bc"), (2, 4, "2\u20134", "#fee391"), (5, 9, "5\u20139", "#fec44f"),
    (10, 19, "10\u201319", "#fe9929"), (20, 49, "20\u201349", "#ec7014"),
    (50, None, "50+", "#cc4c02")]
#: Data credits shown on every map (GeoNames asks for CC BY attribution).
ATTRIBUTION = ("Place data: GeoNames (CC BY 4.0), Natural Earth (public domain) \u00b7 "
               "Boundaries: Natural Earth \u2014 de facto, no endorsement implied")
#: Added to the credits when a place came from OpenStreetMap's Nominatim geocoder (ODbL).
OSM_ATTRIBUTION = "\u00a9 OpenStreetMap contributors"
#: Sentences listed per place popup; the rest are counted as "and N more".
MAX_SENTENCES = 25
#: Counts the page's document filter carries at most: filter units, plus one per place and per
#: arc in each unit it appears in. Past it, documents are pooled into coarser units (by source
#: and day, month or year, by source, then not at all), so the page does not grow with them.
MAX_FILTER_CELLS = 12_000
#: Co-mention arcs drawn at most (the pairs named together in the most sentences).
MAX_EDGES = 150
#: Resolutions below this confidence (0..1) are flagged in the popup.
LOW_CONFIDENCE = 0.6

# Web Mercator cannot draw the poles: Leaflet's projection stops at about ±85.0511°.
_MERCATOR_LAT = 85.05
# Circle radii in CSS pixels. Area is proportional to the mention count (r = k·√count), with k
# shrunk when the busiest place would exceed the largest radius; that radius itself shrinks on
# crowded maps (from 30 px for up to 30 places towards 16 px) so circles do not pave the map.
# _MIN_RADIUS keeps a place with one mention visible and clickable.
_BASE_RADIUS = 7.0
_MAX_RADIUS = 30.0
_MAX_RADIUS_CROWDED = 16.0
_CROWDED_PLACES = 30
_MIN_RADIUS = 3.5
# Permanent name labels for the most-mentioned places (overlapping ones are hidden in the page).
_LABELLED_PLACES = 15
# Longer sentences are cut to a window around their mentions so one runaway "sentence" (a
# whole article without punctuation) cannot bloat the page.
_MAX_SENTENCE_CHARS = 600
_CONTEXT_CHARS = 240
_WORLD_CENTER = [20.0, 0.0]
_WEB_URL = re.compile(r"https?://", re.IGNORECASE)
_DATA_ID = "geomap-data"
_STATIC = Path(__file__).resolve().parent / "static"
_BASEMAP_TYPES = {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}
_AREA_TYPES = {"Polygon", "MultiPolygon"}
# Leaflet 1.9.3 on a CDN, for cdn=True. The integrity hashes are computed from xstatic-leaflet's
# copy, which is byte-identical to the published dist files (their SRI hashes agree).
_CDN_BASE = "https://cdn.jsdelivr.net/npm/leaflet@{version}/dist/"
# How the popup's "As written" list marks mentions that are not literal locations.
_ROLE_NOTES = {"demonym": "demonym", "metonymic": "standing for its government or institutions"}
# Document filter units, finest first (payload "filter"; level 0 is one unit per document).
_FILTER_LEVELS = ("document", "source and day", "source and month", "source and year", "source",
                  "none")
_ISO_MONTH = re.compile(r"\d{4}-\d{2}(?!\d)")
_ISO_YEAR = re.compile(r"\d{4}(?!\d)")
_WATER_TYPES = {"SEA": "sea", "OCN": "ocean", "GULF": "gulf", "BAY": "bay", "STRT": "strait",
                "LK": "lake", "STM": "river", "CHN": "channel", "SD": "sound"}


class BrowserNotFoundError(GeomapError, FileNotFoundError):
    """No Chromium (or Chrome) executable to render a PNG with."""


class _Raw(Element):
    """A fixed piece of markup that renders verbatim: never compiled as a Jinja template."""

    def __init__(self, markup: str):
        super().__init__()
        self._name = "Raw"
        self._id = "0"
        self.markup = markup

    def render(self, **kwargs: Any) -> str:
        """Return the markup unchanged."""
        return self.markup


def _check_inline(name: str, text: str, closing: str) -> str:
    pattern = r"</script|<!--" if closing == "script" else r"</style"
    if re.search(pattern, text, re.IGNORECASE):  # would end or confuse the inline block
        raise RuntimeError(f"{name} cannot be inlined: it contains '</{closing}' or '<!--'")
    return text


@functools.lru_cache(maxsize=1)
def _own_assets() -> tuple[str, str]:
    """geomap's runtime as (css, js) text, checked for safe inlining."""
    css = (_STATIC / "geomap.css").read_text(encoding="utf-8")
    js = (_STATIC / "geomap.js").read_text(encoding="utf-8")
    return _check_inline("geomap.css", css, "style"), _check_inline("geomap.js", js, "script")


@functools.lru_cache(maxsize=2)
def _inline_assets(cdn: bool = False) -> str:
    """Leaflet 1.9 and the geomap runtime as ``<style>``/``<script>`` blocks for the header.

    Read once per process (about 170 KB). With ``cdn`` Leaflet is linked from a CDN with
    Subresource Integrity hashes instead of inlined; geomap's own runtime is always inline.

    Raises
    ------
    FileNotFoundError
        If ``xstatic-leaflet`` or geomap's ``static/`` files are missing from the installation.
    RuntimeError
        If an asset holds text that would end its inline block (``</script``, ``</style``).
    """
    base = Path(xstatic_leaflet.BASE_DIR)
    own_css, own_js = _own_assets()
    if cdn:
        url = _CDN_BASE.format(version=xstatic_leaflet.VERSION)

        def sri(name: str) -> str:
            digest = hashlib.sha384((base / name).read_bytes()).digest()
            return "sha384-" + base64.b64encode(digest).decode("ascii")

        return (f'<link rel="stylesheet" href="{url}leaflet.css" integrity="{sri("leaflet.css")}" '
                f'crossorigin="anonymous">\n<style>{own_css}</style>\n'
                f'<script src="{url}leaflet.js" integrity="{sri("leaflet.js")}" '
                f'crossorigin="anonymous"></script>\n<script>{own_js}</script>')
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    # Leaflet's CSS points at images/*.png next to it: embed them so nothing is fetched.
    def data_uri(match: re.Match[str]) -> str:
        png = (base / "images" / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    # The source map comment would make developer tools fetch leaflet.js.map.
    js = re.sub(r"//# sourceMappingURL=\S*\s*$", "", js)
    # Leaflet's strings hold "https://leafletjs.com" (attribution prefix, which geomap replaces)
    # and the SVG namespace; "\/" is "/" in a JS string, and the page then carries no
    # http(s):// text that a scanner could mistake for a remote resource.
    js = js.replace("://", ":\\/\\/")
    _check_inline("leaflet.js", js, "script")
    _check_inline("leaflet.css", css, "style")
    return (f"<style>{css}</style>\n<style>{own_css}</style>\n"
            f"<script>{js}</script>\n<script>{own_js}</script>")


def _script_json(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc. so ``</script>`` or ``<!--`` in the data cannot
    close or alter the block; U+2028/U+2029 are escaped for old JS parsers. NaN or infinity
    raise ``ValueError`` rather than reach Leaflet.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that links no CDN and carries Leaflet inline.

    Stock folium adds ``<script src>``/``<link>`` tags for Leaflet, jQuery, Bootstrap and Font
    Awesome from CDNs. This subclass declares empty ``default_js``/``default_css`` lists of its
    own (folium's class lists stay untouched) and, when rendered, puts Leaflet's JS and CSS
    (from ``xstatic-leaflet``, images as ``data:`` URIs) plus the geomap runtime into the page
    header. Element ids are fixed, so renders are deterministic.

    Parameters
    ----------
    cdn : bool
        Link Leaflet 1.9.3 from a CDN (with integrity hashes) instead of inlining it: a smaller
        page that needs the network when opened. Default False.
    **kwargs
        Passed to :class:`folium.Map` (``location``, ``zoom_start``, ``tiles``...).
        ``tiles`` defaults to None here: no tile layer, no network.
    """

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def __init__(self, *, cdn: bool = False, **kwargs: Any):
        kwargs.setdefault("tiles", None)
        super().__init__(**kwargs)
        self.cdn = bool(cdn)
        self._id = "0"
        # Not rendered, but fixed too so that to_json() and debugging output are stable.
        self.global_switches._id = "0"
        self.get_root()._id = "0"

    def render(self, **kwargs: Any) -> None:
        """Add the inline Leaflet and geomap assets to the page header, then render the map.

        Parameters
        ----------
        **kwargs
            Passed on to the elements' templates (branca convention).

        Raises
        ------
        AssertionError
            From folium, if the map is not inside a :class:`branca.element.Figure`.
        """
        figure = self.get_root()
        if isinstance(figure, Figure):
            figure.header.add_child(_Raw(_inline_assets(self.cdn)), name="geomap_assets")
        super().render(**kwargs)


class PlaceLayer(Element):
    """The places, sentences, documents and basemap of one map, as one JSON payload.

    Renders a ``<script type="application/json" id="geomap-data">`` block into the page body and
    one call ``geomap.render(<map>, "geomap-data")`` into the page script; the runtime
    (``static/geomap.js``) draws everything from the payload. Add it to an :class:`OfflineMap`.

    Parameters
    ----------
    payload : dict
        JSON-serialisable data in the layout built by :func:`build_map` (keys ``places``,
        ``sentences``, ``documents``, ``basemap``, ``bounds``, ``title``, ...).

    Raises
    ------
    ValueError
        If ``payload`` holds NaN or infinite numbers, or objects JSON cannot encode.
    """

    def __init__(self, payload: dict[str, Any]):
        super().__init__()
        self._name = "PlaceLayer"
        self._id = "0"
        # Serialised now: errors surface in build_map, and the page holds a frozen copy.
        self.payload_json = _script_json(payload)

    def render(self, **kwargs: Any) -> str:
        """Put the payload and the runtime call into the enclosing figure.

        Returns
        -------
        str
            Empty: like folium's elements, the layer writes into the figure's sections.

        Raises
        ------
        InputError
            If the layer was not added to a map inside a figure.
        """
        parent = self._parent
        figure = self.get_root()
        if parent is None or not isinstance(figure, Figure):
            raise InputError("PlaceLayer must be added to a map inside a figure before rendering")
        figure.html.add_child(
            _Raw(f'<script type="application/json" id="{_DATA_ID}">{self.payload_json}</script>'),
            name="geomap_payload")
        figure.script.add_child(
            _Raw(f"geomap.render({parent.get_name()}, {json.dumps(_DATA_ID)});"),
            name="geomap_init")
        return ""


# ---------------------------------------------------------------------------------------------
# Payload


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _clean_text(value: Any) -> str:
    """``str(value)`` with lone surrogates replaced, so the page always encodes as UTF-8.

    One code point stays one code point, so mention offsets keep their meaning.
    """
    text = "" if value is None else str(value)
    return text.encode("utf-8", "replace").decode("utf-8")


def _utf16(text: str, index: int) -> int:
    """A code point offset into ``text`` as a JavaScript (UTF-16 code unit) offset."""
    return len(text[:index].encode("utf-16-le")) // 2


def _mention_range(mention: Mention, sentence: str) -> tuple[int, int] | None:
    """Code point range of ``mention`` inside its sentence, or None if it cannot be located."""
    start = mention.start - mention.sentence_start
    end = start + (mention.end - mention.start)
    if 0 <= start < end <= len(sentence) and sentence[start:end] == mention.text:
        return start, end
    # Offsets that disagree with the text (a stage stripped or rewrote the sentence): fall back
    # to the surface form's first occurrence rather than highlight the wrong words.
    found = sentence.find(mention.text) if mention.text else -1
    return (found, found + len(mention.text)) if found >= 0 else None


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(ranges)):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _excerpt(sentence: str, ranges: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Cut an over-long sentence to a window around its mentions, marking cuts with "…"."""
    if len(sentence) <= _MAX_SENTENCE_CHARS:
        return sentence, ranges
    if ranges:
        lo = max(0, ranges[0][0] - _CONTEXT_CHARS)
        hi = min(len(sentence), ranges[-1][1] + _CONTEXT_CHARS)
    else:
        lo, hi = 0, _MAX_SENTENCE_CHARS
    prefix = "\u2026" if lo > 0 else ""
    suffix = "\u2026" if hi < len(sentence) else ""
    shift = len(prefix) - lo
    return prefix + sentence[lo:hi] + suffix, [(a + shift, b + shift) for a, b in ranges]


def _radius_scale(max_count: int, n_places: int) -> float:
    largest = _MAX_RADIUS
    if n_places > _CROWDED_PLACES:
        largest = max(_MAX_RADIUS_CROWDED, _MAX_RADIUS * math.sqrt(_CROWDED_PLACES / n_places))
    return min(_BASE_RADIUS, largest / math.sqrt(max(1, max_count)))


def _radius(count: int, scale: float) -> float:
    return round(max(_MIN_RADIUS, scale * math.sqrt(count)), 1)


def _legend_counts(max_count: int) -> list[int]:
    """One, a middle and a top "nice" count (1, 2, 5, 10, 20...) not above ``max_count``."""
    nice = [m * 10 ** e for e in range(7) for m in (1, 2, 5)]
    top = max(n for n in nice if n <= max(1, max_count))
    middle = max((n for n in nice if n <= top / 4), default=1)
    return sorted({1, middle, top})


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _lat_text(lat: float) -> str:
    return f"{abs(lat):.2f}\u00b0{'N' if lat >= 0 else 'S'}"


def _kind(place: Place) -> tuple[str, str]:
    """(colour group, kind in words) of a place: ("country", "country"), ("region", "sea")..."""
    feature_class = place.feature_class or ""
    code = place.feature_code or ""
    if feature_class == "A" and code.startswith("PCL"):
        return "country", "country"
    if feature_class == "H":
        return "region", _WATER_TYPES.get(code, "water body")
    if feature_class in ("L", "T", "A"):
        return "region", "region"
    if feature_class == "S":
        return "city", "site"
    if feature_class == "P":
        return "city", "city"
    return "city", "place"


def _document_entry(doc: Any, source: int | None) -> list[Any]:
    """``[label, source, date, url]`` of a document: ``source`` is the index into the payload's
    ``sources``; the URL only when it is http(s)."""
    label = _clean_text(doc.title).strip() or _clean_text(doc.id).strip() or "(untitled document)"
    date = _clean_text(doc.date).strip()
    url = _clean_text(doc.url).strip()
    return [label, source, date or None, url if _WEB_URL.match(url) else None]


def _filter_note(level: int, n_documents: int) -> str | None:
    """What the page's document filter can do when it pools documents, in words; None at level 0."""
    if level == 0:
        return None
    if level == len(_FILTER_LEVELS) - 1:
        return (f"{n_documents:,} documents from too many sources and dates to filter in this "
                "page: every count includes all of them.")
    return (f"{n_documents:,} documents, too many to list one by one: the filter takes them by "
            f"{_FILTER_LEVELS[level]}.")


def _outline_features(outlines: dict | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(properties, geometry) of each shape in a GeoJSON object; points are dropped."""
    if outlines is None:
        return []
    if not isinstance(outlines, dict) or "type" not in outlines:
        raise InputError("outlines must be a GeoJSON FeatureCollection (dict), e.g. "
                         f"Gazetteer.country_outlines(), got {type(outlines).__name__}")
    kind = outlines["type"]
    if kind == "FeatureCollection":
        features = [f for f in outlines.get("features") or () if isinstance(f, dict)]
    elif kind == "Feature":
        features = [outlines]
    else:
        features = [{"type": "Feature", "properties": {}, "geometry": outlines}]
    out = []
    for feature in features:
        geometry = feature.get("geometry")
        # Points would become Leaflet's default image markers: a basemap only needs shapes.
        if isinstance(geometry, dict) and geometry.get("type") in _BASEMAP_TYPES:
            properties = feature.get("properties")
            out.append((properties if isinstance(properties, dict) else {}, geometry))
    return out


def _lon_shift(lons: list[float]) -> float | None:
    """The longitude where the map should start so that all places show together.

    Places on both sides of the 180° meridian (Suva at 178°E, Apia at 172°W) are far apart in
    [-180, 180] but close on the globe. When the widest empty stretch of longitude is not the
    one across the antimeridian, returns the cut ``c``: longitudes below it are drawn at
    ``lon + 360``. Returns None when no shift makes the view more compact.
    """
    ordered = sorted(set(lons))
    if len(ordered) < 2:
        return None
    gaps = [(ordered[i + 1] - ordered[i], i) for i in range(len(ordered) - 1)]
    widest, index = max(gaps)
    wrap_gap = ordered[0] + 360.0 - ordered[-1]
    if widest <= wrap_gap:
        return None
    return ordered[index + 1]


def _great_circle_ok(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """False for antipodal pairs, whose great circle is undefined."""
    return not (abs(a[0] + b[0]) < 1e-6 and abs(abs(a[1] - b[1]) - 180.0) < 1e-6)


@dataclass
class _PlaceAcc:
    """Mentions of one place gathered across documents, in memory that does not grow with them.

    Counts cover every mention; only the sentences of the first :data:`MAX_SENTENCES`
    documents naming the place (at most :data:`MAX_SENTENCES` of each) are kept to be quoted.
    Taking the first documents rather than, say, those naming the place most lets places share
    documents and sentences, which keeps the page small when documents are many. A sentence
    whose text is already kept is not kept again, and a document that brings no new text takes
    no place among the first: an archive repeats wire stories word for word, and a popup
    should not quote one sentence 25 times.
    """

    place: Place
    count: int = 0
    sentence_count: int = 0  # distinct sentences naming the place
    forms: dict[str, None] = field(default_factory=dict)  # ordered set: first appearance first
    # filter unit -> [mentions, sentences, documents]
    cells: dict[Any, list[int]] = field(default_factory=dict)
    # per kept document, in input order: ((doc index, sentence_start, text, ranges), ...)
    quotes: list[tuple[tuple[int, int, str, list[tuple[int, int]]], ...]] = field(default_factory=list)
    quoted_texts: set[str] = field(default_factory=set)  # sentences kept in ``quotes``, as written
    low: Resolution | None = None  # the least confident resolution to this place

    def add_document(self, doc_index: int, unit: Any, mentions: int,
                     sentences: dict[tuple[int, str], list[tuple[int, int]]]) -> bool:
        """Fold in one document's mentions of the place.

        Takes the document's position in the result, its filter unit, how many mentions of
        the place it holds and its sentences naming the place ((sentence_start, sentence) ->
        mention ranges in code points). Returns True when the place gets a new filter cell.
        """
        self.count += mentions
        self.sentence_count += len(sentences)
        cell = self.cells.get(unit)
        if cell is None:
            self.cells[unit] = [mentions, len(sentences), 1]
        else:
            cell[0] += mentions
            cell[1] += len(sentences)
            cell[2] += 1
        if len(self.quotes) < MAX_SENTENCES:
            kept = []
            for (start, text), ranges in sorted(sentences.items()):
                if len(kept) == MAX_SENTENCES:
                    break
                if text not in self.quoted_texts:
                    self.quoted_texts.add(text)
                    kept.append((doc_index, start, *_excerpt(text, _merge(ranges))))
            if kept:
                self.quotes.append(tuple(kept))
        return cell is None

    def chosen_sentences(self) -> list[tuple[int, int, str, list[tuple[int, int]]]]:
        """At most :data:`MAX_SENTENCES` quotes as ``(doc index, sentence_start, text, ranges)``,
        taken round-robin over the kept documents so that each keeps a sentence, in document
        and text order."""
        queues = [list(quotes) for quotes in self.quotes]
        chosen: list[tuple[int, int, str, list[tuple[int, int]]]] = []
        while len(chosen) < MAX_SENTENCES and any(queues):
            for queue in queues:
                if queue and len(chosen) < MAX_SENTENCES:
                    chosen.append(queue.pop(0))
        return sorted(chosen, key=lambda q: (q[0], q[1]))


def _date_key(date: str | None, level: int) -> str | None:
    """The date of a pooled filter unit: its day ("2024-05-02") at level 1, month ("2024-05")
    at level 2, year ("2024") at level 3. A date not written the ISO way keeps its first ten
    characters (what the page uses as a day) at every level."""
    if date is None:
        return None
    day = date[:10]
    pattern = {2: _ISO_MONTH, 3: _ISO_YEAR}.get(level)
    found = pattern.match(day) if pattern else None
    return found.group() if found else day


class _FilterUnits:
    """The units the page's document filter switches on and off, and the documents in each.

    Level 0 makes every document a unit of its own; levels 1 to 5 pool documents by source and
    day, source and month, source and year, source, and all together (see ``_FILTER_LEVELS``).
    Keys are document indices at level 0 and ``(source, date key)`` tuples above.
    """

    def __init__(self) -> None:
        self.level = 0
        self.documents: dict[Any, int] = {}  # unit key -> documents in the unit
        self._meta: list[tuple[str | None, str | None]] | None = []  # (source, date) per document at level 0

    def unit_of(self, source: str | None, date: str | None) -> tuple[str | None, str | None]:
        """The unit key of a document with this source and date at a pooled level (1 to 5)."""
        if self.level >= 5:
            return None, None
        return source, (None if self.level == 4 else _date_key(date, self.level))

    def add(self, doc_index: int, source: str | None, date: str | None) -> Any:
        """Count one more document (the next index) and return its unit key."""
        if self._meta is not None:
            self._meta.append((source, date))
            key: Any = doc_index
        else:
            key = self.unit_of(source, date)
        self.documents[key] = self.documents.get(key, 0) + 1
        return key

    def coarsen(self) -> Any:
        """Go one level coarser; returns the function mapping an old unit key to its new one."""
        meta, self._meta = self._meta, None
        self.level += 1
        if meta is not None:
            def remap(key: Any) -> Any:
                return self.unit_of(*meta[key])
        else:
            def remap(key: Any) -> Any:
                return self.unit_of(*key)
        merged: dict[Any, int] = {}
        for key, n in self.documents.items():
            new = remap(key)
            merged[new] = merged.get(new, 0) + n
        self.documents = merged
        return remap


def _merge_cells(cells: dict[Any, Any], remap: Any) -> dict[Any, Any]:
    """Filter cells (unit -> count or [counts]) with their units mapped by ``remap`` and summed."""
    merged: dict[Any, Any] = {}
    for key, value in cells.items():
        new = remap(key)
        if new not in merged:
            merged[new] = list(value) if isinstance(value, list) else value
        elif isinstance(value, list):
            merged[new] = [a + b for a, b in zip(merged[new], value)]
        else:
            merged[new] += value
    return merged


@dataclass
class _Gathered:
    """Everything the page needs from a result, from one pass over its documents."""

    places: dict[str, _PlaceAcc]
    # (place key, place key), sorted -> sentences naming both
    pair_totals: dict[tuple[str, str], int]
    # the same pairs -> filter unit -> sentences naming both; None when there were too many
    # to keep (see _gather), and then counted again for the arcs drawn only (_count_pairs)
    pairs: dict[tuple[str, str], dict[Any, int]] | None
    units: _FilterUnits
    unresolved: int

    def coarsen(self) -> None:
        """Pool the filter one level coarser, in the units and every cell."""
        remap = self.units.coarsen()
        for acc in self.places.values():
            acc.cells = _merge_cells(acc.cells, remap)
        if self.pairs is not None:
            for pair, cells in self.pairs.items():
                self.pairs[pair] = _merge_cells(cells, remap)


def _sentence_pairs(named: dict[int, dict[str, None]]) -> Any:
    """Yield each pair of place keys (sorted) named together in a sentence, once per sentence;
    ``named`` maps a sentence to the keys of the places it names."""
    for keys in named.values():
        ordered = sorted(keys)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                yield a, b


def _count_pairs(result: GeoparseResult, wanted: set[tuple[str, str]],
                 units: _FilterUnits) -> dict[tuple[str, str], dict[Any, int]]:
    """Sentences naming each pair of ``wanted`` per filter unit (at the level of ``units``), from
    a second pass over the documents of ``result``."""
    counted: dict[tuple[str, str], dict[Any, int]] = {pair: {} for pair in wanted}
    for doc_index, doc_result in enumerate(result.documents):
        named: dict[int, dict[str, None]] = {}
        for resolution in doc_result.resolutions:
            if resolution.place is not None:
                named.setdefault(resolution.mention.sentence_start, {})[resolution.place.key] = None
        document = doc_result.document
        unit = doc_index if units.level == 0 else units.unit_of(
            _clean_text(document.source).strip() or None, _clean_text(document.date).strip() or None)
        for pair in _sentence_pairs(named):
            cells = counted.get(pair)
            if cells is not None:
                cells[unit] = cells.get(unit, 0) + 1
    return counted


def _gather(result: GeoparseResult) -> _Gathered:
    """One pass over the documents of ``result``, holding one document's mentions at a time.

    While the units and place–unit counts pass twice the page's filter budget, the filter is
    pooled one level coarser, so memory stays bounded too. Pair–unit counts (for the arcs)
    are dropped if they pass eight times the budget: only the drawn arcs need them, and
    ``_count_pairs`` then counts those again.
    """
    gathered = _Gathered({}, {}, {}, _FilterUnits(), 0)
    places, totals, units = gathered.places, gathered.pair_totals, gathered.units
    place_cells = pair_cells = 0
    for doc_index, doc_result in enumerate(result.documents):
        document = doc_result.document
        unit = units.add(doc_index, _clean_text(document.source).strip() or None,
                         _clean_text(document.date).strip() or None)
        mentions_here: dict[str, int] = {}
        # place key -> (sentence_start, sentence) -> mention ranges in code points
        sentences_here: dict[str, dict[tuple[int, str], list[tuple[int, int]]]] = {}
        named: dict[int, dict[str, None]] = {}  # sentence_start -> keys of the places it names
        for resolution in doc_result.resolutions:
            place = resolution.place
            if place is None:
                gathered.unresolved += 1
                continue
            acc = places.get(place.key)
            if acc is None:
                acc = places[place.key] = _PlaceAcc(place)
            mention = resolution.mention
            mentions_here[place.key] = mentions_here.get(place.key, 0) + 1
            if acc.low is None or resolution.confidence < acc.low.confidence:
                acc.low = resolution
            role = getattr(resolution, "role", "literal")
            form = _clean_text(mention.text).strip()
            if role in _ROLE_NOTES:  # "Armenian (demonym)", "Kremlin (for its government)"
                form = f"{form} ({_ROLE_NOTES[role]})"
            acc.forms[form] = None
            sentence = _clean_text(mention.sentence)
            ranges = sentences_here.setdefault(place.key, {}).setdefault(
                (mention.sentence_start, sentence), [])
            found = _mention_range(mention, sentence)
            if found is not None:
                ranges.append(found)
            named.setdefault(mention.sentence_start, {})[place.key] = None
        for key, mentions in mentions_here.items():
            place_cells += places[key].add_document(doc_index, unit, mentions, sentences_here[key])
        pairs = gathered.pairs
        for pair in _sentence_pairs(named):
            totals[pair] = totals.get(pair, 0) + 1
            if pairs is not None:
                cells = pairs.setdefault(pair, {})
                pair_cells += unit not in cells
                cells[unit] = cells.get(unit, 0) + 1
        if pair_cells > 8 * MAX_FILTER_CELLS:
            gathered.pairs, pair_cells = None, 0
        while (len(units.documents) + place_cells > 2 * MAX_FILTER_CELLS
               and units.level < len(_FILTER_LEVELS) - 1):
            gathered.coarsen()
            place_cells = sum(len(acc.cells) for acc in places.values())
            pair_cells = sum(len(cells) for cells in (gathered.pairs or {}).values())
    return gathered


def _payload(result: GeoparseResult, outlines: dict | None, title: str | None,
             tiles: bool) -> dict[str, Any]:
    """The page's JSON payload, read by ``static/geomap.js``.

    Its size follows the places, not the mentions or the documents: popups quote at most
    :data:`MAX_SENTENCES` sentences per place, and the document filter carries at most
    :data:`MAX_FILTER_CELLS` counts, pooling documents into coarser units (``filter``) when
    there are more.

    Layout (version 3):

    - ``places`` (drawing order, most mentioned first): ``name``, ``kind`` (colour group:
      country, region, city), ``type`` (the kind in words: city, site, sea, region...),
      ``latlon`` ([lat, lon], WGS84 degrees, Leaflet order; lon + 360 on a shifted map, see
      ``shift``), ``count`` (mentions), ``r`` (radius, CSS px), ``cc`` (ISO 3166-1 alpha-2 or
      null), ``forms`` (surface forms, with "(demonym)" or "(standing for its government or
      institutions)" after non-literal ones, from ``Resolution.role``), ``sentences``
      (``[sentence id, [[start, end], ...]]``: mention ranges inside the sentence,
      ``Mention.start - sentence_start`` counted in UTF-16 code units as JavaScript indexes
      strings; from the first documents naming the place, round-robin), ``cells`` (flat
      ``[unit, mentions, sentences, documents, ...]`` quadruples per filter unit, so the page
      can recount under the document filter), ``more`` (sentences not listed), ``note``,
      ``conf`` (lowest confidence, only when below :data:`LOW_CONFIDENCE`), ``candidates`` and
      ``runnerUp`` (the second-ranked candidate of that resolution, from
      ``Resolution.provenance["runner_up"]``, when recorded), ``label``.
    - ``sentences``: shared table of ``[document, text]`` (a sentence naming several places is
      stored once; ``document`` indexes ``documents``).
    - ``documents``: ``[label, source, date, url]`` (``source`` indexes ``sources``; ``url``
      http(s) only, else null). With ``filter`` "document", every document in input order,
      each its own filter unit; otherwise only the documents quoted in popups, each followed
      by its unit. ``documentsTotal``: how many documents the result holds.
    - ``filter``: what a filter unit is: "document", "source and day", "source and month",
      "source and year", "source" or "none" (one unit, nothing to filter); ``units``: null
      for "document", else ``[source, date key, documents]`` per unit; ``filterNote``: the
      pooling in words, or null. ``sources``: the source names, sorted.
    - ``edges``: ``[place a, place b, sentences, [unit, sentences, ...]]``, strongest first;
      ``edgesTotal``: how many pairs there were before the cap.
    - ``basemap``: ``[country code, name, geometry]`` per country outline; ``areas``:
      ``[place, geometry]`` for places drawn as areas.
    - ``title``, ``counts``, ``notes``, ``attribution``, ``colors``, ``kinds``, ``classes``,
      ``legend``, ``scale``/``minR`` (radius = max(minR, scale·√count)), ``bounds``
      ([[south, west], [north, east]] or null) and ``shift`` (the cut longitude or null).
    """
    gathered = _gather(result)
    units = gathered.units

    mapped: list[tuple[_PlaceAcc, float, float, str | None]] = []
    unmappable = 0
    for acc in gathered.places.values():
        lat, lon = _finite(acc.place.lat), _finite(acc.place.lon)
        if lat is None or lon is None or abs(lat) > 90.0:
            unmappable += 1
            continue
        note = None
        if abs(lat) > _MERCATOR_LAT:
            drawn = math.copysign(_MERCATOR_LAT, lat)
            note = (f"Drawn at {_lat_text(drawn)}: the map cannot show latitudes beyond "
                    f"\u00b1{_MERCATOR_LAT}\u00b0 (true latitude {_lat_text(lat)}).")
            lat = drawn
        if not -180.0 <= lon <= 180.0:
            lon = (lon + 180.0) % 360.0 - 180.0
        mapped.append((acc, round(lat, 5), round(lon, 5), note))
    shift = _lon_shift([m[2] for m in mapped])
    if shift is not None:
        mapped = [(acc, lat, round(lon + 360.0, 5) if lon < shift else lon, note)
                  for acc, lat, lon, note in mapped]
    # Biggest first: Leaflet draws later markers on top, so small circles stay clickable;
    # the same order ranks labels.
    mapped.sort(key=lambda m: (-m[0].count, _clean_text(m[0].place.name), m[0].place.key))
    index_of = {m[0].place.key: rank for rank, m in enumerate(mapped)}

    # Co-mentions: pairs of places named in the same sentence, counted once per sentence.
    ranked_pairs = sorted((-total, *sorted((index_of[a], index_of[b])), (a, b))
                          for (a, b), total in gathered.pair_totals.items()
                          if a in index_of and b in index_of)
    edge_pairs: list[tuple[int, int, int, tuple[str, str]]] = []
    for negative, a, b, pair in ranked_pairs:
        if len(edge_pairs) == MAX_EDGES:
            break
        ends = ((mapped[a][1], mapped[a][2]), (mapped[b][1], mapped[b][2]))
        if ends[0] == ends[1] or not _great_circle_ok(*ends):
            continue
        edge_pairs.append((a, b, -negative, pair))
    if gathered.pairs is None:
        gathered.pairs = _count_pairs(result, {e[3] for e in edge_pairs}, units)
    pair_cells = gathered.pairs

    # Pool the document filter until its counts fit the page's budget.
    def filter_cells() -> int:
        return (len(units.documents) + sum(len(m[0].cells) for m in mapped)
                + sum(len(pair_cells[e[3]]) for e in edge_pairs))

    while filter_cells() > MAX_FILTER_CELLS and units.level < len(_FILTER_LEVELS) - 1:
        gathered.coarsen()
    # Pooled by date, but no document has one: the units are sources, and the page says so.
    while 1 <= units.level < 4 and all(key[1] is None for key in units.documents):
        gathered.coarsen()
    if units.level == 0:
        unit_keys = list(range(len(result.documents)))
    else:
        unit_keys = sorted(units.documents,
                           key=lambda k: (k[0] is None, k[0] or "", k[1] is None, k[1] or ""))
    unit_index = {key: i for i, key in enumerate(unit_keys)}

    chosen = [acc.chosen_sentences() for acc, *_ in mapped]
    if units.level == 0:
        listed = list(range(len(result.documents)))
    else:
        listed = sorted({quote[0] for quotes in chosen for quote in quotes})
    position = {doc_index: i for i, doc_index in enumerate(listed)}
    listed_meta = []
    for doc_index in listed:
        document = result.documents[doc_index].document
        listed_meta.append((document, _clean_text(document.source).strip() or None,
                            _clean_text(document.date).strip() or None))
    source_names = sorted({source for _, source, _ in listed_meta if source}
                          | {key[0] for key in unit_keys if units.level and key[0]})
    source_index = {name: i for i, name in enumerate(source_names)}
    documents = []
    for document, source, date in listed_meta:
        entry = _document_entry(document, source_index.get(source) if source else None)
        if units.level:
            entry.append(unit_index[units.unit_of(source, date)])
        documents.append(entry)

    shapes = _outline_features(outlines)
    areas_by_key = {p["key"]: g for p, g in shapes
                    if isinstance(p.get("key"), str) and g.get("type") in _AREA_TYPES}
    basemap = [[p.get("country_code") if isinstance(p.get("country_code"), str) else None,
                _clean_text(p.get("name") or ""), g]
               for p, g in shapes if "key" not in p]

    max_count = max((m[0].count for m in mapped), default=1)
    scale = _radius_scale(max_count, len(mapped))
    sentence_refs: dict[tuple[int, int, str], int] = {}
    sentences: list[list[Any]] = []
    place_entries = []
    areas = []
    for rank, ((acc, lat, lon, note), quotes) in enumerate(zip(mapped, chosen)):
        shown = []
        for doc_index, start, text, ranges in quotes:
            table_key = (doc_index, start, text)
            if table_key not in sentence_refs:
                sentence_refs[table_key] = len(sentences)
                sentences.append([position[doc_index], text])
            shown.append([sentence_refs[table_key],
                          [[_utf16(text, a), _utf16(text, b)] for a, b in ranges]])
        group, words = _kind(acc.place)
        if acc.place.key in areas_by_key and group == "region":
            areas.append([rank, areas_by_key[acc.place.key]])
        elif group == "region" and note is None:
            note = (f"Approximate centre of a {words}: the gazetteer has no outline for it, so "
                    "the circle marks a point, not the area's extent.")
        entry: dict[str, Any] = {
            "name": _clean_text(acc.place.name), "kind": group, "type": words,
            "latlon": [lat, lon], "count": acc.count, "r": _radius(acc.count, scale),
            "cc": acc.place.country_code if isinstance(acc.place.country_code, str) else None,
            "forms": [f for f in acc.forms if f], "sentences": shown,
            "cells": [n for unit, counts in sorted((unit_index[k], c) for k, c in acc.cells.items())
                      for n in (unit, *counts)],
            "more": max(0, acc.sentence_count - len(quotes)), "note": note,
            "label": rank < _LABELLED_PLACES,
        }
        low = acc.low
        if low is not None and low.confidence < LOW_CONFIDENCE:
            provenance = getattr(low, "provenance", None)
            entry["conf"] = round(low.confidence, 2)
            counted = provenance.get("candidates") if isinstance(provenance, dict) else None
            entry["candidates"] = low.candidates or (counted if isinstance(counted, int) else 0)
            runner_up = provenance.get("runner_up") if isinstance(provenance, dict) else None
            if isinstance(runner_up, dict) and runner_up.get("name"):
                code = runner_up.get("country_code")
                entry["runnerUp"] = _clean_text(runner_up["name"]) + (
                    f" ({_clean_text(code)})" if code else "")
        place_entries.append(entry)

    edges = []
    for a, b, n, pair in edge_pairs:
        per_unit = sorted((unit_index[k], c) for k, c in pair_cells[pair].items())
        edges.append([a, b, n, [x for unit_count in per_unit for x in unit_count]])
    units_payload = None
    if units.level:
        units_payload = [[source_index[k[0]] if k[0] else None, k[1], units.documents[k]] for k in unit_keys]

    n_mentions = sum(m[0].count for m in mapped)
    counts = " \u00b7 ".join((_plural(len(result.documents), "document"),
                              _plural(n_mentions, "mention"), _plural(len(mapped), "place")))
    notes = []
    if gathered.unresolved:
        notes.append(f"{_plural(gathered.unresolved, 'mention')} not placed")
    if unmappable:
        notes.append(f"{_plural(unmappable, 'place')} without coordinates not shown")
    if result.skipped:
        notes.append(f"{_plural(len(result.skipped), 'input')} skipped")
    bounds = None
    if mapped:
        lats, lons = [p["latlon"][0] for p in place_entries], [p["latlon"][1] for p in place_entries]
        bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
    present = {entry["kind"] for entry in place_entries}
    attribution = ATTRIBUTION
    if any(str(m[0].place.source or "").startswith("geocoder:nominatim") for m in mapped):
        attribution += " \u00b7 " + OSM_ATTRIBUTION
    return {
        "version": 3,
        "title": _clean_text(title) if title else "geomap",
        "counts": counts,
        "notes": notes,
        "attribution": attribution,
        "tiles": tiles,
        "colors": KIND_COLORS,
        "kinds": KIND_LABELS,
        "classes": [[lo, hi, label, color] for lo, hi, label, color in CHOROPLETH_CLASSES],
        "legend": {"kinds": [k for k in KIND_COLORS if k in present],
                   "sizes": [[c, _radius(c, scale)] for c in _legend_counts(max_count)]},
        "scale": round(scale, 4),
        "minR": _MIN_RADIUS,
        "bounds": bounds,
        "shift": shift,
        "places": place_entries,
        "sentences": sentences,
        "documents": documents,
        "documentsTotal": len(result.documents),
        "sources": source_names,
        "filter": _FILTER_LEVELS[units.level],
        "units": units_payload,
        "filterNote": _filter_note(units.level, len(result.documents)),
        "edges": edges,
        "edgesTotal": len(ranked_pairs),
        "basemap": basemap,
        "areas": areas,
    }


# ---------------------------------------------------------------------------------------------
# Public API


def build_map(result: GeoparseResult, *, outlines: dict | None = None, title: str | None = None,
              tiles: str | None = None, cdn: bool = False) -> folium.Map:
    """Build an offline map with one circle marker per resolved place.

    Mentions are grouped by ``Place.key``: surface forms such as "Kyiv" and "Kiev" that resolve
    to one place give one marker. A marker's area is proportional to the place's mention count,
    its colour shows its kind (see :data:`KIND_COLORS`; the kind is also written in its popup
    and list row), and its popup lists the sentences mentioning the place (at most
    :data:`MAX_SENTENCES`, round-robin over the first documents naming it), grouped by
    document, with the mentions highlighted, and says how many sentences and documents it
    leaves out. The side panel's document filter switches documents one by one, or, when
    they are too many for :data:`MAX_FILTER_CELLS`, groups of them by source and day (then
    month, year, source alone), as the panel says. Countries are shaded by mention count,
    where a country's count includes every place whose ``country_code`` is its ISO code
    (cities, regions, demonyms resolved to it), in the fixed :data:`CHOROPLETH_CLASSES`.
    Pairs of places named in one sentence are joined by great-circle arcs (the
    :data:`MAX_EDGES` strongest). Article text is shown literally, never interpreted as HTML.

    Parameters
    ----------
    result : GeoparseResult
        Documents and their resolutions. Unresolved mentions are counted in the title box;
        places whose ``lat``/``lon`` are missing, not finite or beyond ±90° are left out (and
        counted); latitudes beyond ±85.05° (the Web Mercator limit) are drawn at ±85.05°, as
        the popup says, and longitudes outside [-180, 180] are wrapped. When places lie on both
        sides of the 180° meridian, longitudes below the widest empty stretch get +360° so the
        view is compact (Suva, Apia and Nuku'alofa show together).
    outlines : dict, optional
        GeoJSON (FeatureCollection, Feature or geometry) in lon/lat order, as returned by
        ``Gazetteer.country_outlines()``: country outlines (properties ``name``,
        ``country_code``) drawn as the basemap and choropleth. A feature whose properties hold
        a ``key`` equal to a region's or sea's ``Place.key`` draws that place as an area.
        None draws no basemap (the sea-blue background only).
    title : str, optional
        Heading of the title box and of the page; by default "geomap" and
        "geomap: N documents · N mentions · N places". Shown literally.
    tiles : str, optional
        A folium tile set name (``"OpenStreetMap"``, ``"CartoDB Positron"``...) to add under the
        outlines. Tiles are fetched from the internet when the page opens; None (default) adds
        none, and the page then makes no network request at all.
    cdn : bool
        Load Leaflet from a CDN instead of inlining it (a smaller file that needs the network).

    Returns
    -------
    folium.Map
        An :class:`OfflineMap` holding one :class:`PlaceLayer`; pass it to :func:`map_html` or
        :func:`save_map`, or show it in Jupyter (``_repr_html_`` gives an ``<iframe srcdoc>``).
        The view fits all markers (at most zoom 6); without places it shows the world and a
        "No places found" note.

    Raises
    ------
    InputError
        If ``outlines`` is not a GeoJSON dict or holds non-finite coordinates, or ``tiles``
        names no tile set folium knows (it is a ``ValueError``).
    """
    payload = _payload(result, outlines, title, tiles=bool(tiles))
    center = _WORLD_CENTER
    if payload["bounds"]:
        (south, west), (north, east) = payload["bounds"]
        center = [(south + north) / 2, (west + east) / 2]
    # zoom_snap 0.25: fitBounds can then frame the markers closely instead of a whole level out.
    fmap = OfflineMap(location=center, zoom_start=2, zoom_control="bottomright",
                      zoom_snap=0.25, tiles=None, cdn=cdn, world_copy_jump=False)
    page_title = _clean_text(title) if title else f"geomap: {payload['counts']}"
    # branca inserts Figure.title as a value (not template source) but does not escape it.
    fmap.get_root().title = html.escape(page_title)
    if tiles:
        try:
            layer = folium.TileLayer(tiles=tiles, control=False)
        except (ValueError, TypeError) as e:
            raise InputError(f"unknown tile set {tiles!r} ({e}); use a folium name such as "
                             "'OpenStreetMap' or 'CartoDB Positron', or no tiles") from e
        layer._id = "0"
        fmap.add_child(layer, name="tiles")
    try:
        layer = PlaceLayer(payload)
    except ValueError as e:
        raise InputError(f"map data cannot be encoded ({e}); outlines must hold finite "
                         "lon/lat numbers") from e
    fmap.add_child(layer, name="places")
    return fmap


def map_html(fmap: folium.Map) -> str:
    """Render a map as one complete HTML page.

    For a map from :func:`build_map` the page is self-contained: Leaflet, styles, script and
    data are inline, and without ``tiles`` it opens with zero network requests. The output is
    deterministic: the same map gives byte-identical text.

    Parameters
    ----------
    fmap : folium.Map
        The map, normally from :func:`build_map`. A stock :class:`folium.Map` renders too, but
        then links folium's CDN scripts as usual.

    Returns
    -------
    str
        The page, starting with ``<!DOCTYPE html>``; encode it as UTF-8.

    Raises
    ------
    InputError
        If ``fmap`` is not a folium map inside a figure.
    """
    if not isinstance(fmap, folium.Map):
        raise InputError(f"map_html expects a folium.Map from build_map(), got {type(fmap).__name__}")
    figure = fmap.get_root()
    if not isinstance(figure, Figure):
        raise InputError("the map is not inside a figure; build it with build_map()")
    return figure.render()


def save_map(fmap: folium.Map, path: str | os.PathLike[str]) -> None:
    """Write a map page to ``path`` atomically.

    The page is rendered in full first, then written with :func:`geomap.atomic.atomic_write`
    (a temporary file beside the target, flushed to disk and renamed over it): a failure at any
    step leaves no partial or temporary file behind and an existing ``path`` untouched. An
    existing file's permission bits are kept; a new file gets the umask's (usually 0644).

    Parameters
    ----------
    fmap : folium.Map
        The map, normally from :func:`build_map`.
    path : str or os.PathLike
        The HTML file to create or replace. Its directory must exist.

    Raises
    ------
    InputError
        If ``fmap`` cannot be rendered (see :func:`map_html`).
    OSError
        If the directory does not exist or is not writable, or ``path`` is a directory.
    """
    data = map_html(fmap).encode("utf-8")
    with atomic_write(path, "wb", fsync=True) as fh:
        fh.write(data)


_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_browser() -> str | None:
    """The Chromium (or Chrome) executable used for PNG output, or None.

    ``$GEOMAP_CHROMIUM`` names one explicitly; otherwise the first of ``chromium``,
    ``chromium-browser``, ``google-chrome``, ``google-chrome-stable``, ``chrome`` on ``PATH``.
    """
    explicit = os.environ.get("GEOMAP_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def save_png(fmap: folium.Map, path: str | os.PathLike[str], *, width: int = 1400,
             height: int = 900, browser: str | None = None, timeout: float = 60.0) -> None:
    """Render a map to a PNG image through headless Chromium, atomically.

    The page is written to a temporary file and opened with ``chromium --headless
    --screenshot``; the image (``width`` × ``height`` CSS pixels, the side panel included) is
    checked to be a PNG and moved over ``path``. An existing ``path`` is kept on any failure.

    Parameters
    ----------
    fmap : folium.Map
        The map, normally from :func:`build_map`.
    path : str or os.PathLike
        The PNG file to create or replace. Its directory must exist.
    width, height : int
        Viewport size in CSS pixels (at least 200 × 200).
    browser : str, optional
        Chromium or Chrome executable; default :func:`find_browser`.
    timeout : float
        Seconds to wait for the browser.

    Raises
    ------
    BrowserNotFoundError
        If no Chromium/Chrome executable is found (it is a ``FileNotFoundError``); install
        Chromium (``apt-get install chromium``) or set ``GEOMAP_CHROMIUM``.
    InputError
        If ``width``/``height`` are below 200 pixels.
    GeomapError
        If the browser fails, times out or writes no PNG.
    OSError
        If the target directory does not exist or is not writable.
    """
    if width < 200 or height < 200:
        raise InputError(f"PNG size must be at least 200x200 pixels, got {width}x{height}")
    executable = browser or find_browser()
    if not executable:
        raise BrowserNotFoundError(
            "PNG output needs Chromium or Chrome, and none was found: install it "
            "(apt-get install chromium) or set GEOMAP_CHROMIUM to its executable")
    folder = output_target(path).parent
    if not folder.is_dir():          # say so before a browser runs for nothing
        raise FileNotFoundError(2, "No such directory", os.fspath(folder))
    page_html = map_html(fmap).encode("utf-8")
    with tempfile.TemporaryDirectory(prefix="geomap-png-") as work:
        page = Path(work) / "map.html"
        page.write_bytes(page_html)
        # Chromium picks the image format from the suffix; it writes into the work folder, and
        # the image goes to ``path`` through atomic_write once it is known to be a PNG.
        shot = Path(work) / "map.png"
        command = [executable, "--headless", "--disable-gpu", "--hide-scrollbars",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync",
                   "--force-device-scale-factor=1", f"--user-data-dir={Path(work) / 'profile'}",
                   f"--window-size={width},{height}", "--virtual-time-budget=5000",
                   f"--screenshot={shot}", page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise GeomapError(f"{executable} did not finish the PNG within {timeout:g} s") from e
        except OSError as e:
            raise BrowserNotFoundError(f"cannot run {executable}: {e.strerror or e}") from e
        image = shot.read_bytes() if shot.is_file() else b""
        if done.returncode != 0 or image[:8] != _PNG_MAGIC:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GeomapError(f"{executable} wrote no PNG (exit {done.returncode})"
                              + (f": {detail[-1]}" if detail else ""))
        with atomic_write(path, "wb") as fh:
            fh.write(image)
