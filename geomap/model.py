"""The small data model shared by every pipeline stage.

Data flows one way: :class:`Document` (ingest) → :class:`Mention` (recognize) →
:class:`Resolution` holding a :class:`Place` or an unresolved reason (resolve) →
:class:`GeoparseResult` (render / export). Every class is a frozen dataclass with
``to_dict()`` giving the JSON contract of ``geomap extract --format json``. This module
imports nothing from geomap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "Mention", "Place", "Resolution", "DocumentResult", "GeoparseResult", "haversine_km",
           "EARTH_RADIUS_KM"]

#: Mean Earth radius (IUGG), km: the value the geoparsing evaluations use.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in decimal degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Document:
    """One article to geoparse.

    Attributes
    ----------
    id : str
        Stable identifier, unique within a run (file stem, JSONL ``id`` field...).
    text : str
        The full text; mention offsets are Python (code point) offsets into it.
    source : str or None
        Where the text came from: a file path, ``"<stdin>"``, ``"<string>"``.
    title, date, url : str or None
        Optional metadata shown in map popups.
    """

    id: str
    text: str
    source: str | None = None
    title: str | None = None
    date: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Mention:
    """A toponym as written in a document.

    Attributes
    ----------
    text : str
        The surface form, ``document.text[start:end]``.
    start, end : int
        Code point offsets into the document text (end exclusive).
    sentence : str
        The sentence containing the mention, as it appears in the text (stripped).
    sentence_start : int
        Offset of ``sentence`` in the document text, so that the mention sits at
        ``start - sentence_start`` inside it.
    label : str
        The spaCy entity label that proposed it (GPE, LOC, FAC, ORG, PERSON, NORP).
    """

    text: str
    start: int
    end: int
    sentence: str
    sentence_start: int
    label: str


@dataclass(frozen=True)
class Place:
    """A gazetteer (or geocoder) record that a mention resolves to.

    Attributes
    ----------
    key : str
        Stable gazetteer key, unique across sources (``"geonames:587084"``, ``"ne:AZ"``,
        ``"curated:south-caucasus"``); used to group mentions into one map marker.
    name : str
        Preferred English name.
    lat, lon : float
        WGS84 latitude and longitude in decimal degrees.
    country_code : str or None
        ISO 3166-1 alpha-2 code; None for places spanning several countries.
    feature_class, feature_code : str
        GeoNames feature class (A, P, L, H, S, T, V) and code (PCLI, PPLC, RGN, SEA...).
    geonameid : int or None
        GeoNames id when the record comes from GeoNames, else None.
    population : int or None
        Population where known.
    source : str
        Dataset the coordinates came from (``"geonames"``, ``"naturalearth"``, ``"curated"``).
    """

    key: str
    name: str
    lat: float
    lon: float
    country_code: str | None
    feature_class: str
    feature_code: str
    geonameid: int | None = None
    population: int | None = None
    source: str = "geonames"

    @property
    def kind(self) -> str:
        """Coarse kind for display: ``"country"``, ``"region"`` (regions, seas, areas) or ``"city"``/``"site"``."""
        if self.feature_class == "A" and self.feature_code.startswith("PCL"):
            return "country"
        if self.feature_class in ("L", "H", "T") or self.feature_class == "A":
            return "region"
        if self.feature_class == "S":
            return "site"
        return "city"


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one mention: a place, or an explicit reason why not.

    Attributes
    ----------
    mention : Mention
    place : Place or None
        None when unresolved; ``reason`` then says why.
    confidence : float
        0..1; 0 when unresolved.
    reason : str or None
        Why the mention is unresolved (``"no gazetteer match"``, ``"missing coordinates"``...).
    candidates : int
        Number of gazetteer candidates considered.
    role : str
        How the text uses the place: ``"literal"`` (a location), ``"metonymic"`` (a place
        standing for its government or institution: "the Kremlin said", "Washington urged")
        or ``"demonym"`` (an adjective or inhabitant name: "Armenian" → Armenia).
    provenance : dict or None
        How the place was chosen: ``matched_name``, ``name_kind`` (official, short,
        abbreviation, alternate, historic, demonym, curated), ``candidates``, ``score``,
        ``runner_up`` (``{"name", "country_code", "feature_code", "score"}`` or None) and
        ``rules`` (names of the rules that fired).
    """

    mention: Mention
    place: Place | None
    confidence: float = 0.0
    reason: str | None = None
    candidates: int = 0
    role: str = "literal"
    provenance: dict[str, Any] | None = None

    @property
    def resolved(self) -> bool:
        """True when the mention has a place."""
        return self.place is not None

    def to_dict(self) -> dict[str, Any]:
        """The mention object of the JSON contract (``text, start, end, sentence, label, role,
        place, provenance``)."""
        m = self.mention
        place = None
        if self.place is not None:
            p = self.place
            place = {
                "name": p.name,
                "lat": p.lat,
                "lon": p.lon,
                "country_code": p.country_code,
                "feature_class": p.feature_class,
                "feature_code": p.feature_code,
                "geonameid": p.geonameid,
                "population": p.population,
                "source": p.source,
                "confidence": round(self.confidence, 3),
            }
        return {"text": m.text, "start": m.start, "end": m.end, "sentence": m.sentence,
                "label": m.label, "role": self.role, "place": place, "provenance": self.provenance}


