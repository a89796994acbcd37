"""The judge's learning curve: folds by class, each training fold cut to a share of its classes."""
from __future__ import annotations

import numpy as np

from classfreq.relevance.curve import curve_seed, kept_classes
from classfreq.relevance.train import class_folds, grouped_cv


def _pairs(n_classes: int = 40, per_class: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    classes = np.repeat(np.arange(n_classes), per_class)
    x = rng.normal(size=(len(classes), 3))
    y = (x[:, 0] + 0.5 * rng.normal(size=len(classes)) > 0).astype(np.int64)
    return x, y, classes, ["a", "b", "c"]


def test_all_classes_is_plain_grouped_cv():
    x, y, classes, names = _pairs()
    accuracy, in_sample, n_classes, n_pairs = curve_seed(x, y, classes, names, 1.0, seed=3)
    p = grouped_cv(x, y, class_folds(classes.tolist(), seed=3), names)
    assert accuracy == float(((p >= 0.5) == y).mean())
    assert n_classes == 4 * 40 and n_pairs == 4 * len(y)     # every class trains in 4 of the 5 folds
    assert 0.5 < in_sample <= 1.0


def test_a_share_of_classes_trains_on_fewer_whole_classes():
    x, y, classes, names = _pairs()
    _, _, n_classes, n_pairs = curve_seed(x, y, classes, names, 0.25, seed=3)
    assert n_classes == 5 * 8 and n_pairs == 4 * n_classes   # 8 of each fold's 32 training classes, whole
    kept = kept_classes(np.arange(32), 0.25, np.random.default_rng(0))
    assert len(kept) == 8 and len(set(kept.tolist())) == 8


def test_learning_curve_command_on_real_labels(shared, tmp_path, capsys):
    from classfreq.cli import main

    lines = (shared / "relevance" / "imagenet1k_dev_labels.jsonl").read_text(encoding="utf-8").splitlines()
    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(lines[:240]) + "\n", encoding="utf-8")     # a slice keeps the test quick
    assert main(["relevance", "evaluate", "--labels", str(labels), "--learning-curve"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("| full", "| fast"))]
    assert [r.split(" | ")[1] for r in rows] == ["25%", "50%", "75%", "100%"] * 2
    for row in rows:
        accuracy = float(row.split(" | ")[3].split(" ")[0])
        assert 0.5 < accuracy <= 1.0
