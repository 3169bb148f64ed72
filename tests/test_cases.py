"""Regression tests for failure cases mined from public bug reports of other geoparsers
(shared/cases/cases.jsonl): each input is a short invented text, and each expectation comes
from the world (reference coordinates with a tolerance), not from geomap's own output.

Cases about the online geocoder, the map page and input files are tested beside those
features (test_geocode.py, test_render.py/test_browser.py, test_cli.py).
"""

from __future__ import annotations

import pytest

from geomap.model import Document
from tests.conftest import haversine_km

pytestmark = pytest.mark.model

# (mention, country_code or None, lat, lon, max_km[, feature_class])
CASES = {
    "R01": dict(text="Georgia's parliament in Tbilisi voted on Tuesday to extend the border mission's mandate, "
                     "while neighbouring Armenia abstained.",
                places=[("Georgia", "GE", 42.0, 43.5, 161), ("Tbilisi", "GE", 41.694, 44.834, 10),
                        ("Armenia", "AM", 40.25, 45.0, 161)],
                not_near=[("Georgia", 32.75, -83.5, 1000)]),
    "R03": dict(text="Analyst Jordan Vale told the briefing that the shipment would leave Amman for Iraq before "
                     "the end of the month, and Jordan's government has not objected.",
                places=[("Jordan", "JO", 31.0, 36.0, 161), ("Amman", "JO", 31.955, 35.945, 10),
                        ("Iraq", "IQ", 33.0, 44.0, 250)],
                no_place_span=[(8, 19)]),
    "R04": dict(text="Washington urged Baku and Yerevan to return to talks, a State Department spokesperson said, "
                     "adding that Washington would host the next round.",
                places=[("Baku", "AZ", 40.378, 49.892, 15), ("Yerevan", "AM", 40.181, 44.514, 15)],
                optional=[("Washington", "US", 38.895, -77.036, 50)],
                not_near=[("Washington", 47.5, -120.5, 1000)]),
    "R05": dict(text="A tornado touched down near Paris, TX, on Sunday night, and emergency crews from Dallas "
                     "were sent north to help.",
                places=[("Paris", "US", 33.661, -95.556, 25), ("Dallas", "US", 32.777, -96.797, 25)],
                not_near=[("Paris", 48.853, 2.349, 1000)], no_place_for=["TX"]),
    "R06": dict(text="Researchers in Cambridge, Massachusetts, said the vaccine trial would begin in Boston "
                     "hospitals next spring.",
                places=[("Cambridge", "US", 42.374, -71.11, 15), ("Boston", "US", 42.36, -71.059, 15)],
                not_near=[("Cambridge", 52.205, 0.122, 1000)]),
    "R08": dict(text="Lebanon's caretaker cabinet met in Beirut to discuss fuel shortages as power cuts spread "
                     "across the country.",
                places=[("Lebanon", "LB", 33.833, 35.833, 100, "A"), ("Beirut", "LB", 33.894, 35.502, 10)],
                not_near=[("Lebanon", 40.341, -76.411, 1000)]),
    "R11": dict(text="European carriers will pay more for the new handsets than their American rivals, "
                     "analysts said.",
                max_places=2, forbidden_classes={"S", "T", "H", "V"}, allowed_countries={None, "US"}),
    "R13": dict(text="Officials said the U.S. would send monitors, and a senior U.S diplomat added that US envoys "
                     "were already in the region.",
                places=[("U.S.", "US", 39.76, -98.5, 500, "A"), ("U.S", "US", 39.76, -98.5, 500, "A"),
                        ("US", "US", 39.76, -98.5, 500, "A")],
                same_place=[("U.S.", "U.S", "US")]),
    "R15": dict(text="Delegations from France, Armenia and Azerbaijan arrived for the signing ceremony.",
                places=[("France", "FR", 46.0, 2.0, 161, "A"), ("Armenia", "AM", 40.25, 45.0, 161, "A"),
                        ("Azerbaijan", "AZ", 40.5, 47.5, 161, "A")],
                forbidden_classes={"S", "P"}),
    "R17": dict(text="Aid groups warned that drought across Africa could push food prices up in Asia as well.",
                optional=[("Africa", None, 7.19, 21.09, 1500, "L"), ("Asia", None, 29.84, 89.3, 2000, "L")],
                forbidden_classes={"P", "S"}),
    "R18": dict(text="Energy ministers from the South Caucasus and Western Europe met to discuss a pipeline that "
                     "would bypass the Middle East.",
                regions=["South Caucasus", "Western Europe", "Middle East"]),
    "R19": dict(text="Aid convoys reached Nagorno-Karabakh on Friday after a week-long blockade of the only road "
                     "from Armenia.",
                places=[("Nagorno-Karabakh", None, 39.9, 46.7, 75), ("Armenia", "AM", 40.25, 45.0, 161)],
                no_place_for=["Nagorno"]),
    "R21": dict(text="Tanker traffic through the Strait of Hormuz slowed, while Caspian Sea shipments from Baku "
                     "continued and insurers kept watching the Gulf.",
                places=[("Strait of Hormuz", None, 26.57, 56.25, 75), ("Caspian Sea", None, 41.9, 50.6, 400),
                        ("Baku", "AZ", 40.378, 49.892, 15)],
                optional=[("Gulf", None, 26.5, 52.0, 400)],
                not_near=[("Gulf", 25.0, -90.0, 2000)]),
    "R22": dict(text="Officials in Kyiv, a city many English style guides once spelled Kiev, condemned the strike. "
                     "Separately, residents left Khankendi, which Armenians call Stepanakert.",
                places=[("Kyiv", "UA", 50.45, 30.523, 15), ("Kiev", "UA", 50.45, 30.523, 15),
                        ("Khankendi", None, 39.815, 46.752, 10), ("Stepanakert", None, 39.815, 46.752, 10)],
                same_place=[("Kyiv", "Kiev"), ("Khankendi", "Stepanakert")]),
    "R24": dict(text="A professor at Columbia University in New York and a lawmaker from Albany both testified "
                     "about the bill.",
                places=[("Albany", "US", 42.653, -73.756, 20)],
                optional=[("New York", "US", 40.713, -74.006, 300)],
                forbidden_countries={"CO", "AL"}),
    "R26": dict(text="Azerbaijan said it had returned the detainees, and Armenia confirmed their arrival later "
                     "that evening.",
                places=[("Azerbaijan", "AZ", 40.5, 47.5, 161), ("Armenia", "AM", 40.25, 45.0, 161)]),
    "R27": dict(text="YEREVAN, ARMENIA — THE GOVERNMENT ANNOUNCED NEW BORDER CROSSING HOURS WITH GEORGIA ON "
                     "MONDAY.",
                places=[("YEREVAN", "AM", 40.181, 44.514, 15), ("ARMENIA", "AM", 40.25, 45.0, 161),
                        ("GEORGIA", "GE", 42.0, 43.5, 161)],
                no_place_for=["MONDAY", "GOVERNMENT"]),
    "R29": dict(text="protesters gathered in yerevan and tbilisi on saturday, while prices at nice cafes kept "
                     "rising.",
                places=[("yerevan", "AM", 40.181, 44.514, 15), ("tbilisi", "GE", 41.694, 44.834, 10)],
                no_place_for=["nice", "saturday"]),
    "R31": dict(text="Yerevan", places=[("Yerevan", "AM", 40.181, 44.514, 15)]),
    "R31b": dict(text="Yerevan, Armenia", places=[("Yerevan", "AM", 40.181, 44.514, 15)]),
    "R31c": dict(text="YEREVAN", places=[("YEREVAN", "AM", 40.181, 44.514, 15)]),
    "R32": dict(text="Gyumri (Armenia's second city) [pop. ~110,000] hosted the summit {see annex}.",
                places=[("Gyumri", "AM", 40.789, 43.848, 10)],
                optional=[("Armenia", "AM", 40.25, 45.0, 161)], no_place_for=["annex", "pop"], no_brackets=True),
    "R34": dict(text="Veterans who served in the Soviet Union gathered in Yerevan, Tbilisi and Baku, and a few came "
                     "from the village of Zarvostan.",
                places=[("Yerevan", "AM", 40.181, 44.514, 15), ("Tbilisi", "GE", 41.694, 44.834, 10),
                        ("Baku", "AZ", 40.378, 49.892, 15)],
                unresolved=["Zarvostan"]),
}
# R19's variants: each spelling resolves within 100 km of (39.9, 46.7).
for n, variant in enumerate(["Nagorno Karabakh", "Nagorno–Karabakh", "Karabakh"]):
    CASES[f"R19{'bcd'[n]}"] = dict(text=f"Aid convoys reached {variant} on Friday after a week-long blockade.",
                                   places=[(variant, None, 39.9, 46.7, 100)])


