"""The judge's features for a batch of matched pairs, in blocks that the variants combine:

* syntax: what spaCy says about the matched words (relevance.syntax);
* surface: the same questions answered from the tokens alone, without a parser (relevance.surface);
* senses: WordNet sense statistics of the form (from the precomputed sense table);
* static: the words around the match against the class definition and the form's other senses,
  as averaged MiniLM word-piece vectors (a bag-of-words nearest gloss, no forward pass);
* embedding: MiniLM sentence embeddings of the caption's context and of the match's noun phrase
  against the class definition and the form's other senses (nearest gloss, in context).

No feature names or identifies a class."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from classfreq.relevance.locate import FormLocator, Located
from classfreq.relevance.senses import SenseTable
from classfreq.relevance.surface import SURFACE_FEATURES, surface_features
from classfreq.relevance.syntax import SYNTAX_FEATURES, syntax_features
from classfreq.text import form_tokens, normalize_form

SENSE_FEATURES = ["log_senses", "log_noun_senses", "has_other_pos", "class_in_senses", "class_share",
                  "class_first", "form_in_wordnet", "form_multiword", "form_is_name"]
EMBEDDING_FEATURES = ["sim_class", "sim_other_max", "sim_margin", "class_soft", "has_other_senses",
                      "phrase_sim_class", "phrase_margin", "phrase_gain",
                      "modifier_phrase_sim", "modifier_phrase_margin", "modifier_phrase_gain"]
STATIC_FEATURES = ["static_sim_class", "static_margin", "static_soft"]
BLOCKS = {"syntax": list(SYNTAX_FEATURES), "surface": [f"surf_{n}" for n in SURFACE_FEATURES],
          "senses": SENSE_FEATURES, "static": STATIC_FEATURES, "embedding": EMBEDDING_FEATURES}
CONTEXT_CHARS = 120          # characters of caption kept on each side of the match for embedding
STATIC_WORDS = 8             # words kept on each side of the match for the static embedding
PARSE_WORDS = 10             # words parsed on each side of the match
SOFTMAX_TEMPERATURE = 0.05
WORD = re.compile(r"\S+")


@dataclass
class PairBatch:
    texts: list[str]
    class_indexes: list[int]
    forms: list[str]


def feature_names(blocks: tuple[str, ...]) -> list[str]:
    return [name for block in blocks for name in BLOCKS[block]]


def locate_all(locator: FormLocator, batch: PairBatch) -> list[Located]:
    return [locator.locate(t, f) for t, f in zip(batch.texts, batch.forms)]


def syntax_matrix(nlp, located: list[Located]) -> tuple[np.ndarray, list[str]]:
    """Syntax features and head phrases; each distinct window of a caption is parsed once."""
    windows = [parse_window(loc) for loc in located]
    distinct = sorted({loc.text[a:b] for loc, (a, b) in zip(located, windows)})
    docs = dict(zip(distinct, nlp.pipe(distinct, batch_size=256)))
    rows, phrases = [], []
    for loc, (a, b) in zip(located, windows):
        start, end = (loc.start - a, loc.end - a) if loc.found else (-1, -1)
        row, phrase = syntax_features(docs[loc.text[a:b]], start, end, loc.text, a)
        rows.append([row[name] for name in SYNTAX_FEATURES])
        phrases.append(phrase)
    return np.array(rows, np.float64).reshape(-1, len(SYNTAX_FEATURES)), phrases


def parse_window(loc: Located) -> tuple[int, int]:
    """Character range of the caption that spaCy parses: PARSE_WORDS words either side of the
    match (enough for its noun phrase and neighbours), the whole caption when the form is absent."""
    if not loc.found:
        return 0, len(loc.text)
    before = [m.start() for m in WORD.finditer(loc.text, 0, loc.start)]
    after = [m.end() for m in WORD.finditer(loc.text, loc.end)]
    start = before[-PARSE_WORDS] if len(before) >= PARSE_WORDS else 0
    end = after[PARSE_WORDS - 1] if len(after) >= PARSE_WORDS else len(loc.text)
    return start, end


def surface_matrix(located: list[Located]) -> np.ndarray:
    return np.array([surface_features(loc) for loc in located], np.float64).reshape(-1, len(SURFACE_FEATURES))


def sense_matrix(table: SenseTable, class_names: dict[int, str], batch: PairBatch) -> np.ndarray:
    cache: dict[tuple[int, str], list[float]] = {}
    rows = []
    for index, form in zip(batch.class_indexes, batch.forms):
        key = (index, normalize_form(form))
        if key not in cache:
            cache[key] = _sense_row(table, class_names, *key)
        rows.append(cache[key])
    return np.array(rows, np.float64).reshape(-1, len(SENSE_FEATURES))


def _sense_row(table: SenseTable, class_names: dict[int, str], index: int, form: str) -> list[float]:
    senses = table.senses(form)
    own = table.class_synset.get(index)
    counts = [s.count for s in senses]
    in_senses = any(s.synset == own for s in senses)
    own_count = next((s.count for s in senses if s.synset == own), 0)
    share = (own_count + 1) / (sum(counts) + len(senses) + (0 if in_senses else 1))
    return [math.log1p(len(senses)), math.log1p(sum(s.pos == "n" for s in senses)),
            float(any(s.pos != "n" for s in senses)), float(in_senses), share,
            float(bool(senses) and senses[0].synset == own), float(bool(senses)),
            float(len(form_tokens(form)) > 1), float(normalize_form(class_names.get(index, "")) == form)]


def context_window(loc: Located) -> str:
    """The caption around the match (the model reads at most 128 word pieces)."""
    if not loc.found:
        return loc.text[: 2 * CONTEXT_CHARS]
    return loc.text[max(0, loc.start - CONTEXT_CHARS): loc.end + CONTEXT_CHARS]


def embedding_matrix(embedder, table: SenseTable, located: list[Located], phrases: list[str],
                     batch: PairBatch, modifies_noun: np.ndarray) -> np.ndarray:
    """Contexts are embedded per pair; definitions, glosses and phrases once per text (cached)."""
    contexts = embedder.encode_contexts([context_window(loc) for loc in located])
    phrase_vectors = embedder.encode_definitions(phrases)
    form_vectors = embedder.encode_definitions([normalize_form(f) for f in batch.forms])
    senses_of: dict[tuple[int, str], tuple[bool, np.ndarray]] = {}  # per (class, form): pairs repeat them
    rows = []
    for i, (index, form) in enumerate(zip(batch.class_indexes, batch.forms)):
        key = (index, form)
        if key not in senses_of:
            texts = sense_texts(table, index, form)
            senses_of[key] = (len(texts) > 1, embedder.encode_definitions(texts))
        has_other_senses, senses = senses_of[key]
        sentence = _similarities(contexts[i], senses)
        phrase = _similarities(phrase_vectors[i], senses)
        gain = phrase[0] - float(form_vectors[i] @ senses[0])
        # when the match modifies another noun, what counts is whether the whole phrase means the class
        modifier = [modifies_noun[i] * phrase[0], modifies_noun[i] * phrase[2], modifies_noun[i] * gain]
        rows.append(sentence + [float(has_other_senses), phrase[0], phrase[2], gain] + modifier)
    return np.array(rows, np.float64).reshape(-1, len(EMBEDDING_FEATURES))


def static_window(loc: Located) -> str:
    """The words on either side of the match, without the match (it is in every sense's lemma)."""
    if not loc.found:
        return loc.text[: 2 * CONTEXT_CHARS]
    before = WORD.findall(loc.text[: loc.start])[-STATIC_WORDS:]
    return " ".join(before + WORD.findall(loc.text[loc.end:])[:STATIC_WORDS])


def static_matrix(static, table: SenseTable, located: list[Located], batch: PairBatch) -> np.ndarray:
    """Bag-of-words nearest gloss: the window's averaged word-piece vector against the class
    definition's and each other sense's gloss (cached per text)."""
    windows = static.encode([static_window(loc) for loc in located])
    senses_of: dict[tuple[int, str], np.ndarray] = {}
    rows = []
    for i, (index, form) in enumerate(zip(batch.class_indexes, batch.forms)):
        key = (index, normalize_form(form))
        if key not in senses_of:
            senses_of[key] = static.cached.encode(sense_glosses(table, index, form))
        sims = _similarities(windows[i], senses_of[key])
        rows.append([sims[0], sims[2], sims[3]])
    return np.array(rows, np.float64).reshape(-1, len(STATIC_FEATURES))


def sense_texts(table: SenseTable, index: int, form: str) -> list[str]:
    """[the class definition, then the form's other WordNet senses], each "lemma: gloss (hypernym)"."""
    own = table.class_synset.get(index)
    return [table.class_definition.get(index, form)] + [s.text for s in table.senses(form) if s.synset != own]


def sense_glosses(table: SenseTable, index: int, form: str) -> list[str]:
    """sense_texts without the leading lemma, which the static window leaves out too."""
    return [text.split(": ", 1)[-1] for text in sense_texts(table, index, form)]


def _similarities(vector, senses) -> list[float]:
    """Against [class definition, other senses...]: the class similarity, the best other sense,
    the margin between them and the class's softmax share (0 / 0 / 1 without other senses)."""
    sims = senses @ vector
    if len(sims) == 1:
        return [float(sims[0]), 0.0, 0.0, 1.0]
    logits = sims / SOFTMAX_TEMPERATURE
    soft = np.exp(logits - logits.max())
    return [float(sims[0]), float(sims[1:].max()), float(sims[0] - sims[1:].max()), float(soft[0] / soft.sum())]
