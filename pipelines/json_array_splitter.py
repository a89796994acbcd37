"""Split one big JSON document into its records without loading it: LLaVA training files (a
top-level array of samples, hundreds of MB) and COCO annotation files (the `annotations` array of
a top-level object).

The input is decoded block by block (invalid UTF-8 bytes kept as surrogates, so every record
comes out as its exact original bytes). The fast path validates and splits all the records of
the decoded text at once with msgspec (``list[msgspec.Raw]``: each element's exact bytes, at about
ten times the speed of the stdlib decoder); when a record there is malformed, the stdlib C decoder
(``JSONDecoder.raw_decode``) goes record by record up to it; when that fails, a bracket scanner decides
whether the record is merely cut by the end of the block (read more), complete but malformed (a
record of its own, quarantined by the parser), or broken (brackets that close early, a ``{``
never closed): then the splitter resynchronises on the next record start (``{`` followed by the
first key of the array's records), and the broken bytes become one piece with a reason. Arrays
back to back (``cat a.json b.json``) are all read, a UTF-8 BOM is white space, bytes outside any
array are a piece with a reason.

Every byte read is accounted for in a ``Ledger``: inside a record, inside a piece with a reason,
structure (brackets, commas, white space, BOMs) or, for COCO, the object around the array. The
ledger's ``check`` makes a record that is read but never yielded impossible.
"""
from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from classfreq.pipelines.pieces import Ledger, Piece

BLOCK = 8 << 20
MAX_RECORD = 64 << 20   # characters: a record still open after this many is broken (memory bound)
SKIPPED_BROKEN = "malformed JSON record (brackets do not match; skipped to the next record)"
SKIPPED_OUTSIDE = "bytes outside the JSON array"
SKIPPED_STRAY = "a stray ']' between JSON records"
SKIPPED_NO_MEMBER = "a JSON object without the array"

_STRUCTURAL = re.compile(r'["\[\]{},:]')
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*"', re.S)
_NOT_WS = re.compile(r"[^ \t\r\n\ufeff]")
_STRUCTURE_ONLY = re.compile(r"[ \t\r\n\ufeff,\[\]]*")
_FIRST_KEY = re.compile(r'\{\s*("(?:[^"\\]|\\.)*")\s*:', re.S)
_ANY_START = re.compile(r"[,\[]\s*(\{)")
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
_COMMA = re.compile(r"[ \t\r\n]*,[ \t\r\n]*")
_SEPARATORS = " \t\r\n\ufeff,["
_CLOSER = {"]": "[", "}": "{"}
_DECODER = json.JSONDecoder()
_RAW_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_CUTS_TRIED = 3  # record starts (from the last in the text back) at which msgspec is tried


class JsonLayoutError(ValueError):
    """The file is not a JSON array (or has no such member array): nothing can be split."""


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


class _Text:
    """The decoded input: ``text`` holds the unconsumed part, ``done`` the first position not yet
    accounted for in the ledger."""

    def __init__(self, stream: BinaryIO, block: int, ledger: Ledger):
        self.stream, self.block, self.ledger = stream, block, ledger
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.text, self.done, self.eof = "", 0, False

    def more(self, keep_from: int) -> int:
        """Drop text before ``keep_from`` (never past ``done``) and decode one more block; the shift
        applied to positions, or -1 at the end of the input."""
        while not self.eof:
            chunk = self.stream.read(self.block)
            self.ledger.read += len(chunk)
            self.eof = not chunk
            new = self.decoder.decode(chunk, final=self.eof)
            if new:
                keep_from = min(keep_from, self.done)
                self.text = self.text[keep_from:] + new
                self.done -= keep_from
                return keep_from
        return -1

    def next_char(self, pos: int) -> tuple[int, str]:
        """(position, char) of the next non-blank char at or after ``pos`` ('' at the end)."""
        while True:
            m = _NOT_WS.search(self.text, pos)
            if m is not None:
                return m.start(), m.group()
            shift = self.more(pos)
            if shift < 0:
                return len(self.text), ""
            pos -= shift

    def account(self, upto: int, kind: str) -> None:
        """Everything from ``done`` to ``upto`` is structure (checked) or outside the array."""
        span = self.text[self.done:upto]
        if kind == "structure" and _STRUCTURE_ONLY.fullmatch(span) is None:
            raise AssertionError(f"JSON splitter: non-structure text between records: {span[:80]!r}")
        n = _nbytes(span)
        if kind == "structure":
            self.ledger.structure_bytes += n
        else:
            self.ledger.outside_bytes += n
        self.done = upto

    def piece(self, start: int, end: int, reason: str | None = None) -> Piece:
        """The record (or broken span) text[start:end], after accounting the structure before it."""
        self.account(start, "structure")
        self.done = end
        return self.ledger.add(self.text[start:end].encode("utf-8", "surrogateescape"), reason)


