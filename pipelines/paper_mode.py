"""Mode ``paper``: an approximation of the published study's caption counter.

What it does: the label set's class display names only (for ImageNet-1k, CLIP's curated names),
the raw text lowercased with ``str.lower()`` (no HTML unescaping, no Unicode normalisation), both
split with NLTK ``word_tokenize(text, preserve_line=True)`` (the Treebank-style tokenizer alone:
no sentence splitting, so no punkt data is needed), and a name counts wherever its token sequence
occurs contiguously, nested and overlapping occurrences included. No synonyms, no inflections,
no lemmatisation.

How it differs from what the study did (Udandarao et al. 2024; their preprocessing was never
fully specified, and their released code differs from a phrase counter):

* Their released text search builds an inverted index with spaCy ``en_core_web_lg``: per caption,
  the lemmas of tokens tagged NOUN or PROPN, stripped to ``[A-Za-z ]``. A class name is split on
  spaces/underscores and a caption counts when it contains every one of those words anywhere
  (an AND over single words, not a contiguous phrase); words absent from the index are dropped
  from the query, so "kite (bird of prey)" is searched as "kite". Their "lowercased" counts skip
  lemmatising the query words only; the index is lemmatised either way.
* Here the match is a contiguous token sequence, tokens come from NLTK's Treebank rules (which
  keep hyphenated words together, split "cannot" into "can" "not", turn '"' into "``"/"''" and
  keep a final period on abbreviations such as "co."), and no part-of-speech filter applies,
  so "orange" the colour counts for the fruit class.
* Names whose tokens are identical (ImageNet's two "missile" and two "sunglasses" classes) count
  for each of their classes; the study's published JSON renamed one of each pair ("projectile",
  "sunglass") and searched those words instead.
* HTML entities, Unicode compatibility forms and non-Latin scripts are left as they come; the
  default mode handles them.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from classfreq.errors import require
from classfreq.pipelines.matcher import Hits, Matcher, as_text_list
from classfreq.text import lengths_by_first_token


@cache
def _word_tokenize():
    return require("nltk.tokenize", package="nltk", purpose="--mode paper").word_tokenize


def paper_tokenize(text: str) -> list[str]:
    """``word_tokenize(text.lower(), preserve_line=True)``: the study-style tokens."""
    return _word_tokenize()(text.lower(), preserve_line=True)


class PaperMatcher(Matcher):
    """The paper-mode sibling of ``FormMatcher`` (same ``Matcher`` interface): ``forms`` are the
    class names; matches are always nested."""

    mode = "paper"
    nested = True
    engine = "nltk"

    def __init__(self, names: Sequence[str], nested: bool = True):
        if not nested:
            raise ValueError("paper mode always counts nested matches")
        self._patterns = self._index_forms(names, paper_tokenize, what="name")
        self._lengths = lengths_by_first_token(self._patterns)

    def __reduce__(self):
        return (type(self), (self.forms,))

    def __repr__(self) -> str:
        return f"PaperMatcher({len(self.forms)} names)"

    def match_batch(self, texts: Sequence[str | None]) -> Hits:
        texts = as_text_list(texts)
        counts: dict[tuple[int, int], int] = {}
        for doc, text in enumerate(texts):
            if text is None:
                continue
            if not isinstance(text, str):
                raise TypeError(f"text {doc} is {type(text).__name__}, expected str or None")
            tokens = paper_tokenize(text)
            for i, token in enumerate(tokens):
                for k in self._lengths.get(token, ()):
                    if i + k > len(tokens):
                        break
                    for form in self._patterns.get(tuple(tokens[i:i + k]), ()):
                        counts[doc, form] = counts.get((doc, form), 0) + 1
        return Hits.from_counts(counts)
