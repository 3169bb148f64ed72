"""Resolution: choose the place each mention refers to, from offline gazetteer candidates.

For each mention the gazetteer gives every place with that (normalised) name. Candidates are
ranked by a prior — curated entries, then countries, continents and capitals, first-level
divisions, then other places by population, with a penalty for matches through alternate
names — plus bonuses from the document:

- a qualifier right after the name ("Paris, TX", "Cambridge, Massachusetts", "Athens,
  Georgia") favours candidates inside that first-level division or country;
- candidates inside countries (and first-level divisions) the document clearly names elsewhere
  are favoured (Georgia next to Tbilisi is the country; Georgia next to Atlanta the US state).

Spans that the NER model labelled ORG, PERSON or NORP, and names found only by the gazetteer
matcher (label ``GAZ``), are kept when the gazetteer knows them as a strong kind of place and
they are not part of a person's name, or when a locative preposition precedes them ("in
Cirencester"). A name known only as a demonym ("Armenian") resolves to its country with role
``demonym``; a capital, country or seat of power that speaks or acts ("the Kremlin said",
"Washington urged") gets role ``metonymic`` and stays mapped to the place.

Every mention that is a toponym keeps a :class:`~geomap.model.Resolution`: with a place, or
with an explicit reason. One unresolvable name never drops the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gazetteer import Candidate, Gazetteer, GazetteerPlace, normalize_name

from .model import Document, Mention, Place, Resolution, haversine_km
from .recognize import CONDITIONAL_LABELS, GENERIC_WORDS

__all__ = ["Resolver", "Fallback", "prior", "is_strong", "to_place", "ScoredCandidate"]

#: A fallback resolver (e.g. an online geocoder) asked for names the gazetteer cannot resolve:
#: called with the mention and the ISO alpha-2 codes of the countries the document mentions,
#: it returns ``(place, confidence)`` or ``(None, reason)``. It must not raise.
Fallback = Callable[[Mention, frozenset[str]], "tuple[Place, float] | tuple[None, str]"]

# Name kinds that mean "this word is a place name" (demonyms are not toponyms).
_TOPONYM_KINDS = frozenset({"official", "short", "abbreviation", "alternate", "historic"})
_KIND_PENALTY = {"official": 0.0, "short": 0.0, "abbreviation": 0.0, "historic": 8.0, "alternate": 12.0}
# Points added to a candidate's prior (see the module docstring).
_CONTEXT_COUNTRY_BONUS = 25.0
_CONTEXT_ADMIN1_BONUS = 15.0
# A town with less than 1/_DWARFED_RATIO of the population of the biggest place of that name
# gains nothing from the document's countries alone (its division must be named too).
_DWARFED_RATIO = 100
# A first-level division holding a place named in the same sentence.
_SENTENCE_ADMIN1_BONUS = 30.0
_QUALIFIER_BONUS = 50.0
# A city named as the qualifier of a place this close to it is the qualifier's meaning
# ("Queens, New York", "Shibuya, Tokyo"), km.
_QUALIFYING_CITY_KM = 30.0
# A name in a list of first-level divisions of one country ("Texas, Georgia and Ohio") or of
# countries ("Armenia, Georgia and Iran") is read as one of the same kind.
_LIST_BONUS = 40.0
# How many other first-level divisions of a country a document must name for a country's name
# that is also one of that country's divisions ("Georgia") to mean the division.
_DIVISIONS_FOR_A_COUNTRY_NAME = 2
# "Washington state", "the state of New York", "New York Governor", "Hubei province".
_DIVISION_CUE_BONUS = 40.0
# Spatial coherence: a candidate this close to a place the document clearly names (km) gains
# this many points (Paris next to Dallas is Paris, Texas, even across an unmentioned border).
_NEAR_KM = 300.0
_NEAR_BONUS = 12.0
# A division whose name is also the name of a town of ≥ 1,000 inhabitants inside it ("Shusha"
# for Shusha Rayon, "Dubai" for the emirate, "New York" for the state) yields to the town unless
# the text says it means the division ("New York state", "Buffalo, New York", a list of states):
# its score is held this many points under the town's.
# A town's alternate name shadows only a division's alternate name ("Lachin" for Laçın), unless
# the town has a million inhabitants ("New York" for New York City): GeoNames lists "Alabama"
# among Huntsville's alternate names, and the state keeps its official name.
_SHADOWED_MARGIN = 1.0
_SHADOWING_TOWN_POPULATION = 1000
_SHADOWING_CITY_POPULATION_BY_ALIAS = 1_000_000
# Context-free rankings kept per Resolver (names; cleared when full).
_FREE_RANK_CACHE_LIMIT = 50_000
# The least population for a non-strong place proposed by a conditional label with a
# locative preposition in front ("in Cirencester").
_LOCATIVE_MIN_POPULATION = 1000

_HYPHENS = re.compile(r"\s*[-‐‑–—]\s*")
_NEXT_WORD = re.compile(r"[ \t]+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_PREV_WORD = re.compile(r"\b([A-Z][a-z]+)[ \t]+$")
_LOCATIVE = re.compile(r"(?:\b(?:in|at|from|near|into|across|outside|inside|around|throughout|via|towards?|"
                       r"between|through|reached|visited|entered)|(?<!according )(?<!thanks )(?<!due )(?<!next )"
                       r"(?<!close )(?<!up )\bto)\s+(?:the\s+)?$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{4,}")   # words of four letters or more: "of", "in", "and" stay lower case
# A name right after another place name in a list: "Tehran, Isfahan and Shiraz".
_LISTED_AFTER = re.compile(r"\b([A-Z][\w'’-]+(?:[ \t]+[A-Z][\w'’-]+)?)[ \t]*(?:,|[ \t]and|[ \t]or)[ \t]+$")
# Words that follow a place at the head of an organisation's name ("the U.S. Army", "the
# California Department of Public Health"), where a capitalised neighbour is no person's name.
_ORGANISATION_WORDS = frozenset(
    "army navy air force forces marines centers centres center centre department ministry government embassy "
    "consulate senate congress parliament house court bank agency institute university council office police "
    "coast guard national state federal food health public geological space defense defence foreign "
    "border customs red cross".split())
# What makes an unknown name a place: a settlement word ("the village of") or a locative
# preposition right before it.
_UNKNOWN_PLACE_CUE = re.compile(
    r"(?:\b(?:village|town|city|hamlet|settlement|province|region|district|county|municipality|port|island|"
    r"valley|river|lake|mount|camp)\s+of\s+|\b(?:in|at|near|outside|inside|via|into)\s+)$", re.IGNORECASE)
# "Paris, TX", "Cambridge, Massachusetts", "Athens, Georgia", "Victoria, British Columbia".
_CODE = re.compile(r"[A-Z]{2}|[A-Z]\.[A-Z]\.")
# How many of a qualified name's best candidates vote on what its qualifier means.
_QUALIFIED_CANDIDATES = 5
# What may stand between two names of one list: "A, B", "A and B", "A, or B", "A; B", "A & B".
_LIST_GAP = re.compile(r"[ \t]*(?:[,;&]|,?[ \t]+(?:and|or|&))[ \t]*")
# A division word right after or right before a name ("Washington state", "the state of New
# York", "Texas governor"), but not a country's state media or a university ("Ohio State
# University", "Georgia state television").
_DIVISION_AFTER = re.compile(
    r"[ \t]+(?:state|province|governor|gov\.)\b(?![-‐‑]|[ \t]+(?:media|television|tv|news|press|run|owned|"
    r"university|college|universities|broadcaster|agency|company|companies|enterprise|enterprises|"
    r"visit|duma)\b)",
    re.IGNORECASE)
_DIVISION_BEFORE = re.compile(r"\b(?:state|states|province|provinces|governor)[ \t]+of[ \t]+(?:the[ \t]+)?$",
                              re.IGNORECASE)
_QUALIFIER = re.compile(r",[ \t]*([A-Z]{2}\b|[A-Z]\.[A-Z]\.|[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,2})")
# A place name that names something else: "West Nile virus", "Marburg fever", "Spanish flu".
_NAMING_NOUN = re.compile(r"[ \t]*(?:-[ \t]*)?(?:(?:hemorrhagic|haemorrhagic|viral|spotted|valley|river)[ \t]+)?"
                          r"(?:virus|viruses|fever|disease|strain|flu|influenza|encephalitis|ebolavirus|syndrome|"
                          r"variant)\b", re.IGNORECASE)
_SPEECH_VERBS = ("said|says|say|stated|states|announced|announces|urged|urges|warned|warns|accused|accuses|"
                 "insisted|insists|denied|denies|called|calls|confirmed|confirms|condemned|condemns|rejected|"
                 "rejects|demanded|demands|threatened|threatens|responded|responds|agreed|agrees|claimed|claims|"
                 "welcomed|welcomes|wants|wanted|vowed|vows|signaled|signalled|signals|hopes|believes|argued|"
                 "argues|declined|declines|refused|refuses|decided|decides|plans|planned|approved|approves|"
                 "imposed|imposes|sanctioned|expelled|recalled|summoned|blamed|blames|insisted|pledged|pledges|"
                 "promised|promises|asked|asks|told|tells|added|adds|noted|notes|reported|reports|"
                 "criticized|criticised|praised|backed|backs|supports|supported|opposes|opposed|sent|sends")
_METONYMY = re.compile(r"(?:['’]s)?[ \t]+(?:(?:has|have|had|will|would|is|was|also|already|again|has\s+also)[ \t]+)*"
                       rf"(?:{_SPEECH_VERBS})\b")


def is_strong(place: GazetteerPlace) -> bool:
    """True for the kinds of place that make a bare name a toponym: countries, capitals,
    first-level divisions, continents and curated regions, seas and landmarks."""
    return (place.source == "curated" or place.feature_code.startswith("PCL")
            or place.feature_code in ("PPLC", "ADM1", "CONT"))


def prior(candidate: Candidate) -> float:
    """Context-free score of a candidate, in points (higher is more likely).

    Curated 95, independent countries 90, continents and multi-country regions 85, capitals 80,
    dependencies 75, first-level divisions 65, other places 10·log10(population + 1) (at most
    75); minus a penalty for matching through an alternate (12) or historic (8) name.
    """
    place = candidate.place
    code = place.feature_code
    population = place.population or 0
    if place.source == "curated":
        score = 95.0
    elif code == "PCLI":
        score = 90.0
    elif code == "CONT" or (code == "RGN" and place.feature_class == "L" and not place.country_code):
        # Continents, and regions spanning several countries (UN macro-regions: "Western Asia").
        score = 85.0
    elif code == "PPLC":
        score = 80.0 + math.log10(population + 1) / 2
    elif code.startswith("PCL"):
        score = 75.0
    elif code == "ADM1":
        score = 65.0 + math.log10(population + 1) / 2
    elif code == "ADM2":
        score = 55.0 + math.log10(population + 1) / 2
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
    """A candidate with its score in context (prior plus bonuses, points) and the rules that
    added to it."""

    candidate: Candidate
    score: float
    rules: tuple[str, ...] = ()


@dataclass
class _Context:
    """What the document tells about where it is: countries, first-level divisions, and
    per-mention qualifiers."""

    countries: dict[str, set[str]] = field(default_factory=dict)
    admin1: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    qualifiers: dict[int, frozenset[tuple[str, str | None]]] = field(default_factory=dict)
    # Per mention that is itself the qualifier of the name before it ("Georgia" in "Atlanta,
    # Georgia"): the divisions and countries it may name there.
    regions: dict[int, frozenset[tuple[str, str | None]]] = field(default_factory=dict)
    # ... and where the name it qualifies lies ("Brooklyn, New York" is the city around Brooklyn).
    qualified_points: dict[int, tuple[float, float]] = field(default_factory=dict)
    # Per mention in a list of divisions of one country or of countries: ("ADM1", code) or ("PCL", None).
    lists: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    division_cues: set[int] = field(default_factory=set)
    # Countries of every place the document names (towns too), by the normalised name.
    present: dict[str, set[str]] = field(default_factory=dict)
    # First-level divisions of the places each sentence names: sentence start → {(cc, admin1): names}.
    sentence_admin1: dict[int, dict[tuple[str, str], set[str]]] = field(default_factory=dict)
    skip: set[int] = field(default_factory=set)
    # Points (lat, lon) of the places the document clearly names, by the normalised name.
    # (A set: a name repeated a thousand times adds one point, not a thousand.)
    points: dict[str, set[tuple[float, float]]] = field(default_factory=dict)

    def points_around(self, name: str) -> list[tuple[float, float]]:
        """Points of the places the document's *other* names clearly refer to."""
        own = normalize_name(name)
        return list({p for key, pts in self.points.items() if key != own for p in pts})

    def present_around(self, name: str) -> frozenset[str]:
        """Countries of the places (of any size) the document's *other* names refer to."""
        return _named_by_others(self.present, normalize_name(name))

    def sentence_admin1_around(self, mention: Mention) -> frozenset[tuple[str, str]]:
        """First-level divisions of the places the *other* names of the mention's sentence
        refer to."""
        found = self.sentence_admin1.get(mention.sentence_start, {})
        return _named_by_others(found, normalize_name(mention.text))

    def around(self, name: str) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """Countries and divisions named by the document's *other* names, so that a name's
        own first guess ("Athens" → Greece) does not vote for itself."""
        own = normalize_name(name)
        return _named_by_others(self.countries, own), _named_by_others(self.admin1, own)