def _resolved(result, mention):
    found = [r for r in result.resolutions if r.mention.text == mention and r.place is not None]
    return found


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_case(geoparser, case_id):
    case = CASES[case_id]
    text = case["text"]
    result = geoparser.parse([Document(case_id, text)])
    places = [r for r in result.resolutions if r.place is not None]
    for res in result.resolutions:
        assert text[res.mention.start:res.mention.end] == res.mention.text
    for mention, code, lat, lon, max_km, *fclass in case.get("places", []):
        found = _resolved(result, mention)
        assert found, f"{mention!r} not resolved; got {[(r.mention.text, r.place and r.place.name) for r in result.resolutions]}"
        for res in found:
            assert haversine_km(res.place.lat, res.place.lon, lat, lon) <= max_km, (mention, res.place)
            if code:
                assert res.place.country_code == code, (mention, res.place)
            if fclass:
                assert res.place.feature_class == fclass[0], (mention, res.place)
    for mention, code, lat, lon, max_km, *fclass in case.get("optional", []):
        for res in _resolved(result, mention):
            assert haversine_km(res.place.lat, res.place.lon, lat, lon) <= max_km, (mention, res.place)
            if fclass:
                assert res.place.feature_class == fclass[0]
    for mention, lat, lon, min_km in case.get("not_near", []):
        for res in _resolved(result, mention):
            assert haversine_km(res.place.lat, res.place.lon, lat, lon) >= min_km, (mention, res.place)
    for word in case.get("no_place_for", []):
        assert not [r for r in places if r.mention.text == word], word
    for start, end in case.get("no_place_span", []):
        assert not [r for r in places if r.mention.start < end and start < r.mention.end]
    for group in case.get("same_place", []):
        keys = {r.place.key for name in group for r in _resolved(result, name)}
        assert len(keys) == 1, group
    if "max_places" in case:
        assert len({r.place.key for r in places}) <= case["max_places"]
    for res in places:
        assert res.place.feature_class not in case.get("forbidden_classes", set()), res
        assert res.place.country_code not in case.get("forbidden_countries", set()), res
        if "allowed_countries" in case:
            assert res.place.country_code in case["allowed_countries"], res
    for name in case.get("regions", []):
        for res in _resolved(result, name):
            assert res.place.feature_class == "L" and res.place.country_code is None, res
    unresolved = [u["text"] for u in result.unresolved_dicts()]
    for name in case.get("unresolved", []):
        assert any(name in u for u in unresolved), unresolved
    if case.get("no_brackets"):
        assert not any(ch in r.mention.text for r in result.resolutions for ch in "()[]{}")


