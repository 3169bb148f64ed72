"""Resolution: choose the place each mention refers to, from offline gazetteer candidates.

For each mention the gazetteer gives every place with that (normalised) name. Candidates are
ranked by a prior — curated entries, then countries, continents and capitals, first-level
divisions, then other places by population, with a penalty for matches through alternate
names — plus a bonus for candidates in countries the same document mentions. Spans that the
NER model labelled ORG, PERSON or NORP are kept only when their best candidate is a strong
kind of place and they do not look like part of a person's name.

Every mention that is a toponym keeps a :class:`~geomap.model.Resolution`: with a place, or
with an explicit reason. One unresolvable name never drops the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gazetteer import Candidate, Gazetteer, GazetteerPlace

from .model import Document, Mention, Place, Resolution
from .recognize import CONDITIONAL_LABELS

__all__ = ["Resolver", "Fallback", "prior", "is_strong", "to_place", "ScoredCandidate"]

#: A fallback resolver (e.g. an online geocoder) asked for names the gazetteer cannot resolve:
#: called with the mention and the ISO alpha-2 codes of the countries the document mentions,
#: it returns ``(place, confidence)`` or ``(None, reason)``. It must not raise.
Fallback = Callable[[Mention, frozenset[str]], "tuple[Place, float] | tuple[None, str]"]

# Name kinds that mean "this word is a place name" (demonyms are not toponyms).
_TOPONYM_KINDS = frozenset({"official", "short", "abbreviation", "alternate", "historic"})
_KIND_PENALTY = {"official": 0.0, "short": 0.0, "abbreviation": 0.0, "historic": 8.0, "alternate": 12.0}
# Bonus for a candidate inside a country the document names elsewhere (points of prior).
_CONTEXT_BONUS = 25.0
_HYPHENS = re.compile(r"\s*[-‐‑–—]\s*")
_NEXT_WORD = re.compile(r"[ \t]+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_PREV_WORD = re.compile(r"\b([A-Z][a-z]+)[ \t]+$")


def is_strong(place: GazetteerPlace) -> bool:
    """True for the kinds of place that make a bare name a toponym: countries, capitals,
    first-level divisions, continents and curated regions, seas and landmarks."""
    return (place.source == "curated" or place.feature_code.startswith("PCL")
            or place.feature_code in ("PPLC", "ADM1", "CONT"))


def prior(candidate: Candidate) -> float:
    """Context-free score of a candidate, in points (higher is more likely).

    Curated 95, independent countries 90, continents 85, capitals 80, dependencies 75,
    first-level divisions 65, other places 10·log10(population + 1) (at most 75); minus a
    penalty for matching through an alternate (12) or historic (8) name.
    """
    place = candidate.place
    code = place.feature_code
    population = place.population or 0
    if place.source == "curated":
        score = 95.0
    elif code == "PCLI":
        score = 90.0
    elif code == "CONT":
        score = 85.0
    elif code == "PPLC":
        score = 80.0 + math.log10(population + 1) / 2
    elif code.startswith("PCL"):
        score = 75.0
    elif code == "ADM1":
        score = 65.0 + math.log10(population + 1) / 2
    else:
        score = min(75.0, 10.0 * math.log10(population + 1))
    return score - _KIND_PENALTY.get(candidate.name_kind, 20.0)


def to_place(place: GazetteerPlace) -> Place:
    """Convert a gazetteer row to the model's :class:`~geomap.model.Place`."""
    return Place(key=place.key, name=place.name, lat=float(place.lat), lon=float(place.lon),
                 country_code=place.country_code, feature_class=place.feature_class,
                 feature_code=place.feature_code, geonameid=place.geonameid,
                 population=place.population, source=place.source)


@dataclass(frozen=True)
class ScoredCandidate:
    """A candidate with its score in context (prior plus bonuses, points)."""

    candidate: Candidate
    score: float


def _has_coordinates(place: GazetteerPlace) -> bool:
    return (place.lat is not None and place.lon is not None
            and math.isfinite(place.lat) and math.isfinite(place.lon)
            and -90 <= place.lat <= 90 and -180 <= place.lon <= 180)


