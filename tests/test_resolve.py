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


def test_resolve_demonym_maps_to_its_country_with_role(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "The Armenian minister spoke.", ("Armenian", "NORP"))
    assert (res.place.key, res.role, res.provenance["name_kind"]) == ("ne:AM", "demonym", "demonym")


def test_resolve_city_state_qualifier(tiny_gazetteer):
    text = "A tornado touched down near Paris, TX, on Sunday."
    res = resolve(tiny_gazetteer, text, ("Paris", "GPE"), ("TX", "ORG"))
    assert [r.mention.text for r in res] == ["Paris"]            # "TX" is context, not a toponym
    assert res[0].place.geonameid == 4717560 and "qualifier" in res[0].provenance["rules"]
    (plain,) = resolve(tiny_gazetteer, "Talks in Paris.", ("Paris", "GPE"))
    assert plain.place.country_code == "FR"


def test_resolve_city_named_state_qualifier_and_ambiguous_state(tiny_gazetteer):
    text = "Researchers in Athens, Georgia, and Atlanta"
    res = resolve(tiny_gazetteer, text, ("Athens", "GPE"), ("Georgia", "GPE"), ("Atlanta", "GPE"))
    assert res[0].place.geonameid == 4180386                     # Athens, GA, not the Greek capital


def test_resolve_country_context_chooses_namesake(tiny_gazetteer):
    (georgia, tbilisi) = resolve(tiny_gazetteer, "Georgia's parliament in Tbilisi voted.",
                                 ("Georgia", "GPE"), ("Tbilisi", "GPE"))
    assert georgia.place.key == "ne:GE" and tbilisi.place.country_code == "GE"


def test_resolve_metonymic_role(tiny_gazetteer):
    text = "The Kremlin said that Baku has urged calm, while Yerevan hosted talks."
    res = resolve(tiny_gazetteer, text, ("Kremlin", "ORG"), ("Baku", "GPE"), ("Yerevan", "GPE"))
    assert [r.role for r in res] == ["metonymic", "metonymic", "literal"]
    assert res[0].place.key == "curated:kremlin"                # still mapped to the place


def test_resolve_locative_cue_accepts_town_tagged_person(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "The crash happened near Cirencester on Monday.", ("Cirencester", "PERSON"))
    assert res.place.geonameid == 2653941
    assert resolve(tiny_gazetteer, "Cirencester scored twice.", ("Cirencester", "PERSON")) == []


def test_resolve_provenance_names_runner_up(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "Talks in Brussels.", ("Brussels", "GPE"))
    prov = res.provenance
    assert prov["matched_name"] == "Brussels" and prov["name_kind"] == "official" and prov["candidates"] == 2
    assert prov["runner_up"]["country_code"] == "US" and prov["runner_up"]["score"] < prov["score"]


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


def test_resolve_run_of_country_names_is_split(tiny_gazetteer):
    text = "countries such as Armenia Georgia and others"
    res = resolve(tiny_gazetteer, text, ("Armenia Georgia", "GPE"))
    assert [(r.mention.text, r.place.key) for r in res] == [("Armenia", "ne:AM"), ("Georgia", "ne:GE")]
    assert all(text[r.mention.start:r.mention.end] == r.mention.text for r in res)


def test_resolve_leading_direction_words_are_trimmed(tiny_gazetteer):
    text = "He lives in north west Yerevan."
    (res,) = resolve(tiny_gazetteer, text, ("north west Yerevan", "GPE"))
    assert res.mention.text == "Yerevan" and text[res.mention.start:res.mention.end] == "Yerevan"
    assert res.place.country_code == "AM"


def test_resolve_a_place_that_names_a_virus_is_not_a_toponym(tiny_gazetteer):
    text = "Cases of the Yerevan virus rose, officials in Yerevan said."
    res = resolve(tiny_gazetteer, text, ("Yerevan", "GPE"), ("Yerevan", "GPE"))
    assert [r.mention.start for r in res] == [text.rindex("Yerevan")]


def test_resolve_nationality_tagged_norp_is_a_demonym(tiny_gazetteer):
    (res,) = resolve(tiny_gazetteer, "Armenia officials met.", ("Armenia", "NORP"))
    assert res.role == "demonym" and res.place.key == "ne:AM"


def test_resolve_unknown_name_written_as_a_place_is_unresolved_not_dropped(tiny_gazetteer):
    text = "Aid arrived in Yerevan and in the hamlet of Verin Zarvostan, said Anna Zarvostan."
    res = resolve(tiny_gazetteer, text, ("Yerevan", "GPE"), ("Verin Zarvostan", "PERSON"), ("Anna Zarvostan", "PERSON"))
    assert [(r.mention.text, r.reason) for r in res] == [("Yerevan", None), ("Verin Zarvostan", "no gazetteer match")]


