"""The ``geomap`` spaCy pipeline component, for users with their own spaCy pipelines.

::

    import spacy
    nlp = spacy.load("en_core_web_sm")
    nlp.add_pipe("geomap")                 # found through the spacy_factories entry point
    doc = nlp("Aid convoys reached Yerevan and Tbilisi on Friday.")
    [(r.mention.text, r.place.name, r.place.lat, r.place.lon) for r in doc._.places]
    doc.ents[0]._.place                    # the Place of an entity span, or None

The component reads the entities (``doc.ents``) that earlier components set, adds the names of
prominent gazetteer places that NER missed, and resolves every candidate against the offline
gazetteer exactly as ``geomap`` does. It writes:

- ``doc._.places``: list of :class:`~geomap.model.Resolution` with a place, in text order
  (``.mention`` with character offsets and sentence, ``.place``, ``.confidence``, ``.role``);
- ``doc._.geomap_unresolved``: the mentions without a place, each with its ``reason``;
- ``span._.place``: the :class:`~geomap.model.Place` of any span whose offsets are those of a
  mention (or that holds exactly one mention, as an entity "the Gulf" holds "Gulf"), else None;
- ``doc.spans["geomap"]``: the mention spans, labelled as the recogniser labelled them.

The results are kept in ``doc._.geomap`` as plain data (lists and dicts), so docs still go
through ``Doc.to_bytes``, ``DocBin`` and ``nlp.pipe(n_process=...)``.
"""

from typing import Any, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from .model import Document, Mention, Place, Resolution

__all__ = ["GeomapComponent", "make_geomap"]

_MENTION_FIELDS = ("text", "start", "end", "sentence", "sentence_start", "label")
_PLACE_FIELDS = ("key", "name", "lat", "lon", "country_code", "feature_class", "feature_code", "geonameid",
                 "population", "source")


def _resolution_data(res: Resolution) -> dict[str, Any]:
    """A Resolution as msgpack-safe data (what ``doc._.geomap`` stores)."""
    m, p = res.mention, res.place
    return {"mention": [getattr(m, f) for f in _MENTION_FIELDS],
            "place": None if p is None else [getattr(p, f) for f in _PLACE_FIELDS],
            "confidence": res.confidence, "reason": res.reason, "candidates": res.candidates,
            "role": res.role, "provenance": res.provenance}


def _thaw(value):
    """Data back from msgpack (tuples for lists) as JSON-like lists and dicts."""
    if isinstance(value, dict):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _resolution(data: dict[str, Any]) -> Resolution:
    place = data["place"]
    return Resolution(Mention(*data["mention"]), None if place is None else Place(*place),
                      data["confidence"], data["reason"], data["candidates"], data["role"],
                      _thaw(data["provenance"]))


def _get_places(doc: Doc) -> Optional[List[Resolution]]:
    data = doc._.geomap
    if data is None:
        return None
    return [_resolution(d) for d in data["resolutions"] if d["place"] is not None]


def _get_unresolved(doc: Doc) -> Optional[List[Resolution]]:
    data = doc._.geomap
    if data is None:
        return None
    return [_resolution(d) for d in data["resolutions"] if d["place"] is None]


def _get_span_place(span: Span) -> Optional[Place]:
    data = span.doc._.geomap
    if data is None:
        return None
    inside = []
    for d in data["resolutions"]:
        start, end = d["mention"][1], d["mention"][2]
        if (start, end) == (span.start_char, span.end_char):
            return None if d["place"] is None else Place(*d["place"])
        if span.start_char <= start and end <= span.end_char:
            inside.append(d)
    if len(inside) == 1 and inside[0]["place"] is not None:
        return Place(*inside[0]["place"])
    return None


def _register_extensions() -> None:
    if not Doc.has_extension("geomap"):
        Doc.set_extension("geomap", default=None)
    if not Doc.has_extension("places"):
        Doc.set_extension("places", getter=_get_places)
    if not Doc.has_extension("geomap_unresolved"):
        Doc.set_extension("geomap_unresolved", getter=_get_unresolved)
    if not Span.has_extension("place"):
        Span.set_extension("place", getter=_get_span_place)


_register_extensions()


