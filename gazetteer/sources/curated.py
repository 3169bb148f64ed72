"""geomap's own curated supplement, in ``gazetteer/data/``: what no package has.

- ``curated.tsv``: named regions, conflict and disputed areas, seas, straits and canals,
  seats of power (one row a place; the ``source`` column cites each coordinate).
- ``country_aliases.tsv``: abbreviations, alternate, short and historic country names.
- ``demonyms.tsv``: demonyms and adjectives of every country, kept as name kind ``demonym``.
- ``country_points.tsv``: GeoNames country coordinates for the countries whose Natural Earth
  label point lies far from them (Russia's label sits in European Russia).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

__all__ = ["iter_curated", "iter_country_aliases", "iter_demonyms", "iter_country_points", "iter_admin1_points",
           "source_version",
           "DATA_FILES"]

DATA_FILES = ("curated.tsv", "country_aliases.tsv", "demonyms.tsv", "country_points.tsv", "admin1_points.tsv")


def _rows(name: str) -> Iterator[dict[str, str]]:
    resource = files("gazetteer").joinpath("data", name)
    if not resource.is_file():
        return
    with resource.open("r", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            yield {k: (v or "").strip() for k, v in row.items() if k}


def source_version() -> str:
    """A short hash of the curated files, so that editing them triggers a rebuild."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        resource = files("gazetteer").joinpath("data", name)
        if resource.is_file():
            digest.update(resource.read_bytes())
    return f"curated {digest.hexdigest()[:12]}"


def iter_curated() -> Iterator[dict[str, Any]]:
    """Yield one place record per row of ``curated.tsv``.

    ``members`` (ISO alpha-2 codes of member countries) is returned as a list so that the
    builder can place regions made of countries from the members' geometry.
    """
    for row in _rows("curated.tsv"):
        if not row.get("key") or not row.get("lat") or not row.get("lon"):
            continue
        names = [(row["name"], "en", "official")]
        names += [(alt.strip(), "en", "alternate") for alt in row.get("alt_names", "").split("|") if alt.strip()]
        # "European" → Europe, "Kurdish" → Kurdistan: kept as demonyms, as for countries.
        names += [(d.strip(), "en", "demonym") for d in row.get("demonyms", "").split("|") if d.strip()]
        yield {
            "key": f"curated:{row['key']}",
            "name": row["name"],
            "lat": float(row["lat"]),
            "lon": float(row["lon"]),
            "feature_class": row["feature_class"],
            "feature_code": row["feature_code"],
            "country_code": row.get("country_code") or None,
            "admin1": None,
            "population": None,
            "source": "curated",
            "source_id": row["key"],
            "wikidata": None,
            "names": names,
            "members": [m for m in row.get("members", "").split("|") if m],
            "citation": row.get("source", ""),
        }


def iter_country_aliases() -> Iterator[tuple[str, str, str]]:
    """Yield ``(country_code, name, kind)`` rows of ``country_aliases.tsv``."""
    for row in _rows("country_aliases.tsv"):
        if row.get("country_code") and row.get("name"):
            yield row["country_code"], row["name"], row.get("kind") or "alternate"


def iter_demonyms() -> Iterator[tuple[str, str]]:
    """Yield ``(country_code, demonym)`` rows of ``demonyms.tsv``."""
    for row in _rows("demonyms.tsv"):
        if row.get("country_code") and row.get("demonym"):
            yield row["country_code"], row["demonym"]


def iter_country_points() -> Iterator[tuple[str, float, float, str]]:
    """Yield ``(country_code, lat, lon, source)`` rows of ``country_points.tsv``: the point of
    GeoNames' country record (WGS84 degrees), the reference most gold corpora use."""
    for row in _rows("country_points.tsv"):
        if row.get("country_code") and row.get("lat") and row.get("lon"):
            yield row["country_code"], float(row["lat"]), float(row["lon"]), row.get("source", "")


# Dotted abbreviations that normalise to ordinary words ("Ark." → "ark", "Mass." → "mass"):
# kept out of the names table, where they would match the words.
_WORD_ABBREVIATIONS = frozenset({
    "ark", "ill", "mass", "miss", "ore", "wash", "man", "pa", "la", "del", "que", "alta", "mont", "ind",
    "me", "or", "in", "ok", "hi", "oh", "co", "de", "md", "mo", "ma", "va", "vic", "tas", "wa", "sa", "nt", "act",
    "nl", "ns", "on", "pe", "qc", "ab", "mb", "nb", "sk", "yt"})


def iter_admin1_points() -> Iterator[tuple[str, str, int | None, str, float, float, list[str]]]:
    """Yield ``(country_code, admin1_code, geonameid, name, lat, lon, alt_names)`` rows of ``admin1_points.tsv``:
    centre points (GeoNames ADM1 points where known, else estimated geographic centres) and news
    abbreviations ("Calif.", "N.Y.", "B.C.") of first-level divisions of the countries news
    names most. Abbreviations that are ordinary words once normalised are left out."""
    from ..normalize import normalize_name
    for row in _rows("admin1_points.tsv"):
        if not (row.get("country_code") and row.get("admin1_code") and row.get("lat") and row.get("lon")):
            continue
        alts = [a.strip() for a in row.get("alt_names", "").split("|") if a.strip()]
        alts = [a for a in alts if normalize_name(a) not in _WORD_ABBREVIATIONS and len(normalize_name(a)) >= 2]
        geonameid = int(row["geonameid"]) if row.get("geonameid", "").isdigit() else None
        yield (row["country_code"], row["admin1_code"], geonameid, row.get("name", ""), float(row["lat"]),
               float(row["lon"]), alts)
