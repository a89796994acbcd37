"""Pairs to score, one JSON object a line: {pair_id, text, class_index, form}. A malformed line is
kept aside with its line number and reason, never silently dropped."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from classfreq.errors import UserError


@dataclass
class PairLine:
    number: int
    pair_id: str
    text: str
    class_index: int
    form: str


@dataclass
class BadLine:
    number: int
    reason: str


def parse_pair_line(line: str, number: int, class_indexes: set[int]) -> PairLine | BadLine:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadLine(number, f"not valid JSON ({exc.msg})")
    if not isinstance(row, dict):
        return BadLine(number, "not a JSON object")
    missing = [k for k in ("pair_id", "text", "class_index", "form") if k not in row]
    if missing:
        return BadLine(number, f"lacks {', '.join(missing)}")
    index = row["class_index"]
    if isinstance(index, bool) or not isinstance(index, int):
        return BadLine(number, "class_index is not an integer")
    if index not in class_indexes:
        return BadLine(number, f"class_index {index} is not a class of the label set")
    if not isinstance(row["text"], str) or not isinstance(row["form"], str) or not row["form"].strip():
        return BadLine(number, "text and form must be strings and form not empty")
    if not isinstance(row["pair_id"], (str, int)):
        return BadLine(number, "pair_id must be a string or an integer")
    return PairLine(number, str(row["pair_id"]), row["text"], index, row["form"])


def read_pair_lines(path: Path, class_indexes: set[int]) -> Iterator[PairLine | BadLine]:
    if not path.is_file():
        raise UserError(f"pairs file {path} does not exist")
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_pair_line(line, number, class_indexes)
