"""Done-when of the gazetteer issue: the best candidate for each name news use most is the
right place, near where the world puts it, and of the right feature class.

Reference points are GeoNames' records (geonameid given) or Wikipedia's infobox coordinates.
Cities and countries are held to 161 km (100 miles, the usual geoparsing threshold); regions
and seas to 500 km of their centre.
"""

import pytest

from tests.conftest import haversine_km

CITY_KM, REGION_KM = 161, 500

WORLD = [
    # name, lat, lon, feature class, max km, reference
    ("Brussels", 50.85045, 4.34878, "P", CITY_KM),            # GeoNames 2800866
    ("Baku", 40.37767, 49.89201, "P", CITY_KM),               # GeoNames 587084
    ("Yerevan", 40.18111, 44.51361, "P", CITY_KM),            # GeoNames 616052
    ("Moscow", 55.75222, 37.61556, "P", CITY_KM),             # GeoNames 524901
    ("Kremlin", 55.7517, 37.6178, "S", CITY_KM),              # Wikipedia "Moscow Kremlin"
    ("Armenia", 40.25, 45.0, "A", CITY_KM),                   # GeoNames 174982
    ("Azerbaijan", 40.5, 47.5, "A", CITY_KM),                 # GeoNames 587116
    ("Russia", 60.0, 100.0, "A", CITY_KM),                    # GeoNames 2017370
    ("Iran", 32.0, 53.0, "A", CITY_KM),                       # GeoNames 130758
    ("Israel", 31.5, 34.75, "A", CITY_KM),                    # GeoNames 294640
    ("Nagorno-Karabakh", 39.8167, 46.75, "L", REGION_KM),     # Wikipedia "Nagorno-Karabakh"
    ("Karabakh", 39.9, 46.9, "L", REGION_KM),                 # Wikipedia "Karabakh" (lowland and highland)
    ("South Caucasus", 41.5, 45.0, "L", REGION_KM),           # Armenia, Azerbaijan, Georgia
    ("Caucasus", 42.5, 44.5, "L", REGION_KM),                 # Wikipedia "Caucasus"
    ("Georgia", 41.99998, 43.4999, "A", CITY_KM),             # GeoNames 614540
    ("Paris", 48.85341, 2.3488, "P", CITY_KM),                # GeoNames 2988507
    ("Washington", 38.89511, -77.03637, "P", CITY_KM),        # GeoNames 4140963
    ("Jordan", 31.0, 36.0, "A", CITY_KM),                     # GeoNames 248816
    ("Turkey", 39.0, 35.0, "A", CITY_KM),                     # GeoNames 298795
    ("Türkiye", 39.0, 35.0, "A", CITY_KM),
    ("Kyiv", 50.45466, 30.5238, "P", CITY_KM),                # GeoNames 703448
    ("Kiev", 50.45466, 30.5238, "P", CITY_KM),
    ("Donbas", 48.0, 38.0, "L", REGION_KM),                   # Wikipedia "Donbas"
    ("Crimea", 45.3, 34.4, "L", REGION_KM),                   # Wikipedia "Crimea"
    # "Gaza" in news is the Gaza Strip (a region, L), within a few km of Gaza City.
    ("Gaza", 31.50161, 34.46672, "L", CITY_KM),               # GeoNames 281133 (Gaza City)
    ("Gaza Strip", 31.4167, 34.3333, "L", REGION_KM),         # Wikipedia "Gaza Strip"
    ("West Bank", 31.9, 35.2, "L", REGION_KM),                # Wikipedia "West Bank"
    ("Taiwan", 24.0, 121.0, "A", CITY_KM),                    # GeoNames 1668284
    ("Hong Kong", 22.27832, 114.17469, "A", CITY_KM),         # GeoNames 1819729 (the territory, A)
    ("Kashmir", 34.5, 76.0, "L", REGION_KM),                  # Wikipedia "Kashmir"
    # The Sahel belt runs 5,400 km from 17° W to 38° E between 12° and 18° N: its midpoint, and
    # a tolerance of 800 km, a seventh of its length.
    ("Sahel", 15.0, 10.5, "L", 800),
    ("Black Sea", 44.0, 35.0, "H", REGION_KM),                # Wikipedia "Black Sea"
    ("Strait of Hormuz", 26.5667, 56.25, "H", REGION_KM),     # Wikipedia "Strait of Hormuz"
    ("Red Sea", 22.0, 38.0, "H", REGION_KM),                  # Wikipedia "Red Sea"
    ("Middle East", 29.0, 45.0, "L", REGION_KM),              # north of the Arabian peninsula
    ("Europe", 48.69096, 9.14062, "L", REGION_KM),            # GeoNames 6255148
    ("EU", 49.843, 9.902, "L", REGION_KM),                    # Wikipedia: EU midpoint, Gadheim
    ("Beijing", 39.9075, 116.39723, "P", CITY_KM),            # GeoNames 1816670
    ("Tehran", 35.69439, 51.42151, "P", CITY_KM),             # GeoNames 112931
    ("Ankara", 39.91987, 32.85427, "P", CITY_KM),             # GeoNames 323786
    ("Tbilisi", 41.69411, 44.83368, "P", CITY_KM),            # GeoNames 611717
    ("Stepanakert", 39.8177, 46.7528, "P", CITY_KM),          # GeoNames 146970 (Khankendi)
    ("Khankendi", 39.8177, 46.7528, "P", CITY_KM),
    ("Shusha", 39.76006, 46.74989, "P", CITY_KM),             # GeoNames 147105
    ("Lachin", 39.63742, 46.54977, "P", CITY_KM),             # GeoNames 147625
    ("Zangezur", 39.5, 46.0, "L", REGION_KM),                 # Wikipedia "Zangezur"
    ("Nakhchivan", 39.3, 45.4, "A", CITY_KM),                 # Wikipedia "Nakhchivan Autonomous Republic"
    ("Syunik", 39.2, 46.25, "A", CITY_KM),                    # Wikipedia "Syunik Province"
    # Adversarial: names a US state, a second city or a smaller namesake also bears.
    ("New York", 40.71427, -74.00597, "P", CITY_KM),          # GeoNames 5128581 (the city, not the state)
]


