"""Count label-set classes in caption corpora with Spark.

    spark-submit pipelines/count_classes.py --input PATH_OR_GLOB --source NAME \
        --labelset imagenet1k --out out/ --warehouse warehouse/classfreq.duckdb

Runs on embedded local Spark (local[*]) by default; under spark-submit --master spark://... the
same job runs on a cluster. `classfreq count` runs this code in-process, and Python callers call
``run(CountConfig(...))``. The job is four steps: prepare (label set, match spec, Spark), read
(`readers`), count (`count_batches` in Spark tasks, summed on the driver) and write (`tables`,
`outputs`).
"""
from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):
    # Run as a script by spark-submit: import the installed package, not this folder's modules;
    # and on the driver prefer an installed classfreq over a --py-files zip (the zip is for the
    # executors; label-set data files cannot be read from inside a zip).
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    _zips = [p for p in sys.path if p.endswith(".zip") and "pyspark.zip" not in p and "py4j" not in p]
    sys.path[:] = [p for p in sys.path if p not in _zips]
    try:
        import classfreq  # noqa: F401  (binds the installed package first)
    except ModuleNotFoundError as exc:
        if exc.name != "classfreq":
            raise
        sys.exit("count_classes.py: error: the driver needs classfreq installed (pip install -e . in a classfreq "
                 "checkout) and spark-submit run with that Python (PYSPARK_DRIVER_PYTHON)")
    sys.path.extend(_zips)

import shutil  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from datetime import datetime  # noqa: E402
from functools import partial  # noqa: E402

import pandas as pd  # noqa: E402
from pyspark.sql import DataFrame  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from classfreq.configs import add_options, from_args  # noqa: E402
from classfreq.errors import UserError  # noqa: E402
from classfreq.pipelines.config import CountConfig  # noqa: E402
from classfreq.pipelines.count_batches import MATCH, PARTIAL_DDL, PARTIAL_KEY, count_batches  # noqa: E402
from classfreq.pipelines.input_files import expand_inputs, hadoop_fs, is_local  # noqa: E402
from classfreq.pipelines.journal import Journal, discard, remove_if_empty, settle_killed_runs  # noqa: E402
from classfreq.pipelines.match_sample import first_per_class_in_spark  # noqa: E402
from classfreq.pipelines.match_spec import MatchSpec, build_spec  # noqa: E402
from classfreq.pipelines.outputs import (  # noqa: E402
    TABLES,
    CountKey,
    partition_dir,
    publish_staged,
    stage_tables,
    write_warehouse,
)
from classfreq.pipelines.partials import driver_sums  # noqa: E402
from classfreq.pipelines.phases import Phases, phase_line  # noqa: E402
from classfreq.pipelines.piece_tasks import FAILED, count_pieces  # noqa: E402
from classfreq.pipelines.preflight import check_paths  # noqa: E402
from classfreq.pipelines.progress import Progress  # noqa: E402
from classfreq.pipelines.read_check import refuse_if_nothing_read  # noqa: E402
from classfreq.pipelines.readers import ReadResult, is_columnar, read_documents  # noqa: E402
from classfreq.pipelines.relevance_stage import judge_tables  # noqa: E402
from classfreq.pipelines.sampling import dedup_documents, sample_documents  # noqa: E402
from classfreq.pipelines.spark_session import SMALL_INPUT_BYTES, get_spark, light_jit, spark_logs_off  # noqa: E402
from classfreq.pipelines.tables import build_tables, doc_stats  # noqa: E402
from classfreq.queries import warehouse as wh  # noqa: E402
from classfreq.queries.labelsets import ensure_labelset_tables  # noqa: E402
from classfreq.synsets import LabelSet, load_labelset  # noqa: E402

__all__ = ["SMALL_INPUT_BYTES", "CountConfig", "RunResult", "main", "run", "summary"]


@dataclass
class RunResult:
    run_id: str
    source: str
    mode: str
    tables: dict = field(default_factory=dict)
    parquet: dict = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # seconds per phase (phases.Phases), in the order they ran