# Found by a fresh user trying geomap (person names, a glued full stop, lists of cities).
USER_CASES = {
    "michael-jordan": ("Michael Jordan visited Chicago.", {"Chicago"}),
    "paris-hilton": ("Paris Hilton flew to Los Angeles.", {"Los Angeles"}),
    "full-stop": ("Fighting near Bakhmut and Donetsk.", {"Bakhmut", "Donetsk"}),
    "list": ("Protests spread from Tehran to Isfahan and Shiraz.", {"Tehran", "Isfahan", "Shiraz"}),
}


@pytest.mark.parametrize("case_id", sorted(USER_CASES))
def test_user_case_mentions(geoparser, case_id):
    text, expected = USER_CASES[case_id]
    result = geoparser.parse([Document(case_id, text)])
    assert {r.mention.text for r in result.resolutions if r.place is not None} == expected
    assert len({(r.mention.start, r.mention.end) for r in result.resolutions}) == len(result.resolutions)


def test_user_case_one_mention_per_span(geoparser):
    result = geoparser.parse([Document("wh", "The White House said so.")])
    assert [(r.mention.text, r.place.name) for r in result.resolutions] == [("White House", "White House")]


def test_user_case_title_case_headline(geoparser):
    text = "Protesters Gather In Yerevan And Tbilisi As Talks With Baku Stall"
    result = geoparser.parse([Document("headline", text)])
    assert {r.mention.text for r in result.resolutions if r.place is not None} >= {"Yerevan", "Tbilisi", "Baku"}
