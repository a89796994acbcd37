"""Count label-set classes in caption corpora with Spark.

    spark-submit pipelines/count_classes.py --input PATH_OR_GLOB --source NAME \
        --labelset imagenet1k --out out/ --warehouse warehouse/classfreq.duckdb

Runs on embedded local Spark (local[*]) by default; under spark-submit --master spark://... the
same job runs on a cluster. `classfreq count` runs this code in-process.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

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
    except ImportError:
        pass
    sys.path.extend(_zips)

from classfreq.errors import UserError  # noqa: E402

FORMATS_WITHOUT_URLS = ("coco", "flickr", "llava")
LLAVA_ROLES = ("human", "gpt", "system")  # the `from` values of LLaVA conversation turns
FORMAT_HELP = "auto|laion|img2dataset|cc3m|cc12m|coco|flickr|llava|jsonl|csv|parquet"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--input", action="append", required=True, metavar="PATH_OR_GLOB",
                   help="input file, folder or glob; repeat for more. s3a://, hdfs:// URIs go to Spark unchanged")
    p.add_argument("--source", required=True, help="name of the corpus in the outputs (e.g. cc3m)")
    p.add_argument("--format", default="auto", help=FORMAT_HELP + " (default: detected from the first file)")
    p.add_argument("--labelset", default="imagenet1k", help="label set name or folder (default imagenet1k)")
    p.add_argument("--mode", default="default", help="default (label-set forms) or paper (CLIP names, NLTK tokens)")
    p.add_argument("--nested", action="store_true", help="also count forms inside longer matched forms")
    p.add_argument("--doc-unit", default="caption", help="caption (default) or image (COCO/Flickr: all captions of one image)")
    p.add_argument("--roles", default="human,gpt", help="LLaVA turns to read, comma-separated (default human,gpt)")
    p.add_argument("--text-column", default=None, help="text field of generic JSONL/CSV/Parquet input")
    p.add_argument("--id-column", default=None, help="id field of generic JSONL/CSV/Parquet input")
    p.add_argument("--dedup", default=None, help="count each distinct id, url or text once")
    p.add_argument("--sample", type=float, default=None, metavar="FRACTION",
                   help="count a hashed sample of documents and scale counts up with 95%% intervals")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--max-matches-per-class", type=int, default=0, metavar="N",
                   help="keep up to N matching documents per class in doc_matches (default 0: none)")
    p.add_argument("--out", default="out", help="Parquet output folder (default out/)")
    p.add_argument("--warehouse", default="warehouse/classfreq.duckdb", help="DuckDB warehouse file")
    p.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--partitions", type=int, default=0, help="repartition documents before counting (0: as read)")
    p.add_argument("--shuffle-partitions", type=int, default=16, help="spark.sql.shuffle.partitions (default 16)")
    p.add_argument("--progress-interval", type=float, default=10.0, help="seconds between progress lines (0: off)")
    p.add_argument("--staging", default=None, help="folder for split JSON arrays (default OUT/_staging)")
    return p


@dataclass
class RunResult:
    run_id: str
    source: str
    mode: str
    tables: dict = field(default_factory=dict)
    parquet: dict = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # seconds per phase: setup, count, write


def _check_args(args) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", args.source or ""):
        raise UserError(f"--source {args.source!r} must be a simple name (letters, digits, _ . -)")
    if args.mode not in ("default", "paper"):
        raise UserError(f"unknown --mode {args.mode!r}; use default or paper")
    if args.mode == "paper" and args.nested:
        raise UserError("--nested applies to the default mode only (paper mode always counts nested matches)")
    if args.max_matches_per_class < 0:
        raise UserError("--max-matches-per-class must be 0 or more")


def run(args, spark=None) -> RunResult:
    """The whole job: read, count, write Parquet and the warehouse. Returns what it wrote."""
    from pyspark.sql import functions as F

    from classfreq.pipelines.count_batches import PARTIAL_DDL, count_batches
    from classfreq.pipelines.input_files import expand_inputs
    from classfreq.pipelines.match_spec import build_spec
    from classfreq.pipelines.progress import Progress
    from classfreq.pipelines.readers import FORMATS, read_documents
    from classfreq.pipelines.sampling import dedup_documents, sample_documents
    from classfreq.pipelines.spark_session import get_spark
    from classfreq.queries import warehouse as wh

    _check_args(args)
    if args.format not in FORMATS:
        raise UserError(f"unknown --format {args.format!r}; use one of {', '.join(FORMATS)}")
    started_wall = time.monotonic()
    started = wh.utcnow()
    ls = _load_labelset(args.labelset)
    roles = tuple(r.strip() for r in args.roles.split(",") if r.strip())
    unknown = [r for r in roles if r not in LLAVA_ROLES] or ([] if roles else ["(none)"])
    if unknown:
        raise UserError(f"--roles {unknown[0]!r} is not a LLaVA turn role; use a comma-separated subset of "
                        f"{', '.join(LLAVA_ROLES)}")
    spec, form_keys = build_spec(ls, args.mode, args.nested, args.max_matches_per_class, roles)
    mode = "paper" if args.mode == "paper" else ("nested" if args.nested else "default")
    run_id = wh.new_run_id("count")
    spark = spark or get_spark(args.master, shuffle_partitions=args.shuffle_partitions)
    files = expand_inputs(spark, args.input)
    staging = args.staging or os.path.join(args.out, "_staging", run_id)

    result = read_documents(spark, files, args.format, text_column=args.text_column,
                            id_column=args.id_column, roles=roles, doc_unit=args.doc_unit, staging=staging)
    docs = result.docs
    if args.dedup == "url" and result.fmt in FORMATS_WITHOUT_URLS:
        raise UserError(f"--dedup url needs URLs, and {result.fmt} files have none; use --dedup id or --dedup text")
    if args.sample is not None:
        docs = sample_documents(docs, args.sample, args.seed)
    duplicates = 0
    if args.dedup:
        before = docs.count()
        docs = dedup_documents(docs, args.dedup)
    if args.partitions:
        docs = docs.repartition(args.partitions)

    # hand Python only what counting needs: every column crossing to Python costs JVM time per
    # row, null or not. Quarantine details travel as one JSON string, null for valid documents.
    needed = [F.col("text"),
              F.when(F.col("reason").isNotNull(), F.to_json(F.struct("reason", "example", "file"))).alias("bad")]
    if result.has_parts:
        needed.append(F.col("parts"))  # only LLaVA, JSONL, image documents and list columns have parts
    if args.max_matches_per_class:
        needed += [F.col(c) for c in ("doc_id", "url", "nsfw", "punsafe")]
    docs = docs.select(*needed)
    t_count = time.monotonic()
    with Progress(spark, args.source, args.progress_interval) as progress:
        counted = docs.mapInArrow(partial(count_batches, spec=spec, progress=progress.acc), PARTIAL_DDL)
        counted = counted.persist()
        sums = (counted.where(F.col("kind") != "match")
                .groupBy("kind", "role", "idx", "name", "file")
                .agg(F.sum("docs").alias("docs"), F.sum("docs_clean").alias("docs_clean"),
                     F.sum("mentions").alias("mentions"), F.min("example").alias("example"))
                .toPandas())
        matches = _capped_matches(counted, args.max_matches_per_class) if args.max_matches_per_class else None
        counted.unpersist()
    if args.dedup:
        stat = sums[sums.kind == "stat"].set_index("name")["docs"]
        duplicates = int(before - stat.get("docs_read", 0))
    if os.path.isdir(staging):
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(os.path.dirname(staging))

    key = {"source": args.source, "mode": mode, "labelset": ls.name}
    common = {"run_id": run_id, **key, "version": ls.version}
    tables = _tables(sums, matches, form_keys, spec, ls, common, result.failed, duplicates,
                     args.sample if args.sample is not None else 1.0, per_role=result.fmt == "llava")
    res = RunResult(run_id=run_id, source=args.source, mode=mode, tables=tables)
    t_write = time.monotonic()
    from classfreq.pipelines.outputs import remove_stale_parquet, write_parquet, write_warehouse
    for table, df in tables.items():
        res.parquet[table] = write_parquet(spark, args.out, table, df, key)
    remove_stale_parquet(args.out, tables, key)
    _remove_if_empty(os.path.join(args.out, "_tmp"))
    con = wh.connect(args.warehouse)
    try:
        write_warehouse(con, tables, key)
        _write_labelset(con, ls)
        options = {k: v for k, v in vars(args).items() if k not in ("func", "command")}
        options["spark_master"] = spark.sparkContext.master  # the master the job really ran on
        wh.record_run(con, run_id, "count", started, inputs={"files": files, "format": result.fmt},
                      options=options, labelset=ls.name, labelset_version=ls.version)
    finally:
        con.close()
    res.seconds = time.monotonic() - started_wall
    res.timings = {"setup": t_count - started_wall, "count": t_write - t_count, "write": time.monotonic() - t_write}
    return res


def _remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty, not there, or a URI


def _load_labelset(name):
    try:
        from classfreq.synsets import load_labelset
    except ImportError as exc:
        raise UserError(f"label sets are not available ({exc}); build them with 'classfreq synsets build'") from exc
    return load_labelset(name)


def _write_labelset(con, ls) -> None:
    try:
        from classfreq.synsets import write_labelset_tables
    except ImportError:
        return
    write_labelset_tables(con, ls)


def _capped_matches(counted, cap: int) -> pd.DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    m = counted.where(F.col("kind") == "match")
    per_doc = m.groupBy("idx", "doc_id").agg(F.min("url").alias("_u"))
    w = Window.partitionBy("idx").orderBy("doc_id")
    keep = per_doc.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= cap).select("idx", "doc_id")
    return (m.join(keep, ["idx", "doc_id"])
            .groupBy("idx", "doc_id", "name")
            .agg(F.first("url", ignorenulls=True).alias("url"), F.min("text").alias("text"),
                 F.min("nsfw").alias("nsfw"), F.min("punsafe").alias("punsafe"))
            .toPandas())


def _tables(sums, matches, form_keys, spec, ls, common, failed, duplicates, fraction, per_role=False) -> dict:
    from classfreq.pipelines.sampling import estimates
    stat = sums[sums.kind == "stat"].set_index("name")["docs"]
    n = {k: int(stat.get(k, 0)) for k in ("docs_read", "docs_matched", "docs_unmatched", "docs_quarantined")}
    base = dict(common)

    f = sums[sums.kind == "form"]
    counts = pd.DataFrame({
        **base, "role": f.role.values,
        "class_index": [form_keys[int(i)][0] for i in f.idx], "form": [form_keys[int(i)][1] for i in f.idx],
        "ambiguous": [bool(spec.form_ambiguous[int(i)]) for i in f.idx],
        "docs": f.docs.astype("int64").values, "mentions": f.mentions.astype("int64").values,
    }).sort_values(["role", "class_index", "form"], ignore_index=True)

    c = sums[sums.kind == "class"].astype({"idx": "int64"}).set_index(["role", "idx"])
    # every class gets a row (docs 0 included) per role: 'all', plus each selected turn role for LLaVA
    roles = ["all"] + ([r for r in spec.roles if r != "all"] if per_role else [])
    grid = pd.MultiIndex.from_product([roles, sorted(int(i) for i in ls.classes.class_index)], names=["role", "idx"])
    c = c.reindex(grid)
    docs = c.docs.fillna(0).astype("int64").values
    counted_docs = n["docs_matched"] + n["docs_unmatched"]
    est, lo, hi = estimates(docs, counted_docs, fraction)
    class_counts = pd.DataFrame({
        **base, "role": grid.get_level_values(0), "class_index": grid.get_level_values(1).astype("int32"),
        "docs": docs, "docs_clean": c.docs_clean.fillna(0).astype("int64").values,
        "mentions": c.mentions.fillna(0).astype("int64").values, "sample_fraction": float(fraction),
        "docs_est": est, "docs_est_lo": lo, "docs_est_hi": hi,
    })

    source_stats = pd.DataFrame([{**base, **n, "duplicates_dropped": int(duplicates),
                                  "files_failed": len(failed), "sample_fraction": float(fraction)}])
    source_stats = source_stats.drop(columns=["role"], errors="ignore")

    q = sums[sums.kind == "quar"]
    quarantine = pd.DataFrame({**base, "reason": q.name.values, "n": q.docs.astype("int64").values,
                               "example": q.example.values, "file": q.file.values})
    if failed:
        quarantine = pd.concat([quarantine, pd.DataFrame(
            [{**base, "reason": why.split(":", 1)[0], "n": 0, "example": why, "file": path} for path, why in failed])],
            ignore_index=True)
    quarantine = quarantine.sort_values(["reason", "file"], ignore_index=True)

    tables = {"counts": counts, "class_counts": class_counts, "source_stats": source_stats, "quarantine": quarantine}
    if matches is not None:
        tables["doc_matches"] = pd.DataFrame({
            **base, "doc_id": matches.doc_id.values, "class_index": matches.idx.astype("int32").values,
            "form": [form_keys[int(i)][1] for i in matches.name], "url": matches.url.values,
            "text": matches.text.values, "nsfw": matches.nsfw.values, "punsafe": matches.punsafe.values,
        }).sort_values(["class_index", "doc_id", "form"], ignore_index=True)
    return tables


def summary(res: RunResult) -> str:
    s = res.tables["source_stats"].iloc[0]
    classes = res.tables["class_counts"]
    seen = int((classes[classes.role == "all"].docs > 0).sum())
    return (f"counted source {res.source} ({res.mode}) in {res.seconds:.1f}s: {s.docs_read:,} documents read, "
            f"{s.docs_matched:,} matched, {s.docs_unmatched:,} unmatched, {s.docs_quarantined:,} quarantined, "
            f"{s.duplicates_dropped:,} duplicates dropped, {s.files_failed} files failed; "
            f"{seen} classes seen; run {res.run_id}")


def main(argv=None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="count_classes.py", description=__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    try:
        res = run(args)
    except UserError as exc:
        print(f"count_classes: error: {exc}", file=sys.stderr)
        return 2
    print(summary(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
