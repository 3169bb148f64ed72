"""Recognition with the real English model: spans, sentences, headlines, long texts."""

import pytest

from geomap.exc import ModelError
from geomap.model import Document
from geomap.recognize import EXPECTED_SPACY_GIT_VERSION, Recognizer, _pieces, load_nlp

pytestmark = pytest.mark.model


def mentions(nlp, text):
    ((_, found),) = list(Recognizer(nlp).recognize([Document("d", text)]))
    return found


def test_recognize_runs_only_needed_pipes(nlp):
    assert nlp.meta["spacy_git_version"] == EXPECTED_SPACY_GIT_VERSION
    assert {"tagger", "parser", "lemmatizer", "attribute_ruler"}.isdisjoint(nlp.pipe_names)
    assert {"ner", "senter", "geomap_line_breaks"} <= set(nlp.pipe_names)


def test_recognize_offsets_and_sentence(nlp):
    text = "The talks were held in Brussels on Monday. Later, officials flew to Baku."
    found = mentions(nlp, text)
    assert [m.text for m in found] == ["Brussels", "Baku"]
    for m in found:
        assert text[m.start:m.end] == m.text
        assert text[m.sentence_start:m.sentence_start + len(m.sentence)] == m.sentence
        assert m.sentence_start <= m.start < m.end <= m.sentence_start + len(m.sentence)
    assert found[1].sentence == "Later, officials flew to Baku."


def test_recognize_headline_is_its_own_sentence(nlp):
    text = "Putin, Aliyev confirm efforts on peace in Azerbaijan\nThe two presidents met in Brussels in May."
    found = mentions(nlp, text)
    by_text = {m.text: m for m in found}
    assert by_text["Azerbaijan"].sentence == "Putin, Aliyev confirm efforts on peace in Azerbaijan"
    assert by_text["Brussels"].sentence == "The two presidents met in Brussels in May."


def test_recognize_trims_article(nlp):
    text = "Tensions rose again in the South Caucasus last week."
    found = [m for m in mentions(nlp, text) if "Caucasus" in m.text]
    assert found and found[0].text == "South Caucasus" and text[found[0].start:found[0].end] == "South Caucasus"


def test_recognize_empty_and_whitespace_documents(nlp):
    docs = [Document("a", ""), Document("b", "  \n\t "), Document("c", "Talks in Baku.")]
    out = list(Recognizer(nlp).recognize(docs))
    assert [(d.id, [m.text for m in ms]) for d, ms in out] == [("a", []), ("b", []), ("c", ["Baku"])]


def test_recognize_long_text_in_pieces_keeps_offsets(nlp):
    sentence = "Trucks carrying grain crossed from Georgia into Armenia and reached Gyumri before dawn. "
    text = sentence * 1200                      # ~106,000 characters: more than one piece
    found = mentions(nlp, text)
    assert len({m.start for m in found}) == len(found)
    assert all(text[m.start:m.end] == m.text for m in found)
    assert {m.text for m in found} >= {"Georgia", "Armenia"}
    assert found[-1].start > 100_000


def test_pieces_cut_at_breaks_and_cover_the_text():
    text = ("word " * 50 + "end.\n") * 100
    pieces = list(_pieces(text, 1000))
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 1000 for _, p in pieces)
    assert all(text[off:off + len(p)] == p for off, p in pieces)
    assert all(p.endswith("\n") for _, p in pieces[:-1])


def test_load_nlp_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match="cannot load the spaCy model 'no_such_model_xyz'"):
        load_nlp("no_such_model_xyz")


def test_load_nlp_rejects_wrong_build(monkeypatch):
    import spacy
    real_load = spacy.load

    def fake_load(name, **kwargs):
        nlp = real_load(name, **kwargs)
        nlp.meta["spacy_git_version"] = "deadbeef"
        return nlp

    monkeypatch.setattr(spacy, "load", fake_load)
    with pytest.raises(ModelError, match="spacy_git_version 'deadbeef'"):
        load_nlp()


NAMES = {"yerevan": True, "armenia": True, "georgia": True, "tbilisi": True, "nice": False, "us": True,
         "jordan": True, "strait of hormuz": True, "reading": False, "bosnia and herzegovina": True}


def gaz_mentions(nlp, text):
    ((_, found),) = list(Recognizer(nlp, names=NAMES).recognize([Document("d", text)]))
    return [(m.text, m.label) for m in found]


def test_recognize_gazetteer_matcher_all_caps_dateline(nlp):
    text = "YEREVAN, ARMENIA — THE GOVERNMENT ANNOUNCED NEW BORDER CROSSING HOURS WITH GEORGIA ON MONDAY."
    found = gaz_mentions(nlp, text)
    assert [t for t, _ in found] == ["YEREVAN", "ARMENIA", "GEORGIA"]


def test_recognize_gazetteer_matcher_lower_case_text_only_strong_names(nlp):
    text = "protesters gathered in yerevan and tbilisi on saturday, while prices at nice cafes kept rising."
    assert [t for t, _ in gaz_mentions(nlp, text)] == ["yerevan", "tbilisi"]


def test_recognize_gazetteer_matcher_ignores_lower_case_words_in_normal_text(nlp):
    text = "Officials in Yerevan said the food was nice and told us about reading the report."
    assert [t for t, _ in gaz_mentions(nlp, text)] == ["Yerevan"]


def test_recognize_gazetteer_matcher_respects_person_entities(nlp):
    text = "Analyst Jordan Vale told the briefing in Amman."
    assert "Jordan" not in [t for t, _ in gaz_mentions(nlp, text)]


def test_recognize_gazetteer_matcher_bare_name_and_multiword(nlp):
    assert [t for t, _ in gaz_mentions(nlp, "Yerevan")] == ["Yerevan"]
    found = gaz_mentions(nlp, "Ships crossed the Strait of Hormuz toward Bosnia and Herzegovina.")
    assert ("Strait of Hormuz" in [t for t, _ in found]) and ("Bosnia and Herzegovina" in [t for t, _ in found])


def test_recognize_strong_place_inside_an_organisation_name(nlp):
    names = {**NAMES, "us": True, "united states": True, "california": True}
    text = "Samples were tested by the U.S. Centers for Disease Control and Prevention in Atlanta."
    ((_, found),) = list(Recognizer(nlp, names=names).recognize([Document("d", text)]))
    assert ("U.S.", "GAZ") in [(m.text, m.label) for m in found]


def test_recognize_a_country_name_the_model_splits_replaces_its_pieces(nlp):
    # The small model tags "Democratic Republic" and "Congo" apart (GPE, GPE); the country's full
    # name covers both whole, so it replaces them. A person's name is never swallowed.
    names = {**NAMES, "democratic republic of the congo": True, "congo": True, "trinidad and tobago": True,
             "trinidad": False, "tobago": False, "republic of jordan": True}
    text = ("Polio rose in Angola, Chad, and Democratic Republic of the Congo, and cases were seen in the "
            "Democratic Republic of the Congo and in Trinidad and Tobago.")
    ((_, found),) = list(Recognizer(nlp, names=names).recognize([Document("d", text)]))
    texts = [m.text for m in found]
    assert texts.count("Democratic Republic of the Congo") == 2 and "Congo" not in texts
    assert "Trinidad and Tobago" in texts and "Trinidad" not in texts
