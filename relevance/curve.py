"""Learning curve of the judge: grouped cross-validation accuracy when each training fold keeps only
a share of its classes. Whether accuracy still rises from 75% to 100% of the classes says whether
more labelled classes would help or whether the features are the ceiling; the in-sample accuracy
on the classes trained on says how far the combiner could fit them at all."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classfreq.relevance.labels import LabelledPairs
from classfreq.relevance.train import FOLDS, class_folds, fit_combiner, variant_matrix

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
SEEDS = (0, 1, 2, 3, 4)


@dataclass
class CurvePoint:
    variant: str
    fraction: float
    held_out: list[float]     # grouped-CV accuracy, one per seed
    in_sample: list[float]    # accuracy on the training classes themselves, one per seed
    train_classes: float      # mean classes per training fold
    train_pairs: float        # mean pairs per training fold


def kept_classes(train_classes: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A seeded random `fraction` of the training fold's classes (at least one)."""
    keep = max(1, round(fraction * len(train_classes)))
    return np.sort(rng.permutation(train_classes)[:keep])


def curve_seed(x: np.ndarray, y: np.ndarray, classes: np.ndarray, names: list[str], fraction: float,
               seed: int) -> tuple[float, float, int, int]:
    """One seed: folds by class (seeded), each training fold cut to `fraction` of its classes (seeded
    by the same seed and the fold); held-out and in-sample accuracy, training classes and pairs."""
    fold = class_folds(classes.tolist(), FOLDS, seed)
    rng = np.random.default_rng([seed, int(fraction * 1000)])
    p = np.zeros(len(y))
    right_in = n_in = n_classes = 0
    for k in range(FOLDS):
        test = fold == k
        kept = kept_classes(np.unique(classes[~test]), fraction, rng)
        train = np.isin(classes, kept) & ~test
        combiner = fit_combiner(x[train], y[train], names)
        p[test] = combiner.predict(x[test])
        right_in += int(((combiner.predict(x[train]) >= combiner.threshold) == y[train]).sum())
        n_in += int(train.sum())
        n_classes += len(kept)
    return float(((p >= 0.5) == y).mean()), right_in / n_in, n_classes, n_in


def learning_curve(pairs: LabelledPairs, blocks: dict[str, np.ndarray], variants=("full", "fast"),
                   fractions=FRACTIONS, seeds=SEEDS) -> list[CurvePoint]:
    classes = np.asarray(pairs.class_indexes)
    points = []
    for variant in variants:
        x, names = variant_matrix(blocks, variant)
        for fraction in fractions:
            runs = [curve_seed(x, pairs.y, classes, names, fraction, seed) for seed in seeds]
            points.append(CurvePoint(variant, fraction, [r[0] for r in runs], [r[1] for r in runs],
                                     float(np.mean([r[2] for r in runs])) / FOLDS,
                                     float(np.mean([r[3] for r in runs])) / FOLDS))
    return points


def format_curve_table(points: list[CurvePoint]) -> str:
    head = ["judge", "training-fold classes", "classes / pairs per fit", "grouped-CV accuracy, mean (range)",
            "in-sample accuracy, mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pt in points:
        lines.append(f"| {pt.variant} | {pt.fraction:.0%} | {pt.train_classes:.0f} / {pt.train_pairs:.0f} | "
                     f"{np.mean(pt.held_out):.3f} ({min(pt.held_out):.3f}-{max(pt.held_out):.3f}) | "
                     f"{np.mean(pt.in_sample):.3f} |")
    return "\n".join(lines)
