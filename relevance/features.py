"""The judge's features for a batch of matched pairs: syntax (spaCy), WordNet sense statistics
(from the precomputed sense table) and, for the full judge, sentence-embedding similarity of the
caption's context to the class definition and to the form's other senses (word-sense
disambiguation by nearest gloss). No feature names or identifies a class."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from classfreq.relevance.locate import FormLocator, Located
from classfreq.relevance.senses import SenseTable
from classfreq.relevance.syntax import SYNTAX_FEATURES, syntax_features
from classfreq.text import form_tokens, normalize_form

SENSE_FEATURES = ["log_senses", "log_noun_senses", "has_other_pos", "class_in_senses", "class_share",
                  "class_first", "form_in_wordnet", "form_multiword", "form_is_name"]
EMBEDDING_FEATURES = ["sim_class", "sim_other_max", "sim_margin", "class_soft", "has_other_senses",
                      "phrase_sim_class", "phrase_margin", "phrase_gain",
                      "modifier_phrase_sim", "modifier_phrase_margin", "modifier_phrase_gain"]
CONTEXT_CHARS = 120          # characters of caption kept on each side of the match for embedding
SOFTMAX_TEMPERATURE = 0.05


@dataclass
class PairBatch:
    texts: list[str]
    class_indexes: list[int]
    forms: list[str]


def feature_names(embeddings: bool) -> list[str]:
    return list(SYNTAX_FEATURES) + SENSE_FEATURES + (EMBEDDING_FEATURES if embeddings else [])


def locate_all(locator: FormLocator, batch: PairBatch) -> list[Located]:
    return [locator.locate(t, f) for t, f in zip(batch.texts, batch.forms)]


def syntax_matrix(nlp, located: list[Located]) -> tuple[np.ndarray, list[str]]:
    """Syntax features and head phrases; each distinct caption is parsed once."""
    distinct = sorted({loc.text for loc in located})
    docs = dict(zip(distinct, nlp.pipe(distinct, batch_size=256)))
    rows, phrases = [], []
    for loc in located:
        row, phrase = syntax_features(docs[loc.text], loc.start, loc.end)
        rows.append([row[name] for name in SYNTAX_FEATURES])
        phrases.append(phrase)
    return np.array(rows, np.float64).reshape(-1, len(SYNTAX_FEATURES)), phrases


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
    rows = []
    for i, (index, form) in enumerate(zip(batch.class_indexes, batch.forms)):
        own = table.class_synset.get(index)
        texts = [table.class_definition.get(index, form)] + [s.text for s in table.senses(form) if s.synset != own]
        senses = embedder.encode_definitions(texts)
        sentence = _similarities(contexts[i], senses)
        phrase = _similarities(phrase_vectors[i], senses)
        gain = phrase[0] - float(form_vectors[i] @ senses[0])
        # when the match modifies another noun, what counts is whether the whole phrase means the class
        modifier = [modifies_noun[i] * phrase[0], modifies_noun[i] * phrase[2], modifies_noun[i] * gain]
        rows.append(sentence + [float(len(texts) > 1), phrase[0], phrase[2], gain] + modifier)
    return np.array(rows, np.float64).reshape(-1, len(EMBEDDING_FEATURES))


def _similarities(vector, senses) -> list[float]:
    """Against [class definition, other senses...]: the class similarity, the best other sense,
    the margin between them and the class's softmax share (0 / 0 / 1 without other senses)."""
    sims = senses @ vector
    if len(sims) == 1:
        return [float(sims[0]), 0.0, 0.0, 1.0]
    logits = sims / SOFTMAX_TEMPERATURE
    soft = np.exp(logits - logits.max())
    return [float(sims[0]), float(sims[1:].max()), float(sims[0] - sims[1:].max()), float(soft[0] / soft.sum())]