@dataclass
class Job:
    """What the steps of one run share."""
    config: CountConfig
    spark: object
    labelset: LabelSet
    spec: MatchSpec
    key: CountKey
    run_id: str
    started: datetime
    staging: str  # where JSON arrays are split into Parquet chunks; removed after counting
    journal: Journal  # what the run writes under --out, until it is published
    phases: Phases
    files: list[str] | None = None  # the input files, when listed before Spark started (local inputs)
    committed: bool = False  # the warehouse holds the run: its staged Parquet must be published, not discarded


@dataclass
class Read:
    """The read step's result: the documents to count (after --sample, --dedup, --partitions)."""
    result: ReadResult
    changed: DataFrame | None  # the documents after --sample, --dedup, --partitions (None: none of them)
    before_dedup: int | None  # documents before --dedup (None: no --dedup)

    @property
    def docs(self) -> DataFrame:
        return self.result.docs if self.changed is None else self.changed


def run(config: CountConfig, spark=None) -> RunResult:
    """The whole job: read, count, write Parquet and the warehouse. Returns what it wrote.

    Every argument and output path is checked, and the warehouse held for this run, before
    Spark starts or any data is read."""
    check_paths(config.validate())
    with wh.writer_lock(config.warehouse, wait=config.wait_lock):
        settle_killed_runs(config.out, config.warehouse)
        return _read_count_write(config, spark)


def _read_count_write(config: CountConfig, spark=None) -> RunResult:
    started = time.monotonic()
    job = prepare(config, spark)  # validated by run()
    try:
        read, sums, matches = read_and_count(job)
        with job.phases("collecting"):
            tables = build_tables(sums, matches, job.spec, job.labelset.classes.class_index, _run_columns(job),
                                  read.result.failed, _duplicates(read, sums), config.sample or 1.0,
                                  per_role=read.result.reader.has_roles)
        if config.relevance:
            with job.phases("relevance"):
                tables = judge_tables(job.spark, tables, config.relevance_options())
        res = RunResult(run_id=job.run_id, source=config.source, mode=job.key.mode, tables=tables)
        res.parquet = write_step(job, read.result, tables)
    except BaseException:
        if not job.committed:  # a committed run's journal stays: the next run publishes it
            discard(job.journal)
        raise
    res.seconds = time.monotonic() - started
    res.timings = dict(job.phases.seconds)
    return res


def prepare(config: CountConfig, spark=None) -> Job:
    """The label set and what the tasks match, the run id, its journal and the Spark session."""
    started = wh.utcnow()
    phases = Phases()
    with phases("labelset"):
        ls = load_labelset(config.labelset)
        spec = build_spec(ls, config.mode, config.nested, config.matches_to_keep, config.roles, config.relevance_seed)
    run_id = wh.new_run_id("count")
    staging = config.staging or os.path.join(config.out, "_staging", run_id)
    files = None
    if all(is_local(p) for p in config.inputs):  # listed before Spark starts: their size picks its JVM options
        with phases("listing"):
            files = expand_inputs(None, list(config.inputs))
    with phases("session"):
        spark = spark or get_spark(config.master, shuffle_partitions=config.shuffle_partitions,
                                   **session_options(config, files))
    for folder in (config.out, staging):
        if not is_local(folder):  # a URI Spark has no file system for is refused now, not after the count
            hadoop_fs(spark, folder)
    journal = Journal(out=config.out, run_id=run_id, warehouse=os.path.abspath(config.warehouse), staging=staging)
    if is_local(config.out):
        journal.save()
    return Job(config=config, spark=spark, labelset=ls, spec=spec,
               key=CountKey(source=config.source, mode=config.count_mode, labelset=ls.name),
               run_id=run_id, started=started, staging=staging, journal=journal, phases=phases, files=files)