def split_batches(stream: BinaryIO, member: str | None = None, block: int = BLOCK,
                  ledger: Ledger | None = None) -> Iterator[list[Piece]]:
    """Each element of every top-level array (``member``: of the array under that key of every
    top-level object), as Pieces in lists (one per fast run); the ledger is checked at the end."""
    ledger = ledger if ledger is not None else Ledger()
    yield from _Splitter(_Text(stream, block, ledger), member).pieces()
    ledger.check()


def split_pieces(stream: BinaryIO, member: str | None = None, block: int = BLOCK,
                 ledger: Ledger | None = None) -> Iterator[Piece]:
    """``split_batches``, one Piece at a time."""
    for batch in split_batches(stream, member, block, ledger):
        yield from batch


def iter_records(stream: BinaryIO, member: str | None = None, block: int = BLOCK) -> Iterator[bytes]:
    """The raw bytes of each piece (broken spans included: the parser quarantines them)."""
    for piece in split_pieces(stream, member, block):
        yield piece.raw


class _Splitter:
    def __init__(self, t: _Text, member: str | None):
        self.t, self.member = t, member
        self.opener = "[" if member is None else "{"
        self.start_re: re.Pattern | None = None  # a record start: '{' and the first record's first key
        self.start_literal = ""  # the first record's start, as written (to find the last start in a text)

    def pieces(self) -> Iterator[list[Piece]]:
        t = self.t
        pos, ch = t.next_char(0)
        if ch == "":
            raise JsonLayoutError("the file is empty")
        if ch != self.opener:
            what = "a JSON array '['" if self.member is None else "a JSON object '{'"
            raise JsonLayoutError(f"it does not start with {what}")
        first = True
        while ch:
            if ch == self.opener and self.member is None:
                pos = yield from self._elements(pos + 1)
            elif ch == self.opener:
                pos = yield from self._member_elements(pos, first)
            else:  # text after an array: a piece up to the next array, if any
                pos = yield from self._outside(pos)
            first = False
            pos, ch = t.next_char(pos)
        t.account(len(t.text), "structure")

    def _outside(self, pos: int):
        t = self.t
        end = t.text.find(self.opener, pos)
        while end < 0 and (shift := t.more(t.done)) >= 0:
            pos -= shift
            end = t.text.find(self.opener, pos)
        end = len(t.text) if end < 0 else end
        yield [t.piece(pos, end, SKIPPED_OUTSIDE)]
        return end

    def _member_elements(self, pos: int, first: bool):
        """A top-level object: its member array's elements; returns the position after the object."""
        t = self.t
        t.account(pos, "structure")
        try:
            pos = self._seek_member(pos + 1)
        except JsonLayoutError as exc:
            if first:
                raise
            yield [t.piece(t.done, len(t.text), f"{SKIPPED_NO_MEMBER} ({exc})")]
            return len(t.text)
        t.account(pos - 1, "outside")
        pos = yield from self._elements(pos)
        t.account(pos, "structure")
        end = self._close_object(pos)
        t.account(end, "outside")
        return end

    def _elements(self, pos: int):
        """The elements of an array whose '[' ends before ``pos``; returns the position after its ']'."""
        t = self.t
        while True:
            pos, ch = t.next_char(pos)
            if ch == "]":
                stray, pos = self._stray_closer(pos)
                if not stray:
                    return pos + 1
                yield [t.piece(pos, pos + 1, SKIPPED_STRAY)]
                pos += 1
                continue
            if ch == "":
                return pos
            if ch == ",":  # an empty element (",,") is structure, not a record
                pos += 1
                continue
            pos, run = self._fast_run(pos)
            if run:
                yield run
            pos, ch = t.next_char(pos)
            if ch in "],":
                continue
            if self.start_literal and not t.eof and t.text.find(self.start_literal, pos + 1) < 0:
                pos = self._read_more(pos)  # the record may be cut: read on before decoding it
            start, end, reason = self._record(pos)
            yield [t.piece(start, end, reason)]
            pos, ch = t.next_char(end)
            if ch == ",":
                pos += 1
            elif ch not in "]{":  # junk after a record: a piece up to the next record start
                start, end, reason = self._resync(pos, pos)
                yield [t.piece(start, end, reason)]
                pos = end

    def _fast_run(self, pos: int) -> tuple[int, list[Piece]]:
        """The fast path: well-formed records followed by a comma, within the current text, up to
        the last record start in it; returns where it stopped (the last record of an array or of
        the text, or a malformed one: left to ``_record``) and the records."""
        t = self.t
        self._learn_start(pos)
        t.account(pos, "structure")
        # records that start before the last record start in the text end in it: no scan runs
        # into the end of the text (a JSONDecodeError there costs a count of the whole text)
        limit = t.text.rfind(self.start_literal) if self.start_literal else len(t.text)
        cut, end, run = limit, pos, []
        for _ in range(_CUTS_TRIED):  # the last start found may be an object nested in a record: try earlier ones
            end, run = self._all_at_once(pos, cut)
            if run or cut <= pos:
                break
            cut = t.text.rfind(self.start_literal, pos + 1, cut)
        if not run:
            end, run = self._one_by_one(pos, limit)
        t.done = max(t.done, end)
        return end, run

    def _all_at_once(self, pos: int, limit: int) -> tuple[int, list[Piece]]:
        """The records from ``pos`` to the record start at ``limit``, decoded by msgspec as one
        array; none when any of them is malformed (or ``limit`` is not a record start)."""
        text = self.t.text
        if not self.start_literal or limit <= pos:
            return pos, []
        end = limit
        while text[end - 1] in " \t\r\n":
            end -= 1
        if text[end - 1] != ",":
            return pos, []
        data = b"".join((b"[", text[pos:end - 1].encode("utf-8", "surrogateescape"), b"]"))
        try:
            raws = _RAW_ELEMENTS.decode(data)
        except (msgspec.DecodeError, RecursionError):  # (nesting deeper than msgspec goes: record by record)
            return pos, []
        run = list(map(Piece, map(bytes, raws)))
        led = self.t.ledger
        n_bytes = sum(map(len, raws))
        led.records += len(run)
        led.record_bytes += n_bytes
        led.structure_bytes += len(data) - 2 - n_bytes + limit - end + 1  # (white space: a byte a character)
        return limit, run

    def _one_by_one(self, pos: int, limit: int) -> tuple[int, list[Piece]]:
        """Well-formed records followed by a comma, decoded by the stdlib C scanner one by one up to
        ``limit`` or to the first malformed one."""
        text, scan, comma = self.t.text, _DECODER.scan_once, _COMMA.match
        run: list[Piece] = []
        n_bytes = n_structure = 0
        try:
            while pos < limit:
                end = scan(text, pos)[1]
                m = comma(text, end)
                if m is None or m.end() == len(text):
                    break
                raw = text[pos:end].encode("utf-8", "surrogateescape")
                run.append(Piece(raw))
                n_bytes += len(raw)
                n_structure += m.end() - end  # ASCII only: one byte per character
                pos = m.end()
        except (StopIteration, json.JSONDecodeError, RecursionError):
            pass
        led = self.t.ledger
        led.records += len(run)
        led.record_bytes += n_bytes
        led.structure_bytes += n_structure
        return pos, run

    def _stray_closer(self, pos: int) -> tuple[bool, int]:
        """Whether the ']' at ``pos`` is stray (another record follows it: '{' or ', {'), and its
        position after reading ahead."""
        t = self.t
        nxt, ch = t.next_char(pos + 1)  # (reading more shifts positions: the ']' is found again below)
        if ch == ",":
            nxt, ch = t.next_char(nxt + 1)
        stray = ch == "{"
        return stray, t.text.rfind("]", 0, nxt)

    def _record(self, pos: int) -> tuple[int, int, str | None]:
        """(start, end, None) of the record at ``pos``; (start, end, reason) of a broken span that
        ends before the next record start. Positions are those after any refill."""
        t = self.t
        self._learn_start(pos)
        while True:
            try:
                _, end = _DECODER.raw_decode(t.text, pos)
                if t.eof or not _NUMBER_TAIL.fullmatch(t.text, end):
                    return pos, end, None  # (a number that reaches the end of the text may go on)
            except (json.JSONDecodeError, RecursionError):  # (too deep for the C decoder: the scanner has no depth limit)
                state, at = _scan(t.text, pos)
                if state == "complete":
                    return pos, at, None  # malformed inside, but its extent is sure: a record of its own
                if state == "broken":
                    return self._resync(pos, at)
                if t.eof or len(t.text) - pos > MAX_RECORD:  # never closed
                    return self._resync(pos, pos + 1)
            pos = self._read_more(pos)

    def _read_more(self, pos: int) -> int:
        """Read until the text after ``pos`` has doubled (a long record is decoded O(log n) times,
        not once per block); returns ``pos`` shifted."""
        t = self.t
        want = 2 * (len(t.text) - pos) + 1
        while len(t.text) - pos < want:
            shift = t.more(pos)
            if shift < 0:
                break
            pos -= shift
        return pos

    def _resync(self, start: int, broken_at: int) -> tuple[int, int, str]:
        """A broken span from ``start``: it ends where the next record starts after ``broken_at``
        (or where the input ends, less the array's closing bracket)."""
        t = self.t
        pattern = self.start_re or _ANY_START
        search_from = max(broken_at - 1, start + 1)
        while True:
            m = pattern.search(t.text, search_from)
            if m is not None:
                end = start + len(t.text[start:m.start(1)].rstrip(_SEPARATORS))
                return start, max(end, start + 1), SKIPPED_BROKEN
            if t.eof:
                return start, max(len(t.text.rstrip(" \t\r\n\ufeff]")), start + 1), SKIPPED_BROKEN
            search_from = max(len(t.text) - 256, start + 1)
            shift = t.more(start)
            if shift > 0:
                start, search_from = start - shift, search_from - shift

    def _learn_start(self, pos: int) -> None:
        if self.start_re is None:
            m = _FIRST_KEY.match(self.t.text, pos)
            if m is not None:
                self.start_re = re.compile(r"(\{)\s*" + re.escape(m.group(1)) + r"\s*:")
                self.start_literal = m.group()

    def _seek_member(self, pos: int) -> int:
        """Inside a top-level object: the position after '[' of `"member": [` at depth 0."""
        t, name = self.t, self.member
        depth, last_string = 0, None
        while True:
            m = _STRUCTURAL.search(t.text, pos)
            if m is None:
                t.account(len(t.text), "outside")
                if t.more(t.done) < 0:
                    raise JsonLayoutError(f"it has no {name!r} array")
                pos = t.done
                continue
            ch, start, pos = m.group(), m.start(), m.end()
            if ch == '"':
                start, pos = self._string(start, pos)
                last_string = t.text[start + 1:pos - 1] if depth == 0 else None
                continue
            if ch == ":" and depth == 0 and last_string == name:
                pos, ch = t.next_char(pos)
                if ch != "[":
                    raise JsonLayoutError(f"{name!r} is not an array")
                return pos + 1
            if ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth < 0:
                    raise JsonLayoutError(f"it has no {name!r} array")
            last_string = None

    def _close_object(self, pos: int) -> int:
        """After the member array: the position after the '}' that closes the top-level object."""
        t = self.t
        depth = 0
        while True:
            m = _STRUCTURAL.search(t.text, pos)
            if m is None:
                t.account(len(t.text), "outside")
                if t.more(t.done) < 0:
                    return len(t.text)
                pos = t.done
                continue
            ch, start, pos = m.group(), m.start(), m.end()
            if ch == '"':
                _, pos = self._string(start, pos)
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
                if depth < 0:
                    return pos

    def _string(self, start: int, pos: int) -> tuple[int, int]:
        """A string outside the records, its quote at ``start``: (start, position after its closing
        quote), shifted if more text had to be read."""
        t = self.t
        while True:
            m = _STRING_REST.match(t.text, pos)
            if m is not None:
                return start, m.end()
            t.account(start, "outside")
            shift = t.more(start)
            if shift < 0:
                return start, len(t.text)
            start, pos = start - shift, pos - shift


