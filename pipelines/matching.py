"""The default matcher: find label-set forms in caption text. The matching semantics, a reference
implementation and the fast batch matcher that the Spark job runs (paper mode is its sibling,
``paper_mode.PaperMatcher``; both implement ``matcher.Matcher``).

Semantics (the README copies this; any re-implementation must agree exactly). Normalising and
tokenising are ``classfreq.text``'s, shared with the label sets and the model scorers:

* Text is normalised by ``normalize_text``: HTML entities decoded once (``html.unescape``), then
  Unicode NFKC, then ``str.lower()``.
* Tokens are the maximal runs of characters for which ``str.isalnum()`` is true in the normalised
  text (Unicode letters and digits of every script; everything else, including ``_``, combining
  marks, punctuation, symbols, emoji and whitespace, separates tokens). ``"Hot-Dogs!"`` gives
  ``["hot", "dogs"]``.
* A form is tokenised the same way; a form matches where its token sequence occurs contiguously
  in the text's tokens. Forms whose token sequences are equal ("hot dog", "hot-dog") are one
  pattern, and a match of it counts for every one of those forms. A form without tokens never
  matches.
* Default (leftmost-longest): scan the tokens left to right; at each position take the longest
  pattern that starts there, count it, and continue after its last token; if none starts there,
  move one token on. "tiger shark" therefore counts tiger shark and not tiger.
* ``nested=True`` counts every occurrence of every pattern, including those inside or overlapping
  longer ones: "tiger shark" counts tiger shark and tiger (and shark, if listed).
* A document's result is, per form, the number of occurrences (``mentions``); a document without
  text (None or "") has no matches.

Consequences worth knowing: "hotdog" matches only a form "hotdog"; "t-shirt", "t shirt" and
"T_Shirt" are the same tokens; lowercasing is ``str.lower`` (not casefold: "STRASSE" is not
"straße"); scripts written without spaces (Chinese, Japanese, Thai) give one token per run, so
such a form matches only a whole run; marks that NFKC cannot compose (for example Devanagari
vowel signs) split words.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from classfreq.pipelines.match_engines import ENGINES, default_engine, make_engine
from classfreq.pipelines.matcher import Hits, Matcher, as_text_list, form_patterns
from classfreq.text import leftmost_longest, lengths_by_first_token, patterns_at, tokenize

__all__ = ["ENGINES", "FormMatcher", "Hits", "count_tokens_reference", "default_engine", "match_reference"]


def count_tokens_reference(tokens: Sequence[str], patterns: dict[tuple[str, ...], list[int]],
                           nested: bool, lengths: dict[str, list[int]] | None = None) -> Counter:
    """Occurrences per pattern in one token list: the semantics, written plainly."""
    if lengths is None:
        lengths = lengths_by_first_token(patterns)
    found: Counter = Counter()
    if nested:
        for i in range(len(tokens)):
            found.update(patterns_at(tokens, i, patterns, lengths))
    else:
        found.update(pattern for _, pattern in leftmost_longest(tokens, patterns, lengths))
    return found


def match_reference(forms: Sequence[str], texts: Sequence[str | None], nested: bool = False) -> Hits:
    """The slow, obviously correct implementation that ``FormMatcher`` must equal exactly."""
    patterns = form_patterns(forms, tokenize)
    lengths = lengths_by_first_token(patterns)
    counts: dict[tuple[int, int], int] = {}
    for doc, text in enumerate(texts):
        if not text:
            continue
        for pattern, n in count_tokens_reference(tokenize(text), patterns, nested, lengths).items():
            for form in patterns[pattern]:
                counts[doc, form] = n
    return Hits.from_counts(counts)


# Byte table for the ASCII fast path: letters lowered, digits kept, NUL (the document separator)
# kept, other ASCII bytes become spaces. Bytes >= 0x80 only occur inside the canonical strings of
# exact-path documents (UTF-8 of token characters) and are kept.
_CANON_TABLE = bytes(
    (ord(chr(b).lower()) if chr(b).isalnum() else b if b == 0 else 32) if b < 128 else b
    for b in range(256))


class FormMatcher(Matcher):
    """Count forms in batches of texts, with results identical to ``match_reference``.

    Each batch becomes one canonical byte string: every document's tokens joined by single
    spaces, each document preceded by " \\x00 ", the whole padded with spaces. A pattern is its
    tokens as " tok tok " (UTF-8), so a substring hit is exactly a contiguous token match and
    never crosses documents. ASCII texts without NUL and without "&" followed by a letter or "#"
    (nearly all captions) reach that form by one bytes.translate and a vectorised collapse of
    space runs over the whole batch; the other texts are normalised and tokenised one by one.
    One multi-pattern scan (``engine``: one of ``ENGINES``; None picks ``default_engine()``) finds every
    occurrence; leftmost-longest is resolved in Python only where occurrences overlap.

    Each thread matches with its own reusable buffers. Pickling (Spark ships matchers to its
    workers) carries the forms and rebuilds the automaton on the other side.
    """

    mode = "default"  # nesting is the `nested` flag

    def __init__(self, forms: Sequence[str], nested: bool = False, engine: str | None = None):
        patterns = self._index_forms(forms, tokenize)
        self.nested = bool(nested)
        self._engine_name = engine
        counts = np.array([len(v) for v in patterns.values()], np.int64)
        self._forms_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._forms_of = np.array(list(chain.from_iterable(patterns.values())), np.int64)
        self._one_form_each = bool((counts == 1).all())
        # patterns are numbered in order of their first form, so with one form each the
        # (doc, pattern) order of np.unique is the (doc, form) order
        self._forms_sorted = self._one_form_each
        encoded = [(" " + " ".join(p) + " ").encode("utf-8") for p in self.patterns]
        self._engine = make_engine(encoded, engine) if encoded else None
        self._local = threading.local()

    @property
    def engine(self) -> str | None:
        return self._engine.name if self._engine else None

    def __reduce__(self):  # Spark ships matchers to executors: rebuild rather than pickle automata
        return (type(self), (self.forms, self.nested, self._engine_name))

    def __repr__(self) -> str:
        return f"FormMatcher({len(self.forms)} forms, {len(self.patterns)} patterns, nested={self.nested})"

    def match_batch(self, texts: Sequence[str | None]) -> Hits:
        """Hits for a batch of texts (a list, any sequence, or a pyarrow string array)."""
        arrow = _arrow_strings(texts)
        docs = arrow if arrow is not None else as_text_list(texts)
        if not len(docs) or self._engine is None:
            return Hits.empty()
        work = getattr(self._local, "work", None)
        if work is None:
            work = self._local.work = _Workspace()
        build = _canonical_arrow if arrow is not None else _canonical_batch
        haystack, separators, tail_ids = build(docs, work)
        pid, start, end = self._engine.find(haystack)
        if len(pid) == 0:
            return Hits.empty()
        doc = np.searchsorted(separators, start) - 1
        if tail_ids:
            in_tail = doc >= len(docs)
            doc[in_tail] = np.asarray(tail_ids, np.int64)[doc[in_tail] - len(docs)]
        if not self.nested:
            kept = _leftmost_longest(start, end)
            doc, pid = doc[kept], pid[kept]
        return self._hits(doc, pid)

    def _hits(self, doc: np.ndarray, pid: np.ndarray) -> Hits:
        n_patterns = len(self.patterns)
        keys = doc * n_patterns + pid
        keys.sort()
        first = np.empty(keys.size, bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        mentions = np.diff(starts, append=keys.size)
        keys = keys[starts]
        doc, pid = keys // n_patterns, keys % n_patterns
        if self._one_form_each:
            form = self._forms_of[self._forms_ptr[pid]]
        else:
            repeats = self._forms_ptr[pid + 1] - self._forms_ptr[pid]
            first = np.repeat(self._forms_ptr[pid], repeats)
            offset = np.arange(first.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
            form = self._forms_of[first + offset]
            doc, mentions = np.repeat(doc, repeats), np.repeat(mentions, repeats)
        if self._forms_sorted:  # pattern order is form order: already sorted by (doc, form)
            return Hits(doc, form, mentions)
        order = np.lexsort((form, doc))
        return Hits(doc[order], form[order], mentions[order])


class _Workspace:
    """Reusable buffers for one thread: fresh multi-megabyte arrays on every batch cost more in
    page faults than the work done in them."""

    def __init__(self):
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype) -> np.ndarray:
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[name] = np.empty(max(size, 1 << 16) + (size >> 2), dtype)
        return buffer[:size]


# html.unescape changes text only at "&" followed by an ASCII letter (named references) or "#".
_ENTITY_FIRST = frozenset("#abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _may_hold_entity(text: str) -> bool:
    i = text.find("&")
    while i != -1:
        if text[i + 1:i + 2] in _ENTITY_FIRST:
            return True
        i = text.find("&", i + 1)
    return False


def _canonical_batch(docs: list, work: _Workspace) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The batch as one canonical byte string, the offsets of its document separators (one
    before every document), and the texts whose canonical form is in the tail. The string holds
    the batch's documents in order, then, as extra documents, the canonical forms of the texts
    that are not ASCII after normalisation (their places in the batch are left empty).

    Fast path: an ASCII text without NUL and without a possible HTML entity is already NFKC,
    and its tokens are its runs of [A-Za-z0-9], so one bytes.translate of the whole batch
    (lowercase; other bytes to spaces) and a collapse of space runs give its canonical form.
    Other texts are replaced by their tokens joined with spaces before that."""
    try:
        joined = " \x00 ".join(["", *docs])
    except TypeError:  # None (no text), or a value that is not a string
        bad = next((i for i, t in enumerate(docs) if t is not None and not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"text {bad} is {type(docs[bad]).__name__}, expected str or None") from None
        docs = ["" if t is None else t for t in docs]
        joined = " \x00 ".join(["", *docs])
    exact: list[int] = []
    if not joined.isascii() or _may_hold_entity(joined):
        exact = [i for i, t in enumerate(docs) if not t.isascii() or ("&" in t and _may_hold_entity(t))]
    chars, separators, tail = _build(docs, joined, exact, work)
    if separators.size != len(docs) + len(tail):  # NUL inside texts: those take the exact path
        exact = sorted(set(exact).union(i for i, t in enumerate(docs) if "\x00" in t))
        chars, separators, tail = _build(docs, None, exact, work)
    return chars, separators, tail


def _build(docs: list, joined: str | None, exact: list[int], work: _Workspace):
    tail_ids, tail_docs = [], []
    if exact:
        docs = list(docs)
        replaced, tail_ids, tail_docs = _exact_forms([docs[i] for i in exact], exact)
        for i, canonical in replaced.items():
            docs[i] = canonical
        joined = None
    if joined is None:
        joined = " \x00 ".join(["", *docs])
    tail = "".join(f" \x00 {t}" for t in tail_docs).encode("utf-8")
    raw = np.frombuffer(b"".join((joined.encode("ascii"), tail, b" ")).translate(_CANON_TABLE), np.uint8)
    return _collapse_spaces(raw, work) + (tail_ids,)


def _exact_forms(texts: list[str], where: list[int]) -> tuple[dict[int, str], list[int], list[str]]:
    """The canonical forms of texts off the fast path: ({place: form} of those that are ASCII,
    the places and forms of the others, which go to the tail so that the batch's bytes stay ASCII)."""
    replaced, tail_ids, tail_docs = {}, [], []
    for i, text in zip(where, texts):
        canonical = " ".join(tokenize(text))
        if canonical.isascii():
            replaced[i] = canonical
        else:
            replaced[i] = ""
            tail_ids.append(i)
            tail_docs.append(canonical)
    return replaced, tail_ids, tail_docs


def _collapse_spaces(raw: np.ndarray, work: _Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Translated bytes with runs of spaces made one space, and the offsets of the separators (NUL)."""
    space = work.get("space", raw.size, bool)
    np.equal(raw, 32, out=space)
    keep = work.get("keep", raw.size, bool)
    keep[0] = True
    np.logical_and(space[1:], space[:-1], out=keep[1:])
    np.logical_not(keep[1:], out=keep[1:])
    chars = raw[keep]
    np.equal(chars, 0, out=space[:chars.size])
    return chars, np.flatnonzero(space[:chars.size])


_CANON_ARRAY = np.frombuffer(_CANON_TABLE, np.uint8)


def _arrow_strings(texts) -> pa.StringArray | None:
    """``texts`` as one pyarrow string array with 32-bit offsets, when it is a pyarrow string array
    (or chunked array) of that size; None otherwise (the batch is then read as a Python list)."""
    if isinstance(texts, pa.ChunkedArray):
        if not pa.types.is_string(texts.type) or texts.nbytes > 1 << 30:
            return None
        texts = texts.combine_chunks()
    if isinstance(texts, pa.Array) and pa.types.is_string(texts.type):
        return texts
    return None


def _canonical_arrow(texts: pa.StringArray, work: _Workspace) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``_canonical_batch`` of a pyarrow string array, without a Python string per text: Arrow joins
    the texts with the separator before each, the bytes are translated at once, and the texts off
    the fast path (``_off_path``) are blanked there and their canonical forms put in the tail."""
    joined = pc.binary_join_element_wise(" \x00 ", texts.fill_null(""), "")  # each text after a separator
    offsets = np.frombuffer(joined.buffers()[1], np.int32, len(joined) + 1, joined.offset * 4)
    body = np.frombuffer(joined.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    offsets = offsets - offsets[0]
    data = body.tobytes()
    exact = _off_path(data, body, offsets)
    tail_ids, tail = [], b""
    if exact.size:
        tail_ids = exact.tolist()
        tail = "".join(f" \x00 {' '.join(tokenize(t))}" for t in texts.take(pa.array(exact)).to_pylist()).encode("utf-8")
    # one writable buffer (reused batch to batch): the translated texts, the tail, a closing space
    raw = work.get("raw", body.size + len(tail) + 1, np.uint8)
    raw[:body.size] = np.frombuffer(data.translate(_CANON_TABLE), np.uint8)
    raw[body.size:body.size + len(tail)] = np.frombuffer(tail, np.uint8)
    raw[-1] = 32
    for i in tail_ids:
        raw[offsets[i] + 3:offsets[i + 1]] = 32  # its place stays, empty
    return _collapse_spaces(raw, work) + (tail_ids,)


_ENTITY_NEXT = np.zeros(256, bool)
_ENTITY_NEXT[[ord(c) for c in _ENTITY_FIRST]] = True


def _off_path(data: bytes, body: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Indexes of the texts of a joined batch (``body``: each text after " \\x00 ", text i at
    ``offsets[i] + 3``) that are not ASCII, may hold an HTML entity ("&" then a letter or "#"), or
    hold a NUL: their canonical forms are made by ``tokenize``. ``data`` is ``body`` as bytes."""
    found = []
    if not data.isascii():
        found.append(np.flatnonzero(body >= 128))
    if b"&" in data:
        amp = np.flatnonzero(body[:-1] == 38)
        found.append(amp[_ENTITY_NEXT[body[amp + 1]]])
    nul = body == 0
    if np.count_nonzero(nul) != len(offsets) - 1:  # (numpy counts bytes faster than bytes.count)
        nul = np.flatnonzero(nul)
        doc = np.searchsorted(offsets, nul, side="right") - 1
        found.append(nul[nul != offsets[doc] + 1])
    if not found:
        return np.zeros(0, np.int64)
    return np.unique(np.searchsorted(offsets, np.concatenate(found), side="right") - 1)


def _leftmost_longest(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Indexes of the occurrences that leftmost-longest keeps. Occurrence spans include their
    delimiting spaces, so token spans are [start + 1, end - 1) and neighbours share one space."""
    length = end - start
    longest = int(length.max())
    order = np.argsort(start * (longest + 1) + (longest - length))  # by start, longest first
    tok_start, tok_end = start[order] + 1, end[order] - 1
    reach = np.maximum.accumulate(tok_end)
    alone = np.ones(order.size, bool)                 # overlaps neither an earlier nor a later one
    clear = tok_start[1:] >= reach[:-1]
    alone[1:] &= clear
    alone[:-1] &= clear
    keep = alone.copy()
    crowded = np.flatnonzero(~alone)
    taken_until = -1
    for i, s, e in zip(crowded.tolist(), tok_start[crowded].tolist(), tok_end[crowded].tolist()):
        if s >= taken_until:                          # greedy inside overlapping runs, left to right
            keep[i] = True
            taken_until = e
    return order[keep]
