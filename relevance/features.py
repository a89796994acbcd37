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
                      "sim_class_masked", "masked_margin", "phrase_sim_class", "phrase_margin", "phrase_gain"]
CONTEXT_CHARS = 120          # characters of caption kept on each side of the match for embedding
SOFTMAX_TEMPERATURE = 0.05
MASK_WORD = "thing"


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


def context_window(loc: Located, mask: bool = False) -> str:
    if not loc.found:
        return loc.text[: 2 * CONTEXT_CHARS]
    left = loc.text[max(0, loc.start - CONTEXT_CHARS): loc.start]
    right = loc.text[loc.end: loc.end + CONTEXT_CHARS]
    return f"{left}{MASK_WORD if mask else loc.text[loc.start:loc.end]}{right}"


def embedding_matrix(embedder, table: SenseTable, located: list[Located], phrases: list[str],
                     batch: PairBatch) -> np.ndarray:
    """Contexts are embedded per pair; definitions, glosses and phrases once per text (cached)."""
    contexts = embedder.encode_contexts([context_window(loc) for loc in located])
    masked = embedder.encode_contexts([context_window(loc, mask=True) for loc in located])
    phrase_vectors = embedder.encode_definitions(phrases)
    form_vectors = embedder.encode_definitions(list(batch.forms))
    rows = []
    for i, (index, form) in enumerate(zip(batch.class_indexes, batch.forms)):
        definition = embedder.encode_definitions([table.class_definition.get(index, form)])[0]
        own = table.class_synset.get(index)
        others = [s.text for s in table.senses(form) if s.synset != own]
        other_vectors = embedder.encode_definitions(others)
        row = _embedding_row(contexts[i], masked[i], definition, other_vectors)
        phrase_row = _embedding_row(phrase_vectors[i], phrase_vectors[i], definition, other_vectors)
        gain = phrase_row[0] - float(form_vectors[i] @ definition)
        rows.append(row + [phrase_row[0], phrase_row[2], gain])
    return np.array(rows, np.float64).reshape(-1, len(EMBEDDING_FEATURES))


def _embedding_row(context, masked, definition, others) -> list[float]:
    sim_class = float(context @ definition)
    sims_other = others @ context if len(others) else np.zeros(0)
    sim_other = float(sims_other.max()) if len(sims_other) else 0.0
    logits = np.concatenate([[sim_class], sims_other]) / SOFTMAX_TEMPERATURE
    soft = float(np.exp(logits[0] - logits.max()) / np.exp(logits - logits.max()).sum())
    sim_masked = float(masked @ definition)
    masked_other = float((others @ masked).max()) if len(others) else 0.0
    return [sim_class, sim_other, sim_class - sim_other if len(others) else 0.0, soft, float(len(others) > 0),
            sim_masked, sim_masked - masked_other if len(others) else 0.0]