def _peek(text: str, pos: int) -> tuple[int, str]:
    m = _NOT_WS.search(text, pos)
    return (m.start(), m.group()) if m else (len(text), "")


def _scan(text: str, start: int) -> tuple[str, int]:
    """Bracket scan of the record at ``start``: ("complete", end), ("broken", position of the
    first impossible character: a closer that does not match, or a non-key after '{' or ',' in an
    object), or ("incomplete", -1) when the text ends first."""
    stack: list[str] = []
    pos = start
    while True:
        m = _STRUCTURAL.search(text, pos)
        if m is None:
            return "incomplete", -1
        ch, at, pos = m.group(), m.start(), m.end()
        if ch == '"':
            s = _STRING_REST.match(text, pos)
            if s is None:
                return "incomplete", -1
            pos = s.end()
            if not stack:
                return "complete", pos
        elif ch in "[{":
            stack.append(ch)
            if ch == "{":
                nxt, c = _peek(text, pos)
                if c == "":
                    return "incomplete", -1
                if c not in '"}':
                    return "broken", nxt
        elif ch in "]}":
            if not stack:
                return "complete", at  # a scalar record ended by the array's ']'
            if stack.pop() != _CLOSER[ch]:
                return "broken", at
            if not stack:
                return "complete", pos
        elif ch == ",":
            if not stack:
                return "complete", at
            if stack[-1] == "{":
                nxt, c = _peek(text, pos)
                if c == "":
                    return "incomplete", -1
                if c != '"':
                    return "broken", nxt
