"""The published study's own output files (VLMClassifier, main_results/main.py): read and score them.

Its evaluation scripts write one JSON line per image: the manifest fields (`image`, `label` = the
class name it used, often `label_idx`, `imagenet_label` = the wnid, `split`) plus `output` (the
raw generation, prompt included) and `pred` (the answer after the chat prompt). CLIP runs and
label-space-size runs add `choices`, the offered class names; VLM closed-world runs only put them
in the prompt ('... Choose one from "a, b, c".'), so they are read back from `output`.

Scored by the published rule (the record's label appears in `pred`, case-insensitive) and by the
synonym rule (any surface form of the class, models/answers.SynonymRule). Lines that cannot be used
are counted and kept with their reason, never dropped silently.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from classfreq.errors import UserError
from classfreq.models.jsonl import json_lines
from classfreq.models.labels import LabelResolver

CHOICES_IN_PROMPT = re.compile(r'Choose one from "(?P<choices>.*?)"\.')
STUDY_SEED = 1234           # main_results/main.py --seed default: the choices were drawn with it


@dataclass
class StudyOutputs:
    """The usable records of one output file and the lines left out, with their reasons."""

    records: pd.DataFrame               # line, image, label, class_index, pred, n_choices
    rejected: list = field(default_factory=list)     # (line number, reason)

    def rejected_summary(self) -> dict:
        reasons = Counter(why.split(":")[0] for _, why in self.rejected)
        return {"lines_rejected": len(self.rejected), "rejected_by_reason": dict(reasons),
                "rejected_examples": [{"line": ln, "reason": why} for ln, why in self.rejected[:20]]}


def offered_choices(record: dict) -> list[str] | None:
    """The class names offered in a closed-world record: its `choices`, else the list in its prompt."""
    choices = record.get("choices")
    if isinstance(choices, list) and choices:
        return [str(c) for c in choices]
    match = CHOICES_IN_PROMPT.search(str(record.get("output") or ""))
    return [c.strip() for c in match["choices"].split(", ")] if match else None


def _class_of(record: dict, resolver: LabelResolver) -> tuple[int | None, str]:
    """The wnid (`imagenet_label`) when there is one, else the label name; a name that picks out
    two classes never resolves."""
    if record.get("imagenet_label") is not None:
        return resolver.resolve(str(record["imagenet_label"]))
    return resolver.resolve_name(str(record["label"]))


def _record_row(line_no: int, record, resolver: LabelResolver, closed: bool) -> tuple[tuple | None, str]:
    if not isinstance(record, dict):
        return None, "not a JSON object"
    missing = [k for k in ("label", "pred") if not isinstance(record.get(k), str)]
    if missing:
        return None, f"missing field: {', '.join(missing)} (need a string)"
    idx, why = _class_of(record, resolver)
    if idx is None:
        return None, f"label not in the label set: {record['label']!r} ({why})"
    n_choices = None
    if closed:
        choices = offered_choices(record)
        if choices is None:
            return None, "no choices: neither a choices field nor 'Choose one from \"...\"' in the output"
        if record["label"] not in choices:
            return None, f"label not among the offered choices: {record['label']!r}"
        n_choices = len(choices)
    return (line_no, str(record.get("image", "")), record["label"], idx, record["pred"], n_choices), ""


def read_study_outputs(path: str | Path, labelset, closed: bool) -> StudyOutputs:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"output file {path} does not exist; pass the JSON lines the study's main.py wrote")
    resolver = LabelResolver(labelset)
    rows, rejected = [], []
    for line_no, record, error in json_lines(path):
        row, why = (None, f"not JSON: {error}") if error else _record_row(line_no, record, resolver, closed)
        if row is None:
            rejected.append((line_no, why[:200]))
        else:
            rows.append(row)
    records = pd.DataFrame(rows, columns=["line", "image", "label", "class_index", "pred", "n_choices"])
    if records.empty:
        first = rejected[0][1] if rejected else "the file is empty"
        raise UserError(f"{path} has no usable records ({len(rejected)} lines rejected, first: {first}); "
                        "pass an output file of the study's main_results/main.py")
    return StudyOutputs(records, rejected)


def score_study_outputs(records: pd.DataFrame, labelset) -> pd.DataFrame:
    """correct_published (the study's rule on its own label string) and correct_synonyms per record."""
    from classfreq.models.answers import SynonymRule, published_rule
    preds = records["pred"].tolist()
    return records.assign(
        correct_published=[published_rule(p, label) for p, label in zip(preds, records["label"])],
        correct_synonyms=SynonymRule(labelset).correct(preds, records["class_index"].to_numpy(np.int64)))


def label_space_size(records: pd.DataFrame, n_classes: int) -> int | None:
    """N of a label-space-size run (every record offered the same N < all classes), else None."""
    sizes = {int(x) for x in records["n_choices"].dropna()}
    if len(sizes) > 1:
        raise UserError(f"the records offer different numbers of choices ({sorted(sizes)}); import one N at a time")
    size = next(iter(sizes), None)
    return size if size is not None and size < n_classes else None


def import_study_outputs(con, path: str | Path, labelset, *, model: str, method: str, dataset: str | None = None,
                         prompt: str = "published", seed: int = STUDY_SEED) -> dict:
    """Score one output file and write its per-class accuracy (both rules): into `accuracy`, or into
    `nway_accuracy` when the run offered N < all classes. Returns what the run recorded."""
    from classfreq.models.accuracy import accuracy_rows, per_class, write_accuracy
    from classfreq.queries.warehouse import new_run_id, record_run, utcnow

    if method not in ("open", "closed"):
        raise UserError(f"--method must be open or closed for --vlmclassifier, not {method!r}")
    started = utcnow()
    outputs = read_study_outputs(path, labelset, closed=method == "closed")
    scored = score_study_outputs(outputs.records, labelset)
    n_classes = len(labelset.classes)
    n_way = label_space_size(scored, n_classes) if method == "closed" else None
    dataset = dataset or f"{labelset.name}-val"
    run_id = new_run_id("import-accuracy")
    truth = scored["class_index"].to_numpy(np.int64)
    rows = pd.concat([accuracy_rows(per_class(truth, scored[f"correct_{rule}"].to_numpy(bool), n_classes),
                                    model=model, dataset=dataset, method=f"{method}-world", prompt=prompt,
                                    scoring=rule, labelset=labelset.name, version=labelset.version,
                                    origin="imported", run_id=run_id, n_way=n_way,
                                    seed=seed if n_way is not None else None)
                      for rule in ("published", "synonyms")], ignore_index=True)
    write_accuracy(con, rows)
    summary = {"source": "vlmclassifier", "model": model, "dataset": dataset, "method": f"{method}-world",
               "prompt": prompt, "n_way": n_way, "seed": seed if n_way is not None else None,
               "records": len(scored), "top1_published": float(scored["correct_published"].mean()),
               "top1_synonyms": float(scored["correct_synonyms"].mean()), **outputs.rejected_summary()}
    record_run(con, run_id, "import-accuracy", started, inputs={"file": str(path)}, options=summary,
               labelset=labelset.name, labelset_version=labelset.version)
    return summary