def test_resolve_qualifier_itself_read_in_the_light_of_its_city(tiny_gazetteer):
    text = "Flights from Atlanta, Georgia, resumed."
    res = resolve(tiny_gazetteer, text, ("Atlanta", "GPE"), ("Georgia", "GPE"))
    assert [(r.mention.text, r.place.country_code, r.place.feature_code) for r in res] == [
        ("Atlanta", "US", "PPLA"), ("Georgia", "US", "ADM1")]
    (georgia,) = [r for r in resolve(tiny_gazetteer, "Tbilisi, Georgia, voted.", ("Tbilisi", "GPE"), ("Georgia", "GPE"))
                  if r.mention.text == "Georgia"]
    assert georgia.place.key == "ne:GE"


def test_resolve_spatial_coherence_favours_the_namesake_near_the_documents_places(tiny_gazetteer):
    resolver = Resolver(tiny_gazetteer)
    assert resolver.rank("Armavir")[0].candidate.place.country_code == "RU"          # the bigger town
    near_yerevan = resolver.rank("Armavir", near=[(40.1811, 44.5136)])
    assert near_yerevan[0].candidate.place.country_code == "AM"
    assert "context:nearby" in near_yerevan[0].rules


# -- lists, division words and qualifiers, against the real gazetteer ---------------------------
# Expected places are the US states (first-level divisions of the US of that name), the country
# Georgia (GE) and New York City (GeoNames 5128581).

def _by_text(results):
    return {r.mention.text: r.place for r in results}


def test_a_list_of_states_reads_each_name_as_a_state(full_gazetteer):
    text = ("There are no reports of flu in Arkansas, Colorado, Vermont, Virginia, and West Virginia. "
            "Cases were found in Arizona, Georgia, New York, Ohio, Washington, West Virginia and Wyoming.")
    spans = [(n, "GPE") for n in ("Arkansas", "Colorado", "Vermont", "Virginia", "West Virginia", "Arizona",
                                  "Georgia", "New York", "Ohio", "Washington", "West Virginia", "Wyoming")]
    places = _by_text(resolve(full_gazetteer, text, *spans))
    for name in ("Virginia", "Georgia", "New York", "Washington"):
        assert (places[name].country_code, places[name].feature_code, places[name].name) == ("US", "ADM1", name)


def test_a_list_of_countries_is_not_a_place_and_its_division(full_gazetteer):
    text = "The FAO asked Armenia, Azerbaijan, Georgia, Iraq, Iran, and Syria to be cautious."
    spans = [(n, "GPE") for n in ("Armenia", "Azerbaijan", "Georgia", "Iraq", "Iran", "Syria")]
    places = _by_text(resolve(full_gazetteer, text, *spans))
    assert [(places[n].country_code, places[n].feature_code[:3]) for n in ("Georgia", "Iraq")] == [
        ("GE", "PCL"), ("IQ", "PCL")]


@pytest.mark.parametrize("text, name, expected", [
    ("A cow from a Washington state farm tested positive.", "Washington", ("US", "ADM1")),
    ("The case was found in the state of Washington.", "Washington", ("US", "ADM1")),
    ("New York Governor Andrew Cuomo declared an emergency.", "New York", ("US", "ADM1")),
    ("The firm also operates in the states of Texas and Georgia.", "Georgia", ("US", "ADM1")),
    ("Georgia state television reported the vote.", "Georgia", ("GE", "PCLI")),
    ("Washington said it would respond.", "Washington", ("US", "PPLC")),
])
def test_a_division_word_next_to_a_name_means_the_division(full_gazetteer, text, name, expected):
    spans = [(n, "GPE") for n in ("Texas", name) if n in text]
    place = _by_text(resolve(full_gazetteer, text, *spans))[name]
    assert (place.country_code, place.feature_code) == expected


def test_a_qualifier_names_the_division_or_the_city_around_the_place(full_gazetteer):
    buffalo = _by_text(resolve(full_gazetteer, "A girl from Buffalo, New York, died.", ("Buffalo", "GPE"),
                               ("New York", "GPE")))
    assert (buffalo["New York"].feature_code, buffalo["New York"].name) == ("ADM1", "New York")
    assert buffalo["Buffalo"].geonameid == 5110629                      # Buffalo, NY
    queens = _by_text(resolve(full_gazetteer, "Eight students in Queens, New York, fell ill.", ("Queens", "GPE"),
                              ("New York", "GPE")))
    assert queens["New York"].geonameid == 5128581                      # the city around Queens
    tbilisi = _by_text(resolve(full_gazetteer, "Tbilisi, Georgia, voted.", ("Tbilisi", "GPE"), ("Georgia", "GPE")))
    assert tbilisi["Georgia"].country_code == "GE"


def test_a_country_name_among_a_documents_states_is_the_state(full_gazetteer):
    text = "Cattle from Alabama and Texas were tested. The result from the contract lab in Georgia was confirmed."
    places = _by_text(resolve(full_gazetteer, text, ("Alabama", "GPE"), ("Texas", "GPE"), ("Georgia", "GPE")))
    assert (places["Georgia"].country_code, places["Georgia"].feature_code) == ("US", "ADM1")
    text = "Senators from Texas and Ohio met. Georgia's parliament voted in Batumi."
    places = _by_text(resolve(full_gazetteer, text, ("Texas", "GPE"), ("Ohio", "GPE"), ("Georgia", "GPE"),
                              ("Batumi", "GPE")))
    assert places["Georgia"].country_code == "GE"                     # Batumi is in Georgia the country


