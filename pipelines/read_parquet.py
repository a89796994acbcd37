"""Parquet input, shared by the Parquet formats (format_laion, format_img2dataset, format_parquet),
which differ only in their column layout. Pure Spark expressions: no Python per row, so reading
is as fast as Spark's Parquet scan."""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, StringType

from classfreq.errors import UserError
from classfreq.pipelines.documents import ALL_ROLE, COLUMNS, EXAMPLE_CHARS
from classfreq.pipelines.reader import Documents, Reader, ReadOptions
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
        cols = spark.read.parquet(*files).columns
        if _pick(cols, options.text_column, self.layout.text) is None:
            wanted = options.text_column or " or ".join(self.layout.text)
            raise UserError(f"the Parquet input has no text column {wanted}; its columns are "
                            f"{', '.join(cols)}: pass --text-column NAME")
        if options.id_column and options.id_column not in cols:
            raise UserError(f"the Parquet input has no id column {options.id_column!r}; its columns are {', '.join(cols)}")
        return options

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        raw = spark.read.parquet(*files)
        text = _pick(raw.columns, options.text_column, self.layout.text)
        is_list = isinstance(raw.schema[text].dataType, ArrayType)  # a list of captions: documents with parts
        return Documents(parquet_documents(raw, self.layout, options), has_parts=is_list)


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
