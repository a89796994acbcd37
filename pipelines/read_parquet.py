"""Parquet input, shared by the Parquet formats (format_laion, format_img2dataset, format_parquet),
which differ only in their column layout. ``read`` returns the documents as Spark's Parquet scan
(pure Spark expressions) and, for local files whose columns pyarrow reads the same way, the
pieces the Python tasks read and count themselves instead (``parquet_tasks``; the counter uses
them unless --sample, --dedup or --partitions need the DataFrame).

The read is optimistic. Before Spark reads them, only the footers of local files are read on the
driver (threads, one file each): the column names (of the first file, for ``validate``) and the
text column's type in each file; a file whose text column has another type than most files'
(string in one, int64 in another) would crash the whole Spark job, so it fails alone, with its
reason (``Documents.failed``: one ``files_failed`` row). Data pages are not decoded up front:
Spark reads them once, when counting. Only when that Spark job fails does the job read again
with ``ReadOptions.check_pages`` (``count_classes.read_and_count``): then every page of every
column the job reads (text, id, URL, NSFW, punsafe) is decoded on the driver first, and a file
with a page that does not decode (corrupt data behind an intact footer), or whose id, URL, NSFW or
punsafe column has another type than most files' (SAMPLE_ID string in one, int64 in the others),
fails alone too. Hadoop URIs are not inspected (their footers are checked by
``input_files.file_problem``)."""
from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, StringType

from classfreq.errors import UserError
from classfreq.pipelines.documents import ALL_ROLE, COLUMNS, DOC_DDL, EXAMPLE_CHARS
from classfreq.pipelines.input_files import is_local
from classfreq.pipelines.parquet_tasks import PieceSource, unreadable
from classfreq.pipelines.reader import Documents, Reader, ReadOptions, parquet_columns
from classfreq.pipelines.records import INVALID_UTF8, NO_TEXT, NON_STRING


@dataclass(frozen=True)
class ParquetLayout:
    """Column candidates of a Parquet layout, the first present wins (--text-column and
    --id-column override the first two)."""
    text: tuple[str, ...]
    id: tuple[str, ...]
    url: tuple[str, ...]


class ParquetReader(Reader):
    """A Parquet layout; subclasses set ``name``, ``layout`` and ``detect``."""

    columnar = True
    layout: ParquetLayout

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        cols = parquet_columns(spark, files)
        if _pick(cols, options.text_column, self.layout.text) is None:
            wanted = options.text_column or " or ".join(self.layout.text)
            raise UserError(f"the Parquet input has no text column {wanted}; its columns are "
                            f"{', '.join(cols)}: pass --text-column NAME")
        if options.id_column and options.id_column not in cols:
            raise UserError(f"the Parquet input has no id column {options.id_column!r}; its columns are {', '.join(cols)}")
        return options

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        found: dict = {}
        files, failed = inspect_files(files, options, self.layout, found)
        if not files:
            return Documents(spark.createDataFrame([], DOC_DDL), has_parts=False, failed=failed)
        pieces = None
        if options.python_parquet and all(is_local(f) for f in files):
            pieces = PieceSource.plan(files, {f: found[f][0] for f in files if f in found and found[f][0]},
                                      {f: found[f][2] for f in files if f in found})
        if pieces is not None:  # text is a string or binary column; Spark's scan only for a fallback
            return Documents(lambda: parquet_documents(spark.read.parquet(*files), self.layout, options),
                             has_parts=False, failed=failed, pieces=pieces)
        raw = spark.read.parquet(*files)
        text = _pick(raw.columns, options.text_column, self.layout.text)
        is_list = isinstance(raw.schema[text].dataType, ArrayType)  # a list of captions: documents with parts
        return Documents(parquet_documents(raw, self.layout, options), has_parts=is_list, failed=failed)


