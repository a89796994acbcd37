"""Input that only the driver can split into records (one big JSON document, CSV with quoted
newlines): the driver streams each file through a splitter into Parquet chunks of raw records in
a staging folder; Spark then parses the chunks in parallel with the format's record parser.

A splitter is ``split(stream) -> Iterator[list[Piece]]`` (lists, so that a fast splitter pays
one generator step per run of records): a record's raw bytes, or a span it could not split (with
the reason it is quarantined for); it checks at the end that every byte it read is
in a piece or is structure (its ledger). Memory: the splitter's own (a block plus one record) plus
one chunk of at most ``CHUNK_BYTES`` of records and its Arrow copy while it is written.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame

from classfreq.errors import UserError
from classfreq.pipelines.documents import DOC_DDL
from classfreq.pipelines.input_files import is_local, open_binary, to_spark_path
from classfreq.pipelines.pieces import Piece
from classfreq.pipelines.reader import Documents, ReadOptions
from classfreq.pipelines.record_tasks import plan_staged
from classfreq.pipelines.records import Parser, parse_batches

CHUNK_BYTES = 16 << 20
CHUNK_SCHEMA = pa.schema([("record", pa.binary()), ("file", pa.string()), ("reason", pa.string())])
Splitter = Callable[[BinaryIO], Iterator[list[Piece]]]


class FileLayoutError(ValueError):
    """The whole file is not in the layout its splitter reads: it fails with this message as its
    reason ("unreadable JSON file: ...")."""


def read_split(spark, files: list[str], split: Splitter, parse: Parser, options: ReadOptions,
               has_parts: bool) -> Documents:
    """The records ``split`` finds in each file, each parsed by ``parse`` in the Python tasks
    (``record_tasks``) or, with --text-scan spark, by Spark over its Parquet scan of the chunks (built
    only if needed); the files ``split`` refused as a whole fail with their reason."""
    chunks, failed = stage_records(spark, files, split, options.staging)

    def build() -> DataFrame:
        return read_staged(spark, chunks, parse, options)

    if options.python_text and chunks:
        return Documents(build, has_parts=has_parts, failed=failed, pieces=plan_staged(chunks, parse, options, has_parts))
    return Documents(build(), has_parts=has_parts, failed=failed)


def stage_records(spark, files: list[str], split: Splitter, staging: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split every file into Parquet chunks under `staging` (a local folder the executors can read).
    Returns (chunk paths, [(file, reason)] for files that could not be split at all)."""
    if not is_local(staging):
        raise UserError(f"the staging folder {staging} for split input files must be a local path (on a cluster, "
                        f"one the executors can read); pass --staging FOLDER")
    os.makedirs(staging, exist_ok=True)
    chunks, failed = [], []
    for i, path in enumerate(files):
        try:
            chunks.extend(_stage_file(spark, path, i, split, staging))
        except FileLayoutError as exc:
            failed.append((path, str(exc)))
        except (OSError, EOFError, ValueError) as exc:
            failed.append((path, f"unreadable file: {type(exc).__name__}: {exc}"))
    return chunks, failed


def _stage_file(spark, path: str, file_no: int, split: Splitter, staging: str) -> list[str]:
    """The chunks of one file (none left behind when it fails)."""
    shown = to_spark_path(path)
    shown = "file:" + shown if shown.startswith("/") else shown
    chunks: list[str] = []
    records: list[bytes] = []
    reasons: list[str | None] = []
    size = 0
    try:
        with open_binary(spark, path) as stream:
            for batch in split(stream):
                for raw, reason in batch:
                    records.append(raw)
                    reasons.append(reason)
                    size += len(raw)
                    if size >= CHUNK_BYTES:
                        chunks.append(_write_chunk(staging, file_no, len(chunks), records, reasons, shown))
                        records, reasons, size = [], [], 0
        if records:
            chunks.append(_write_chunk(staging, file_no, len(chunks), records, reasons, shown))
    except BaseException:
        for chunk in chunks:
            os.remove(chunk)
        raise
    return chunks


def _write_chunk(staging: str, file_no: int, chunk_no: int, records: list[bytes], reasons: list, file: str) -> str:
    out = os.path.join(staging, f"f{file_no:05d}-c{chunk_no:06d}.parquet")
    table = pa.Table.from_arrays([pa.array(records, pa.binary()), pa.array([file] * len(records), pa.string()),
                                  pa.array(reasons, pa.string())], schema=CHUNK_SCHEMA)
    pq.write_table(table, out, compression="zstd")
    return out


def read_staged(spark, chunks: list[str], parse: Parser, options: ReadOptions) -> DataFrame:
    if not chunks:
        return spark.createDataFrame([], DOC_DDL)
    raw = spark.read.parquet(*chunks)
    return raw.mapInArrow(partial(parse_batches, parse=parse, opt=options, column="record"), DOC_DDL)
