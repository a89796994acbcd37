"""Import published per-class accuracies into the warehouse `accuracy` table (origin "imported").

Names are never the join key on their own: lists keyed by class name in class-index order are
joined by position after every name is checked against the label set
(classfreq.synsets.published_names: the display name, or one of that class's surface forms, e.g.
bethgelab's "projectile" for 744 "missile"); tables with a class_index or class_id column join on
it; a name column joins only where the name picks out exactly one class.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from classfreq.errors import UserError
from classfreq.models.accuracy import accuracy_rows, write_accuracy
from classfreq.models.labels import LabelResolver
from classfreq.synsets.published_names import check_labelset_names, refuse_repeated_keys

BETHGELAB_KEY = re.compile(r"^backbone(?P<arch>.+?)_pretrained(?P<data>.+)$")
BETHGELAB_DATASET = "imagenet1k-val"
BETHGELAB_PROMPT = "openai-ensemble"      # their imagenet_ensemble_results: CLIP's prompt-template ensemble


def _read_json(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"accuracy file {path} does not exist; pass the path of the published results")
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=refuse_repeated_keys)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); pass a JSON or CSV accuracy file") from None


def parse_bethgelab_key(key: str) -> tuple[str, str]:
    """"backboneViT-B-32_pretrainedlaion400m" -> ("ViT-B-32", "laion400m")."""
    m = BETHGELAB_KEY.match(key)
    if not m:
        raise UserError(f"{key!r} is not a bethgelab model key (backbone<ARCH>_pretrained<DATASET>)")
    return m["arch"], m["data"]


def pretraining_dataset(model_name: str) -> str | None:
    """The pretraining dataset of an imported "clip:<ARCH>:<DATASET>" model name."""
    parts = model_name.split(":")
    return parts[2] if len(parts) == 3 and parts[0] == "clip" else None


def correct_from_percent(percent: np.ndarray, n: np.ndarray, source: str) -> np.ndarray:
    exact = percent / 100.0 * n
    correct = np.rint(exact)
    off = np.abs(exact - correct)
    if np.any(off > 1e-6):
        raise UserError(f"accuracies in {source} are not whole numbers of correct images at n={int(n.max())} "
                        "per class; pass the right --n-per-class")
    return correct.astype(np.int64)


def import_bethgelab_accuracies(con, path, labelset, n_per_class: int = 50, models=None,
                                dataset: str = BETHGELAB_DATASET) -> list[str]:
    """Write the 21 CLIP models of bethgelab's imagenet_ensemble_results.json; returns model names
    written ("clip:<ARCH>:<PRETRAINING DATASET>", e.g. "clip:ViT-B-32:laion400m").

    models: None for all, or names / raw keys / pretraining datasets to keep.
    """
    from classfreq.queries.warehouse import new_run_id, record_run, utcnow

    started = utcnow()
    results = _read_json(path)
    if not isinstance(results, dict) or not results:
        raise UserError(f"{path} is not bethgelab's results format ({{model key: {{full, classwise}}}})")
    wanted = set(models) if models else None
    run_id = new_run_id("import-accuracy")
    written, details, parts = [], {}, []
    for key, entry in results.items():
        arch, data = parse_bethgelab_key(key)
        name = f"clip:{arch}:{data}"
        if wanted is not None and not wanted & {key, name, data}:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("classwise"), dict):
            raise UserError(f"{path}: entry {key!r} has no 'classwise' mapping of class name to accuracy")
        names, percent = list(entry["classwise"]), np.asarray(list(entry["classwise"].values()), dtype=float)
        renames = check_labelset_names(names, labelset, f"{path} [{key}]")
        n = np.full(len(names), int(n_per_class), dtype=np.int64)
        correct = correct_from_percent(percent, n, f"{path} [{key}]")
        table = pd.DataFrame({"class_index": np.arange(len(names), dtype=np.int32), "n": n, "correct": correct,
                              "accuracy": correct / n})
        parts.append(accuracy_rows(table, model=name, dataset=dataset, method="zero-shot", prompt=BETHGELAB_PROMPT,
                                   scoring="top1", labelset=labelset.name, version=labelset.version,
                                   origin="imported", run_id=run_id))
        top1 = float(correct.sum() / n.sum() * 100)
        details[name] = {"key": key, "arch": arch, "pretraining": data, "published_top1": entry.get("full"),
                         "top1_from_classes": round(top1, 4), "renamed_classes": renames}
        written.append(name)
    if wanted is not None and not written:
        raise UserError(f"none of {sorted(wanted)} is a model in {path}; keys look like {next(iter(results))}")
    if parts:
        write_accuracy(con, pd.concat(parts, ignore_index=True))
    record_run(con, run_id, "import-accuracy", started, inputs={"file": str(path)},
               options={"source": "bethgelab", "n_per_class": n_per_class, "dataset": dataset, "models": details},
               labelset=labelset.name, labelset_version=labelset.version)
    return written


def _resolve_rows(df: pd.DataFrame, labelset, source: str) -> np.ndarray:
    """class_index per row from class_index, class_id or an unambiguous name column."""
    n = len(labelset.classes)
    if "class_index" in df:
        idx = pd.to_numeric(df["class_index"], errors="coerce")
        bad = idx.isna() | (idx < 0) | (idx >= n)
        if bad.any():
            raise UserError(f"{source}: {int(bad.sum())} rows have a class_index outside 0..{n - 1}")
        return idx.to_numpy(dtype=np.int64)
    column = "class_id" if "class_id" in df else "name" if "name" in df else None
    if column is None:
        raise UserError(f"{source} needs a class_index, class_id or name column")
    resolver = LabelResolver(labelset)
    out, problems = [], []
    for value in df[column]:
        idx, why = resolver.resolve_name(str(value)) if column == "name" else resolver.resolve(str(value))
        if idx is None:
            problems.append(f"{value!r} ({why})")
        out.append(idx)
    if problems:
        raise UserError(f"{source}: {len(problems)} {column} values do not name exactly one class of label set "
                        f"{labelset.name} (first: {', '.join(problems[:3])}); use class_index or class_id columns")
    return np.asarray(out, dtype=np.int64)


def import_accuracy_file(con, path, labelset, model: str | None = None, dataset: str = "unknown",
                         method: str = "zero-shot", prompt: str = "published", scoring: str = "top1",
                         n_per_class: int | None = None, percent: bool | None = None) -> list[str]:
    """A CSV or JSON table of per-class results: class_index | class_id | name, then correct or accuracy,
    n (or n_per_class), and model (or the `model` argument). JSON may instead map class name to accuracy
    in class-index order ({"classwise": {...}} or a plain mapping), joined by position after a name check."""
    from classfreq.queries.warehouse import new_run_id, record_run, utcnow

    started = utcnow()
    path = Path(path)
    source = str(path)
    if path.suffix.lower() == ".json":
        data = _read_json(path)
        if isinstance(data, dict):
            mapping = data.get("classwise", data)
            names = list(mapping)
            check_labelset_names(names, labelset, source)
            df = pd.DataFrame({"class_index": np.arange(len(names)), "accuracy": list(mapping.values())})
        else:
            df = pd.DataFrame(data)
    elif path.is_file():
        df = pd.read_csv(path)
    else:
        raise UserError(f"accuracy file {path} does not exist; pass a CSV or JSON file")
    if "model" not in df:
        if not model:
            raise UserError(f"{source} has no model column; pass --model NAME")
        df["model"] = model
    df["class_index"] = _resolve_rows(df, labelset, source)
    if "n" not in df:
        if not n_per_class:
            raise UserError(f"{source} has no n column; pass --n-per-class (images per class)")
        df["n"] = int(n_per_class)
    df["n"] = df["n"].astype(np.int64)
    if "correct" not in df:
        if "accuracy" not in df:
            raise UserError(f"{source} needs a correct or accuracy column")
        acc = df["accuracy"].astype(float).to_numpy()
        is_percent = percent if percent is not None else bool(np.nanmax(acc) > 1.0)
        df["correct"] = correct_from_percent(acc if is_percent else acc * 100, df["n"].to_numpy(), source)
    if (df["correct"] > df["n"]).any() or (df["correct"] < 0).any():
        raise UserError(f"{source}: some rows have correct outside 0..n")
    run_id = new_run_id("import-accuracy")
    parts = []
    for name, group in df.groupby("model", sort=False):
        if group["class_index"].duplicated().any():
            raise UserError(f"{source}: model {name} lists a class twice")
        table = pd.DataFrame({"class_index": group["class_index"].to_numpy(np.int32), "n": group["n"].to_numpy(),
                              "correct": group["correct"].to_numpy(np.int64)})
        table["accuracy"] = table["correct"] / table["n"].clip(lower=1)
        parts.append(accuracy_rows(table, model=str(name), dataset=dataset, method=method, prompt=prompt,
                                   scoring=scoring, labelset=labelset.name, version=labelset.version,
                                   origin="imported", run_id=run_id))
    rows = pd.concat(parts, ignore_index=True)
    write_accuracy(con, rows)
    record_run(con, run_id, "import-accuracy", started, inputs={"file": source},
               options={"source": "file", "dataset": dataset, "method": method, "prompt": prompt,
                        "scoring": scoring, "n_per_class": n_per_class},
               labelset=labelset.name, labelset_version=labelset.version)
    return [str(m) for m in rows["model"].unique()]