_Key = TypeVar("_Key")


def _named_by_others(named: dict[_Key, set[str]], own: str) -> frozenset[_Key]:
    """The keys of ``named`` (countries, divisions → the normalised names that point to them)
    that some name other than ``own`` points to."""
    return frozenset(key for key, names in named.items() if names - {own})


# Logistic weights of the confidence model, in the order of _confidence_features (fitted on
# gwn_dev + geovirus by bench/calibrate_confidence.py; refit when ranking rules change).
_CONFIDENCE_WEIGHTS = (0.877, 0.169, 0.514, -0.324, -0.757, 0.326, 0.46, 0.114, 0.086, -0.59, -0.126, 0.961, 0.095)


def _confidence_features(ranked: list[ScoredCandidate], mention: Mention, rules: Sequence[str]) -> list[float]:
    """Features of the confidence model: bias, margin/10 (capped at 40 points), single
    candidate, log(1 + candidates), alternate/historic name, demonym, country, populated place,
    first-level division, curated, conditional NER label, context bonus, qualifier or
    division word."""
    best = ranked[0]
    place = best.candidate.place
    margin = 40.0 if len(ranked) == 1 else min(40.0, best.score - ranked[1].score)
    return [1.0, margin / 10, float(len(ranked) == 1), math.log1p(len(ranked)),
            float(best.candidate.name_kind in ("alternate", "historic")), float(best.candidate.name_kind == "demonym"),
            float(place.feature_code.startswith("PCL")), float(place.feature_class == "P"),
            float(place.feature_code == "ADM1"), float(place.source == "curated"),
            float(mention.label in CONDITIONAL_LABELS), float(any(r.startswith("context") for r in rules)),
            float(any(r.startswith(("qualifier", "cue:")) for r in rules))]


