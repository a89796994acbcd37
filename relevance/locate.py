"""Find where a matched form sits in a caption, by the project's matching semantics.

The counter matches token sequences of ``normalize_text(text)`` leftmost-longest over all the label
set's forms. The judge needs the same occurrence, but as a character span of the caption as
written (case kept, for spaCy): tokens are taken from ``NFKC(html.unescape(text))`` with the same
token pattern, and compared lowercased.
"""
from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from classfreq.text import TOKEN_RE, form_tokens, leftmost_longest, lengths_by_first_token


@dataclass(frozen=True)
class Located:
    """The caption as the judge reads it and the character span of the judged occurrence."""

    text: str            # html-unescaped, NFKC, case kept
    start: int           # character span of the occurrence in `text`; -1 when the form is absent
    end: int
    n_occurrences: int   # how many times the form's tokens occur (any position)

    @property
    def found(self) -> bool:
        return self.start >= 0


class FormLocator:
    """Leftmost-longest occurrences of one label set's forms, with character positions."""

    def __init__(self, forms: Iterable[str]):
        self.patterns = {tokens for tokens in map(form_tokens, forms) if tokens}
        self.lengths = lengths_by_first_token(self.patterns)

    def locate(self, text: str, form: str) -> Located:
        """The first occurrence of `form` that leftmost-longest matching counts; else the first
        occurrence inside a longer match (the form was found by nested matching); else absent."""
        display = unicodedata.normalize("NFKC", html.unescape(text or ""))
        spans = [(m.start(), m.end()) for m in TOKEN_RE.finditer(display)]
        tokens = [display[a:b].lower() for a, b in spans]
        target = form_tokens(form)
        k = len(target)
        anywhere = [i for i in range(len(tokens) - k + 1) if k and tuple(tokens[i:i + k]) == target]
        counted = self._counted_positions(tokens, target)
        chosen = counted[0] if counted else (anywhere[0] if anywhere else None)
        if chosen is None:
            return Located(display, -1, -1, 0)
        return Located(display, spans[chosen][0], spans[chosen + k - 1][1], len(anywhere))

    def _counted_positions(self, tokens: list[str], target: tuple[str, ...]) -> list[int]:
        return [i for i, pattern in leftmost_longest(tokens, self.patterns, self.lengths) if pattern == target]
