"""The caption text a kept match carries (doc_matches.text): a caption up to ``MATCH_TEXT_CHARS``
whole, a longer one cut to a window of about that many characters centred on the matched form,
so that the relevance judge (and a reader) sees the words around the match even when it sits at
the end of a long caption.

The form is found by the matching semantics (``classfreq.text``): its token sequence, compared
per token after NFKC and lowercasing, in the caption as written (its first occurrence). A form not
found that way (its tokens split by an HTML entity, say) gets the head of the caption.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from classfreq.text import TOKEN_RE, form_tokens

MATCH_TEXT_CHARS = 300
CUT = "…"  # marks a side where the caption was cut


def match_text(text: str | None, form: str, chars: int = MATCH_TEXT_CHARS) -> str | None:
    """``text`` whole when it is short, else a window of at most ``chars`` characters (plus the
    cut marks) around the first occurrence of ``form``, cut between words."""
    if text is None or len(text) <= chars:
        return text
    span = form_span(text, form)
    if span is None:
        return _cut(text, 0, chars)
    start, end = span
    centre = (start + end) // 2
    first = min(max(0, centre - chars // 2), len(text) - chars)
    return _cut(text, first, first + chars, keep=(start, end))


def form_span(text: str, form: str) -> tuple[int, int] | None:
    """Character span of the first occurrence of ``form``'s tokens in ``text``; None if absent."""
    target = form_tokens(form)
    if not target:
        return None
    low = text.lower()
    if len(low) == len(text):  # positions in `low` are positions in `text`
        rest = _rest_pattern(target)
        at = low.find(target[0])
        while at >= 0:
            if at == 0 or not low[at - 1].isalnum():
                found = rest.match(low, at)
                if found:
                    return found.span()
            at = low.find(target[0], at + 1)
    return _tokenwise_span(text, target)


@lru_cache(maxsize=65536)
def _rest_pattern(target: tuple[str, ...]) -> re.Pattern:
    """The form's tokens, anything but token characters between them, ending a token."""
    return re.compile(r"[\W_]+".join(map(re.escape, target)) + r"(?![^\W_])")


def _tokenwise_span(text: str, target: tuple[str, ...]) -> tuple[int, int] | None:
    """``form_span`` token by token after NFKC (which can change a caption's tokens, rarely)."""
    spans = [(m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
    tokens = [unicodedata.normalize("NFKC", text[a:b]).lower() for a, b in spans]
    k = len(target)
    for i in range(len(tokens) - k + 1):
        if tuple(tokens[i:i + k]) == target:
            return spans[i][0], spans[i + k - 1][1]
    return None


def _cut(text: str, start: int, end: int, keep: tuple[int, int] | None = None) -> str:
    """text[start:end] without a partial word at a cut side (never dropping the ``keep`` span),
    with CUT where the caption goes on."""
    if start > 0 and not text[start - 1].isspace():
        space = text.find(" ", start, keep[0] if keep else end)
        start = space + 1 if space >= 0 else start
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", keep[1] if keep else start, end)
        end = space if space > start else end
    window = text[start:end].strip()
    return (CUT if start > 0 else "") + window + (CUT if end < len(text) else "")
