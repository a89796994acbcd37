"""Line formats (one record per line): the reader class they share (`LineReader`, and
`CaptionUrlReader` for caption/URL TSV), and their documents: read in the Python tasks
(``record_tasks``) where they can be, else by Spark's text reader (``read_lines``)."""
from __future__ import annotations

from functools import partial

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from classfreq.pipelines.documents import DOC_DDL
from classfreq.pipelines.reader import Documents, Probe, Reader, ReadOptions
from classfreq.pipelines.record_tasks import plan_lines
from classfreq.pipelines.records import Parser, parse_batches, parse_caption_url


def read_lines(spark, files: list[str], parse: Parser, options: ReadOptions, blank_is_record: bool = True) -> DataFrame:
    """Line formats: Spark reads the lines (any Hadoop URI, gzip included) as raw bytes and
    ``parse`` turns each into a document or a quarantine entry in Python (so invalid UTF-8 is
    seen, not replaced)."""
    # records end at "\n" only (a trailing "\r" is stripped by the parsers): Hadoop's default also
    # splits on a lone "\r", which real captions contain, and would cut one record in two
    lines = spark.read.option("lineSep", "\n").text(files).select(
        F.col("value").cast("binary").alias("line"), F.col("_metadata.file_path").alias("file"))
    return lines.mapInArrow(partial(parse_batches, parse=parse, opt=options, blank_is_record=blank_is_record), DOC_DDL)


def line_documents(spark, files: list[str], parse: Parser, options: ReadOptions, blank_is_record: bool,
                   has_parts: bool) -> Documents:
    """The documents of line files: read in the Python tasks (``record_tasks``) when they can be,
    Spark's text reader (``read_lines``, built only if needed) otherwise or with --text-scan spark."""
    def build() -> DataFrame:
        return read_lines(spark, files, parse, options, blank_is_record)

    source = plan_lines(files, parse, options, blank_is_record, has_parts) if options.python_text else None
    return Documents(build if source is not None else build(), has_parts=has_parts, pieces=source)


class LineReader(Reader):
    """A format with one record per line: subclasses set ``name``, ``detect`` and ``parse_record``
    (a ``staticmethod`` of a module-level function, which Spark ships to executors by reference)."""

    parts: bool = False  # whether its documents can have parts
    blank_is_record: bool = True  # a line of white space is a record (TSV: a document); JSON: not
    parse_record: Parser

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        return line_documents(spark, files, self.parse_record, options, self.blank_is_record, self.parts)


class CaptionUrlReader(LineReader):
    """A TSV without header of two fields, a caption and its URL; ``caption_first`` gives their order
    (detected: a first line that starts with http:// or https:// has the URL first)."""

    caption_first: bool

    @property
    def parse_record(self) -> Parser:
        return partial(parse_caption_url, caption_first=self.caption_first)

    def detect(self, probe: Probe) -> bool:
        url_first = probe.first_line.lower().startswith((b"http://", b"https://"))
        return probe.name.endswith(".tsv") and url_first != self.caption_first
