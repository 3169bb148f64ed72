"""The gazetteer built from the packaged sources (Natural Earth, GeoNames, curated)."""

import json

import pytest

from gazetteer.build import needs_rebuild
from tests.conftest import haversine_km


def test_packaged_build_is_current_and_counts_sources(full_gazetteer, full_gazetteer_path):
    assert needs_rebuild(full_gazetteer_path) is None
    stats = full_gazetteer.stats()
    assert stats["places_by_source"]["naturalearth"] >= 200       # ~250 admin-0 units
    assert stats["places_by_source"]["geonames"] >= 150_000      # cities >= 500 inhabitants
    assert stats["size_bytes"] < 150e6


@pytest.mark.parametrize("name, lat, lon, code, feature_code, max_km", [
    ("Baku", 40.3777, 49.8920, "AZ", "PPLC", 10),        # GeoNames 587084
    ("Yerevan", 40.1811, 44.5136, "AM", "PPLC", 10),
    ("Tbilisi", 41.6941, 44.8337, "GE", "PPLC", 10),
    ("Brussels", 50.8505, 4.3488, "BE", "PPLC", 10),
    ("Kyiv", 50.4501, 30.5234, "UA", "PPLC", 10),
    ("Kiev", 50.4501, 30.5234, "UA", "PPLC", 10),
    ("Gyumri", 40.7942, 43.8453, "AM", "PPL", 10),
])
def test_packaged_cities_best_candidate(full_gazetteer, name, lat, lon, code, feature_code, max_km):
    from geomap.resolve import Resolver
    best = Resolver(full_gazetteer).rank(name)[0].candidate.place
    assert best.country_code == code and best.feature_code == feature_code
    assert haversine_km(best.lat, best.lon, lat, lon) <= max_km


@pytest.mark.parametrize("name, code", [
    ("Armenia", "AM"), ("Azerbaijan", "AZ"), ("Georgia", "GE"), ("Russia", "RU"), ("Iran", "IR"),
    ("Israel", "IL"), ("Jordan", "JO"), ("Lebanon", "LB"), ("France", "FR"),
])
def test_packaged_countries_are_countries(full_gazetteer, name, code):
    from geomap.resolve import Resolver
    best = Resolver(full_gazetteer).rank(name)[0].candidate.place
    assert (best.country_code, best.feature_class, best.feature_code) == (code, "A", "PCLI")


def test_packaged_country_label_points_lie_in_their_country(full_gazetteer):
    from shapely import make_valid
    from shapely.geometry import Point, shape
    parts = {}
    for feature in full_gazetteer.country_outlines()["features"]:   # France + Clipperton...
        parts.setdefault(feature["properties"]["country_code"], []).append(make_valid(shape(feature["geometry"])))
    for code in ("AM", "AZ", "RU", "IR", "IL", "BE", "GE", "US", "FR"):
        country = full_gazetteer.country(code)
        point = Point(country.lon, country.lat)
        # Outlines are simplified (~13 km): allow that much slack at the border.
        assert any(p.buffer(0.15).contains(point) for p in parts[code]), code


def test_packaged_outlines_fit_in_a_page(full_gazetteer):
    size = len(json.dumps(full_gazetteer.country_outlines(), separators=(",", ":")))
    assert size <= 420_000
