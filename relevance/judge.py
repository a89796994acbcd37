"""The relevance judge: p_relevant for matched (caption, class, form) pairs.

Load once per process (a Spark Python worker), then score batches:

    judge = load_judge("imagenet1k")                 # variant "full", "fast" or "lexical"
    p = judge.score(texts, class_indexes, forms)     # numpy array of probabilities

The variants share one code path and differ in the feature blocks they combine (features.BLOCKS):
"full" is spaCy + WordNet senses + static word-piece vectors + MiniLM sentence embeddings (torch);
"fast" drops the MiniLM forward passes; "lexical" also drops spaCy (token rules instead of a
parser), for when speed matters more than accuracy. All but the sense table need the `models` extra.
"""
from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classfreq.errors import UserError
from classfreq.relevance.embed import CachedEmbedder, Embedder, StaticEmbedder
from classfreq.relevance.features import (
    PairBatch,
    embedding_matrix,
    feature_names,
    locate_all,
    sense_matrix,
    static_matrix,
    surface_matrix,
    syntax_matrix,
)
from classfreq.relevance.locate import FormLocator
from classfreq.relevance.senses import SenseTable, load_sense_table
from classfreq.relevance.syntax import blas_limit, load_spacy
from classfreq.relevance.variants import VARIANT_BLOCKS, VARIANTS  # noqa: F401  (VARIANTS: judge's API as before)

PARAMS_PATH = Path(__file__).with_name("data") / "judge_params.json"


@dataclass
class Combiner:
    """Standardised logistic regression, applied with numpy (scikit-learn is needed only to fit)."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": self.features, "mean": _rounded(self.mean), "scale": _rounded(self.scale),
                "coef": _rounded(self.coef), "intercept": round(float(self.intercept), 10),
                "threshold": self.threshold}

    @classmethod
    def from_json(cls, data: dict) -> Combiner:
        return cls(list(data["features"]), np.array(data["mean"]), np.array(data["scale"]),
                   np.array(data["coef"]), float(data["intercept"]), float(data.get("threshold", 0.5)))


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 10) for v in values]


class Models:
    """The heavy, label-set-independent models, loaded lazily and once."""

    def __init__(self, threads: int | None = None, spacy_options: dict | None = None, blas_threads: int | None = 1):
        self.threads = threads
        self.spacy_options = spacy_options or {}  # load_spacy's; {"table_rules": False, ...} for comparisons
        self.blas_threads = blas_threads  # numpy's BLAS threads while computing features (None: as configured)
        self._nlp = None
        self._embedder = None
        self._static = None

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = load_spacy(**self.spacy_options)
        return self._nlp

    @property
    def embedder(self) -> JudgeEmbedder:
        if self._embedder is None:
            self._embedder = JudgeEmbedder(Embedder(self.threads))
        return self._embedder

    @property
    def static(self) -> StaticEmbedder:
        if self._static is None:
            self._static = StaticEmbedder()
        return self._static


class JudgeEmbedder:
    """Contexts are embedded fresh; definitions and glosses are cached per text."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.definitions = CachedEmbedder(embedder)

    def encode_contexts(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def encode_definitions(self, texts: list[str]) -> np.ndarray:
        return self.definitions.encode(texts)


class FeatureExtractor:
    """Features of pairs of one label set (the part of the judge that is not fitted), for the
    feature blocks of one variant or of several (training computes them all once)."""

    def __init__(self, labelset, table: SenseTable, models: Models, blocks: tuple[str, ...]):
        self.labelset = labelset
        self.table = table
        self.models = models
        self.blocks = tuple(blocks)
        self.locator = FormLocator(labelset.forms.form)
        self.class_names = {int(i): str(n) for i, n in zip(labelset.classes.class_index, labelset.classes.name)}
        self.names = feature_names(self.blocks)

    def matrix(self, batch: PairBatch) -> np.ndarray:
        blocks = self.block_matrices(batch)
        return np.hstack([blocks[b] for b in self.blocks])

    def block_matrices(self, batch: PairBatch) -> dict[str, np.ndarray]:
        threads = self.models.blas_threads
        with blas_limit(threads) if threads else nullcontext():
            return self._block_matrices(batch)

    def _block_matrices(self, batch: PairBatch) -> dict[str, np.ndarray]:
        unknown = sorted({i for i in batch.class_indexes if i not in self.class_names})
        if unknown:
            raise UserError(f"class_index {unknown[0]} is not a class of the label set {self.labelset.name}")
        located = locate_all(self.locator, batch)
        out = {"senses": sense_matrix(self.table, self.class_names, batch)}
        if "syntax" in self.blocks or "embedding" in self.blocks:
            out["syntax"], phrases = syntax_matrix(self.models.nlp, located)
        if "surface" in self.blocks:
            out["surface"] = surface_matrix(located)
        if "static" in self.blocks:
            out["static"] = static_matrix(self.models.static, self.table, located, batch)
        if "embedding" in self.blocks:
            modifies = out["syntax"][:, feature_names(("syntax",)).index("modifies_noun")]
            out["embedding"] = embedding_matrix(self.models.embedder, self.table, located, phrases, batch, modifies)
        return out


class Judge:
    """A feature extractor plus its fitted combiner; `score` gives p_relevant per pair."""

    def __init__(self, extractor: FeatureExtractor, combiner: Combiner, variant: str):
        if combiner.features != extractor.names:
            raise UserError(f"the fitted {variant} judge parameters do not match this version's features; "
                            f"re-fit them with `classfreq relevance train`")
        self.extractor = extractor
        self.combiner = combiner
        self.variant = variant
        self.threshold = combiner.threshold

    def score(self, texts: list[str], class_indexes: list[int], forms: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        batch = PairBatch(list(texts), [int(i) for i in class_indexes], list(forms))
        return self.combiner.predict(self.extractor.matrix(batch))


def read_params(path: Path = PARAMS_PATH) -> dict:
    if not path.is_file():
        raise UserError(f"the relevance judge has not been fitted ({path} is missing); run "
                        f"`classfreq relevance train --labels LABELS.jsonl`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_judge(labelset_name: str = "imagenet1k", variant: str = "full", models: Models | None = None,
               params_path: Path = PARAMS_PATH) -> Judge:
    """The shipped judge for a label set (built-in name or folder)."""
    from classfreq.synsets import load_labelset

    if variant not in VARIANTS:
        raise UserError(f"unknown judge variant {variant!r}: use one of {', '.join(VARIANTS)}")
    params = read_params(params_path)
    labelset = load_labelset(labelset_name)
    extractor = FeatureExtractor(labelset, load_sense_table(labelset), models or Models(), VARIANT_BLOCKS[variant])
    if variant not in params["variants"]:
        raise UserError(f"the shipped judge parameters have no {variant} variant; re-fit them with "
                        f"`classfreq relevance train`")
    return Judge(extractor, Combiner.from_json(params["variants"][variant]["combiner"]), variant)