def read_and_count(job: Job) -> tuple[Read, pd.DataFrame, pd.DataFrame | None]:
    """Read and count (``read_step``, ``count_step``). Parquet is read optimistically: its pages
    are decoded once, by Spark, while counting. When that Spark job fails, the input is read again
    with ``ReadOptions.check_pages`` (every page of the columns read decoded on the driver first),
    the files whose pages do not decode become ``files_failed`` rows, and the rest is counted again
    from scratch; when no file is found at fault, or the page check fails itself, the Spark job's
    error stands. Errors of other kinds (ours, in Python) are raised as they are."""
    files = job.files
    if files is None:
        with job.phases("listing"):
            files = expand_inputs(job.spark, list(job.config.inputs))
    found: list[ReadResult] = []  # the optimistic read's files, also where it failed before its Read
    columnar = is_columnar(files, job.config.format)
    try:
        with warnings.catch_warnings(), spark_logs_off(job.spark) if columnar else nullcontext():
            # pyspark repeats the JVM's stack trace as a warning
            warnings.filterwarnings("ignore", message="toPandas attempted Arrow optimization")
            optimistic = read_step(job, files, found=found)
            return optimistic, *count_step(job, optimistic)
    except UserError:
        raise
    except Exception as exc:
        if not columnar or not _spark_job_failed(exc):
            raise
        print(f"[classfreq count] the Spark job failed ({_first_line(exc)}); decoding the pages of every "
              "Parquet file to find the unreadable ones, then counting the others again", file=sys.stderr, flush=True)
        try:
            read = read_step(job, files, check_pages=True)
        except Exception as check_exc:
            if hasattr(exc, "add_note"):  # Python 3.11+ (the page check's error is this error's context anyway)
                exc.add_note(f"classfreq: the page check run after this failure failed too: "
                             f"{type(check_exc).__name__}: {_first_line(check_exc)}")
            raise exc  # noqa: B904 (the Spark job's error stands, the page check's attached as its context)
        already = {f for result in found for f, _ in result.failed}
        if not {f for f, _ in read.result.failed} - already:
            raise  # no file found at fault
        return read, *count_step(job, read)


def _spark_job_failed(exc: Exception) -> bool:
    """A failure in Spark (the JVM's error, as py4j or pyspark hand it over), not a bug on the driver."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    return isinstance(exc, (Py4JJavaError, CapturedException))


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    found = next((ln for ln in lines if "FAILED_READ_FILE" in ln), lines[0] if lines else type(exc).__name__)
    return found.split("SparkException: ", 1)[-1][:300]


def read_step(job: Job, files: list[str], check_pages: bool = False, found: list[ReadResult] | None = None) -> Read:
    """The input files' documents, sampled, deduplicated and repartitioned as asked (lazily; with
    ``check_pages``, Parquet pages decoded first, timed as the phase "checking pages"). The files'
    ReadResult is also appended to ``found`` (before --dedup counts, a Spark job that may fail)."""
    with job.phases("checking pages" if check_pages else "reading"):
        return _read(job, files, check_pages, found)


def _read(job: Job, files: list[str], check_pages: bool, found: list[ReadResult] | None) -> Read:
    c = job.config
    options = replace(c.read_options(job.staging), check_pages=check_pages)
    result = read_documents(job.spark, files, c.format, options, c.doc_unit)
    if found is not None:
        found.append(result)
    if c.dedup == "url" and not result.reader.has_urls:
        raise UserError(f"--dedup url needs URLs, and {result.fmt} files have none; use --dedup id or --dedup text")
    if c.sample is None and not c.dedup and not c.partitions:
        return Read(result, None, None)
    docs = result.docs
    if c.sample is not None:
        docs = sample_documents(docs, c.sample, c.seed)
    before_dedup = None
    if c.dedup:
        before_dedup = docs.count()
        docs = dedup_documents(docs, c.dedup)
    if c.partitions:
        docs = docs.repartition(c.partitions)
    return Read(result, docs, before_dedup)


def count_step(job: Job, read: Read) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Match in Spark tasks; returns the partial rows summed over PARTIAL_KEY, and the capped
    doc matches (None without --max-matches-per-class)."""
    cap = job.spec.max_matches_per_class  # with --relevance, at least the judged sample
    pieces = read.result.pieces if read.changed is None else None  # not after --sample, --dedup, --partitions
    with Progress(job.spark, job.config.source, job.config.progress_interval) as progress:
        if pieces is not None:
            sums, matches = _count_pieces(job, read, pieces, progress)
        else:
            docs = read.docs.select(*_columns_to_count(read.result.has_parts, cap > 0))
            counted = docs.mapInArrow(partial(count_batches, spec=job.spec, progress=progress.acc), PARTIAL_DDL)
            sums, matches = _sum_and_matches(job, counted)
    _remove_staging(job.staging)
    return sums, matches


