"""The reader contract: one `Reader` object per input format, in its own module ``format_<name>.py``,
registered in ``readers.READERS``.

A reader

* ``detect(probe)``: says whether the first input file (``Probe``: its name, first bytes, first
  line, Parquet columns) is in its format (``--format auto``);
* ``validate(spark, files, options)``: refuses what can be refused before reading (a missing
  text column, CSV headers that differ) with one sentence (UserError), and returns the options
  its ``read`` uses (CSV: with the header it found);
* ``read(spark, files, options)``: returns the documents as a DataFrame of
  ``documents.DOC_SCHEMA`` rows, malformed records as quarantine rows (``reason``, ``example``),
  never dropped.

The shared machinery: ``records`` (what every parser shares), ``read_lines`` (line formats),
``staging`` (files only the driver can split: ``read_json_array`` for one big JSON document,
``format_csv.split_csv`` for CSV) and ``read_parquet`` (Parquet layouts).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

import pyarrow.parquet as pq

from classfreq.pipelines.input_files import is_local, peek, to_spark_path, without_bom

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")  # names of files the JSON formats detect


@dataclass(frozen=True)
class ReadOptions:
    """What the user said about the input, plus what ``validate`` found (pickled to executors)."""
    text_column: str | None = None       # generic JSONL/CSV/Parquet: the text field
    id_column: str | None = None         # generic JSONL/CSV/Parquet (and LLaVA): the id field
    roles: tuple[str, ...] = ("human", "gpt")  # LLaVA turns to read
    staging: str = "out/_staging"        # where JSON arrays and CSV files are split into Parquet chunks
    header: tuple[str, ...] = ()         # CSV: the column names of the first file
    check_pages: bool = False            # Parquet: decode every page of the columns read on the driver first
                                         # (only after a Spark job failed on the optimistic read)
    python_parquet: bool = True          # Parquet: count local files read by pyarrow in the Python tasks
                                         # (parquet_tasks); False: Spark's Parquet scan (the JVM)
    python_text: bool = True             # other formats: local lines and staged chunks read in the Python
                                         # tasks (record_tasks); False: Spark's text and Parquet readers


@dataclass
class Documents:
    """What ``Reader.read`` returns."""
    docs: object                         # pyspark DataFrame of DOC_SCHEMA rows, or a function that
                                         # builds it (when ``pieces`` are counted, only a fallback needs it)
    has_parts: bool                      # some documents have parts (the counter must hand them to Python)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) of files it could not read
    pieces: object = None                # Parquet: a parquet_tasks.PieceSource the tasks can read and count
                                         # instead of ``docs`` (None: count ``docs``)


def base_name(path: str) -> str:
    """The lowercased file name without a trailing ``.gz``."""
    name = os.path.basename(path.rstrip("/")).lower()
    return name[:-3] if name.endswith(".gz") else name


class Probe:
    """The first input file, as format detection sees it; bytes and columns are read on first use."""

    def __init__(self, spark, path: str):
        self.spark, self.path = spark, path
        self.name = base_name(path)

    @cached_property
    def head(self) -> bytes:
        """The first 64 KiB (decompressed), a leading BOM and white space removed."""
        return without_bom(peek(self.spark, self.path)).lstrip()

    @cached_property
    def first_line(self) -> bytes:
        return self.head.split(b"\n", 1)[0]

    @cached_property
    def columns(self) -> list[str]:
        """Column names of a Parquet file (from its footer, without Spark, when it is local)."""
        return parquet_columns(self.spark, [to_spark_path(self.path)])


def parquet_columns(spark, files: list[str]) -> list[str]:
    """Column names of Parquet input: the first file's footer (pyarrow) when it is local, else Spark's schema."""
    if is_local(files[0]):
        return pq.read_schema(files[0]).names
    return spark.read.parquet(*files).columns


class Reader:
    """One input format. Subclasses set ``name`` and implement ``detect`` and ``read``."""

    name: str = ""
    has_urls: bool = True      # False: --dedup url is refused
    has_images: bool = False   # True: captions carry their image (group_id), so --doc-unit image works
    has_roles: bool = False    # True: parts are conversation turns, counted per role as well as 'all'
    columnar: bool = False     # True: Parquet, checked by its footer; False: checked by reading it (gzip)

    def detect(self, probe: Probe) -> bool:
        return False

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        return options

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.name} reader>"
