"""Line and staged input read inside the Python tasks (``--text-scan python``): Spark hands out
pieces, and each task reads its records itself, parses them with the format's parser
(``records.parse_batches``) and counts them (``count_batches``), without Spark's text reader and
two Arrow hand-overs of every record between the JVM and Python (``--text-scan spark``).

The records are exactly those Spark's text reader gives (``read_lines.read_lines``: lines end at
"\\n" only, a trailing "\\r" stays, the last line needs no "\\n"), each once: a line belongs to the
byte range of the piece in which it starts. A file compressed with gzip is one piece, read by
Python's gzip (which reads concatenated members, as Hadoop's codec does); a file under another
Hadoop codec (.bz2, .deflate, .lz4, .snappy, .zst) or a Hadoop URI leaves the whole input to
Spark. A record's file is named as Spark names it (``parquet_tasks.spark_file_uri``).

Staged input (CSV, JSON arrays: split on the driver into Parquet chunks of raw records,
``staging``) is read from its chunks by pyarrow, one piece per chunk.
"""
from __future__ import annotations

import gzip
import json
import os
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from classfreq.pipelines.input_files import is_local
from classfreq.pipelines.parquet_tasks import spark_file_uri
from classfreq.pipelines.reader import ReadOptions
from classfreq.pipelines.records import Parser, parse_batches

PIECE_BYTES = 64 << 20     # a piece of an uncompressed file: about this many bytes of lines
BATCH_LINES = 50_000       # records per batch given to the parser
_BLOCK = 8 << 20           # bytes read at once from a gzip stream
_OTHER_CODECS = (".bz2", ".deflate", ".lz4", ".snappy", ".zst")  # Hadoop decompresses these; Python here does not
LINES, GZIP, STAGED = "lines", "gzip", "staged"


@dataclass(frozen=True)
class RecordPiece:
    path: str                  # the local file read
    kind: str                  # LINES (a byte range), GZIP (the whole file) or STAGED (a chunk)
    start: int = 0             # LINES: the lines that start in [start, end)
    end: int = 0


@dataclass(frozen=True)
class RecordSource:
    """What the tasks read (pickled to them): the pieces and how their records are parsed."""
    pieces: tuple[RecordPiece, ...]
    parse: Parser
    options: ReadOptions
    blank_is_record: bool
    has_parts: bool

    def partitions(self, parallelism: int) -> int:
        return max(1, min(len(self.pieces), max(parallelism, 1)))

    def without(self, files: set[str]) -> RecordSource:
        return RecordSource(tuple(p for p in self.pieces if p.path not in files), self.parse, self.options,
                            self.blank_is_record, self.has_parts)

    def documents(self, piece: RecordPiece, keep_details: bool, failure: list[str]):
        """The piece's documents as count_batches takes them. (``failure`` stays empty: an error
        reading a file fails the Spark job, as it does in Spark's reader.)"""
        if piece.kind == STAGED:
            raws = pq.ParquetFile(piece.path).iter_batches(batch_size=BATCH_LINES, columns=["record", "file", "reason"],
                                                           use_threads=False)
            column = "record"
        else:
            raws = _line_batches(piece)
            column = "line"
        for docs in parse_batches(raws, self.parse, self.options, column=column, blank_is_record=self.blank_is_record):
            yield count_input(docs, self.has_parts, keep_details)


def plan_lines(files: list[str], parse: Parser, options: ReadOptions, blank_is_record: bool, has_parts: bool,
               piece_bytes: int | None = None) -> RecordSource | None:
    """The pieces of line files (local paths), or None when Spark must read them (a Hadoop URI, a
    codec Python does not read here)."""
    if not files or not all(is_local(f) for f in files) or any(f.lower().endswith(_OTHER_CODECS) for f in files):
        return None
    piece_bytes = piece_bytes or PIECE_BYTES
    pieces = []
    for f in files:
        if f.lower().endswith(".gz"):
            pieces.append(RecordPiece(f, GZIP))
            continue
        size = os.path.getsize(f)
        pieces += [RecordPiece(f, LINES, s, min(s + piece_bytes, size)) for s in range(0, size, piece_bytes)]
    return RecordSource(tuple(pieces), parse, options, blank_is_record, has_parts)


def plan_staged(chunks: list[str], parse: Parser, options: ReadOptions, has_parts: bool) -> RecordSource:
    """One piece per staged chunk (``staging``: always local)."""
    return RecordSource(tuple(RecordPiece(c, STAGED) for c in chunks), parse, options, True, has_parts)


def _line_batches(piece: RecordPiece):
    """Batches of (line, file) of the piece's lines."""
    uri = pa.scalar(spark_file_uri(piece.path), pa.string())
    for lines in (_gzip_lines(piece.path) if piece.kind == GZIP else [_range_lines(piece)]):
        for lo in range(0, len(lines), BATCH_LINES):
            chunk = pa.array(lines[lo:lo + BATCH_LINES], pa.binary())
            yield pa.RecordBatch.from_arrays([chunk, pa.repeat(uri, len(chunk))], names=["line", "file"])


def _range_lines(piece: RecordPiece) -> list[bytes]:
    """The lines that start in [start, end) of an uncompressed file."""
    with open(piece.path, "rb") as f:
        if piece.start > 0:
            f.seek(piece.start - 1)
            if f.read(1) != b"\n":
                f.readline()  # the rest of a line that started in the piece before
        first = f.tell()
        if first >= piece.end:
            return []
        data = f.read(piece.end - first)
        if not data.endswith(b"\n"):
            data += f.readline()  # the last line, to its end
    return _split(data)


def _gzip_lines(path: str):
    """Lists of the lines of a gzip file, a block at a time."""
    carry = b""
    with gzip.open(path, "rb") as f:
        while block := f.read(_BLOCK):
            lines = (carry + block).split(b"\n")
            carry = lines.pop()
            yield lines
    if carry:
        yield [carry]


def _split(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # after the last "\n": no line
    return lines


def count_input(docs: pa.RecordBatch, has_parts: bool, keep_details: bool) -> pa.RecordBatch:
    """DOC_SCHEMA rows as count_batches takes them (``count_classes._columns_to_count`` in Spark):
    text, bad (the quarantine details as one JSON object, null for a valid document), parts when
    documents have them, and doc_id, url, nsfw, punsafe when doc matches are kept."""
    reasons = docs.column("reason").to_pylist()
    bad = [None] * len(reasons)
    if any(r is not None for r in reasons):
        examples, files = docs.column("example").to_pylist(), docs.column("file").to_pylist()
        bad = [None if r is None else json.dumps({"reason": r, "example": e, "file": f}, ensure_ascii=False)
               for r, e, f in zip(reasons, examples, files)]
    names = ["text", "bad"] + (["parts"] if has_parts else []) + (["doc_id", "url", "nsfw", "punsafe"] if keep_details else [])
    arrays = [pa.array(bad, pa.string()) if n == "bad" else docs.column(n) for n in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)