@dataclass(frozen=True)
class DocumentResult:
    """A document with the resolution of every mention found in it, in text order."""

    document: Document
    resolutions: tuple[Resolution, ...]

    @property
    def unresolved(self) -> list[Resolution]:
        """Resolutions without a place."""
        return [r for r in self.resolutions if r.place is None]

    def to_dict(self) -> dict[str, Any]:
        """The document object of the JSON contract: ``id``, ``source``, ``mentions``."""
        d = self.document
        out: dict[str, Any] = {"id": d.id, "source": d.source}
        for extra in ("title", "date", "url"):
            if getattr(d, extra):
                out[extra] = getattr(d, extra)
        out["mentions"] = [r.to_dict() for r in self.resolutions]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, reasons: dict[tuple[int, int], str] | None = None,
                  shared: dict | None = None) -> DocumentResult:
        """Rebuild a document result from its object in the JSON contract (:meth:`to_dict`).

        The contract leaves out the document text, the sentence offsets and the gazetteer keys,
        so: ``document.text`` is ``""``; ``Mention.sentence_start`` is recovered from where the
        mention sits in its sentence (one offset per sentence, consistent for all its mentions);
        ``Place.key`` is the gazetteer key for GeoNames records (``"geonames:<id>"``), else
        ``"<source>:<feature code>:<name>@<lat>,<lon>"``, which groups the mentions of one place
        as the gazetteer key does.

        Parameters
        ----------
        data : dict
            ``{"id", "source", "mentions": [...]}`` with optional ``title``, ``date``, ``url``.
        reasons : dict, optional
            ``(start, end) -> reason`` of this document's unresolved mentions (the ``unresolved``
            list of the JSON form); without it an unresolved mention's reason is
            ``"unresolved"``.
        shared : dict, optional
            A cache kept across calls (start with ``{}``): equal places, provenance records and
            short strings then become one object each, and a sentence is stored once per
            document, so a million mentions take a fraction of the memory. Shared provenance
            dicts must not be modified.

        Returns
        -------
        DocumentResult

        Raises
        ------
        KeyError, TypeError, ValueError
            If ``data`` does not follow the contract (a missing field, a non-number offset).
        """
        document = Document(id=str(data["id"]), text="", source=data.get("source"), title=data.get("title"),
                            date=data.get("date"), url=data.get("url"))
        resolutions = []
        items = data["mentions"]
        starts = _sentence_starts(items)
        one = (lambda value: value) if shared is None else (lambda value: shared.setdefault(value, value))
        sentences: dict[str, str] = {}
        for item, sentence_start in zip(items, starts):
            text, start, end, sentence = item["text"], int(item["start"]), int(item["end"]), item["sentence"]
            mention = Mention(text=one(text), start=start, end=end, sentence=sentences.setdefault(sentence, sentence),
                              sentence_start=sentence_start, label=one(item.get("label", "")))
            provenance = item.get("provenance")
            if shared is not None and isinstance(provenance, dict):
                import json
                provenance = shared.setdefault(("provenance", json.dumps(provenance, sort_keys=True)), provenance)
            candidates = provenance.get("candidates", 0) if isinstance(provenance, dict) else 0
            place_data = item.get("place")
            if place_data is None:
                reason = (reasons or {}).get((start, end), "unresolved")
                resolutions.append(Resolution(mention, None, 0.0, reason, candidates or 0,
                                              item.get("role", "literal"), provenance))
                continue
            place = Place(key=_place_key(place_data), name=place_data["name"], lat=float(place_data["lat"]),
                          lon=float(place_data["lon"]), country_code=place_data.get("country_code"),
                          feature_class=place_data.get("feature_class") or "", feature_code=place_data.get(
                              "feature_code") or "", geonameid=place_data.get("geonameid"),
                          population=place_data.get("population"), source=place_data.get("source") or "geonames")
            place = one(place)  # frozen and hashable: equal places become one object
            resolutions.append(Resolution(mention, place, float(place_data.get("confidence") or 0.0), None,
                                          candidates or 0, item.get("role", "literal"), provenance))
        return cls(document, tuple(resolutions))


