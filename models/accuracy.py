"""Per-class accuracy rows and their outputs: Parquet files and the warehouse `accuracy` table
(or `nway_accuracy` for label-space-size runs, whose rows also carry n_way and seed)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ACCURACY_KEY = ["model", "dataset", "method", "prompt", "scoring", "labelset", "version"]
NWAY_KEY = ACCURACY_KEY + ["n_way", "seed"]


def per_class(true_index, correct, n_classes: int) -> pd.DataFrame:
    """class_index, n, correct, accuracy for every class (accuracy is NaN where n = 0)."""
    true_index = np.asarray(true_index, dtype=np.int64)
    correct = np.asarray(correct, dtype=bool)
    n = np.bincount(true_index, minlength=n_classes)
    ok = np.bincount(true_index, weights=correct.astype(np.int64), minlength=n_classes).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(n > 0, ok / np.maximum(n, 1), np.nan)
    return pd.DataFrame({"class_index": np.arange(n_classes, dtype=np.int32), "n": n.astype(np.int64),
                         "correct": ok, "accuracy": acc})


def accuracy_rows(table: pd.DataFrame, *, model: str, dataset: str, method: str, prompt: str,
                  scoring: str, labelset: str, version: str, origin: str, run_id: str,
                  n_way: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Warehouse rows for the classes that have images (empty classes are reported, not written);
    with n_way, rows of a label-space-size run (they also carry n_way and seed)."""
    rows = table[table["n"] > 0].copy()
    key = ACCURACY_KEY if n_way is None else NWAY_KEY
    for col, value in (("model", model), ("dataset", dataset), ("method", method), ("prompt", prompt),
                       ("scoring", scoring), ("labelset", labelset), ("version", version),
                       ("n_way", n_way), ("seed", seed), ("origin", origin), ("run_id", run_id)):
        if col in key or col in ("origin", "run_id"):
            rows[col] = value
    return rows[key + ["class_index", "n", "correct", "accuracy", "origin", "run_id"]].reset_index(drop=True)


def write_accuracy(con, rows: pd.DataFrame) -> int:
    """Replace each (model, dataset, method, prompt, scoring, labelset, version) slice present in rows,
    in `accuracy`; rows with an n_way column go to `nway_accuracy`, a slice also keyed by n_way and seed."""
    from classfreq.queries.warehouse import replace_rows
    table, key = ("nway_accuracy", NWAY_KEY) if "n_way" in rows else ("accuracy", ACCURACY_KEY)
    written = 0
    for values, part in rows.groupby(key, sort=False, dropna=False):
        where = {k: v.item() if hasattr(v, "item") else v for k, v in zip(key, values)}   # numpy -> Python
        written += replace_rows(con, table, part.reset_index(drop=True), where)
    return written


def write_outputs(out_dir: str | Path | None, rows: pd.DataFrame, predictions: pd.DataFrame | None,
                  summary: dict) -> dict:
    """accuracy.parquet, predictions.parquet (optional) and summary.json under out_dir."""
    if out_dir is None:
        return {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"accuracy": out / "accuracy.parquet", "summary": out / "summary.json"}
    rows.to_parquet(paths["accuracy"], index=False)
    if predictions is not None:
        paths["predictions"] = out / "predictions.parquet"
        predictions.to_parquet(paths["predictions"], index=False)
    paths["summary"].write_text(json.dumps(summary, indent=2, default=str))
    return {k: str(v) for k, v in paths.items()}
