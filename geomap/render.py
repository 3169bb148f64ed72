"""Render a :class:`~geomap.model.GeoparseResult` as one self-contained, offline Folium map page.

The page opens with zero network requests: Leaflet's JS and CSS come inlined from the
``xstatic-leaflet`` package (its images as ``data:`` URIs), together with geomap's own small
runtime (``static/geomap.js``, ``static/geomap.css``), and the basemap is Natural Earth country
outlines drawn on a sea-blue background instead of web tiles.

All data (places, sentences, documents, outlines) travels as ONE JSON payload in a
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
import contextlib
import functools
import html
import json
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet as xstatic_leaflet
from branca.element import Element, Figure

from .exc import InputError
from .model import GeoparseResult, Mention, Place

__all__ = ["ATTRIBUTION", "KIND_COLORS", "MAX_SENTENCES", "OfflineMap", "PlaceLayer",
           "build_map", "map_html", "save_map"]

#: Marker colour per place kind, from the Okabe-Ito palette (safe for colour-blind readers).
KIND_COLORS: dict[str, str] = {"country": "#cc79a7", "region": "#009e73", "city": "#0072b2",
                               "site": "#e69f00"}
#: Data credits shown on every map (GeoNames asks for CC BY attribution).
ATTRIBUTION = ("Place data: GeoNames (CC BY 4.0), Natural Earth (public domain) \u00b7 "
               "Boundaries: Natural Earth \u2014 de facto, no endorsement implied")
#: Sentences listed per place popup; the rest are counted as "and N more".
MAX_SENTENCES = 25

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


@functools.lru_cache(maxsize=1)
def _inline_assets() -> str:
    """Leaflet 1.9 and the geomap runtime as inline ``<style>``/``<script>`` blocks.

    Read once per process (about 170 KB).

    Raises
    ------
    FileNotFoundError
        If ``xstatic-leaflet`` or geomap's ``static/`` files are missing from the installation.
    RuntimeError
        If an asset holds text that would end its inline block (``</script``, ``</style``).
    """
    base = Path(xstatic_leaflet.BASE_DIR)
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
    own_js = (_STATIC / "geomap.js").read_text(encoding="utf-8")
    own_css = (_STATIC / "geomap.css").read_text(encoding="utf-8")
    for name, text in (("leaflet.js", js), ("geomap.js", own_js)):
        if re.search(r"</script|<!--", text, re.IGNORECASE):  # would end or confuse the block
            raise RuntimeError(f"{name} cannot be inlined: it contains '</script' or '<!--'")
    for name, text in (("leaflet.css", css), ("geomap.css", own_css)):
        if re.search(r"</style", text, re.IGNORECASE):
            raise RuntimeError(f"{name} cannot be inlined: it contains '</style'")
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
    **kwargs
        Passed to :class:`folium.Map` (``location``, ``zoom_start``, ``tiles``...).
        ``tiles`` defaults to None here: no tile layer, no network.
    """

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("tiles", None)
        super().__init__(**kwargs)
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
            figure.header.add_child(_Raw(_inline_assets()), name="geomap_assets")
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


@dataclass
class _PlaceAcc:
    """Mentions of one place gathered across documents."""

    place: Place
    count: int = 0
    forms: dict[str, None] = field(default_factory=dict)  # ordered set: first appearance first
    # (doc index, sentence_start, sentence) -> mention ranges in code points
    sentences: dict[tuple[int, int, str], list[tuple[int, int]]] = field(default_factory=dict)


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


def _document_entry(doc: Any) -> dict[str, Any]:
    label = _clean_text(doc.title).strip() or _clean_text(doc.id).strip() or "(untitled document)"
    meta = ", ".join(t for t in (_clean_text(doc.source).strip(), _clean_text(doc.date).strip()) if t)
    url = _clean_text(doc.url).strip()
    return {"label": label, "meta": meta or None,
            "url": url if _WEB_URL.match(url) else None}