def inspect_files(files: list[str], options: ReadOptions, layout: ParquetLayout,
                  found: dict | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """(the files Spark can read, [(file, reason)] for the others): local files whose text column
    has another type than most files' (the first file's on a tie), from their footers. With
    ``options.check_pages`` (after a Spark job failed) also those with a page of a column the job
    reads that does not decode, or whose id, URL, NSFW or punsafe column has another type than most
    files' (Spark reads each file as the type of one file's column). ``found`` gets
    {file: (its columns' types, reason, rows per row group)} of the local files."""
    local = [f for f in files if is_local(f)]
    found = {} if found is None else found
    with ThreadPoolExecutor(max_workers=min(len(local), os.cpu_count() or 1) or 1) as pool:
        found.update(zip(local, pool.map(lambda f: _column_types(f, options, layout), local)))
    failed = [(f, why) for f, (_, why, _) in found.items() if why]
    types = {f: kinds for f, (kinds, why, _) in found.items() if kinds and not why}
    for role in ("text", "id", "url", "NSFW", "punsafe") if options.check_pages else ("text",):
        failed += _odd_types(types, role)
    bad = {f for f, _ in failed}
    return [f for f in files if f not in bad], sorted(dict(failed).items())


def _odd_types(types: dict[str, dict[str, tuple[str, str]]], role: str) -> list[tuple[str, str]]:
    """[(file, reason)] of the files whose ``role`` column has another type than most files'."""
    kinds = Counter(cols[role][1] for cols in types.values() if role in cols)
    if len(kinds) < 2:
        return []
    first = next(cols[role][1] for cols in types.values() if role in cols)
    usual = max(kinds, key=lambda k: (kinds[k], k == first))
    what = "text column" if role == "text" else "{role} column {name!r}"
    return [(f, f"unreadable Parquet file: its {what.format(role=role, name=cols[role][0])} is {cols[role][1]}, "
                f"that of the other {kinds[usual]} file(s) is {usual}")
            for f, cols in types.items() if role in cols and cols[role][1] != usual]


def _column_types(path: str, options: ReadOptions, layout: ParquetLayout) -> tuple[dict | None, str | None, list[int]]:
    """({role: (column, type as Spark sees it)} of the columns the job reads, None, rows per row
    group), from the footer; with ``options.check_pages`` after decoding every page of them.
    (None, reason, []) when the footer or a page does not decode; (None, None, []) without a text
    column (``validate`` says)."""
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        text = _pick(schema.names, options.text_column, layout.text)
        if text is None:
            return None, None, []
        cols = {"text": text, "id": _pick(schema.names, options.id_column, layout.id),
                "url": _pick(schema.names, None, layout.url), "NSFW": "NSFW", "punsafe": "punsafe"}
        cols = {role: c for role, c in cols.items() if c in schema.names}
        if options.check_pages:
            for group in range(pf.num_row_groups):
                pf.read_row_group(group, columns=list(dict.fromkeys(cols.values())))
        rows = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
        return {role: (c, _spark_kind(schema.field(c).type)) for role, c in cols.items()}, None, rows
    except Exception as exc:  # pyarrow raises OSError, ArrowException, ValueError... for a corrupt page
        return None, unreadable(exc), []


def _spark_kind(dtype: pa.DataType) -> str:
    """The type Spark reads a column as (large and small variants are one type)."""
    if pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_large_binary(dtype):
        return "binary"
    if pa.types.is_large_list(dtype):
        return f"list<{_spark_kind(dtype.value_type)}>"
    return str(dtype)


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    if wanted:
        return wanted if wanted in columns else None
    return next((c for c in candidates if c in columns), None)


def parquet_documents(raw: DataFrame, layout: ParquetLayout, options: ReadOptions) -> DataFrame:
    """The DOC_SCHEMA rows of a Parquet DataFrame (its columns checked by ``validate``)."""
    cols = raw.columns
    text = _pick(cols, options.text_column, layout.text)
    ident = _pick(cols, options.id_column, layout.id)
    url = _pick(cols, None, layout.url)
    dtype = raw.schema[text].dataType
    file = F.col("_metadata.file_path")
    row_id = F.concat(F.regexp_extract(file, r"([^/]*)$", 1), F.lit(":"), F.col("_metadata.row_index").cast("string"))
    df = raw.select(
        F.col(f"`{text}`").alias("_t"),
        (F.col(f"`{ident}`").cast("string") if ident else row_id).alias("doc_id"),
        (F.col(f"`{url}`").cast("string") if url else F.lit(None).cast("string")).alias("url"),
        (F.col("NSFW").cast("string") if "NSFW" in cols else F.lit(None).cast("string")).alias("nsfw"),
        (F.col("punsafe").cast("double") if "punsafe" in cols else F.lit(None).cast("double")).alias("punsafe"),
        file.alias("file"),
    )
    if isinstance(dtype, ArrayType) and isinstance(dtype.elementType, (StringType, BinaryType)):
        return _list_documents(df, text)
    if isinstance(dtype, BinaryType):
        df = df.withColumn("_t", F.col("_t").cast("string"))
    elif not isinstance(dtype, StringType):
        # the whole column has the wrong type: every record is quarantined, none is dropped
        return df.select(
            *[F.col(c) if c in ("doc_id", "file") else F.lit(None).alias(c)
              for c in ("doc_id", "text", "parts", "url", "nsfw", "punsafe", "group_id", "file")],
            F.lit(f"{NON_STRING} ({text!r} is {dtype.simpleString()})").alias("reason"),
            F.substring(F.col("_t").cast("string"), 1, EXAMPLE_CHARS).alias("example"),
        ).selectExpr(*_typed())
    valid = F.expr("is_valid_utf8(_t)")
    reason = (F.when(F.col("_t").isNull(), F.lit(f"{NO_TEXT} ({text!r})"))
              .when(~valid, F.lit(INVALID_UTF8)))
    example = (F.when(F.col("_t").isNull(), F.concat_ws(" ", F.lit("doc_id"), F.col("doc_id")))
               .when(~valid, F.substring(F.expr("make_valid_utf8(_t)"), 1, EXAMPLE_CHARS)))
    return df.select(
        "doc_id",
        F.when(reason.isNull(), F.col("_t")).alias("text"),
        F.lit(None).alias("parts"),
        "url", "nsfw", "punsafe",
        F.lit(None).cast("string").alias("group_id"),
        "file", reason.alias("reason"), example.alias("example"),
    ).selectExpr(*_typed())


def _list_documents(df: DataFrame, text: str) -> DataFrame:
    """A list of strings is several captions of one document (as in JSONL): each becomes a part
    with role 'all'. An empty list or a null element is quarantined like a non-string JSONL value."""
    df = df.withColumn("_t", F.expr("transform(_t, x -> CAST(x AS STRING))"))
    reason = (F.when(F.col("_t").isNull(), F.lit(f"{NO_TEXT} ({text!r})"))
              .when(F.size("_t") == 0, F.lit(f"{NON_STRING} ({text!r} is an empty list)"))
              .when(F.expr("exists(_t, x -> x IS NULL)"), F.lit(f"{NON_STRING} ({text!r} has a null element)"))
              .when(F.expr("exists(_t, x -> NOT is_valid_utf8(x))"), F.lit(INVALID_UTF8)))
    example = F.when(reason.isNotNull(), F.concat_ws(" ", F.lit("doc_id"), F.col("doc_id"), F.lit("text"),
                                                       F.substring(F.to_json(F.expr("transform(_t, x -> make_valid_utf8(x))")),
                                                                   1, EXAMPLE_CHARS)))
    parts = F.to_json(F.transform("_t", lambda x: F.struct(F.lit(ALL_ROLE).alias("role"), x.alias("text"))))
    return df.select(
        "doc_id", F.lit(None).alias("text"), F.when(reason.isNull(), parts).alias("parts"),
        "url", "nsfw", "punsafe", F.lit(None).cast("string").alias("group_id"),
        "file", reason.alias("reason"), example.alias("example"),
    ).selectExpr(*_typed())


def _typed() -> list[str]:
    types = {"punsafe": "double"}
    return [f"CAST({c} AS {types.get(c, 'string')}) AS {c}" for c in COLUMNS]