def _shadowing_town_score(division: Candidate, towns: list[Candidate]) -> float | None:
    """The prior of the best town inside ``division`` that bears its name (see
    :data:`_SHADOWED_MARGIN`), or None when no town shadows it."""
    if division.name_kind not in ("official", "alternate"):
        return None
    place = division.place
    scores = [prior(t) for t in towns
              if t.place.country_code == place.country_code and t.place.admin1 == place.admin1
              and (t.name_kind == "official" or division.name_kind == "alternate"
                   or (t.place.population or 0) >= _SHADOWING_CITY_POPULATION_BY_ALIAS)]
    return max(scores) if scores else None


def _list_kind_of(place: GazetteerPlace) -> tuple[str, str | None] | None:
    """("ADM1", country) for a first-level division, ("PCL", None) for a country, else None."""
    if place.feature_code == "ADM1" and place.country_code:
        return ("ADM1", place.country_code)
    return ("PCL", None) if place.feature_code.startswith("PCL") else None


def _is_region(place: GazetteerPlace | None) -> bool:
    """Whether a place is a country, first-level division, continent or region (which a
    "City, Region" qualifier never qualifies)."""
    return place is not None and (place.feature_code.startswith("PCL") or place.feature_code in ("ADM1", "CONT", "RGN")
                                  or place.feature_class in ("L", "H"))


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
        self._casing_cache: list = [None, False]   # (last document text, is it Title Case)
        self._free_ranks: dict[str, list[ScoredCandidate]] = {}   # see rank()

    # -- candidates --------------------------------------------------------------------------

    def candidates(self, name: str) -> list[Candidate]:
        """Toponym candidates for a name (demonym matches left out), unranked."""
        return [c for c in self.gazetteer.lookup(name) if c.name_kind in _TOPONYM_KINDS]

    def demonym_of(self, name: str) -> Candidate | None:
        """The place a demonym or adjective names ("Armenian" → Armenia), or None."""
        found = [c for c in self.gazetteer.lookup(name) if c.name_kind == "demonym"]
        return max(found, key=lambda c: c.place.population or 0) if found else None

    def rank(self, name: str, countries: frozenset[str] = frozenset(), *,
             admin1: frozenset[tuple[str, str]] = frozenset(),
             qualifier: frozenset[tuple[str, str | None]] = frozenset(),
             regions: frozenset[tuple[str, str | None]] = frozenset(),
             qualified_at: tuple[float, float] | None = None,
             listed_as: tuple[str, str | None] | None = None,
             division_cue: bool = False,
             present: frozenset[str] | None = None,
             sentence_admin1: frozenset[tuple[str, str]] = frozenset(),
             near: Sequence[tuple[float, float]] = ()) -> list[ScoredCandidate]:
        """Candidates for ``name``, best first.

        Parameters
        ----------
        name : str
        countries : frozenset of str
            ISO alpha-2 codes of countries the document mentions (context bonus).
        admin1 : frozenset of (country_code, admin1_code)
            First-level divisions the document mentions (context bonus).
        near : sequence of (lat, lon)
            Points of places the document clearly names (capitals, divisions, landmarks): a
            candidate within :data:`_NEAR_KM` of one gains a spatial-coherence bonus.
        qualifier : frozenset of (country_code, admin1_code or None)
            What a qualifier written right after the name may mean ("Paris, TX" →
            {("US", "TX")}; "Athens, Georgia" → {("GE", None), ("US", "GA")}).
        regions : frozenset of (country_code, admin1_code or None)
            When the name is itself the qualifier of the name before it ("Georgia" in "Atlanta,
            Georgia"): where that name's candidates lie. Only a first-level division
            (country_code, admin1_code) or a country (country_code, None) among them gains,
            and a city within :data:`_QUALIFYING_CITY_KM` of ``qualified_at`` (lat, lon), the
            point of the qualified name ("Brooklyn, New York" is New York City).
        listed_as : ("ADM1", country_code) or ("PCL", None), optional
            The name stands in a list of that country's first-level divisions, or of countries
            ("Texas, Georgia and Ohio"): candidates of that kind gain.
        division_cue : bool
            A division word stands next to the name ("Washington state", "the state of New
            York", "Hubei province"): first-level divisions gain.
        present : frozenset of str, optional
            ISO alpha-2 codes of the countries of every place (towns too) the document names;
            ``countries`` when not given.
        sentence_admin1 : frozenset of (country_code, admin1_code)
            First-level divisions that places named in the same sentence lie in: a division
            holding one gains more than from the whole document ("Victoria" beside Melbourne is
            the Australian state), unless the name qualifies another ("Queens, New York").

        Returns
        -------
        list of ScoredCandidate
            Best first. Without any context argument the list is cached and shared between
            calls: do not modify it.
        """
        free = not (countries or admin1 or qualifier or regions or qualified_at or listed_as or division_cue
                    or present or sentence_admin1 or near)
        if free:
            # The context-free ranking of a name is asked several times per mention (lists,
            # qualifiers, compounds): computed once per name.
            cached = self._free_ranks.get(name)
            if cached is not None:
                return cached
        scored = []
        candidates = self.candidates(name)
        # Context tells namesakes in different countries apart; it must not let "Mexico" the
        # city beat "Mexico" the country because the document is about Mexico. When the name is
        # a country's own name, only a division the document places itself in can beat it
        # ("Georgia" next to Atlanta is the US state; "Niger" in a Nigerian story stays Niger).
        named_countries = {c.place.country_code for c in candidates if c.place.feature_code.startswith("PCL")}
        country_name = any(c.place.feature_code == "PCLI" and c.name_kind in ("official", "short")
                           for c in candidates)
        biggest = max((c.place.population or 0 for c in candidates), default=0)
        towns = [c for c in candidates if c.place.feature_class == "P"
                 and (c.place.population or 0) >= _SHADOWING_TOWN_POPULATION and c.place.admin1]
        for cand in candidates:
            place = cand.place
            score = prior(cand)
            rules = []
            shadowed = False
            if towns and place.feature_code in ("ADM1", "ADM2"):
                town_score = _shadowing_town_score(cand, towns)
                if town_score is not None:
                    score = min(score, town_score - _SHADOWED_MARGIN)
                    shadowed = True
            code = place.country_code
            if code and ((code, None) in qualifier or (code, place.admin1) in qualifier):
                score += _QUALIFIER_BONUS
                rules.append("qualifier")
            is_country = place.feature_code.startswith("PCL")
            if code and regions and ((is_country and (code, None) in regions) or (
                    place.feature_code == "ADM1" and (code, place.admin1) in regions) or (
                    qualified_at is not None and place.feature_class == "P" and _has_coordinates(place)
                    and haversine_km(place.lat, place.lon, *qualified_at) <= _QUALIFYING_CITY_KM)):
                score += _QUALIFIER_BONUS
                rules.append("qualifier:region")
            if listed_as is not None and ((listed_as[0] == "PCL" and is_country) or (
                    place.feature_code == "ADM1" and listed_as == ("ADM1", code))):
                score += _LIST_BONUS
                rules.append("context:list")
            if division_cue and place.feature_code == "ADM1":
                score += _DIVISION_CUE_BONUS
                rules.append("cue:division")
            in_admin1 = bool(place.admin1) and (code, place.admin1) in admin1
            # A document about several states of one country, and about nothing in the
            # country of that name, means the state ("a lab in Georgia" among Alabama and Texas).
            among_divisions = (place.feature_code == "ADM1"
                               and not named_countries & (countries if present is None else present)
                               and sum(1 for c, _ in admin1 if c == code) >= _DIVISIONS_FOR_A_COUNTRY_NAME)
            # A country named somewhere in the document is weak evidence: it does not make a
            # neighbourhood of Madrid the "Los Angeles" of a story that also mentions Spain.
            dwarfed = (place.feature_class == "P" and (place.population or 0) * _DWARFED_RATIO < biggest
                       and not in_admin1)
            if code and code in countries and not place.feature_code.startswith("PCL") and code not in named_countries \
                    and (not country_name or in_admin1 or among_divisions) and not dwarfed:
                score += _CONTEXT_COUNTRY_BONUS
                rules.append("context:country")
                if in_admin1:
                    score += _CONTEXT_ADMIN1_BONUS
                    rules.append("context:admin1")
            # (Not a division named after its town: "Kiev" beside "Kyiv" is the city again.)
            if (place.feature_code == "ADM1" and not regions and not shadowed
                    and (code, place.admin1) in sentence_admin1):
                score += _SENTENCE_ADMIN1_BONUS
                rules.append("context:sentence")
            if near and code not in countries and not place.feature_code.startswith("PCL") \
                    and _has_coordinates(place) and any(
                    haversine_km(place.lat, place.lon, lat, lon) <= _NEAR_KM for lat, lon in near):
                score += _NEAR_BONUS
                rules.append("context:nearby")
            scored.append(ScoredCandidate(cand, score, tuple(rules)))
        scored.sort(key=lambda s: (-s.score, -(s.candidate.place.population or 0), s.candidate.place.id))
        if free:
            if len(self._free_ranks) >= _FREE_RANK_CACHE_LIMIT:
                self._free_ranks.clear()
            self._free_ranks[name] = scored
        return scored

    # -- document ----------------------------------------------------------------------------

    def resolve(self, document: Document, mentions: Sequence[Mention]) -> list[Resolution]:
        """Resolve the mentions of one document.

        Parameters
        ----------
        document : Document
            The document the mentions come from (its text is read around each mention).
        mentions : sequence of Mention
            From :class:`~geomap.recognize.Recognizer`, in text order.

        Returns
        -------
        list of Resolution
            In text order. Conditional mentions (ORG/PERSON/NORP/GAZ) that are not places are
            left out (they are not toponyms), as are qualifiers such as "TX" in "Paris, TX";
            every other mention is present, resolved or with a reason. A hyphenated span made
            of place names ("Armenia-Azerbaijan") becomes one resolution per name.
        """
        kept: list[Mention] = []
        for mention in mentions:
            kept.extend(self._split_compound(self._extend_left(document.text, mention)))
        context = self._context(document, kept)
        resolutions = []
        for index, mention in enumerate(kept):
            if index in context.skip:
                continue
            resolution = self._resolve_one(document, mention, index, context)
            if resolution is not None:
                resolutions.append(resolution)
        return resolutions

    def _context(self, document: Document, mentions: list[Mention]) -> _Context:
        """First pass, from each name and its neighbours alone: lists of names, division words,
        the qualifier written after each mention; then the countries, divisions and points
        the document clearly names."""
        text = document.text
        context = _Context()
        starts = {m.start: i for i, m in enumerate(mentions)}
        free = [self.rank(m.text) for m in mentions]
        best = [r[0].candidate.place if r and self._accept(document, m, r) else None
                for m, r in zip(mentions, free)]
        chains = self._lists(text, mentions)
        listed = list(best)
        possible = [{_list_kind_of(s.candidate.place) for s in ranked} - {None} if best[i] is not None else set()
                    for i, ranked in enumerate(free)]
        for _ in range(2):
            # Twice: names first read as something else ("Georgia" the country, "Washington"
            # the capital) are read again as what their list-mates turned out to be.
            for chain in chains:
                for index in chain:
                    others = [i for i in chain if i != index]
                    kind = self._list_kind([listed[i] for i in others], [possible[i] for i in others])
                    if kind is not None:
                        context.lists[index] = kind
            listed = [self.rank(m.text, listed_as=context.lists[i])[0].candidate.place
                      if i in context.lists and best[i] is not None else best[i] for i, m in enumerate(mentions)]
        in_long_list = {i for chain in chains if len(chain) >= 3 for i in chain if i in context.lists}
        for index, mention in enumerate(mentions):
            if _DIVISION_AFTER.match(text, mention.end) or _DIVISION_BEFORE.search(
                    text, max(0, mention.start - 30), mention.start):
                context.division_cues.add(index)
        for chain in chains:
            if chain[0] in context.division_cues and _DIVISION_BEFORE.search(
                    text, max(0, mentions[chain[0]].start - 30), mentions[chain[0]].start):
                context.division_cues.update(chain)   # "the provinces of Nyanza, Rift Valley and Western"
        for index, mention in enumerate(mentions):
            match = _QUALIFIER.match(text, mention.end)
            # "Vermont, Virginia" and "Iraq, Iran" are lists, not a place and its division;
            # so is "Washington, West Virginia" inside a list of states.
            if not match or _is_region(best[index]) or index in in_long_list:
                continue
            qualifier = self._qualifier(match.group(1))
            if not qualifier:
                continue
            later = starts.get(match.start(1))
            own = best[index]
            if (later is not None and best[later] is not None and not _is_region(best[later]) and own is not None
                    and not {(own.country_code, own.admin1), (own.country_code, None)} & qualifier):
                # "Tehran, Isfahan": the second name reads as a city and the first does not lie
                # in the division of that name, so this is a list ("Buffalo, New York" is not).
                continue
            context.qualifiers[index] = qualifier
            if later is not None and _CODE.fullmatch(match.group(1)):
                context.skip.add(later)      # "TX" in "Paris, TX" is context, not a toponym
            elif later is not None:
                # The qualifier is read in the light of the name it qualifies, as a division or a
                # country: "Atlanta, Georgia" is the US state, "Tbilisi, Georgia" the country,
                # "Buffalo, New York" the state, not the city.
                around = [s.candidate.place for s in free[index][:_QUALIFIED_CANDIDATES]
                          if s.candidate.place.country_code]
                context.regions[later] = frozenset(
                    {(p.country_code, p.admin1) for p in around} | {(p.country_code, None) for p in around})
                if best[index] is not None and _has_coordinates(best[index]):
                    context.qualified_points[later] = (best[index].lat, best[index].lon)
        for index, mention in enumerate(mentions):
            if best[index] is None:
                if not free[index]:
                    demonym = self.demonym_of(mention.text)
                    if demonym is not None and demonym.place.country_code:
                        context.countries.setdefault(demonym.place.country_code, set()).add(
                            normalize_name(mention.text))
                continue
            own = normalize_name(mention.text)
            local = self._rank_in(mention, index, context)
            place = local[0].candidate.place
            if place.country_code:
                context.present.setdefault(place.country_code, set()).add(own)
            if place.country_code and place.admin1 and not place.feature_code.startswith("PCL"):
                context.sentence_admin1.setdefault(mention.sentence_start, {}).setdefault(
                    (place.country_code, place.admin1), set()).add(own)
            if place.country_code and is_strong(place):
                context.countries.setdefault(place.country_code, set()).add(own)
            if (is_strong(place) and not place.feature_code.startswith("PCL") and place.feature_class != "L"
                    and _has_coordinates(place)):
                context.points.setdefault(own, set()).add((place.lat, place.lon))
            if place.country_code and place.admin1 and (is_strong(place) or (place.population or 0) >= 10_000):
                context.admin1.setdefault((place.country_code, place.admin1), set()).add(own)
        return context

    def _rank_in(self, mention: Mention, index: int, context: _Context, **more) -> list[ScoredCandidate]:
        """:meth:`rank` with what the mention's neighbours say (qualifier, list, division word)."""
        return self.rank(mention.text, qualifier=context.qualifiers.get(index, frozenset()),
                         regions=context.regions.get(index, frozenset()),
                         qualified_at=context.qualified_points.get(index), listed_as=context.lists.get(index),
                         division_cue=index in context.division_cues, **more)

    @staticmethod
    def _lists(text: str, mentions: list[Mention]) -> list[list[int]]:
        """Runs of mentions written as one list ("Texas, Georgia and Ohio"), as lists of indexes."""
        chains, current = [], [0] if mentions else []
        for i in range(1, len(mentions)):
            if mentions[i - 1].end <= mentions[i].start and _LIST_GAP.fullmatch(
                    text, mentions[i - 1].end, mentions[i].start):
                current.append(i)
            else:
                if len(current) > 1:
                    chains.append(current)
                current = [i]
        if len(current) > 1:
            chains.append(current)
        return chains

    @staticmethod
    def _list_kind(others: list[GazetteerPlace | None],
                   possible: list[set[tuple[str, str | None]]]) -> tuple[str, str | None] | None:
        """What a name's list-mates are: ("ADM1", country) for first-level divisions of one
        country, ("PCL", None) for countries, or None.

        A kind is chosen when more than two thirds of the list-mates may be of that kind (one of
        their candidates is) and at least half of them are read so (their best candidate is):
        "Arizona, Georgia, New York, Ohio and Washington" are states, "Tehran, Isfahan and
        Shiraz" remain cities although each also names a province.
        """
        if not others:
            return None
        kinds = [_list_kind_of(p) for p in others if p is not None]
        for kind in {k for k in kinds if k is not None}:
            may = sum(1 for options in possible if kind in options)
            if 3 * may > 2 * len(others) and 2 * kinds.count(kind) >= len(others):
                return kind
        return None

    def _qualifier(self, written: str) -> frozenset[tuple[str, str | None]]:
        """Every (country_code, admin1) a qualifier may name: a first-level division or a
        country ("Georgia" → the country and the US state); empty when it names neither."""
        if _CODE.fullmatch(written):
            # Postal abbreviations of US states are GeoNames' admin1 codes for the US.
            return frozenset({("US", written.replace(".", ""))})
        options = set()
        for cand in self.candidates(written):
            place = cand.place
            if place.feature_code == "ADM1" and place.country_code and place.admin1:
                options.add((place.country_code, place.admin1))
            elif place.feature_code.startswith("PCL") and place.country_code:
                options.add((place.country_code, None))
        return frozenset(options)

    def _resolve_one(self, document: Document, mention: Mention, index: int,
                     context: _Context) -> Resolution | None:
        countries, admin1 = context.around(mention.text)
        ranked = self._rank_in(mention, index, context, countries=countries, admin1=admin1,
                               present=context.present_around(mention.text) | countries,
                               sentence_admin1=context.sentence_admin1_around(mention),
                               near=context.points_around(mention.text))
        if not ranked:
            demonym = self.demonym_of(mention.text)
            if demonym is not None and _has_coordinates(demonym.place):
                ranked = [ScoredCandidate(demonym, prior(demonym))]
                return Resolution(mention, to_place(demonym.place), self._confidence(ranked, mention, ["demonym"]),
                                  None, 1, "demonym", self._provenance(mention, ranked, ["demonym"]))
            if mention.label in CONDITIONAL_LABELS and not self._unknown_place_cue(document, mention):
                return None
            return self._ask_fallback(Resolution(mention, None, 0.0, "no gazetteer match", 0), countries)
        rules = self._accept(document, mention, ranked)
        if not rules:
            return None
        best = ranked[0]
        if not _has_coordinates(best.candidate.place):
            return self._ask_fallback(Resolution(mention, None, 0.0, "missing coordinates", len(ranked)),
                                      countries)
        role = self._role(document, mention, best.candidate.place)
        rules = [*rules, *best.rules] + (["metonymy"] if role == "metonymic" else [])
        resolution = Resolution(mention, to_place(best.candidate.place), self._confidence(ranked, mention, rules),
                                None, len(ranked), role, self._provenance(mention, ranked, rules))
        if resolution.confidence < self.fallback_below:
            resolution = self._ask_fallback(resolution, countries)
        return resolution

    @staticmethod
    def _provenance(mention: Mention, ranked: list[ScoredCandidate], rules: list[str]) -> dict:
        best = ranked[0]
        runner_up = None
        if len(ranked) > 1:
            other = ranked[1].candidate.place
            runner_up = {"name": other.name, "country_code": other.country_code,
                         "feature_code": other.feature_code, "score": round(ranked[1].score, 1)}
        kind = "curated" if best.candidate.place.source == "curated" and best.candidate.name_kind == "official" \
            else best.candidate.name_kind
        return {"matched_name": mention.text, "name_kind": kind, "candidates": len(ranked),
                "score": round(best.score, 1), "runner_up": runner_up, "rules": rules}

    def _split_compound(self, mention: Mention) -> list[Mention]:
        """Reduce a span that is not a name as a whole to the names inside it.

        "Armenia-Azerbaijan" → Armenia, Azerbaijan and "Greece Italy" → Greece, Italy when each
        part is a strong place; "north west London" → London when leading direction words are
        all that stands before a name. Otherwise the mention is returned unchanged.
        """
        if mention.label == "PERSON" or self.candidates(mention.text) or self.demonym_of(mention.text):
            return [mention]                 # "Michael Jordan" is no run of places
        words = [(m.start(), m.end()) for m in re.finditer(r"[^\s\-‐‑–—]+", mention.text)]
        if len(words) < 2:
            return [mention]
        # Leading direction words: "north west London", "central Tbilisi".
        first = 0
        while first < len(words) - 1 and normalize_name(mention.text[words[first][0]:words[first][1]]) in GENERIC_WORDS:
            first += 1
        if first:
            rest = mention.text[words[first][0]:]
            ranked = self.rank(rest)
            if ranked:
                return [self._sub_mention(mention, words[first][0], len(mention.text))]
        # A run of strong names: greedy longest match from the left.
        parts, i = [], 0
        while i < len(words):
            for j in range(len(words), i, -1):
                piece = mention.text[words[i][0]:words[j - 1][1]]
                ranked = self.rank(piece)
                if ranked and is_strong(ranked[0].candidate.place):
                    parts.append(self._sub_mention(mention, words[i][0], words[j - 1][1]))
                    i = j
                    break
            else:
                return [mention]
        return parts if len(parts) > 1 else [mention]

    def _extend_left(self, text: str, mention: Mention) -> Mention:
        """The mention widened by the capitalised word right before it when the two make a
        place name the gazetteer knows by its own name: "Goz" + "Beida" → Goz Beida (Chad, not
        Beida in Libya), "South" + "Sudan" → South Sudan, "West" + "Midlands" → West Midlands."""
        before = _PREV_WORD.search(text, max(0, mention.start - 40), mention.start)
        if before is None or "\n" in text[before.start():mention.start]:
            return mention
        wider = text[before.start(1):mention.end]
        if normalize_name(wider) == normalize_name(mention.text):
            return mention                   # "The U.S.": the article is no part of the name
        ranked = [s for s in self.rank(wider) if s.candidate.name_kind in ("official", "short")]
        if not ranked:
            return mention
        place = ranked[0].candidate.place
        if not (is_strong(place) or place.feature_class != "P" or (place.population or 0) >= _LOCATIVE_MIN_POPULATION):
            return mention
        return Mention(wider, before.start(1), mention.end, mention.sentence, mention.sentence_start, mention.label) \
            if before.start(1) >= mention.sentence_start else mention

    @staticmethod
    def _sub_mention(mention: Mention, start: int, end: int) -> Mention:
        return Mention(mention.text[start:end], mention.start + start, mention.start + end,
                       mention.sentence, mention.sentence_start, mention.label)

    def _accept(self, document: Document, mention: Mention, ranked: list[ScoredCandidate]) -> list[str]:
        """The rules under which a mention is a toponym (empty list: it is not)."""
        if _NAMING_NOUN.match(document.text, mention.end):
            return []                        # "Marburg virus" names a virus, not Marburg
        if mention.label not in CONDITIONAL_LABELS:
            return ["ner:" + mention.label]
        if normalize_name(mention.text) in GENERIC_WORDS:
            return []
        text = document.text
        best = ranked[0].candidate.place
        if self._title_case(text):
            # Every word is capitalised: neighbours say nothing about names; only the gazetteer does.
            if is_strong(best) or mention.label == "GAZ":
                return [f"{mention.label.lower()}:title-case-text"]
        # "Ararat Mirzoyan", "Jordan Vale": a capitalised unknown word next to the span
        # makes it part of a person's or organisation's name.
        after = _NEXT_WORD.match(text, mention.end)
        if after and not self._placey(after.group(1)) and after.group(1).lower() not in _ORGANISATION_WORDS:
            return []
        before = _PREV_WORD.search(text, max(0, mention.start - 40), mention.start)
        if before and not self.gazetteer.lookup(before.group(1)):
            line_start = text.rfind("\n", 0, before.start()) + 1
            if text[line_start:before.start()].strip() and not re.search(r"[.!?]\s*$", text[:before.start()]):
                return []
        if is_strong(best):
            return [f"{mention.label.lower()}:strong-place"]
        if mention.label == "GAZ":
            return ["gazetteer-match"]       # the matcher proposes only prominent names
        if (best.population or 0) >= _LOCATIVE_MIN_POPULATION and not re.fullmatch(r"[A-Z]{2,4}", mention.text):
            if _LOCATIVE.search(text, max(0, mention.start - 30), mention.start):
                return [f"{mention.label.lower()}:locative"]
            listed = _LISTED_AFTER.search(text, max(0, mention.start - 60), mention.start)
            if listed and self._placey(listed.group(1)):
                return [f"{mention.label.lower()}:listed-with-place"]   # "from Tehran to Isfahan and Shiraz"
        return []

    def _title_case(self, text: str) -> bool:
        """Whether most words of a text start with a capital (a Title-Case headline or text)."""
        cached = self._casing_cache
        if cached[0] is not text:
            words = _WORD.findall(text[:20_000])
            capitalised = sum(1 for w in words if w[0].isupper() and not w.isupper())
            cached[0], cached[1] = text, len(words) >= 6 and capitalised / len(words) > 0.75
        return cached[1]

    def _placey(self, word: str) -> bool:
        """Whether a capitalised word is a prominent place name (strong, or ≥ 100,000 people),
        rather than a surname that some hamlet also bears ("Hilton", "Irving")."""
        return any(is_strong(c.place) or (c.place.population or 0) >= 100_000 for c in self.candidates(word))

    @staticmethod
    def _unknown_place_cue(document: Document, mention: Mention) -> bool:
        """Whether a name the gazetteer does not know, which the NER model took for a person or
        an organisation, is written as a place: "the hamlet of Verin Zarvostan", "stopped in
        Nerkin Zarvostan" (so it is reported as unresolved and offered to the fallback)."""
        text = document.text
        if re.match(r"['’]s\b", text[mention.end:mention.end + 3]):
            return False                     # "in Putin's view"
        return bool(_UNKNOWN_PLACE_CUE.search(text, max(0, mention.start - 40), mention.start))

    def _role(self, document: Document, mention: Mention, place: GazetteerPlace) -> str:
        """``demonym`` for a nationality ("Saudi" tagged NORP), ``metonymic`` when a country,
        capital or seat of power acts or speaks, else ``literal``."""
        if mention.label == "NORP":
            demonym = self.demonym_of(mention.text)
            if demonym is not None and demonym.place.id == place.id or place.feature_code.startswith("PCL"):
                return "demonym"
        if not (place.feature_code.startswith("PCL") or place.feature_code == "PPLC" or place.feature_class == "S"):
            return "literal"
        return "metonymic" if _METONYMY.match(document.text, mention.end) else "literal"

    def _ask_fallback(self, resolution: Resolution, countries: frozenset[str]) -> Resolution:
        """The fallback's answer when it has one, else ``resolution`` unchanged (an unresolved
        one gets the fallback's reason appended)."""
        if self.fallback is None:
            return resolution
        place, detail = self.fallback(resolution.mention, countries)
        if place is not None:
            return Resolution(resolution.mention, place, float(detail), None, resolution.candidates + 1,
                              resolution.role, {"matched_name": resolution.mention.text, "name_kind": "geocoder",
                                                "candidates": resolution.candidates + 1, "score": None,
                                                "runner_up": None, "rules": ["fallback:" + place.source]})
        if resolution.place is None and detail:
            return Resolution(resolution.mention, None, 0.0, f"{resolution.reason}; {detail}",
                              resolution.candidates)
        return resolution

    @staticmethod
    def _confidence(ranked: list[ScoredCandidate], mention: Mention, rules: Sequence[str] = ()) -> float:
        """Probability (0..1) that the chosen place is within 161 km of the true one.

        A logistic model over the margin to the runner-up, the number of candidates, how the
        name matched, the kind of place, the NER label and the context rules that fired; its
        weights (:data:`_CONFIDENCE_WEIGHTS`) were fitted on the dev corpora with
        ``bench/calibrate_confidence.py``, which also prints the reliability table.
        """
        features = _confidence_features(ranked, mention, rules)
        z = sum(w * x for w, x in zip(_CONFIDENCE_WEIGHTS, features))
        return round(1.0 / (1.0 + math.exp(-z)), 3)
