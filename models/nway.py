"""Label-space size, as in the study (main_results/analyze_label_size.sh): each image is classified
among its true class and N - 1 other classes drawn with a seed (N = 2, 5, 20, 100 there)."""
from __future__ import annotations

import numpy as np


def draw_choices(true_index, n_classes: int, n_way: int, seed: int) -> np.ndarray:
    """(images, n_way) class indices per image: its true class and n_way - 1 other classes drawn
    without replacement, in a shuffled order (the closed-world prompt lists them in that order).
    Drawn for every labelled image in dataset order, so the draw does not depend on which images
    later turn out unreadable."""
    if not 2 <= n_way <= n_classes:
        raise ValueError(f"n_way must be between 2 and {n_classes}, not {n_way}")
    rng = np.random.default_rng(seed)
    true_index = np.asarray(true_index, dtype=np.int64)
    out = np.empty((len(true_index), n_way), dtype=np.int64)
    for i, t in enumerate(true_index):
        others = rng.choice(n_classes - 1, n_way - 1, replace=False)
        row = np.concatenate([[t], others + (others >= t)])     # skip over the true class
        rng.shuffle(row)
        out[i] = row
    return out


def best_among(scores: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Per image, the offered class with the highest score: scores (images, classes), choices (images, N)."""
    picked = np.take_along_axis(scores, choices, axis=1).argmax(axis=1)
    return choices[np.arange(len(choices)), picked]
