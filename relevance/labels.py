"""Labelled pairs in the shared file's format: one JSON object a line with pair_id, source, text,
class_index, form and label (yes/no/unclear). Pairs labelled `unclear` are left out of fitting and
evaluation."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classfreq.errors import UserError

LABELS = ("yes", "no", "unclear")
REQUIRED = ("pair_id", "text", "class_index", "form", "label")


@dataclass
class LabelledPairs:
    pair_ids: list[str]
    sources: list[str]
    texts: list[str]
    class_indexes: list[int]
    forms: list[str]
    y: np.ndarray            # 1 = yes, 0 = no (unclear pairs are not kept)
    sha256: str
    n_unclear: int

    def __len__(self) -> int:
        return len(self.pair_ids)


def read_labels(path: str | Path) -> LabelledPairs:
    """The decidable pairs of a labels file; a malformed line is an error naming its line number."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"labels file {path} does not exist")
    raw = path.read_bytes()
    rows, unclear = [], 0
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = _parse_label_line(line, number, path)
        if row["label"] == "unclear":
            unclear += 1
        else:
            rows.append(row)
    if not rows:
        raise UserError(f"labels file {path} has no pair labelled yes or no")
    return LabelledPairs([str(r["pair_id"]) for r in rows], [str(r.get("source", "")) for r in rows],
                         [str(r["text"]) for r in rows], [int(r["class_index"]) for r in rows],
                         [str(r["form"]) for r in rows], np.array([r["label"] == "yes" for r in rows], np.int64),
                         hashlib.sha256(raw).hexdigest(), unclear)


def _parse_label_line(line: str, number: int, path: Path) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} line {number} is not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise UserError(f"{path} line {number} is not a JSON object")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise UserError(f"{path} line {number} lacks {', '.join(missing)}")
    if row["label"] not in LABELS:
        raise UserError(f"{path} line {number} has label {row['label']!r}; expected yes, no or unclear")
    if isinstance(row["class_index"], bool) or not isinstance(row["class_index"], int):
        raise UserError(f"{path} line {number} has a class_index that is not an integer")
    return row
