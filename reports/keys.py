"""The key of one analysis: which accuracies (model, dataset, method, prompt, scoring, label-set
version) against which class frequencies (mix, and whether its counts are all matches ('raw') or the
relevance-judged ones ('relevant')). Every per-group table carries these columns.

A test FAMILY (Holm) is one set of accuracies: the key without the frequencies (FAMILY_KEYS)."""
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
    count_basis: str


GROUP_KEYS: list[str] = list(AnalysisKey._fields)
FAMILY_KEYS: list[str] = GROUP_KEYS[:7]