def _basemap(outlines: dict | None) -> list[dict[str, Any]]:
    """The polygon geometries of a GeoJSON object, without properties (they are not shown)."""
    if outlines is None:
        return []
    if not isinstance(outlines, dict) or "type" not in outlines:
        raise InputError("outlines must be a GeoJSON FeatureCollection (dict), e.g. "
                         f"Gazetteer.country_outlines(), got {type(outlines).__name__}")
    kind = outlines["type"]
    if kind == "FeatureCollection":
        geometries = [f.get("geometry") for f in outlines.get("features") or ()
                      if isinstance(f, dict)]
    elif kind == "Feature":
        geometries = [outlines.get("geometry")]
    else:
        geometries = [outlines]
    # Points would become Leaflet's default image markers: a basemap only needs shapes.
    return [g for g in geometries if isinstance(g, dict) and g.get("type") in _BASEMAP_TYPES]


def _payload(result: GeoparseResult, outlines: dict | None, title: str | None,
             tiles: bool) -> dict[str, Any]:
    """The page's JSON payload, read by ``static/geomap.js``.

    Layout: ``places`` (drawing order, most mentioned first) hold ``name``, ``kind``,
    ``latlon`` ([lat, lon], WGS84 degrees, Leaflet order), ``count`` (mentions), ``r``
    (radius, CSS px), ``forms`` (surface forms), ``sentences`` (``[sentence id, [[start,
    end], ...]]``: mention ranges inside the sentence, ``Mention.start - sentence_start``
    counted in UTF-16 code units as JavaScript indexes strings), ``more`` (sentences not
    listed), ``note`` and ``label``. ``sentences`` is a shared table of ``[document id, text]``
    (a sentence naming several places is stored once); ``documents`` hold ``label``, ``meta``
    and ``url`` (http(s) only, else null). Also ``title``, ``counts``, ``notes``, ``legend``,
    ``colors``, ``bounds`` ([[south, west], [north, east]] or null), ``basemap`` (geometries).
    """
    places: dict[str, _PlaceAcc] = {}
    unresolved = 0
    for doc_index, doc_result in enumerate(result.documents):
        for resolution in doc_result.resolutions:
            place = resolution.place
            if place is None:
                unresolved += 1
                continue
            acc = places.get(place.key)
            if acc is None:
                acc = places[place.key] = _PlaceAcc(place)
            mention = resolution.mention
            acc.count += 1
            acc.forms[_clean_text(mention.text).strip()] = None
            sentence = _clean_text(mention.sentence)
            ranges = acc.sentences.setdefault((doc_index, mention.sentence_start, sentence), [])
            found = _mention_range(mention, sentence)
            if found is not None:
                ranges.append(found)

    mapped: list[tuple[_PlaceAcc, float, float, str | None]] = []
    unmappable = 0
    for acc in places.values():
        lat, lon = _finite(acc.place.lat), _finite(acc.place.lon)
        if lat is None or lon is None:
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
    # Biggest first: Leaflet draws later markers on top, so small circles stay clickable;
    # the same order ranks labels.
    mapped.sort(key=lambda m: (-m[0].count, _clean_text(m[0].place.name), m[0].place.key))

    scale = _radius_scale(max((m[0].count for m in mapped), default=1), len(mapped))
    doc_refs: dict[int, int] = {}
    documents: list[dict[str, Any]] = []
    sentence_refs: dict[tuple[int, int, str], int] = {}
    sentences: list[list[Any]] = []
    place_entries = []
    for rank, (acc, lat, lon, note) in enumerate(mapped):
        shown = []
        keys = sorted(acc.sentences, key=lambda k: (k[0], k[1]))
        for key in keys[:MAX_SENTENCES]:
            doc_index, _, sentence = key
            text, ranges = _excerpt(sentence, _merge(acc.sentences[key]))
            if doc_index not in doc_refs:
                doc_refs[doc_index] = len(documents)
                documents.append(_document_entry(result.documents[doc_index].document))
            table_key = (doc_refs[doc_index], key[1], text)
            if table_key not in sentence_refs:
                sentence_refs[table_key] = len(sentences)
                sentences.append([doc_refs[doc_index], text])
            shown.append([sentence_refs[table_key],
                          [[_utf16(text, a), _utf16(text, b)] for a, b in ranges]])
        kind = acc.place.kind if acc.place.kind in KIND_COLORS else "city"
        place_entries.append({
            "name": _clean_text(acc.place.name), "kind": kind, "latlon": [lat, lon],
            "count": acc.count, "r": _radius(acc.count, scale),
            "forms": [f for f in acc.forms if f], "sentences": shown,
            "more": max(0, len(keys) - MAX_SENTENCES), "note": note,
            "label": rank < _LABELLED_PLACES,
        })

    n_mentions = sum(m[0].count for m in mapped)
    counts = " \u00b7 ".join((_plural(len(result.documents), "document"),
                              _plural(n_mentions, "mention"), _plural(len(mapped), "place")))
    notes = []
    if unresolved:
        notes.append(f"{_plural(unresolved, 'mention')} not placed")
    if unmappable:
        notes.append(f"{_plural(unmappable, 'place')} without coordinates not shown")
    if result.skipped:
        notes.append(f"{_plural(len(result.skipped), 'input')} skipped")
    bounds = None
    if mapped:
        lats, lons = [m[1] for m in mapped], [m[2] for m in mapped]
        bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
    present = {entry["kind"] for entry in place_entries}
    max_count = max((m[0].count for m in mapped), default=1)
    return {
        "version": 1,
        "title": _clean_text(title) if title else "geomap",
        "counts": counts,
        "notes": notes,
        "attribution": ATTRIBUTION,
        "tiles": tiles,
        "colors": KIND_COLORS,
        "legend": {"kinds": [k for k in KIND_COLORS if k in present],
                   "sizes": [[c, _radius(c, scale)] for c in _legend_counts(max_count)]},
        "bounds": bounds,
        "places": place_entries,
        "sentences": sentences,
        "documents": documents,
        "basemap": _basemap(outlines),
    }