@dataclass(frozen=True)
class GeoparseResult:
    """Everything a run produced: per-document results, plus inputs that were skipped.

    ``skipped`` holds ``(source, reason)`` pairs for inputs that could not be read; they are
    reported, never silently dropped.
    """

    documents: tuple[DocumentResult, ...]
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def resolutions(self) -> list[Resolution]:
        """All resolutions of all documents, in order."""
        return [r for d in self.documents for r in d.resolutions]

    @property
    def places(self) -> list[Place]:
        """Distinct resolved places, in order of first mention."""
        seen: dict[str, Place] = {}
        for r in self.resolutions:
            if r.place is not None and r.place.key not in seen:
                seen[r.place.key] = r.place
        return list(seen.values())

    def unresolved_dicts(self) -> list[dict[str, Any]]:
        """The ``unresolved`` list of the JSON contract: one object per unresolved mention."""
        return [{"document": d.document.id, "text": r.mention.text, "start": r.mention.start,
                 "end": r.mention.end, "reason": r.reason}
                for d in self.documents for r in d.unresolved]

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``{"documents": [...], "unresolved": [...]}``."""
        return {"documents": [d.to_dict() for d in self.documents],
                "unresolved": self.unresolved_dicts()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeoparseResult:
        """Rebuild a result from the JSON contract (:meth:`to_dict`), without re-parsing.

        Each document as :meth:`DocumentResult.from_dict` rebuilds it (no document text);
        unresolved mentions take their reason from the ``unresolved`` list.

        Parameters
        ----------
        data : dict
            ``{"documents": [...], "unresolved": [...]}`` (``unresolved`` may be missing).

        Returns
        -------
        GeoparseResult
            ``skipped`` is empty: the contract does not record skipped inputs.

        Raises
        ------
        KeyError, TypeError, ValueError
            If ``data`` does not follow the contract.
        """
        reasons: dict[str, dict[tuple[int, int], str]] = {}
        for item in data.get("unresolved") or ():
            reasons.setdefault(str(item["document"]), {})[(int(item["start"]), int(item["end"]))] = item["reason"]
        shared: dict = {}
        return cls(tuple(DocumentResult.from_dict(d, reasons=reasons.get(str(d["id"])), shared=shared)
                         for d in data["documents"]))


def _fits(item: dict[str, Any], sentence_start: int) -> bool:
    at = int(item["start"]) - sentence_start
    return at >= 0 and item["sentence"][at:at + len(item["text"])] == item["text"]


def _whole_word(sentence: str, at: int, length: int) -> bool:
    return not (at > 0 and sentence[at - 1].isalnum()) and not (
        at + length < len(sentence) and sentence[at + length].isalnum())


def _sentence_starts(items: list[dict[str, Any]]) -> list[int]:
    """Offsets of the sentences of mention objects in the document text (see
    :meth:`DocumentResult.from_dict`): for each run of mentions of one sentence, the offset at
    which most of them sit where their sentence shows them ("Europe ... across Europe": the
    second one when the next mention says so)."""
    starts: list[int] = []
    k = 0
    while k < len(items):
        sentence = items[k]["sentence"]
        end = k
        while end < len(items) and items[end]["sentence"] == sentence:
            end += 1
        run = items[k:end]
        text, first = run[0]["text"], int(run[0]["start"])
        options = [first - at for at in range(len(sentence)) if text and sentence.startswith(text, at)] or [first]
        # Most mentions in place, then a whole word ("Tunis", not inside "Tunisian"), then the first.
        best = max(options, key=lambda s: (sum(_fits(item, s) for item in run), _whole_word(sentence, first - s,
                                                                                               len(text))))
        for item in run:
            if _fits(item, best):
                starts.append(best)
            else:  # the same sentence written twice in the document
                at = item["sentence"].find(item["text"])
                starts.append(int(item["start"]) - (at if at >= 0 else 0))
        k = end
    return starts


def _place_key(place: dict[str, Any]) -> str:
    """The gazetteer key of a place object of the JSON contract (see
    :meth:`DocumentResult.from_dict`)."""
    if place.get("source") == "geonames" and place.get("geonameid") is not None:
        return f"geonames:{place['geonameid']}"
    return f"{place.get('source')}:{place.get('feature_code')}:{place['name']}@{place['lat']},{place['lon']}"
