"""The input formats, in one registry, and the read step of the job: check the files, pick the
reader (``--format``, or the first reader whose ``detect`` accepts the first file), validate,
read, and make one document per image for ``--doc-unit image``.

A new format is one module ``format_<name>.py`` with a ``READER`` (see ``reader.Reader``) and one
line in ``READERS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from classfreq.errors import UserError
from classfreq.pipelines import (
    format_cc3m,
    format_cc12m,
    format_coco,
    format_csv,
    format_flickr,
    format_img2dataset,
    format_jsonl,
    format_laion,
    format_llava,
    format_parquet,
)
from classfreq.pipelines.documents import ALL_ROLE, DOC_DDL
from classfreq.pipelines.input_files import file_problem, to_spark_path
from classfreq.pipelines.reader import Probe, Reader, ReadOptions, base_name

# in detection order: the first whose detect() accepts the first file reads all of them
READERS: dict[str, Reader] = {r.name: r for r in (
    format_laion.READER,
    format_img2dataset.READER,
    format_parquet.READER,
    format_coco.READER,
    format_llava.READER,
    format_jsonl.READER,
    format_cc12m.READER,
    format_cc3m.READER,
    format_flickr.READER,
    format_csv.READER,
)}
FORMATS = ("auto", *READERS)  # the values of --format


@dataclass
class ReadResult:
    """The read step's result. ``docs`` (DOC_SCHEMA rows) is built on first use when the reader gave
    a function: Parquet counted by the Python tasks (``pieces``) needs Spark's scan only for a fallback."""
    source: object  # a DataFrame, or a function that returns it
    reader: Reader
    files: list[str]
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    has_parts: bool = False  # some documents have parts (the counter must hand them to Python)
    pieces: object = None  # Parquet read in the Python tasks (parquet_tasks.PieceSource), else None

    @cached_property
    def docs(self) -> DataFrame:
        return self.source() if callable(self.source) else self.source

    @property
    def fmt(self) -> str:
        return self.reader.name


def detect_reader(spark, path: str) -> Reader:
    probe = Probe(spark, path)
    for reader in READERS.values():
        if reader.detect(probe):
            return reader
    raise UserError(f"cannot tell the format of {path}; pass --format with one of {', '.join(READERS)}")


def is_columnar(files: list[str], fmt: str) -> bool:
    """Whether ``files`` are read as Parquet (``--format`` fmt, or auto and the first file is *.parquet)."""
    return READERS[fmt].columnar if fmt != "auto" else base_name(files[0]).endswith(".parquet")


def read_documents(spark, files: list[str], fmt: str, options: ReadOptions, doc_unit: str = "caption") -> ReadResult:
    """The documents (DOC_SCHEMA rows) of ``files`` in format ``fmt`` (one of FORMATS; "auto": detected)."""
    columnar = is_columnar(files, fmt)
    failed = [(f, why) for f in files if (why := file_problem(spark, f, "parquet" if columnar else "text"))]
    good = [to_spark_path(f) for f in files if f not in {f for f, _ in failed}]
    if fmt != "auto":
        reader = READERS[fmt]
    elif good:
        reader = detect_reader(spark, good[0])
    else:
        reader = READERS["parquet" if columnar else "jsonl"]
    if doc_unit == "image" and not reader.has_images:
        raise UserError(f"--doc-unit image needs COCO or Flickr input (got {reader.name})")
    if good:
        read = reader.read(spark, good, reader.validate(spark, good, options))
        docs, has_parts, pieces = read.docs, read.has_parts, read.pieces
        failed += read.failed
    else:
        docs, has_parts, pieces = spark.createDataFrame([], DOC_DDL), False, None
    if doc_unit == "image":
        docs, has_parts, pieces = group_by_image(docs() if callable(docs) else docs), True, None
    return ReadResult(docs, reader, files, failed, has_parts, pieces)


def group_by_image(docs: DataFrame) -> DataFrame:
    """--doc-unit image: one document per image, its captions as parts (matched one by one)."""
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
