"""Pick the reader for --format (or detect it) and return the documents DataFrame (DOC_SCHEMA),
plus the files that could not be read at all."""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from classfreq.errors import UserError
from classfreq.pipelines.documents import ALL_ROLE, DOC_DDL
from classfreq.pipelines.input_files import file_problem, peek, to_spark_path
from classfreq.pipelines.read_json_array import read_staged, stage_records
from classfreq.pipelines.read_lines import read_lines
from classfreq.pipelines.read_parquet import read_parquet, text_is_list
from classfreq.pipelines.record_parsers import ParseOptions

FORMATS = ("auto", "laion", "img2dataset", "cc3m", "cc12m", "coco", "flickr", "llava", "jsonl", "csv", "parquet")
PARQUET_FORMATS = ("laion", "img2dataset", "parquet")


@dataclass
class ReadResult:
    docs: DataFrame
    fmt: str
    files: list[str]
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    has_parts: bool = False  # some documents have parts (the counter must hand them to Python)


def _base(path: str) -> str:
    name = os.path.basename(path.rstrip("/")).lower()
    return name[:-3] if name.endswith(".gz") else name


def detect_format(spark, path: str) -> str:
    name = _base(path)
    if name.endswith(".parquet") or name.endswith(".snappy.parquet"):
        cols = spark.read.parquet(to_spark_path(path)).columns
        if "TEXT" in cols:
            return "laion"
        if "caption" in cols:
            return "img2dataset"
        return "parquet"
    head = peek(spark, path).lstrip()
    first_line = head.split(b"\n", 1)[0]
    if name.endswith(".json") and head[:1] == b"[":
        return "llava"
    if name.endswith(".json") and head[:1] == b"{" and b'"annotations"' in head[:1 << 16] \
            or name.startswith("captions_") and name.endswith(".json"):
        return "coco"
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "llava" if b'"conversations"' in first_line else "jsonl"
    if name.endswith(".tsv"):
        return "cc12m" if first_line.lower().startswith((b"http://", b"https://")) else "cc3m"
    if name.endswith(".txt") and b"#" in first_line.split(b"\t", 1)[0]:
        return "flickr"
    if name.endswith(".csv"):
        return "csv"
    raise UserError(f"cannot tell the format of {path}; pass --format with one of {', '.join(FORMATS[1:])}")


def read_documents(spark, files: list[str], fmt: str, *, text_column=None, id_column=None,
                   roles=("human", "gpt"), doc_unit="caption", staging: str = "out/_staging") -> ReadResult:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    parquet = fmt in PARQUET_FORMATS or (fmt == "auto" and _base(files[0]).endswith(".parquet"))
    failed = [(f, why) for f in files if (why := file_problem(spark, f, "parquet" if parquet else "text"))]
    good = [f for f in files if f not in {f for f, _ in failed}]
    if fmt == "auto":
        fmt = detect_format(spark, good[0]) if good else ("parquet" if parquet else "jsonl")
    opt = ParseOptions(text_column=text_column, id_column=id_column, roles=tuple(roles))
    spark_paths = [to_spark_path(f) for f in good]
    if not good:
        docs = spark.createDataFrame([], DOC_DDL)
    elif fmt in PARQUET_FORMATS:
        docs = read_parquet(spark, spark_paths, fmt, text_column, id_column)
    elif fmt in ("llava", "coco") and _is_json_document(good[0]):
        chunks, bad = stage_records(spark, good, "annotations" if fmt == "coco" else None, staging)
        failed += bad
        docs = read_staged(spark, chunks, "coco" if fmt == "coco" else "llava", opt)
    elif fmt == "coco":
        raise UserError(f"COCO input {good[0]} is not a .json annotation file")
    else:
        if fmt == "csv":
            opt = ParseOptions(text_column=text_column, id_column=id_column, roles=tuple(roles),
                               csv_header=_csv_header(spark, good[0], text_column))
            _check_same_csv_header(spark, good, opt.csv_header)
        elif fmt == "jsonl":
            _check_jsonl_column(spark, good[0], text_column or "text")
        docs = read_lines(spark, spark_paths, fmt, opt)
    if doc_unit == "image":
        docs = group_by_image(docs, fmt)
    elif doc_unit != "caption":
        raise UserError(f"unknown --doc-unit {doc_unit!r}; use caption or image")
    has_parts = fmt in ("llava", "jsonl") or doc_unit == "image" or (
        bool(good) and fmt in PARQUET_FORMATS and text_is_list(spark, spark_paths, fmt, text_column))
    return ReadResult(docs, fmt, files, failed, has_parts)


def _is_json_document(path: str) -> bool:
    return _base(path).endswith(".json")


def _csv_header(spark, path: str, text_column: str | None) -> tuple:
    line = peek(spark, path).split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    header = tuple(next(csv.reader(io.StringIO(line)), []))
    wanted = text_column or "text"
    if wanted not in header:
        raise UserError(f"the CSV header of {path} has no column {wanted!r} (it has {', '.join(header)}); pass --text-column NAME")
    return header


def _check_same_csv_header(spark, paths: list[str], header: tuple) -> None:
    """Every CSV line is read with the first file's header: a file whose header differs would
    have its columns taken by position (the wrong text), so it is refused."""
    for path in paths[1:]:
        line = peek(spark, path).split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
        other = tuple(next(csv.reader(io.StringIO(line)), []))
        if other != header:
            raise UserError(f"the CSV header of {path} ({', '.join(other)}) differs from that of {paths[0]} "
                            f"({', '.join(header)}); count files with different columns as separate runs")


def _check_jsonl_column(spark, path: str, column: str) -> None:
    """Refuse a JSONL input whose first records all lack the text column (a wrong --text-column),
    instead of quarantining every record."""
    lines = [ln for ln in peek(spark, path).split(b"\n")[:-1][:200] if ln.strip()]
    keys: set = set()
    for ln in lines:
        try:
            rec = json.loads(ln)
        except ValueError:
            continue
        if isinstance(rec, dict):
            if column in rec:
                return
            keys.update(rec)
    if keys:
        raise UserError(f"the JSONL records in {path} have no field {column!r} (they have "
                        f"{', '.join(sorted(keys))}); pass --text-column NAME")


def group_by_image(docs: DataFrame, fmt: str) -> DataFrame:
    """--doc-unit image: one document per image, its captions as parts (matched one by one)."""
    if fmt not in ("coco", "flickr"):
        raise UserError(f"--doc-unit image needs COCO or Flickr input (got {fmt})")
    valid = docs.where(F.col("reason").isNull())
    bad = docs.where(F.col("reason").isNotNull())
    images = valid.groupBy("group_id").agg(
        F.to_json(F.array_sort(F.collect_list(F.struct(F.lit(ALL_ROLE).alias("role"), F.col("text"))))).alias("parts"),
        F.min("file").alias("file"))
    grouped = images.select(
        F.col("group_id").alias("doc_id"), F.lit(None).cast("string").alias("text"), "parts",
        F.lit(None).cast("string").alias("url"), F.lit(None).cast("string").alias("nsfw"),
        F.lit(None).cast("double").alias("punsafe"), "group_id", "file",
        F.lit(None).cast("string").alias("reason"), F.lit(None).cast("string").alias("example"))
    return grouped.unionByName(bad)
