"""Shared fixtures: a tiny gazetteer built from real rows, the full packaged gazetteer,
the spaCy pipeline, and helpers to measure distances."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_a7060b6cab235f63.txt"
SHARED = ROOT.parent / "shared"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (R = 6371.0088 km), as the shared scorer computes it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _record(key, name, lat, lon, fclass, fcode, cc, population=None, source="geonames", names=(),
            geometry=None, members=None, admin1=None):
    return {"key": key, "name": name, "lat": lat, "lon": lon, "feature_class": fclass, "feature_code": fcode,
            "country_code": cc, "admin1": admin1, "population": population, "source": source,
            "source_id": key.split(":", 1)[1], "wikidata": None,
            "names": [(name, "en", "official"), *names], "geometry": geometry, "members": members}


def tiny_records():
    """A dozen real places (GeoNames / Natural Earth coordinates) and a few traps."""
    from shapely.geometry import box
    return [
        _record("ne:AM", "Armenia", 40.459077, 44.800564, "A", "PCLI", "AM", 2957731, "naturalearth",
                [("Armenian", "en", "demonym")], geometry=box(43.4, 38.8, 46.6, 41.3)),
        _record("ne:AZ", "Azerbaijan", 40.402387, 47.210994, "A", "PCLI", "AZ", 10023318, "naturalearth",
                [("Azeri", "en", "demonym")], geometry=box(44.8, 38.4, 50.4, 41.9)),
        _record("ne:GE", "Georgia", 42.168639, 43.505208, "A", "PCLI", "GE", 3720382, "naturalearth",
                geometry=box(40.0, 41.0, 46.7, 43.6)),
        _record("ne:US", "United States", 39.538479, -97.482602, "A", "PCLI", "US", 328239523, "naturalearth",
                [("U.S.", "en", "abbreviation"), ("US", "en", "abbreviation")]),
        _record("geonames:587084", "Baku", 40.37767, 49.89201, "P", "PPLC", "AZ", 2351300,
                names=[("Bakı", "", "alternate")]),
        _record("geonames:616052", "Yerevan", 40.17765, 44.5126, "P", "PPLC", "AM", 1144700,
                names=[("Erevan", "", "alternate")]),
        _record("geonames:611717", "Tbilisi", 41.69411, 44.83368, "P", "PPLC", "GE", 1049498),
        _record("geonames:2800866", "Brussels", 50.85045, 4.34878, "P", "PPLC", "BE", 1019022),
        _record("geonames:4833850", "Brussels", 44.73611, -87.62093, "P", "PPL", "US", 1110),
        _record("geonames:4196586", "Georgia", 33.83, -84.38, "P", "PPL", "US", 900),  # a trap
        _record("geonames:616599", "Gyumri", 40.7942, 43.84528, "P", "PPL", "AM", 121976,
                names=[("Leninakan", "", "historic")]),
        _record("geonames:8000001", "Armenia", 4.53389, -75.68111, "P", "PPL", "CO", 272574),  # Armenia, Colombia
        _record("geonames:147105", "Shusha", 39.76006, 46.74989, "P", "PPL", "AZ", 19400),
        _record("curated:south-caucasus", "South Caucasus", 41.5, 45.0, "L", "RGN", None, source="curated",
                members=["AM", "AZ", "GE"]),
        _record("curated:nagorno-karabakh", "Nagorno-Karabakh", 39.85, 46.75, "L", "RGN", "AZ", source="curated",
                names=[("Artsakh", "en", "alternate")]),
        _record("curated:kremlin", "Kremlin", 55.752, 37.617, "S", "CSTL", "RU", source="curated"),
        _record("geonames:9999999", "Testville", float("nan"), float("nan"), "P", "PPL", "AM", 1000),
        # Namesakes that only a qualifier or context can tell apart (GeoNames coordinates).
        _record("geonames:2988507", "Paris", 48.85341, 2.3488, "P", "PPLC", "FR", 2138551, admin1="11"),
        _record("geonames:4717560", "Paris", 33.66094, -95.55551, "P", "PPL", "US", 24782, admin1="TX"),
        _record("geonames:4736286", "Texas", 31.25044, -99.25061, "A", "ADM1", "US", 22875689, admin1="TX"),
        _record("geonames:4197000", "Georgia", 32.75042, -83.50018, "A", "ADM1", "US", 9919945, admin1="GA"),
        _record("geonames:264371", "Athens", 37.98376, 23.72784, "P", "PPLC", "GR", 664046, admin1="ESYE31"),
        _record("geonames:4180386", "Athens", 33.96095, -83.37794, "P", "PPL", "US", 127064, admin1="GA"),
        _record("geonames:4180439", "Atlanta", 33.749, -84.38798, "P", "PPLA", "US", 498044, admin1="GA"),
        _record("geonames:2653941", "Cirencester", 51.71227, -1.96861, "P", "PPL", "GB", 19076, admin1="ENG"),
    ]


@pytest.fixture(scope="session")
def tiny_gazetteer_path(tmp_path_factory) -> Path:
    """Path of a gazetteer built from :func:`tiny_records`."""
    from gazetteer.build import build_gazetteer
    path = tmp_path_factory.mktemp("tiny") / "tiny.sqlite"
    build_gazetteer(path, records=tiny_records(), progress=False)
    return path


@pytest.fixture(scope="session")
def tiny_gazetteer(tiny_gazetteer_path):
    """The tiny gazetteer, opened."""
    from gazetteer import Gazetteer
    return Gazetteer(tiny_gazetteer_path)


@pytest.fixture(scope="session")
def full_gazetteer_path(tmp_path_factory) -> Path:
    """The real gazetteer from the packaged sources, built once per test session (~15 s)."""
    from gazetteer.build import build_gazetteer
    path = tmp_path_factory.mktemp("full") / "gazetteer.sqlite"
    build_gazetteer(path, progress=False)
    return path


@pytest.fixture(scope="session")
def full_gazetteer(full_gazetteer_path):
    """The real gazetteer, opened."""
    from gazetteer import Gazetteer
    return Gazetteer(full_gazetteer_path)


@pytest.fixture(scope="session")
def nlp():
    """The English spaCy pipeline as geomap loads it."""
    from geomap.recognize import load_nlp
    return load_nlp()


@pytest.fixture(scope="session")
def geoparser(nlp, full_gazetteer):
    """A Geoparser on the real gazetteer."""
    from geomap.api import Geoparser
    return Geoparser(nlp=nlp, gazetteer=full_gazetteer)


@pytest.fixture(scope="session")
def tiny_geoparser(nlp, tiny_gazetteer):
    """A Geoparser on the tiny gazetteer."""
    from geomap.api import Geoparser
    return Geoparser(nlp=nlp, gazetteer=tiny_gazetteer)


@pytest.fixture(scope="session", autouse=True)
def _no_online_geocoder(tmp_path_factory):
    """Tests never reach an online geocoder nor the user's geocoder cache: GEOMAP_OFFLINE=1 and a
    temporary cache for the whole session (tests of the fallback turn it on against a local stub)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEOMAP_OFFLINE", "1")
        mp.setenv("GEOMAP_GEOCODER_CACHE", str(tmp_path_factory.mktemp("geocoder") / "geocoder.sqlite"))
        yield
