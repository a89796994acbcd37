"""Parquet readers: LAION metadata (TEXT, SAMPLE_ID, URL, NSFW, punsafe), img2dataset output
(caption, key, url) and any Parquet with --text-column/--id-column. Pure Spark expressions: no
Python per row, so reading is as fast as Spark's Parquet scan."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, StringType

from classfreq.errors import UserError
from classfreq.pipelines.documents import ALL_ROLE, COLUMNS, EXAMPLE_CHARS
from classfreq.pipelines.record_parsers import INVALID_UTF8, NO_TEXT, NON_STRING

# (text, id, url) column candidates per layout, first present wins
LAYOUTS = {
    "laion": (["TEXT", "caption", "text"], ["SAMPLE_ID", "key", "id"], ["URL", "url"]),
    "img2dataset": (["caption", "TEXT", "text"], ["key", "SAMPLE_ID", "id"], ["url", "URL"]),
    "parquet": (["text", "caption", "TEXT"], ["id", "key", "SAMPLE_ID"], ["url", "URL"]),
}


def _pick(columns: list[str], wanted: str | None, candidates: list[str]) -> str | None:
    if wanted:
        return wanted if wanted in columns else None
    return next((c for c in candidates if c in columns), None)


def read_parquet(spark, files: list[str], layout: str, text_column=None, id_column=None) -> DataFrame:
    raw = spark.read.parquet(*files)
    cols = raw.columns
    text_candidates, id_candidates, url_candidates = LAYOUTS[layout]
    text = _pick(cols, text_column, text_candidates)
    if text is None:
        wanted = text_column or " or ".join(text_candidates)
        raise UserError(f"the Parquet input has no text column {wanted}; its columns are "
                        f"{', '.join(cols)}: pass --text-column NAME")
    if id_column and id_column not in cols:
        raise UserError(f"the Parquet input has no id column {id_column!r}; its columns are {', '.join(cols)}")
    ident = _pick(cols, id_column, id_candidates)
    url = _pick(cols, None, url_candidates)
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


def text_is_list(spark, files: list[str], layout: str, text_column=None) -> bool:
    """Whether the text column is a list (its documents then have parts)."""
    raw = spark.read.parquet(*files)
    text = _pick(raw.columns, text_column, LAYOUTS[layout][0])
    return text is not None and isinstance(raw.schema[text].dataType, ArrayType)


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
