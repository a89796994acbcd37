"""`classfreq relevance evaluate`: the judge (grouped cross-validation, folds by class) and the
baselines on one labels file, as a markdown table."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from classfreq.relevance.evaluate import evaluate_rows, format_table
from classfreq.relevance.judge import PARAMS_PATH, Combiner, FeatureExtractor, Models, read_params
from classfreq.relevance.labels import read_labels
from classfreq.relevance.senses import load_sense_table
from classfreq.relevance.train import class_folds, grouped_cv, labelled_features


def judged_rows(pairs, x: np.ndarray, names: list[str], n_fast: int) -> dict[str, np.ndarray]:
    """p_relevant of both judge variants, by grouped CV on these labels and by the shipped fit."""
    fold = class_folds(pairs.class_indexes)
    rows = {"judge full (grouped CV)": grouped_cv(x, pairs.y, fold, names),
            "judge fast (grouped CV)": grouped_cv(x[:, :n_fast], pairs.y, fold, names[:n_fast])}
    if PARAMS_PATH.is_file():
        params = read_params()
        for variant, cols in (("full", len(names)), ("fast", n_fast)):
            combiner = Combiner.from_json(params["variants"][variant]["combiner"])
            if combiner.features == names[:cols]:
                tag = "in-sample" if params["trained_on"]["sha256"] == pairs.sha256 else "shipped"
                rows[f"judge {variant} (shipped parameters, {tag})"] = combiner.predict(x[:, :cols])
    return rows


def evaluation_report(labels: Path, labelset_name: str) -> str:
    from classfreq.synsets import load_labelset

    pairs = read_labels(labels)
    labelset = load_labelset(labelset_name)
    table = load_sense_table(labelset)
    models = Models()
    full = FeatureExtractor(labelset, table, models, embeddings=True)
    n_fast = len(FeatureExtractor(labelset, table, models, embeddings=False).names)
    x = labelled_features(full, pairs)
    results = evaluate_rows(pairs, x, full.names, judged_rows(pairs, x, full.names, n_fast))
    head = (f"{len(pairs)} decidable pairs of {len(set(pairs.class_indexes))} classes from {labels.name} "
            f"({pairs.n_unclear} unclear left out); judge rows: 5-fold grouped CV, folds split by class.\n"
            f"Per source: share kept at p >= 0.5 / mean p_relevant (the expected relevant share) "
            f"(labelled share).\n")
    return head + format_table(results)
