"""The project's text semantics, defined once: every stage (label sets, the counter, model
scoring, the relevance judge) normalises and tokenises through these functions. Spark-free and
dictionary-free, so it can be imported anywhere, executors included.

* ``normalize_text``: HTML entities decoded once (``html.unescape``), Unicode NFKC, ``str.lower()``
  (not casefold: "STRASSE" is not "straße").
* ``tokenize``: the maximal runs of characters for which ``str.isalnum()`` is true in the
  normalised text (letters and digits of every script). Everything else (space, punctuation,
  ``_``, symbols, emoji, combining marks) separates tokens: ``"Hot-Dogs!"`` gives
  ``["hot", "dogs"]``.
* ``normalize_form``: a label or surface form as written, made comparable (the normalised text
  with curly apostrophes straightened and runs of white space folded to one space).
* ``form_tokens``: the token sequence a form is matched by; two forms with equal tokens ("t-shirt",
  "t shirt") are one pattern.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

# `[^\W_]` is exactly str.isalnum(): for str patterns, re's \w is "isalnum() or '_'"
# (tests check this for every code point).
TOKEN_RE = re.compile(r"[^\W_]+")
_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """HTML entities decoded once (``html.unescape``), Unicode NFKC, then ``str.lower()``."""
    return unicodedata.normalize("NFKC", html.unescape(text)).lower()


def tokenize(text: str) -> list[str]:
    """Tokens of ``normalize_text(text)``: the maximal runs of ``str.isalnum()`` characters."""
    return TOKEN_RE.findall(normalize_text(text))


def normalize_form(text: str) -> str:
    """A form or label as written, made comparable: ``normalize_text``, curly apostrophes
    straightened, white space folded to single spaces and stripped."""
    text = normalize_text(str(text)).replace("\u2019", "'").replace("\u2018", "'")
    return _SPACES.sub(" ", text).strip()


def form_tokens(form: str) -> tuple[str, ...]:
    """The token sequence the matcher looks for; equal sequences are one pattern."""
    return tuple(tokenize(form))


def lengths_by_first_token(patterns: Iterable[tuple[str, ...]]) -> dict[str, list[int]]:
    """First token -> the ascending token lengths of the patterns that start with it."""
    lengths: dict[str, set[int]] = {}
    for pattern in patterns:
        lengths.setdefault(pattern[0], set()).add(len(pattern))
    return {token: sorted(ks) for token, ks in lengths.items()}


def patterns_at(tokens: Sequence[str], i: int, patterns, lengths: dict[str, list[int]]) -> list[tuple[str, ...]]:
    """The patterns that start at token ``i``, shortest first."""
    return [tuple(tokens[i:i + k]) for k in lengths.get(tokens[i], ())
            if i + k <= len(tokens) and tuple(tokens[i:i + k]) in patterns]


def leftmost_longest(tokens: Sequence[str], patterns, lengths: dict[str, list[int]]) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(position, pattern) of each occurrence the default matching counts: scanning left to
    right, the longest pattern starting at each position, then on after its last token."""
    i = 0
    while i < len(tokens):
        here = patterns_at(tokens, i, patterns, lengths)
        if here:
            yield i, here[-1]
            i += len(here[-1])
        else:
            i += 1
