"""Parquet read inside the Python tasks: Spark distributes (file, row groups) pieces, and each task
reads its pieces' columns with pyarrow and counts them (``count_batches``) without the JVM's Parquet
scan and the Arrow hand-over of every caption from the JVM to Python. The tasks are an RDD job
whose results, each task's partial rows summed, the driver sums (``partials``): no query to plan.

The documents are exactly those of ``read_parquet.parquet_documents`` (the JVM scan): a null text
is quarantined as ``NO_TEXT`` with the example ``doc_id <id>``, text that is not valid UTF-8 as
``INVALID_UTF8`` with the text made valid (each bad byte sequence one U+FFFD, as Spark's
``make_valid_utf8``), cut to ``EXAMPLE_CHARS``; the file of a quarantined record is the URI Spark
names it by (``_metadata.file_path``), a document without an id column ``<file name>:<row>``.

A piece whose pages do not decode counts nothing: its partial rows are held until the piece is
read, and it yields one ``failed`` row (its file and reason) instead; the driver makes it a
``files_failed`` row and, when the file had other pieces, counts again without that file
(``count_classes.count_step``). Only pyarrow's reading is caught this way; an error in the
counting code fails the Spark job as before.

``PieceSource.plan`` returns None for what only the JVM scan reads the same way (the caller then
uses it): Hadoop URIs, a text column that is not a string or binary (a list of captions, a
number), an id column not a string or integer (Spark's double-to-string differs from Python's), a
URL or NSFW column not a string, a punsafe column not a number, dictionary-encoded columns, and
files that disagree on the type of a column (Spark reads them as one file's schema, or fails).
"""
from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from classfreq.pipelines.documents import EXAMPLE_CHARS
from classfreq.pipelines.records import INVALID_UTF8, NO_TEXT

ROWS_PER_PIECE = 500_000  # a piece is whole row groups of one file, about this many rows
BATCH_ROWS = 100_000  # rows per Arrow batch handed to count_batches (as spark.sql.execution.arrow.maxRecordsPerBatch)
_INTS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_NUMBERS = _INTS | {"float", "double"}


@dataclass(frozen=True)
class Piece:
    path: str                 # what pyarrow opens (a local path)
    uri: str                  # the file as Spark names it (``_metadata.file_path``)
    groups: tuple[int, ...]   # row groups, consecutive
    first_row: int            # the row index of the first row of the first group in the file


@dataclass(frozen=True)
class PieceSource:
    """What the tasks read (pickled to them): the pieces and the columns of each role."""
    pieces: tuple[Piece, ...]
    text: str
    ident: str | None
    url: str | None
    nsfw: bool
    punsafe: bool

    @staticmethod
    def plan(files: list[str], kinds: dict[str, dict[str, tuple[str, str]]], group_rows: dict[str, list[int]],
             rows_per_piece: int | None = None) -> PieceSource | None:
        """The pieces of ``files`` (local paths; ``kinds``: {file: {role: (column, type)}} from their
        footers, ``group_rows``: {file: rows per row group}), or None when the JVM scan must read them."""
        if not files or any(f not in kinds for f in files):
            return None
        rows_per_piece = rows_per_piece or ROWS_PER_PIECE
        first = kinds[files[0]]
        if any(kinds[f] != first for f in files):  # another column or type in some file
            return None
        allowed = {"text": {"string", "binary"}, "id": _INTS | {"string"}, "url": {"string"},
                   "NSFW": {"string"}, "punsafe": _NUMBERS}
        if any(kind not in allowed[role] for role, (_, kind) in first.items()):
            return None
        pieces = []
        for f in files:
            uri = spark_file_uri(f)
            start, groups, rows = 0, [], 0
            for g, n in enumerate(group_rows[f]):
                groups.append(g)
                rows += n
                if rows >= rows_per_piece:
                    pieces.append(Piece(f, uri, tuple(groups), start))
                    start, groups, rows = start + rows, [], 0
            if groups or not pieces or pieces[-1].path != f:
                pieces.append(Piece(f, uri, tuple(groups), start))
        col = {role: c for role, (c, _) in first.items()}
        return PieceSource(tuple(pieces), col["text"], col.get("id"), col.get("url"), "NSFW" in col, "punsafe" in col)

    def without(self, files: set[str]) -> PieceSource:
        return PieceSource(tuple(p for p in self.pieces if p.path not in files), self.text, self.ident, self.url,
                           self.nsfw, self.punsafe)

    def partitions(self, parallelism: int) -> int:
        """Spark tasks: one per core, more when pieces are many (each task reads whole pieces)."""
        return max(1, min(len(self.pieces), max(parallelism, 1)))

    def documents(self, piece: Piece, keep_details: bool, failure: list[str]):
        return piece_documents(piece, self, keep_details, failure)


