"""`classfreq relevance evaluate`: the judge (grouped cross-validation, folds by class) and the
baselines on one labels file, as a markdown table."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from classfreq.relevance.evaluate import (
    class_coverage,
    evaluate_rows,
    format_coverage_table,
    format_share_table,
    format_table,
    share_estimates,
)
from classfreq.relevance.features import BLOCKS, feature_names
from classfreq.relevance.judge import PARAMS_PATH, VARIANT_BLOCKS, Combiner, Models, read_params
from classfreq.relevance.labels import LabelledPairs, read_labels
from classfreq.relevance.senses import load_sense_table
from classfreq.relevance.train import all_blocks_extractor, class_folds, grouped_cv, labelled_blocks, variant_matrix

VARIANT_LABELS = {"full": "spaCy + senses + static + MiniLM", "fast": "spaCy + senses + static, no MiniLM",
                  "lexical": "token rules + senses + static, no spaCy, no MiniLM"}


def judged_rows(pairs: LabelledPairs, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """p_relevant of every judge variant by grouped CV on these labels, then by the shipped fit."""
    fold = class_folds(pairs.class_indexes)
    rows, shipped = {}, {}
    params = read_params() if PARAMS_PATH.is_file() else None
    for variant in VARIANT_BLOCKS:
        x, names = variant_matrix(blocks, variant)
        rows[f"judge {variant} (grouped CV; {VARIANT_LABELS[variant]})"] = grouped_cv(x, pairs.y, fold, names)
        fitted = (params or {}).get("variants", {}).get(variant)
        if fitted and fitted["combiner"]["features"] == names:
            tag = "in-sample" if params["trained_on"]["sha256"] == pairs.sha256 else "shipped"
            shipped[f"judge {variant} (shipped parameters, {tag})"] = Combiner.from_json(fitted["combiner"]).predict(x)
    return {**rows, **shipped}


def labelled_features(labels: Path, labelset_name: str) -> tuple[LabelledPairs, dict[str, np.ndarray]]:
    """The labelled pairs and every feature block of them, computed once."""
    from classfreq.synsets import load_labelset

    pairs = read_labels(labels)
    labelset = load_labelset(labelset_name)
    return pairs, labelled_blocks(all_blocks_extractor(labelset, load_sense_table(labelset), Models()), pairs)


def learning_curve_report(labels: Path, labelset_name: str) -> str:
    from classfreq.relevance.curve import FRACTIONS, SEEDS, format_curve_table, learning_curve

    pairs, blocks = labelled_features(labels, labelset_name)
    head = (f"{len(pairs)} decidable pairs of {len(set(pairs.class_indexes))} classes; 5-fold grouped CV, each "
            f"training fold cut to a seeded share of its classes ({', '.join(f'{f:.0%}' for f in FRACTIONS)}); "
            f"fold seeds {SEEDS[0]}-{SEEDS[-1]}.\n")
    return head + format_curve_table(learning_curve(pairs, blocks))


def evaluation_report(labels: Path, labelset_name: str) -> str:
    pairs, blocks = labelled_features(labels, labelset_name)
    x_all = np.hstack([blocks[b] for b in BLOCKS])
    judged = judged_rows(pairs, blocks)
    results = evaluate_rows(pairs, x_all, feature_names(tuple(BLOCKS)), judged)
    shares = {name.split(" (")[0]: share_estimates(pairs.y, p, pairs.sources, pairs.class_indexes)
              for name, p in judged.items() if "grouped CV" in name}
    fold = class_folds(pairs.class_indexes)
    coverage = {name.split(" (")[0]: class_coverage(pairs.y, p, pairs.class_indexes, fold)
                for name, p in judged.items() if "grouped CV" in name}
    head = (f"{len(pairs)} decidable pairs of {len(set(pairs.class_indexes))} classes from {labels.name} "
            f"({pairs.n_unclear} unclear left out); judge rows: 5-fold grouped CV, folds split by class.\n"
            f"Per source: share kept at p >= 0.5 / mean p_relevant (the expected relevant share) "
            f"(labelled share).\n")
    return (head + format_table(results) + "\n\nRelevant share per source from the held-out probabilities: the "
            "calibrated mean (what count --relevance reports) and the Rogan–Gladen correction.\n"
            + format_share_table(shares)
            + "\n\nPer-class coverage of the 95% interval of each class's relevant share (its labelled pairs, "
            "tau^2 from the other folds' classes): the share of classes whose labelled share it covers.\n"
            + format_coverage_table(coverage))
