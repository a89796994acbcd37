"""Line-based readers (CC3M/CC12M TSV, Flickr token files, JSONL incl. LLaVA JSONL, CSV): Spark
reads the lines (any Hadoop URI, gzip included) as raw bytes, and `record_parsers` turns each
line into a document or a quarantine entry in Python (so invalid UTF-8 is seen, not replaced)."""
from __future__ import annotations

from functools import partial

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from classfreq.pipelines.documents import DOC_DDL
from classfreq.pipelines.record_parsers import ParseOptions, parse_batches


def read_lines(spark, files: list[str], parser: str, options: ParseOptions) -> DataFrame:
    # records end at "\n" only (a trailing "\r" is stripped by the parsers): Hadoop's default also
    # splits on a lone "\r", which real captions contain, and would cut one record in two
    lines = spark.read.option("lineSep", "\n").text(files).select(
        F.col("value").cast("binary").alias("line"), F.col("_metadata.file_path").alias("file"))
    return lines.mapInArrow(partial(parse_batches, parser_name=parser, opt=options), DOC_DDL)