@pytest.mark.parametrize("name, lat, lon, feature_class, max_km", WORLD, ids=[row[0] for row in WORLD])
def test_lookup_world_best_candidate(full_gazetteer, name, lat, lon, feature_class, max_km):
    from geomap.resolve import Resolver
    ranked = Resolver(full_gazetteer).rank(name)
    assert ranked, f"no candidate for {name!r}"
    best = ranked[0].candidate.place
    assert best.feature_class == feature_class, (name, best)
    assert haversine_km(best.lat, best.lon, lat, lon) <= max_km, (name, best)


@pytest.mark.parametrize("name, country_code, feature_code", [
    ("Georgia", "GE", "PCLI"),        # the country, though US states are now in the gazetteer
    ("Washington", "US", "PPLC"),     # D.C., not the state
    ("Paris", "FR", "PPLC"),          # not Paris, Texas
    ("Jordan", "JO", "PCLI"),
    ("U.S.", "US", "PCLI"), ("US", "US", "PCLI"), ("USA", "US", "PCLI"), ("UK", "GB", "PCLI"),
    ("UAE", "AE", "PCLI"), ("DRC", "CD", "PCLI"), ("Czechia", "CZ", "PCLI"), ("Eswatini", "SZ", "PCLI"),
    ("Myanmar", "MM", "PCLI"), ("Burma", "MM", "PCLI"), ("Swaziland", "SZ", "PCLI"),
])
def test_lookup_world_adversarial_and_renamed(full_gazetteer, name, country_code, feature_code):
    from geomap.resolve import Resolver
    best = Resolver(full_gazetteer).rank(name)[0].candidate.place
    assert (best.country_code, best.feature_code) == (country_code, feature_code)


def test_lookup_world_georgia_state_is_still_there(full_gazetteer):
    states = [c.place for c in full_gazetteer.lookup("Georgia") if c.place.feature_code == "ADM1"]
    assert [p.country_code for p in states] == ["US"]


@pytest.mark.parametrize("demonym, country_code", [("Armenian", "AM"), ("Azerbaijani", "AZ"), ("Azeri", "AZ")])
def test_lookup_world_demonyms_are_their_own_kind(full_gazetteer, demonym, country_code):
    from geomap.resolve import Resolver
    kinds = {c.place.key: c.name_kind for c in full_gazetteer.lookup(demonym)}
    assert kinds.get(f"ne:{country_code}") == "demonym"
    assert all(s.candidate.name_kind != "demonym" for s in Resolver(full_gazetteer).rank(demonym))