def _count_pieces(job: Job, read: Read, source, progress: Progress) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """count_step on input the Python tasks read themselves (``source``: ``parquet_tasks`` or
    ``record_tasks``; ``piece_tasks``). A piece that does not decode is a ``files_failed`` row; when
    its file had other pieces, whose counts are in, the other files are counted again."""
    cap = job.spec.max_matches_per_class
    sc = job.spark.sparkContext
    while True:
        pieces = sc.parallelize(range(len(source.pieces)), source.partitions(sc.defaultParallelism))
        body = partial(count_pieces, source=source, spec=job.spec, keep_details=cap > 0, progress=progress.acc)
        with job.phases("count"):
            sums, matches = driver_sums(pieces.mapPartitions(body).collect(), cap, job.spec.sample_seed)
        failed = sums[sums.kind == FAILED]
        redo = _split_failures(sums, source)
        read.result.failed += sorted(zip(failed.file, failed.example))
        if not redo:
            return sums[sums.kind != FAILED], matches
        source = source.without(set(failed.file))


def _split_failures(sums: pd.DataFrame, source) -> set[str]:
    """The failed files whose other pieces were counted (the count must be done again without them)."""
    return {f for f in sums.file[sums.kind == FAILED] if sum(p.path == f for p in source.pieces) > 1}


