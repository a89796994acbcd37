"""Fit the judge's combiner on labelled pairs, and measure it by grouped cross-validation (folds
split by class, so every prediction is for a class whose pairs the model did not see)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classfreq.errors import require
from classfreq.relevance.estimate import class_bias_var
from classfreq.relevance.features import BLOCKS, PairBatch, feature_names
from classfreq.relevance.judge import PARAMS_PATH, VARIANT_BLOCKS, Combiner, FeatureExtractor, Models
from classfreq.relevance.labels import LabelledPairs

FOLDS = 5
SEED = 0
REGULARISATION = 0.01   # inverse L2 strength: chosen by grouped CV over 0.01-3 (strong shrinkage, 665 pairs)
THRESHOLD = 0.5


@dataclass
class VariantFit:
    variant: str
    combiner: Combiner
    cv_p: np.ndarray          # grouped-CV probability per labelled pair
    cv_fold: np.ndarray


def fit_combiner(x: np.ndarray, y: np.ndarray, names: list[str], c: float = REGULARISATION) -> Combiner:
    linear_model = require("sklearn.linear_model", package="scikit-learn")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = linear_model.LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y)
    return Combiner(list(names), mean, scale, model.coef_[0].copy(), float(model.intercept_[0]), THRESHOLD)


def class_folds(class_indexes: list[int], folds: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold of each pair: the classes, shuffled by a seeded generator, dealt round-robin."""
    classes = np.array(sorted(set(class_indexes)))
    order = np.random.default_rng(seed).permutation(len(classes))
    fold_of = {int(classes[j]): rank % folds for rank, j in enumerate(order)}
    return np.array([fold_of[int(c)] for c in class_indexes])


def grouped_cv(x: np.ndarray, y: np.ndarray, fold: np.ndarray, names: list[str]) -> np.ndarray:
    p = np.zeros(len(y))
    for k in sorted(set(fold.tolist())):
        test = fold == k
        p[test] = fit_combiner(x[~test], y[~test], names).predict(x[test])
    return p


def labelled_blocks(extractor: FeatureExtractor, pairs: LabelledPairs) -> dict[str, np.ndarray]:
    return extractor.block_matrices(PairBatch(pairs.texts, pairs.class_indexes, pairs.forms))


def variant_matrix(blocks: dict[str, np.ndarray], variant: str) -> tuple[np.ndarray, list[str]]:
    """One variant's feature matrix and names, from blocks computed once for all variants."""
    chosen = VARIANT_BLOCKS[variant]
    return np.hstack([blocks[b] for b in chosen]), feature_names(chosen)


def all_blocks_extractor(labelset, table, models: Models) -> FeatureExtractor:
    return FeatureExtractor(labelset, table, models, tuple(BLOCKS))


def fit_variant(x: np.ndarray, names: list[str], pairs: LabelledPairs, variant: str) -> VariantFit:
    fold = class_folds(pairs.class_indexes)
    cv_p = grouped_cv(x, pairs.y, fold, names)
    return VariantFit(variant, fit_combiner(x, pairs.y, names), cv_p, fold)


def confusion(y: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    return {"tp": int(((predicted == 1) & (y == 1)).sum()), "fp": int(((predicted == 1) & (y == 0)).sum()),
            "tn": int(((predicted == 0) & (y == 0)).sum()), "fn": int(((predicted == 0) & (y == 1)).sum())}


def params_json(fits: list[VariantFit], pairs: LabelledPairs, labels_name: str, labelset: str) -> dict:
    variants = {}
    for fit in fits:
        predicted = (fit.cv_p >= fit.combiner.threshold).astype(np.int64)
        # tau^2 by cross-products of held-out residuals within a class (estimate.class_bias_var)
        calibration = round(class_bias_var(pairs.y, fit.cv_p, pairs.class_indexes), 6)
        variants[fit.variant] = {"combiner": fit.combiner.to_json(),
                                 "grouped_cv": {"folds": FOLDS, "seed": SEED, **confusion(pairs.y, predicted),
                                                "class_calibration_var": calibration,
                                                "class_calibration_estimator": "cross-product"}}
    return {"trained_on": {"file": labels_name, "sha256": pairs.sha256, "labelset": labelset,
                           "pairs": len(pairs), "unclear_left_out": pairs.n_unclear},
            "regularisation_c": REGULARISATION, "variants": variants}


def train(labels_path: Path, labelset_name: str = "imagenet1k", out: Path = PARAMS_PATH,
          models: Models | None = None) -> dict:
    """Fit every variant on the labels and write the shipped parameters (deterministic JSON)."""
    from classfreq.relevance.labels import read_labels
    from classfreq.relevance.senses import load_sense_table
    from classfreq.synsets import load_labelset

    pairs = read_labels(labels_path)
    labelset = load_labelset(labelset_name)
    table = load_sense_table(labelset)
    blocks = labelled_blocks(all_blocks_extractor(labelset, table, models or Models()), pairs)
    fits = [fit_variant(*variant_matrix(blocks, variant), pairs, variant) for variant in VARIANT_BLOCKS]
    params = params_json(fits, pairs, Path(labels_path).name, labelset.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(params, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return params
