"""Resolution on hand-made mentions against the tiny gazetteer."""

import pytest

from geomap.model import Document, Mention
from geomap.resolve import Resolver


def mentions_of(text, *spans):
    """Mentions for (surface, label) pairs found in order in ``text``; the sentence is the text."""
    out, pos = [], 0
    for surface, label in spans:
        start = text.index(surface, pos)
        pos = start + len(surface)
        out.append(Mention(surface, start, pos, text, 0, label))
    return out


def resolve(gaz, text, *spans):
    return Resolver(gaz).resolve(Document("d", text), mentions_of(text, *spans))


def test_resolve_prefers_country_over_same_name_town(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "Georgia voted.", ("Georgia", "GPE"))
    assert res.place.country_code == "GE" and res.place.feature_code == "PCLI"


def test_resolve_capital_over_small_namesake(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "Talks in Brussels.", ("Brussels", "GPE"))
    assert res.place.country_code == "BE"
    assert res.place.geonameid == 2800866


def test_resolve_country_over_city_of_the_same_name(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "Armenia said.", ("Armenia", "GPE"))
    assert res.place.key == "ne:AM"


def test_resolve_unknown_name_is_kept_with_reason(tiny_gazetteer):
    text = "Veterans met in Yerevan and Zarvostan."
    res = resolve(tiny_gazetteer, text, ("Yerevan", "GPE"), ("Zarvostan", "GPE"))
    assert [r.mention.text for r in res] == ["Yerevan", "Zarvostan"]
    assert res[0].place.name == "Yerevan"
    assert res[1].place is None and res[1].reason == "no gazetteer match"


def test_resolve_missing_coordinates_is_unresolved_not_nan(tiny_gazetteer):
    res = resolve(tiny_gazetteer, "Inspectors visited Testville and Yerevan.", ("Testville", "GPE"), ("Yerevan", "GPE"))
    assert res[0].place is None and res[0].reason == "missing coordinates"
    assert res[1].place.name == "Yerevan"


def test_resolve_org_span_kept_only_for_strong_places(tiny_gazetteer):
    text = "The Kremlin said Shusha was calm, and Nagorno-Karabakh too."
    res = resolve(tiny_gazetteer, text, ("Kremlin", "ORG"), ("Shusha", "ORG"), ("Nagorno-Karabakh", "ORG"))
    assert [r.mention.text for r in res] == ["Kremlin", "Nagorno-Karabakh"]   # Shusha: a town, weak from ORG


def test_resolve_person_name_containing_a_place_is_dropped(tiny_gazetteer):
    text = "Analyst Armenia Vale told the briefing."
    assert resolve(tiny_gazetteer, text, ("Armenia", "PERSON")) == []


def test_resolve_demonym_is_not_a_toponym(tiny_gazetteer):
    assert resolve(tiny_gazetteer, "The Armenian minister spoke.", ("Armenian", "NORP")) == []


def test_resolve_hyphenated_country_pair_is_split(tiny_gazetteer):
    text = "on the Armenia-Azerbaijan border"
    res = resolve(tiny_gazetteer, text, ("Armenia-Azerbaijan", "ORG"))
    assert [(r.mention.text, r.place.country_code) for r in res] == [("Armenia", "AM"), ("Azerbaijan", "AZ")]
    for r in res:
        assert text[r.mention.start:r.mention.end] == r.mention.text


def test_resolve_document_countries_pick_the_namesake(tiny_gazetteer):
    # Without context "Armenia" is the country; a same-country city gets the context bonus.
    text = "Trucks reached Gyumri and Yerevan."
    res = resolve(tiny_gazetteer, text, ("Gyumri", "GPE"), ("Yerevan", "GPE"))
    assert all(r.place.country_code == "AM" for r in res)


def test_resolve_confidence_in_unit_interval(tiny_gazetteer):
    res = resolve(tiny_gazetteer, "Brussels and Baku.", ("Brussels", "GPE"), ("Baku", "GPE"))
    assert all(0.0 < r.confidence <= 1.0 for r in res)
    # Two Brussels candidates: less certain than the unique Baku.
    assert res[0].confidence <= res[1].confidence


@pytest.mark.parametrize("written", ["Nagorno Karabakh", "Nagorno–Karabakh", "NAGORNO-KARABAKH"])
def test_resolve_spelling_variants(tiny_gazetteer, written):
    (res,) = resolve(tiny_gazetteer, f"Convoys reached {written}.", (written, "GPE"))
    assert res.place.key == "curated:nagorno-karabakh"