def unreadable(exc: Exception) -> str:
    """A files_failed reason (as ``read_parquet`` words one found on the driver)."""
    return f"unreadable Parquet file: {type(exc).__name__}: {str(exc)[:300]}"


def piece_documents(piece: Piece, source: PieceSource, keep_details: bool, failure: list[str]):
    """The piece's documents as count_batches takes them: text, bad (the quarantine JSON), and with
    ``keep_details`` doc_id, url, nsfw, punsafe. A decoding error ends the piece, its reason in ``failure``."""
    cols = [source.text, source.ident] if source.ident else [source.text]  # Spark's scan reads the id always
    if keep_details:
        cols += [c for c, on in ((source.url, source.url), ("NSFW", source.nsfw), ("punsafe", source.punsafe)) if on]
    cols = list(dict.fromkeys(cols))
    try:
        pf = pq.ParquetFile(piece.path)
        batches = pf.iter_batches(batch_size=BATCH_ROWS, row_groups=list(piece.groups), columns=cols,
                                  use_threads=False)
    except Exception as exc:  # noqa: BLE001 (pyarrow raises OSError, ArrowException, ValueError... for a corrupt file)
        failure.append(unreadable(exc))
        return
    row, name = piece.first_row, os.path.basename(piece.uri)
    while True:
        try:
            b = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001
            failure.append(unreadable(exc))
            return
        yield _documents(b, row, name, piece.uri, source, keep_details)
        row += b.num_rows


def _as_string(column):
    return column if pa.types.is_string(column.type) else pc.cast(column, pa.string())


def _documents(b: pa.RecordBatch, row: int, name: str, uri: str, source: PieceSource, keep_details: bool) -> pa.RecordBatch:
    """One batch of documents: rows ``row``... of the file ``name`` (its URI ``uri``)."""
    text = b.column(source.text)
    if pa.types.is_large_string(text.type):
        text = text.cast(pa.string())
    elif pa.types.is_large_binary(text.type):
        text = text.cast(pa.binary())
    raw = text.view(pa.binary()) if pa.types.is_string(text.type) else text
    n = b.num_rows
    null = np.asarray(raw.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    invalid = np.zeros(n, dtype=bool)
    try:
        checked = raw.cast(pa.string())  # validates UTF-8 (in C++); fails when one value is not
    except pa.ArrowInvalid:
        values = raw.to_pylist()
        invalid = np.array([v is not None and not _valid_utf8(v) for v in values], dtype=bool)
        checked = None
    bad_rows = null | invalid
    reasons: list = [None] * n
    if bad_rows.any():
        where = np.flatnonzero(bad_rows)
        values = raw.take(pa.array(where)).to_pylist()
        ids = (_as_string(b.column(source.ident)).take(pa.array(where)).to_pylist() if source.ident
               else [f"{name}:{row + i}" for i in where.tolist()])
        for i, v, doc in zip(where.tolist(), values, ids):
            if v is None:
                detail = {"reason": f"{NO_TEXT} ({source.text!r})",
                          "example": "doc_id" if doc is None else f"doc_id {doc}", "file": uri}
            else:
                detail = {"reason": INVALID_UTF8, "example": v.decode("utf-8", "replace")[:EXAMPLE_CHARS],
                          "file": uri}
            reasons[i] = json.dumps(detail, ensure_ascii=False)
        keep = pa.array(~bad_rows)
        checked = pc.if_else(keep, raw, pa.scalar(None, pa.binary())).cast(pa.string())
    arrays, names = [checked, pa.array(reasons, pa.string())], ["text", "bad"]
    if keep_details:
        doc_id = (_as_string(b.column(source.ident)) if source.ident
                  else pa.array([f"{name}:{i}" for i in range(row, row + n)], pa.string()))
        arrays += [doc_id,
                   _as_string(b.column(source.url)) if source.url else pa.nulls(n, pa.string()),
                   _as_string(b.column("NSFW")) if source.nsfw else pa.nulls(n, pa.string()),
                   pc.cast(b.column("punsafe"), pa.float64()) if source.punsafe else pa.nulls(n, pa.float64())]
        names += ["doc_id", "url", "nsfw", "punsafe"]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _valid_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# java.net.URI keeps these ASCII characters of a path as they are; Hadoop's Path.toUri().toString()
# (Spark's _metadata.file_path) escapes the other ASCII ones, and keeps every non-ASCII character
# but ISO controls (U+0080-U+009F) and space characters (categories Zs, Zl, Zp): URI's "other".
_URI_KEEP = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'(),;:$&+=@/")


def spark_file_uri(path: str) -> str:
    """The ``file:`` URI Spark gives a local file in ``_metadata.file_path``."""
    out = []
    for ch in os.path.abspath(path):
        if ch in _URI_KEEP or (ord(ch) > 0x9F and unicodedata.category(ch) not in ("Zs", "Zl", "Zp")):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "file:" + "".join(out)
