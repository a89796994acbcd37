"""The key of one analysis: which accuracies (model, dataset, method, prompt, scoring, label-set
version) against which class frequencies (mix). Every per-group table carries these columns."""
from __future__ import annotations

from typing import NamedTuple


class AnalysisKey(NamedTuple):
    model: str
    dataset: str
    method: str
    prompt: str
    scoring: str
    labelset: str
    version: str
    mix: str


GROUP_KEYS: list[str] = list(AnalysisKey._fields)