class Resolver:
    """Resolves the mentions of one document against an offline gazetteer.

    Parameters
    ----------
    gazetteer : gazetteer.Gazetteer
        Where candidates come from (lookups are cached by the gazetteer).
    fallback : Fallback, optional
        Asked for toponyms with no gazetteer candidate, and for those resolved with a
        confidence below ``fallback_below``; its place is used when it finds one.
    fallback_below : float
        Confidence (0..1) under which a gazetteer resolution is checked with the fallback.
    """

    def __init__(self, gazetteer: Gazetteer, *, fallback: Fallback | None = None,
                 fallback_below: float = 0.0):
        self.gazetteer = gazetteer
        self.fallback = fallback
        self.fallback_below = fallback_below

    def candidates(self, name: str) -> list[Candidate]:
        """Toponym candidates for a name (demonym matches left out), unranked."""
        return [c for c in self.gazetteer.lookup(name) if c.name_kind in _TOPONYM_KINDS]

    def rank(self, name: str, countries: frozenset[str] = frozenset()) -> list[ScoredCandidate]:
        """Candidates for ``name``, best first, with the context bonus for ``countries``
        (ISO alpha-2 codes the document mentions)."""
        scored = []
        for cand in self.candidates(name):
            score = prior(cand)
            code = cand.place.country_code
            if code and code in countries and not cand.place.feature_code.startswith("PCL"):
                score += _CONTEXT_BONUS
            scored.append(ScoredCandidate(cand, score))
        scored.sort(key=lambda s: (-s.score, -(s.candidate.place.population or 0), s.candidate.place.id))
        return scored

    def resolve(self, document: Document, mentions: Sequence[Mention]) -> list[Resolution]:
        """Resolve the mentions of one document.

        Parameters
        ----------
        document : Document
            The document the mentions come from (its text is read around conditional spans).
        mentions : sequence of Mention
            From :class:`~geomap.recognize.Recognizer`, in text order.

        Returns
        -------
        list of Resolution
            In text order. Mentions labelled ORG/PERSON/NORP that are not strong places are
            left out (they are not toponyms); every other mention is present, resolved or with
            a reason. A hyphenated span made of place names ("Armenia-Azerbaijan") becomes one
            resolution per name.
        """
        kept: list[Mention] = []
        for mention in mentions:
            kept.extend(self._split_compound(mention))
        # First pass, no context: which countries does the document clearly talk about?
        countries: set[str] = set()
        for mention in kept:
            ranked = self.rank(mention.text)
            if ranked and self._accept(document, mention, ranked):
                best = ranked[0].candidate.place
                if best.country_code and is_strong(best):
                    countries.add(best.country_code)
        context = frozenset(countries)
        resolutions = []
        for mention in kept:
            ranked = self.rank(mention.text, context)
            if ranked and not self._accept(document, mention, ranked):
                continue
            if not ranked:
                if mention.label in CONDITIONAL_LABELS:
                    continue
                resolutions.append(self._ask_fallback(
                    Resolution(mention, None, 0.0, "no gazetteer match", 0), context))
                continue
            best = ranked[0].candidate.place
            if not _has_coordinates(best):
                resolutions.append(self._ask_fallback(
                    Resolution(mention, None, 0.0, "missing coordinates", len(ranked)), context))
                continue
            resolution = Resolution(mention, to_place(best), self._confidence(ranked), None, len(ranked))
            if resolution.confidence < self.fallback_below:
                resolution = self._ask_fallback(resolution, context)
            resolutions.append(resolution)
        return resolutions

    def _ask_fallback(self, resolution: Resolution, context: frozenset[str]) -> Resolution:
        """The fallback's answer when it has one, else ``resolution`` unchanged (an unresolved
        one gets the fallback's reason appended)."""
        if self.fallback is None:
            return resolution
        place, detail = self.fallback(resolution.mention, context)
        if place is not None:
            return Resolution(resolution.mention, place, float(detail), None, resolution.candidates + 1)
        if resolution.place is None and detail:
            return Resolution(resolution.mention, None, 0.0, f"{resolution.reason}; {detail}",
                              resolution.candidates)
        return resolution

    def _split_compound(self, mention: Mention) -> list[Mention]:
        """"Armenia-Azerbaijan" → Armenia, Azerbaijan when the whole is not a name but each
        part is a strong place; otherwise the mention unchanged."""
        if not _HYPHENS.search(mention.text) or self.candidates(mention.text):
            return [mention]
        parts, pos = [], 0
        for piece in _HYPHENS.split(mention.text):
            idx = mention.text.index(piece, pos)
            pos = idx + len(piece)
            ranked = self.rank(piece)
            if not piece or not ranked or not is_strong(ranked[0].candidate.place):
                return [mention]
            parts.append(Mention(piece, mention.start + idx, mention.start + idx + len(piece),
                                 mention.sentence, mention.sentence_start, mention.label))
        return parts

    def _accept(self, document: Document, mention: Mention, ranked: list[ScoredCandidate]) -> bool:
        if mention.label not in CONDITIONAL_LABELS:
            return True
        if not is_strong(ranked[0].candidate.place):
            return False
        # "Ararat Mirzoyan", "Jordan Vale": a capitalised unknown word next to the span
        # makes it part of a person's or organisation's name.
        text = document.text
        after = _NEXT_WORD.match(text, mention.end)
        if after and not self.gazetteer.has_name(after.group(1)):
            return False
        before = _PREV_WORD.search(text, max(0, mention.start - 40), mention.start)
        if before and not self.gazetteer.has_name(before.group(1)):
            line_start = text.rfind("\n", 0, before.start()) + 1
            if text[line_start:before.start()].strip() and not re.search(r"[.!?]\s*$", text[:before.start()]):
                return False
        return True

    @staticmethod
    def _confidence(ranked: list[ScoredCandidate]) -> float:
        """0..1 from the margin between the best and the runner-up score."""
        best = ranked[0]
        if len(ranked) == 1:
            margin = 40.0  # no rival at all: as sure as a clear winner
        else:
            margin = best.score - ranked[1].score
        confidence = 1.0 / (1.0 + math.exp(-margin / 8.0))
        if best.candidate.name_kind in ("alternate", "historic"):
            confidence *= 0.9
        return round(min(0.99, confidence), 3)
