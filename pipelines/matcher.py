"""The one interface of every caption matcher, and the `Hits` a batch gives.

The default matcher (`matching.FormMatcher`: label-set forms, ``classfreq.text`` tokens) and the
paper-mode matcher (`paper_mode.PaperMatcher`: display names, NLTK tokens) are siblings behind
`Matcher`; `match_spec.make_matcher` picks one by mode. A matcher has

* ``forms``: the strings it looks for, in the caller's order (hits refer to them by index);
* ``patterns``: the distinct token sequences of those forms, and ``form_pattern``: each form's
  pattern index (-1 for a form without tokens, which never matches);
* ``mode`` (``default`` | ``paper``) and ``nested`` (whether forms inside longer ones count);
* ``match_batch(texts) -> Hits`` and ``match(text) -> {form index: mentions}``.

A new matcher is a subclass in its own module plus one line in ``match_spec.MATCHERS``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Hits:
    """One entry per (document, form) pair that matched: ``doc`` indexes the batch's texts,
    ``form`` the matcher's forms, ``mentions`` counts occurrences (>= 1). Sorted by doc, then form."""

    doc: np.ndarray
    form: np.ndarray
    mentions: np.ndarray

    def __len__(self) -> int:
        return len(self.doc)

    @classmethod
    def empty(cls) -> Hits:
        return cls(*(np.zeros(0, np.int64) for _ in range(3)))

    @classmethod
    def from_counts(cls, counts: dict[tuple[int, int], int]) -> Hits:
        """Hits from {(doc, form): mentions}."""
        if not counts:
            return cls.empty()
        keys = sorted(counts)
        return cls(np.array([d for d, _ in keys], np.int64), np.array([f for _, f in keys], np.int64),
                   np.array([counts[k] for k in keys], np.int64))


def as_text_list(texts) -> list:
    """A batch of texts as a Python list (from a list, any sequence, or a pyarrow string array)."""
    if hasattr(texts, "to_pylist"):
        return texts.to_pylist()
    return texts if isinstance(texts, list) else list(texts)


def form_patterns(forms: Iterable[str], tokenize: Callable[[str], list[str]]) -> dict[tuple[str, ...], list[int]]:
    """Token sequence -> indexes of the forms that have it (forms without tokens are left out)."""
    patterns: dict[tuple[str, ...], list[int]] = {}
    for index, form in enumerate(forms):
        tokens = tuple(tokenize(form))
        if tokens:
            patterns.setdefault(tokens, []).append(index)
    return patterns


class Matcher(ABC):
    """Finds forms in texts; see the module docstring for the attributes every matcher has."""

    mode: str
    nested: bool
    forms: tuple[str, ...]
    patterns: list[tuple[str, ...]]
    form_pattern: np.ndarray

    def _index_forms(self, forms: Sequence[str], tokenize: Callable[[str], list[str]],
                     what: str = "form") -> dict[tuple[str, ...], list[int]]:
        """Set ``forms``, ``patterns`` and ``form_pattern``; returns pattern -> form indexes."""
        self.forms = tuple(forms)
        for i, form in enumerate(self.forms):
            if not isinstance(form, str):
                raise TypeError(f"{what} {i} is {type(form).__name__}, expected str")
        patterns = form_patterns(self.forms, tokenize)
        self.patterns = list(patterns)
        self.form_pattern = np.full(len(self.forms), -1, np.int64)  # -1: a form without tokens
        for pid, forms_of_pattern in enumerate(patterns.values()):
            self.form_pattern[forms_of_pattern] = pid
        return patterns

    @abstractmethod
    def match_batch(self, texts: Sequence[str | None]) -> Hits:
        """Hits for a batch of texts (a list, any sequence, or a pyarrow string array); None or
        "" has no matches, any other non-string raises TypeError."""

    def match(self, text: str | None) -> dict[int, int]:
        """{form index: mentions} for one text."""
        hits = self.match_batch([text])
        return dict(zip(hits.form.tolist(), hits.mentions.tolist()))
