"""Input that is one big JSON document, shared by format_llava (a top-level array of samples) and
format_coco (the `annotations` array). The driver streams each file through `json_array_splitter`
(memory: one block plus one record) into Parquet chunks of raw records in a staging folder; Spark
then parses the chunks in parallel with the format's record parser."""
from __future__ import annotations

import os
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame

from classfreq.errors import UserError
from classfreq.pipelines.documents import DOC_DDL
from classfreq.pipelines.input_files import is_local, open_binary, to_spark_path
from classfreq.pipelines.json_array_splitter import JsonLayoutError, iter_records
from classfreq.pipelines.reader import ReadOptions
from classfreq.pipelines.records import Parser, parse_batches

CHUNK_RECORDS = 50_000
_CHUNK_SCHEMA = pa.schema([("record", pa.binary()), ("file", pa.string())])


def read_json_array(spark, files: list[str], member: str | None, parse: Parser,
                    options: ReadOptions) -> tuple[DataFrame, list[tuple[str, str]]]:
    """The records of the array (``member``: the array under that key of a top-level object),
    each parsed by ``parse``; and (file, reason) for files that are not that JSON layout."""
    chunks, failed = stage_records(spark, files, member, options.staging)
    return read_staged(spark, chunks, parse, options), failed


def stage_records(spark, files: list[str], member: str | None, staging: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split every file into Parquet chunks under `staging` (a local folder the executors can read).
    Returns (chunk paths, [(file, reason)] for files that are not the expected JSON layout)."""
    if not is_local(staging):
        raise UserError(f"the staging folder {staging} for split JSON files must be a local path (on a cluster, "
                        f"one the executors can read); pass --staging FOLDER")
    os.makedirs(staging, exist_ok=True)
    chunks, failed = [], []
    for i, path in enumerate(files):
        shown = to_spark_path(path)
        shown = "file:" + shown if shown.startswith("/") else shown
        records: list[bytes] = []
        n_before = len(chunks)
        try:
            with open_binary(spark, path) as stream:
                for record in iter_records(stream, member=member):
                    records.append(record)
                    if len(records) >= CHUNK_RECORDS:
                        chunks.append(_write_chunk(staging, i, len(chunks), records, shown))
                        records = []
            if records:
                chunks.append(_write_chunk(staging, i, len(chunks), records, shown))
        except (JsonLayoutError, OSError, EOFError, ValueError) as exc:
            for chunk in chunks[n_before:]:
                os.remove(chunk)
            del chunks[n_before:]
            failed.append((path, f"unreadable JSON file: {exc}"))
    return chunks, failed


def _write_chunk(staging: str, file_no: int, chunk_no: int, records: list[bytes], file: str) -> str:
    out = os.path.join(staging, f"f{file_no:05d}-c{chunk_no:06d}.parquet")
    table = pa.Table.from_arrays([pa.array(records, pa.binary()), pa.array([file] * len(records), pa.string())],
                                 schema=_CHUNK_SCHEMA)
    pq.write_table(table, out, compression="zstd")
    return out


def read_staged(spark, chunks: list[str], parse: Parser, options: ReadOptions) -> DataFrame:
    if not chunks:
        return spark.createDataFrame([], DOC_DDL)
    raw = spark.read.parquet(*chunks)
    return raw.mapInArrow(partial(parse_batches, parse=parse, opt=options, column="record"), DOC_DDL)