def test_a_list_of_cities_is_not_a_city_and_its_province(full_gazetteer):
    # Isfahan is also a province; Tehran does not lie in it, so "Tehran, Isfahan" is a list.
    text = "Flights from Tehran, Isfahan and Shiraz resumed. Springfield, Illinois, and Paris, Texas, flooded."
    spans = [(n, "GPE") for n in ("Tehran", "Isfahan", "Shiraz", "Springfield", "Illinois", "Paris", "Texas")]
    places = _by_text(resolve(full_gazetteer, text, *spans))
    assert (places["Tehran"].country_code, places["Tehran"].feature_code) == ("IR", "PPLC")
    assert places["Isfahan"].feature_class == "P"
    assert places["Paris"].country_code == "US" and places["Springfield"].geonameid == 4250542   # Springfield, IL


def test_the_word_before_a_name_joins_it_when_both_make_a_known_place(full_gazetteer):
    # The model tags only "Beida" (a Libyan city) and "Sudan"; Goz Beida is a town in eastern Chad.
    text = "Children in camps near Goz Beida were ill. Fighting in South Sudan went on. The U.S. sent aid."
    res = resolve(full_gazetteer, text, ("Beida", "GPE"), ("Sudan", "GPE"), ("U.S.", "GPE"))
    assert [(r.mention.text, r.place.country_code) for r in res] == [
        ("Goz Beida", "TD"), ("South Sudan", "SS"), ("U.S.", "US")]
    assert text[res[0].mention.start:res[0].mention.end] == "Goz Beida"


def test_large_islands_are_places_not_namesake_villages(full_gazetteer):
    # Luzon island (16° N, 121° E), not the village of Luzon on Mindanao.
    (luzon,) = resolve(full_gazetteer, "Pigs on two northern Luzon farms were tested.", ("Luzon", "GPE"))
    assert abs(luzon.place.lat - 16.0) < 1.5 and abs(luzon.place.lon - 121.0) < 1.5


def test_a_place_in_the_same_sentence_outweighs_the_documents_countries(full_gazetteer):
    # Victoria beside Melbourne is the Australian state (centre about 37° S, 144° E), although the
    # document also names Canada; later, beside British Columbia, it is the Canadian city.
    text = ("Bushfires raged across Victoria, and smoke blanketed Melbourne. In Canada, officials in "
            "Vancouver watched. Victoria, the capital of British Columbia, was calm.")
    mentions = []
    for mention in mentions_of(text, ("Victoria", "GPE"), ("Melbourne", "GPE"), ("Canada", "GPE"),
                               ("Vancouver", "GPE"), ("Victoria", "GPE"), ("British Columbia", "GPE")):
        start = text.rfind(". ", 0, mention.start) + 2 if ". " in text[:mention.start] else 0
        end = text.find(".", mention.end) + 1
        mentions.append(Mention(mention.text, mention.start, mention.end, text[start:end], start, mention.label))
    res = Resolver(full_gazetteer).resolve(Document("d", text), mentions)
    state, city = res[0].place, res[4].place
    assert (state.country_code, state.feature_code) == ("AU", "ADM1") and abs(state.lat + 37) < 1.5
    assert city.country_code == "CA" and abs(city.lat - 48.43) < 0.2 and abs(city.lon + 123.37) < 0.2


def test_a_named_country_does_not_turn_a_world_city_into_a_small_namesake(full_gazetteer):
    # Spain is named, and a Madrid neighbourhood of 35,000 people is called Los Angeles; the story
    # still means the city of 3.8 million (34.05° N, 118.24° W). A county in England keeps the
    # document's help: divisions carry no population to compare.
    text = "Zara opened more stores in Spain, said a professor at the University of California, Los Angeles."
    places = _by_text(resolve(full_gazetteer, text, ("Spain", "GPE"), ("Los Angeles", "GPE")))
    assert places["Los Angeles"].country_code == "US" and abs(places["Los Angeles"].lon + 118.24) < 0.5
    text = "Foot-and-mouth disease reached a farm in England; Surrey officials closed the roads."
    places = _by_text(resolve(full_gazetteer, text, ("England", "GPE"), ("Surrey", "GPE")))
    assert places["Surrey"].country_code == "GB"


def test_a_name_repeated_many_times_adds_one_point_of_context(tiny_gazetteer):
    # Spatial coherence compares every candidate with the document's points: a name repeated
    # 300 times must add one point, not 300 (resolution would grow with the square of mentions).
    text = "Talks in Yerevan. " * 300 + "Armavir"
    spans = [("Yerevan", "GPE")] * 300 + [("Armavir", "GPE")]
    resolver = Resolver(tiny_gazetteer)
    mentions = mentions_of(text, *spans)
    context = resolver._context(Document("d", text), mentions)
    assert len(context.points_around("Armavir")) == 1