class GeomapComponent:
    """Resolves the place names of a spaCy ``Doc`` against geomap's offline gazetteer.

    Parameters
    ----------
    nlp : spacy.language.Language
        The pipeline the component belongs to (its stop words guide the name matcher).
    name : str
        The component's name in the pipeline.
    gazetteer : str, PathLike or gazetteer.Gazetteer, optional
        Gazetteer file (default: ``$GEOMAP_GAZETTEER`` or the user cache file, built on first
        use in about 30 s).
    offline : bool
        True (the default): no network. False: names the gazetteer lacks are looked up online
        with ``fallback`` (see :class:`geomap.api.Geoparser`).
    fallback : str, optional
        geopy service name of the online geocoder (``"nominatim"``), used when not offline.
    fallback_below : float
        Confidence (0..1) under which a gazetteer resolution is also checked online.
    gazetteer_matches : bool
        Also propose prominent gazetteer names that the entity recogniser missed (label ``GAZ``).

    Raises
    ------
    GazetteerError
        If the gazetteer cannot be opened.
    """

    def __init__(self, nlp: Language, name: str = "geomap", *, gazetteer=None, offline: bool = True,
                 fallback: Optional[str] = "nominatim", fallback_below: float = 0.0,
                 gazetteer_matches: bool = True):
        from gazetteer import Gazetteer

        from .api import _make_fallback, open_gazetteer
        from .recognize import Recognizer
        from .resolve import Resolver

        self.name = name
        self.gazetteer = gazetteer if isinstance(gazetteer, Gazetteer) else open_gazetteer(gazetteer)
        names = self.gazetteer.prominent_names() if gazetteer_matches else None
        self.recognizer = Recognizer(nlp, names=names)
        self.offline, fallback_callable = _make_fallback(fallback, offline)
        self.resolver = Resolver(self.gazetteer, fallback=fallback_callable, fallback_below=fallback_below)

    def __call__(self, doc: Doc) -> Doc:
        """Set ``doc._.places``, ``span._.place`` and ``doc.spans["geomap"]`` (see the module docs)."""
        resolutions = self.resolve(doc)
        self.set_annotations(doc, resolutions)
        return doc

    def pipe(self, stream, *, batch_size: int = 128):
        """Process docs one by one (resolution has no batch step)."""
        for doc in stream:
            yield self(doc)

    def resolve(self, doc: Doc) -> List[Resolution]:
        """The resolutions of a doc's toponym mentions, in text order, without changing the doc.

        A doc without sentence boundaries (no parser, senter or sentencizer in the pipeline)
        is read with one sentence per line.
        """
        source = doc
        if not doc.has_annotation("SENT_START"):
            source = doc.copy()
            for i, token in enumerate(source):
                before = source[i - 1] if i else None
                token.is_sent_start = before is None or "\n" in before.text or "\n" in before.whitespace_
        mentions = list(self.recognizer._mentions(source, 0))
        return self.resolver.resolve(Document(id="doc", text=doc.text, source=None), mentions)

    def set_annotations(self, doc: Doc, resolutions: List[Resolution]) -> None:
        """Store the resolutions in ``doc._.geomap`` and the mention spans in ``doc.spans``."""
        doc._.geomap = {"resolutions": [_resolution_data(r) for r in resolutions]}
        spans = []
        for res in resolutions:
            span = doc.char_span(res.mention.start, res.mention.end, label=res.mention.label,
                                 alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.spans["geomap"] = spans


@Language.factory(
    "geomap",
    default_config={"gazetteer": None, "offline": True, "fallback": "nominatim", "fallback_below": 0.0,
                    "gazetteer_matches": True},
    requires=["doc.ents"],
    assigns=["doc._.geomap", "doc._.places", "doc._.geomap_unresolved", "span._.place", "doc.spans"],
)
def make_geomap(nlp: Language, name: str, gazetteer: Optional[str], offline: bool, fallback: Optional[str],
                fallback_below: float, gazetteer_matches: bool) -> GeomapComponent:
    """Create the ``geomap`` component (``nlp.add_pipe("geomap", config={...})``).

    Parameters
    ----------
    nlp : spacy.language.Language
    name : str
    gazetteer : str or None
        Path of the gazetteer SQLite file; None: ``$GEOMAP_GAZETTEER`` or the user cache.
    offline : bool
        Default true: the component never uses the network.
    fallback : str or None
        geopy service name of the online geocoder when ``offline`` is false.
    fallback_below : float
        Confidence (0..1) under which a resolution is also checked online.
    gazetteer_matches : bool
        Propose prominent gazetteer names that NER missed.

    Returns
    -------
    GeomapComponent
    """
    return GeomapComponent(nlp, name, gazetteer=gazetteer, offline=offline, fallback=fallback,
                           fallback_below=fallback_below, gazetteer_matches=gazetteer_matches)
