"""`CountConfig`: every option of the counting job, with its help text, validated once.

``spark-submit pipelines/count_classes.py`` and ``classfreq count`` build it from arguments
(``add_options`` / ``from_args``); Python callers build it directly:

    run(CountConfig(inputs=("captions/*.tsv",), source="cc3m_val", out="out"), spark=spark)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from classfreq.configs import Config, option
from classfreq.errors import UserError
from classfreq.pipelines.format_llava import ROLES as LLAVA_ROLES
from classfreq.pipelines.match_spec import MATCHERS
from classfreq.pipelines.reader import ReadOptions
from classfreq.pipelines.readers import FORMATS
from classfreq.pipelines.relevance_stage import RelevanceOptions
from classfreq.pipelines.sampling import DEDUP_KEYS
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE
from classfreq.relevance.estimate import DEFAULT_SAMPLE, DEFAULT_SEED
from classfreq.relevance.variants import VARIANTS

DOC_UNITS = ("caption", "image")
PARQUET_SCANS = ("python", "spark")  # --parquet-scan: pyarrow in the Python tasks, or Spark's JVM scan
TEXT_SCANS = ("python", "spark")  # --text-scan: records read in the Python tasks, or by Spark's readers
_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def comma_list(text: str) -> tuple[str, ...]:
    """"human, gpt" -> ("human", "gpt"); empty items are dropped."""
    return tuple(r.strip() for r in text.split(",") if r.strip())


@dataclass
class CountConfig(Config):
    inputs: tuple[str, ...] = option(
        flag="--input", repeat=True, required=True, metavar="PATH_OR_GLOB",
        help="input file, folder or glob; repeat for more. s3a://, hdfs:// URIs go to Spark unchanged")
    source: str = option(required=True, help="name of the corpus in the outputs (e.g. cc3m)")
    format: str = option("auto", help="|".join(FORMATS) + " (auto: detected from the first file)")
    labelset: str = option("imagenet1k", help="label set name or folder")
    mode: str = option("default", help="default (label-set forms) or paper (CLIP names, NLTK tokens)")
    nested: bool = option(False, help="also count forms inside longer matched forms")
    doc_unit: str = option("caption", help="caption or image (COCO/Flickr: all captions of one image)")
    roles: tuple[str, ...] = option(("human", "gpt"), parse=comma_list, help="LLaVA turns to read, comma-separated")
    text_column: str | None = option(help="text field of generic JSONL/CSV/Parquet input")
    id_column: str | None = option(help="id field of generic JSONL/CSV/Parquet input")
    dedup: str | None = option(help="count each distinct id, url or text once")
    sample: float | None = option(metavar="FRACTION",
                                  help="count a hashed sample of documents and scale counts up with 95%% intervals")
    seed: int = option(0, help="seed of --sample")
    max_matches_per_class: int = option(0, metavar="N",
                                        help="keep up to N matching documents per class in doc_matches (0: none)")
    relevance: bool = option(False, help="judge a seeded sample of each class's matched documents with the "
                                         "relevance judge and estimate its relevant documents (class_counts "
                                         "relevant_share*, docs_relevant_*; doc_matches p_relevant, relevant)")
    relevance_sample: int = option(DEFAULT_SAMPLE, metavar="N",
                                   help="documents judged per class (all of them when a class has fewer)")
    relevance_seed: int = option(DEFAULT_SEED, help="seed of the hash order doc_matches and the judged "
                                                    "sample are drawn in")
    relevance_judge: str = option("full", choices=VARIANTS,
                                  help="full (spaCy + sentence embeddings) or fast (spaCy and WordNet only)")
    out: str = option("out", help="Parquet output folder")
    warehouse: str = option(DEFAULT_WAREHOUSE, help="DuckDB warehouse file")
    wait_lock: float = option(0.0, metavar="SECONDS",
                              help="wait up to SECONDS for another process to release the warehouse (0: fail at once)")
    allow_all_bad: bool = option(False, help="write the run even when every record failed to read "
                                             "(by default that ends the run: the --format is probably wrong)")
    master: str | None = option(help="Spark master (default: spark-submit's, else local[*])")
    partitions: int = option(0, help="repartition documents before counting (0: as read)")
    shuffle_partitions: int = option(16, help="spark.sql.shuffle.partitions")
    parquet_scan: str = option("python", choices=PARQUET_SCANS,
                               help="read local Parquet with pyarrow in the Python tasks (python) or with "
                                    "Spark's JVM scan (spark)")
    text_scan: str = option("python", choices=TEXT_SCANS,
                            help="read local line files (JSONL, TSV, Flickr; gzip too) and the staged records of "
                                 "CSV and JSON arrays in the Python tasks (python) or with Spark's readers (spark)")
    progress_interval: float = option(10.0, help="seconds between progress lines (0: off)")
    staging: str | None = option(help="folder for split JSON arrays (default OUT/_staging/RUN_ID)")

    def __post_init__(self):
        # Python callers may pass one path, Path objects or roles as "human,gpt"; the job keeps strings
        if isinstance(self.inputs, (str, os.PathLike)):
            self.inputs = (self.inputs,)
        self.inputs = tuple(str(p) for p in self.inputs)
        if isinstance(self.roles, str):
            self.roles = comma_list(self.roles)
        self.out, self.warehouse = str(self.out), str(self.warehouse)
        if self.staging is not None:
            self.staging = str(self.staging)

    def validate(self) -> CountConfig:
        """Everything that needs no data; raises UserError with one sentence."""
        if not self.inputs:
            raise UserError("give at least one --input")
        if not _SOURCE_NAME.fullmatch(self.source or ""):
            raise UserError(f"--source {self.source!r} must be a simple name (letters, digits, _ . -)")
        if self.format not in FORMATS:
            raise UserError(f"unknown --format {self.format!r}; use one of {', '.join(FORMATS)}")
        if self.mode not in MATCHERS:
            raise UserError(f"unknown --mode {self.mode!r}; use {' or '.join(MATCHERS)}")
        if self.mode == "paper" and self.nested:
            raise UserError("--nested applies to the default mode only (paper mode always counts nested matches)")
        if self.doc_unit not in DOC_UNITS:
            raise UserError(f"unknown --doc-unit {self.doc_unit!r}; use caption or image")
        unknown = [r for r in self.roles if r not in LLAVA_ROLES] or ([] if self.roles else ["(none)"])
        if unknown:
            raise UserError(f"--roles {unknown[0]!r} is not a LLaVA turn role; use a comma-separated subset of "
                            f"{', '.join(LLAVA_ROLES)}")
        if self.dedup is not None and self.dedup not in DEDUP_KEYS:
            raise UserError(f"--dedup must be one of {', '.join(DEDUP_KEYS)}, got {self.dedup!r}")
        if self.sample is not None and not 0 < self.sample <= 1:
            raise UserError(f"--sample must be a fraction in (0, 1], got {self.sample}")
        for flag, value, least in (("--max-matches-per-class", self.max_matches_per_class, 0),
                                   ("--partitions", self.partitions, 0),
                                   ("--relevance-sample", self.relevance_sample, 1),
                                   ("--shuffle-partitions", self.shuffle_partitions, 1),
                                   ("--progress-interval", self.progress_interval, 0),
                                   ("--wait-lock", self.wait_lock, 0)):
            if value < least:
                raise UserError(f"{flag} must be {'0 or more' if least == 0 else f'at least {least}'}, got {value}")
        if self.parquet_scan not in PARQUET_SCANS:
            raise UserError(f"--parquet-scan must be one of {', '.join(PARQUET_SCANS)}, got {self.parquet_scan!r}")
        if self.text_scan not in TEXT_SCANS:
            raise UserError(f"--text-scan must be one of {', '.join(TEXT_SCANS)}, got {self.text_scan!r}")
        if self.relevance_judge not in VARIANTS:
            raise UserError(f"--relevance-judge must be one of {', '.join(VARIANTS)}, got {self.relevance_judge!r}")
        return self

    @property
    def matches_to_keep(self) -> int:
        """Matched documents kept per class in doc_matches: --max-matches-per-class, and with
        --relevance at least the judged sample (so `classfreq relevance judge-run` can judge it again)."""
        return max(self.max_matches_per_class, self.relevance_sample) if self.relevance else self.max_matches_per_class

    def relevance_options(self) -> RelevanceOptions:
        return RelevanceOptions(labelset=self.labelset, judge=self.relevance_judge, sample=self.relevance_sample,
                                seed=self.relevance_seed)

    @property
    def count_mode(self) -> str:
        """The mode the counts are stored under: default, nested or paper."""
        return "paper" if self.mode == "paper" else ("nested" if self.nested else "default")

    def read_options(self, staging: str) -> ReadOptions:
        return ReadOptions(text_column=self.text_column, id_column=self.id_column, roles=self.roles, staging=staging,
                           python_parquet=self.parquet_scan == "python", python_text=self.text_scan == "python")