# ---------------------------------------------------------------------------------------------
# Public API


def build_map(result: GeoparseResult, *, outlines: dict | None = None, title: str | None = None,
              tiles: str | None = None) -> folium.Map:
    """Build an offline map with one circle marker per resolved place.

    Mentions are grouped by ``Place.key``: surface forms such as "Kyiv" and "Kiev" that resolve
    to one place give one marker. A marker's area is proportional to the place's mention count,
    its colour shows ``Place.kind`` (see :data:`KIND_COLORS`), and its popup lists every
    sentence mentioning the place (at most :data:`MAX_SENTENCES`), grouped by document, with
    the mentions highlighted. Article text is shown literally, never interpreted as HTML.

    Parameters
    ----------
    result : GeoparseResult
        Documents and their resolutions. Unresolved mentions are counted in the title box;
        places whose ``lat``/``lon`` are missing or not finite are left out (and counted);
        latitudes beyond ±85.05° (the Web Mercator limit) are drawn at ±85.05°, as the popup
        says, and longitudes outside [-180, 180] are wrapped.
    outlines : dict, optional
        GeoJSON (FeatureCollection, Feature or geometry) of country outlines in lon/lat order,
        as returned by ``Gazetteer.country_outlines()``; drawn as the basemap. None draws no
        basemap (the sea-blue background only). Feature properties are not used.
    title : str, optional
        Heading of the title box and of the page; by default "geomap" and
        "geomap: N documents · N mentions · N places". Shown literally.
    tiles : str, optional
        A folium tile set name (``"OpenStreetMap"``, ``"CartoDB Positron"``...) to add under the
        outlines. Tiles are fetched from the internet when the page opens; None (default) adds
        none, and the page then makes no network request at all.

    Returns
    -------
    folium.Map
        An :class:`OfflineMap` holding one :class:`PlaceLayer`; pass it to :func:`map_html` or
        :func:`save_map`. The view fits all markers (at most zoom 6); without places it shows
        the world and a "No places found" note.

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
                      zoom_snap=0.25, tiles=None)
    page_title = _clean_text(title) if title else f"geomap: {payload['counts']}"
    # branca inserts Figure.title as a value (not template source) but does not escape it.
    fmap.get_root().title = html.escape(page_title)
    if tiles:
        try:
            layer = folium.TileLayer(tiles=tiles)
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

    The page is rendered in full first, then written to a temporary file in the target's
    directory, flushed to disk and moved over ``path`` with :func:`os.replace`. A failure at
    any step leaves no partial or temporary file behind and an existing ``path`` untouched.
    An existing file's permission bits are kept; a new file gets 0644.

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
    target = os.fspath(path)
    data = map_html(fmap).encode("utf-8")
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)  # mkstemp creates 0600, which would hide the page from a web server
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
