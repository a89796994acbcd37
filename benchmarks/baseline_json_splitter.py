"""THE BASELINE OF bench_readers.py: the JSON array splitter as it was before issue 11 (a byte
scanner visiting every structural character in Python), kept unchanged to be measured against.

Split one big JSON document into its records without loading it: LLaVA training files (a
top-level array of samples, hundreds of MB) and COCO annotation files (the `annotations` array of
a top-level object).

A small state machine visits only the structural characters (a C-speed regex jumps over string
contents), so memory stays at one read block plus one record. Each record comes out as its raw
bytes, so a malformed record is quarantined alone by the parser downstream instead of failing
the whole file.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

_STRUCTURAL = re.compile(rb'["\[\]{},:]')
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.S)
_WS = b" \t\r\n"
BLOCK = 8 << 20


class JsonLayoutError(ValueError):
    """The file is not a JSON array (or has no such member array): nothing can be split."""


class _Buffer:
    def __init__(self, stream: BinaryIO, block: int):
        self.stream, self.block = stream, block
        self.buf, self.eof = b"", False

    def refill(self, keep_from: int) -> int:
        """Drop bytes before keep_from and read one more block; returns the shift applied."""
        if self.eof:
            return -1
        chunk = self.stream.read(self.block)
        if not chunk:
            self.eof = True
            return -1
        self.buf = self.buf[keep_from:] + chunk
        return keep_from


def iter_records(stream: BinaryIO, member: str | None = None, block: int = BLOCK) -> Iterator[bytes]:
    """Yield the raw bytes of each element of the top-level array, or of the array under key
    `member` of a top-level object (member='annotations' for COCO)."""
    b = _Buffer(stream, block)
    pos = _skip_whitespace(b, 0, "the file is empty")
    opener = b.buf[pos:pos + 1]
    if member is None and opener != b"[":
        raise JsonLayoutError("it does not start with a JSON array '['")
    if member is not None and opener != b"{":
        raise JsonLayoutError("it does not start with a JSON object '{'")
    pos += 1
    if member is not None:
        pos = _seek_member(b, pos, member.encode())
    yield from _split(b, pos)


def _skip_whitespace(b: _Buffer, pos: int, error_if_eof: str) -> int:
    """Position of the next non-blank byte, refilling the buffer as needed (the buffer then starts
    at the old `pos`); JsonLayoutError(error_if_eof) when the file ends first."""
    while True:
        while pos < len(b.buf) and b.buf[pos] in _WS:
            pos += 1
        if pos < len(b.buf):
            return pos
        if b.refill(pos) < 0:
            raise JsonLayoutError(error_if_eof)
        pos = 0


def _skip_string(b: _Buffer, pos: int, keep_from: int) -> tuple[int, int]:
    """pos is just after an opening quote; returns (position after the closing quote, shift)."""
    shift_total = 0
    while True:
        m = _STRING_REST.match(b.buf, pos)
        if m is not None:
            return m.end(), shift_total
        shift = b.refill(keep_from)
        if shift < 0:
            return len(b.buf), shift_total
        pos -= shift
        keep_from -= shift
        shift_total += shift


def _seek_member(b: _Buffer, pos: int, name: bytes) -> int:
    """Inside the top-level object: find `"name": [` at depth 0 and return the position after '['."""
    depth = 0
    last_string = None
    while True:
        m = _STRUCTURAL.search(b.buf, pos)
        if m is None:
            shift = b.refill(len(b.buf))
            if shift < 0:
                raise JsonLayoutError(f"it has no {name.decode()!r} array")
            pos = 0
            continue
        ch, start = b.buf[m.start()], m.start()
        pos = m.end()
        if ch == 0x22:  # '"'
            pos, shift = _skip_string(b, pos, start)
            start -= shift
            last_string = b.buf[start + 1:pos - 1] if depth == 0 else None
            continue
        if ch == 0x3A:  # ':'
            if depth == 0 and last_string == name:
                pos = _skip_whitespace(b, pos, f"{name.decode()!r} has no value")
                if b.buf[pos:pos + 1] != b"[":
                    raise JsonLayoutError(f"{name.decode()!r} is not an array")
                return pos + 1
        elif ch in (0x5B, 0x7B):
            depth += 1
        elif ch in (0x5D, 0x7D):
            depth -= 1
            if depth < 0:
                raise JsonLayoutError(f"it has no {name.decode()!r} array")
        last_string = None


def _split(b: _Buffer, pos: int) -> Iterator[bytes]:
    depth = 0
    start = pos  # start of the current element
    while True:
        m = _STRUCTURAL.search(b.buf, pos)
        if m is None:
            shift = b.refill(start)
            if shift < 0:
                rest = b.buf[start:].strip()
                if rest:
                    yield rest  # unterminated: the parser quarantines it as malformed
                return
            pos -= shift
            start -= shift
            continue
        ch = b.buf[m.start()]
        pos = m.end()
        if ch == 0x22:
            pos, shift = _skip_string(b, pos, start)
            start -= shift
        elif ch in (0x5B, 0x7B):
            depth += 1
        elif ch in (0x5D, 0x7D):
            if depth == 0:  # end of the array
                rest = b.buf[start:m.start()].strip()
                if rest:
                    yield rest
                return
            depth -= 1
        elif ch == 0x2C and depth == 0:
            yield b.buf[start:m.start()].strip()
            start = pos
