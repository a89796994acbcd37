"""Per-class accuracy rows and their outputs: Parquet files and the warehouse `accuracy` table."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ACCURACY_KEY = ["model", "dataset", "method", "prompt", "scoring", "labelset", "version"]


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
                  scoring: str, labelset: str, version: str, origin: str, run_id: str) -> pd.DataFrame:
    """Warehouse rows for the classes that have images (empty classes are reported, not written)."""
    rows = table[table["n"] > 0].copy()
    for col, value in (("model", model), ("dataset", dataset), ("method", method), ("prompt", prompt),
                       ("scoring", scoring), ("labelset", labelset), ("version", version),
                       ("origin", origin), ("run_id", run_id)):
        rows[col] = value
    return rows[ACCURACY_KEY + ["class_index", "n", "correct", "accuracy", "origin", "run_id"]].reset_index(drop=True)


def write_accuracy(con, rows: pd.DataFrame) -> int:
    """Replace each (model, dataset, method, prompt, scoring, labelset, version) slice present in rows."""
    from classfreq.queries.warehouse import replace_rows
    written = 0
    for key, part in rows.groupby(ACCURACY_KEY, sort=False, dropna=False):
        written += replace_rows(con, "accuracy", part.reset_index(drop=True), dict(zip(ACCURACY_KEY, key)))
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
