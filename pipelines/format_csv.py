"""Format ``csv``: generic CSV (RFC 4180) with a header line; the text under ``--text-column``
(default ``text``), the id under ``--id-column`` (default ``id``). Every file must have the first
file's header.

A quoted field may span lines, so files cannot be cut at any newline: the driver splits each file
into records with Python's csv parser (``split_csv``: a record is the lines the parser took for one
row), and Spark parses the staged records in parallel (``staging``). A quote never closed
(at the end of the file, or after ``MAX_RECORD_BYTES``) costs only the line it opened on: the
lines after it are read again as records.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from classfreq.errors import UserError
from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.input_files import peek, without_bom
from classfreq.pipelines.pieces import Ledger, Piece
from classfreq.pipelines.reader import Documents, Probe, Reader, ReadOptions
from classfreq.pipelines.records import add_generic, decode
from classfreq.pipelines.staging import read_split

MALFORMED_CSV = "malformed CSV record"
UNCLOSED_QUOTE = f"{MALFORMED_CSV} (a quote never closed: the line alone is skipped)"
HEADER_AGAIN = f"{MALFORMED_CSV} (the header line again, inside the file)"
MAX_RECORD_BYTES = 64 << 20
BLOCK = 8 << 20
csv.field_size_limit(1 << 30)  # the default (131,072 characters) would quarantine long captions


def parse_csv(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    """One CSV record (it may span lines inside quotes)."""
    text = decode(raw, buf, file)
    if text is None:
        return
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        buf.quarantine(f"{MALFORMED_CSV} ({exc})", text, file)
        return
    if len(rows) != 1:
        buf.quarantine(f"{MALFORMED_CSV} ({len(rows)} rows in one record)", text, file)
        return
    row = rows[0]
    if tuple(row) == opt.header:
        buf.quarantine(HEADER_AGAIN, text, file)
    elif len(row) != len(opt.header):
        buf.quarantine(f"{MALFORMED_CSV} ({len(row)} fields, the header has {len(opt.header)})", text, file)
    else:
        add_generic(dict(zip(opt.header, row)), text, buf, file, opt)


class _Lines:
    """The raw lines of a stream (ending at b"\\n" only), with lines pushed back read first."""

    def __init__(self, stream: BinaryIO, ledger: Ledger, block: int):
        self.stream, self.ledger, self.block = stream, ledger, block
        self.pending: list[bytes] = []  # pushed back, last first
        self.lines: Iterator[bytes] = self._read()

    def _read(self) -> Iterator[bytes]:
        rest = b""
        while chunk := self.stream.read(self.block):
            self.ledger.read += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line + b"\n"
        if rest:
            yield rest

    def next(self) -> bytes | None:
        if self.pending:
            return self.pending.pop()
        return next(self.lines, None)

    def push_back(self, lines: list[bytes]) -> None:
        self.pending.extend(reversed(lines))


class _RecordTooLong(Exception):
    pass


def split_csv(stream: BinaryIO, block: int = BLOCK, ledger: Ledger | None = None) -> Iterator[Piece]:
    """The records of one CSV file after its header line (BOM, header and empty lines are
    structure); the ledger is checked at the end."""
    led = ledger if ledger is not None else Ledger()
    lines = _Lines(stream, led, block)
    header = lines.next()
    if header is not None:
        led.structure_bytes += len(header)
    taken: list[bytes] = []

    def feed() -> Iterator[str]:
        size = 0
        while (line := lines.next()) is not None:
            if not taken and line.strip(b"\r\n") == b"":
                led.structure_bytes += len(line)  # an empty line between records
                continue
            taken.append(line)
            size += len(line)
            if size > MAX_RECORD_BYTES and len(taken) > 1:
                raise _RecordTooLong
            yield line.decode("utf-8", "surrogateescape")
        if taken:
            raise _RecordTooLong  # the file ended inside a record: a quote never closed

    while True:
        taken.clear()
        try:
            next(csv.reader(feed(), strict=True))
        except StopIteration:
            break
        except csv.Error:
            pass  # a malformed record: the parser quarantines it with the reason
        except _RecordTooLong:
            if len(taken) > 1:
                lines.push_back(taken[1:])
                yield led.add(taken[0], UNCLOSED_QUOTE)
                continue
        if taken:
            yield led.add(b"".join(taken), None)
    led.check()


def split_csv_batches(stream: BinaryIO) -> Iterator[list[Piece]]:
    """``split_csv`` in lists of up to 1,024 pieces (the staging's splitter interface)."""
    batch: list[Piece] = []
    for piece in split_csv(stream):
        batch.append(piece)
        if len(batch) >= 1024:
            yield batch
            batch = []
    if batch:
        yield batch


def read_header(spark, path: str) -> tuple[str, ...]:
    head = without_bom(peek(spark, path))
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    return tuple(next(csv.reader(io.StringIO(line)), []))


class CsvReader(Reader):
    name = "csv"

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".csv")

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        """The first file's header must have the text column, and every file that header: records
        are read with it, so a file whose columns are in another order would count ids as captions."""
        header = read_header(spark, files[0])
        wanted = options.text_column or "text"
        if wanted not in header:
            raise UserError(f"the CSV header of {files[0]} has no column {wanted!r} (it has {', '.join(header)}); "
                            "pass --text-column NAME")
        for path in files[1:]:
            other = read_header(spark, path)
            if other != header:
                raise UserError(f"the CSV header of {path} ({', '.join(other)}) differs from that of {files[0]} "
                                f"({', '.join(header)}); count files with different columns as separate runs")
        return replace(options, header=header)

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        return read_split(spark, files, split_csv_batches, parse_csv, options, has_parts=False)


READER = CsvReader()