def _sum_and_matches(job: Job, counted: DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The partial rows summed over PARTIAL_KEY, and the capped doc matches (None without them)."""
    cap = job.spec.max_matches_per_class
    if cap:  # the doc matches are a second query of the same partial rows
        counted = counted.persist()
    try:
        with job.phases("count"):
            sums = (counted.where(F.col("kind") != MATCH)
                    .groupBy(*PARTIAL_KEY)
                    .agg(F.sum("docs").alias("docs"), F.sum("docs_clean").alias("docs_clean"),
                         F.sum("mentions").alias("mentions"), F.min("example").alias("example"))
                    .toPandas())
        if not cap:
            return sums, None
        with job.phases("collecting"):
            return sums, _capped_matches(counted, cap, job.spec.sample_seed)
    finally:
        if cap:  # also when the job failed on a corrupt file and is counted again (read_and_count)
            counted.unpersist()


def write_step(job: Job, result: ReadResult, tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Parquet staged under --out, then the warehouse rows with the run's provenance in one
    transaction (the commit point), then the staged Parquet moved into place (see ``journal``).
    Nothing is written when no record could be read, unless --allow-all-bad. Returns the Parquet
    folder of each table."""
    c, journal = job.config, job.journal
    refuse_if_nothing_read(tables, result.fmt, result.files, c.allow_all_bad)
    stage_tables(job.spark, journal, tables, {t: partition_dir(c.out, t, job.key) for t in TABLES}, job.phases)
    con = wh.connect(c.warehouse, wait=c.wait_lock)
    try:
        with job.phases("warehouse"):
            ensure_labelset_tables(con, job.labelset)
            write_warehouse(con, tables, job.key, wh.run_row(
                job.run_id, "count", job.started, inputs={"files": result.files, "format": result.fmt},
                options=run_options(c, job.spark), labelset=job.labelset.name,
                labelset_version=job.labelset.version, phase_seconds=job.phases.rounded()))
            job.committed = True
        with job.phases("publish"):
            publish_staged(job.spark, journal)
        wh.set_phase_seconds(con, job.run_id, job.phases.rounded())
    finally:
        con.close()
    return {t: journal.moves[t] for t in tables}


def session_options(config: CountConfig, files: list[str] | None) -> dict:
    """get_spark's JVM options of a run whose inputs, when all local, are listed in ``files``
    (else None): small_input, and light (``spark_session.light_jit``, which early_start asks too)."""
    return {"small_input": files is not None and _total_bytes(files) <= SMALL_INPUT_BYTES,
            "light": light_jit(config.master, files, config.format, config.parquet_scan, config.sample, config.dedup,
                               config.partitions, config.doc_unit)}


def _total_bytes(files: list[str]) -> int:
    return sum(os.path.getsize(f) for f in files)


def run_options(config: CountConfig, spark) -> dict:
    """Every option of the run, and the master the job really ran on (for the runs table)."""
    return {**config.as_dict(), "spark_master": spark.sparkContext.master}


def _columns_to_count(has_parts: bool, keep_matches: bool) -> list:
    # hand Python only what counting needs: every column crossing to Python costs JVM time per
    # row, null or not. Quarantine details travel as one JSON string, null for valid documents.
    needed = [F.col("text"),
              F.when(F.col("reason").isNotNull(), F.to_json(F.struct("reason", "example", "file"))).alias("bad")]
    if has_parts:
        needed.append(F.col("parts"))  # only LLaVA, JSONL, image documents and list columns have parts
    if keep_matches:
        needed += [F.col(c) for c in ("doc_id", "url", "nsfw", "punsafe")]
    return needed


def _capped_matches(counted: DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """Up to ``cap`` documents per class, a uniform sample in ``seed``'s hash order (``match_sample``)."""
    m = counted.where(F.col("kind") == MATCH)
    keep = first_per_class_in_spark(m.select("idx", "doc_id").distinct(), cap, seed)
    return (m.join(keep, ["idx", "doc_id"])
            .groupBy("idx", "doc_id", "name")
            .agg(F.min("url").alias("url"), F.min("text").alias("text"),
                 F.min("nsfw").alias("nsfw"), F.min("punsafe").alias("punsafe"))
            .toPandas())


def _run_columns(job: Job) -> dict:
    """The columns every output row of this run starts with."""
    return {"run_id": job.run_id, **job.key.as_dict(), "version": job.labelset.version}


def _duplicates(read: Read, sums: pd.DataFrame) -> int:
    if read.before_dedup is None:
        return 0
    return int(read.before_dedup - doc_stats(sums)["docs_read"])


def _remove_staging(staging: str) -> None:
    if os.path.isdir(staging):
        shutil.rmtree(staging, ignore_errors=True)
        remove_if_empty(os.path.dirname(staging))


def summary(res: RunResult) -> str:
    """Two lines: what was counted, then the seconds per phase."""
    s = res.tables["source_stats"].iloc[0]
    classes = res.tables["class_counts"]
    seen = int((classes[classes.role == "all"].docs > 0).sum())
    return (f"counted source {res.source} ({res.mode}) in {res.seconds:.1f}s: {s.docs_read:,} documents read, "
            f"{s.docs_matched:,} matched, {s.docs_unmatched:,} unmatched, {s.docs_quarantined:,} quarantined, "
            f"{s.duplicates_dropped:,} duplicates dropped, {s.files_failed} files failed; "
            f"{seen} classes seen; run {res.run_id}\n"
            + phase_line(res.timings))


def main(argv=None) -> int:
    parser = add_options(argparse.ArgumentParser(prog="count_classes.py", description=__doc__.splitlines()[0]),
                         CountConfig)
    args = parser.parse_args(argv)
    try:
        res = run(from_args(CountConfig, args))
    except UserError as exc:
        print(f"count_classes: error: {exc}", file=sys.stderr)
        return 2
    print(summary(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
