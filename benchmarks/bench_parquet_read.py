"""The Parquet read: optimistic (footers only on the driver, pages decoded once by Spark while
counting) against the eager page check it replaced (every page of the text column decoded on the
driver before Spark reads it; issue 11), in one Spark session, rounds alternated.

Both run the job's own read and count steps (``count_classes.read_and_count`` and, for the eager
baseline, ``read_step(check_pages=True)`` then ``count_step``) on the real shared captions
replicated into LAION-layout Parquet files with the TEXT column only, so that the check decodes
exactly what main's check decoded; the class counts of both must be identical. A final row runs the
failure path: one file with corrupt pages, so the optimistic Spark job fails, the pages are checked
and the rest is counted again.

    .venv/bin/python benchmarks/bench_parquet_read.py --shared ../shared/data [--captions 2000000] \
        [--rounds 3] [--master local[1]]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_counting import busy_cpu_seconds, text_table, write_replicas  # noqa: E402
from bench_matcher import load_inputs  # noqa: E402


def one_run(spark, config, mode: str) -> tuple[dict, float, float, dict]:
    """(phase seconds, read+count wall seconds, busy CPU seconds, class docs) of one run's read and count."""
    from classfreq.pipelines import count_classes as cc
    from classfreq.pipelines.journal import discard

    job = cc.prepare(config, spark)
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    try:
        if mode == "eager":
            read = cc.read_step(job, job.files, check_pages=True)
            sums, _ = cc.count_step(job, read)
        else:
            read, sums, _ = cc.read_and_count(job)
    finally:
        discard(job.journal)
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu
    c = sums[(sums.kind == "class") & (sums.role == "all")]
    docs = {(int(i), str(n)): int(d) for i, n, d in zip(c.idx, c.name, c.docs)}
    return dict(job.phases.seconds), wall, cpu, docs


def pyarrow_tasks_run(spark, folder: Path) -> tuple[float, float, dict]:
    """Experiment (not the job): Spark tasks over the file paths, each reading TEXT with pyarrow in
    the Python worker and counting it with the job's count_batches (null text quarantined; the
    job's invalid-UTF-8 check, ids and file names are left out, so this is a lower bound of the
    cost). (wall seconds, busy CPU seconds, class docs)."""
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import functions as F

    from classfreq.pipelines.count_batches import MATCH, PARTIAL_DDL, PARTIAL_KEY, count_batches
    from classfreq.pipelines.match_spec import build_spec
    from classfreq.synsets import load_labelset

    spec = build_spec(load_labelset("imagenet1k"), "default")
    no_text = '{"reason": "record without a text field (\'TEXT\')", "example": null, "file": null}'

    def count_files(batches):
        def docs(path):
            for b in pq.ParquetFile(path).iter_batches(batch_size=100_000, columns=["TEXT"]):
                text = b.column(0)
                bad = pa.array(np.where(text.is_null().to_numpy(zero_copy_only=False), no_text, None), pa.string())
                yield pa.RecordBatch.from_arrays([text, bad], names=["text", "bad"])
        for batch in batches:
            for path in batch.column("path").to_pylist():
                yield from count_batches(docs(path), spec)

    files = [str(f) for f in sorted(folder.glob("*.parquet"))]
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    paths = spark.createDataFrame([(f,) for f in files], "path string").repartition(len(files))
    sums = (paths.mapInArrow(count_files, PARTIAL_DDL).where(F.col("kind") != MATCH).groupBy(*PARTIAL_KEY)
            .agg(F.sum("docs").alias("docs")).toPandas())
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu
    c = sums[(sums.kind == "class") & (sums.role == "all")]
    return wall, cpu, {(int(i), str(n)): int(d) for i, n, d in zip(c.idx, c.name, c.docs)}


def scan_breakdown(spark, folder: Path, rounds: int) -> list[list[str]]:
    """Where the count phase's JVM side goes: Spark's Parquet scan handed to Python through Arrow
    and drained (nothing matched), for TEXT alone, for the job's valid-text column, and for the
    job's two columns (text and the quarantine JSON ``bad``). Rows: [what, median (min-max) s]."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from classfreq.pipelines.count_classes import _columns_to_count
    from classfreq.pipelines.reader import ReadOptions
    from classfreq.pipelines.readers import read_documents

    def drain(batches):
        for b in batches:
            yield pa.RecordBatch.from_pydict({"n": [b.num_rows]})

    def timed(df) -> float:
        start = time.perf_counter()
        df.mapInArrow(drain, "n long").agg(F.sum("n")).collect()
        return time.perf_counter() - start

    files = [str(f) for f in sorted(folder.glob("*.parquet"))]
    found: dict[str, list[float]] = {}
    for _ in range(rounds):
        docs = read_documents(spark, files, "laion", ReadOptions()).docs
        for what, df in (("Spark scan of TEXT alone", spark.read.parquet(*files).select("TEXT")),
                         ("the job's text column (TEXT less invalid UTF-8 and nulls)", docs.select("text")),
                         ("the job's text and bad columns (what count_batches gets)",
                          docs.select(*_columns_to_count(False, False)))):
            found.setdefault(what, []).append(timed(df))
    return [[what, _spread(xs)] for what, xs in found.items()]


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    p.add_argument("--captions", type=int, default=2_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--master", default="local[1]")
    p.add_argument("--scan-breakdown", action="store_true", help="also: the Spark scan drained, per column set")
    p.add_argument("--pyarrow-tasks", action="store_true", help="also the experiment: pyarrow reading inside the Python tasks")
    args = p.parse_args(argv)

    from classfreq.pipelines.config import CountConfig
    from classfreq.pipelines.spark_session import get_spark

    captions, *_ = load_inputs(args.shared)
    work = Path(tempfile.mkdtemp(prefix="bench_parquet_read_"))
    try:
        data = work / "parquet"
        data.mkdir()
        n = write_replicas(captions, args.captions, data, columns=("TEXT",) if not args.scan_breakdown else
                           ("SAMPLE_ID", "URL", "TEXT"))
        size = sum(f.stat().st_size for f in data.glob("*.parquet"))
        print(f"{n:,} captions in 16 Parquet files ({size / 1e6:.0f} MB), {args.master}; load {os.getloadavg()[0]:.1f}",
              file=sys.stderr)
        spark = get_spark(args.master, app_name="bench-parquet-read", shuffle_partitions=4,
                          conf={"spark.driver.memory": "4g", "spark.sql.adaptive.enabled": "false"})

        def config(folder: Path, name: str) -> CountConfig:
            return CountConfig(inputs=(str(folder),), source=name, format="laion", out=str(work / f"out_{name}"),
                               warehouse=str(work / "wh.duckdb"), progress_interval=0)

        one_run(spark, config(data, "warm"), "optimistic")  # JVM and worker warm-up
        if args.scan_breakdown:
            rows = scan_breakdown(spark, data, args.rounds)
            print(f"Spark scan handed to Python and drained, {n:,} captions (SAMPLE_ID, URL, TEXT), {args.master}, "
                  f"{args.rounds} rounds: median (min-max) seconds")
            print(text_table(["columns", "seconds"], rows))
            return 0
        results: dict[str, list] = {"eager": [], "optimistic": []}
        tasks = []
        for r in range(args.rounds):
            for mode in (("eager", "optimistic") if r % 2 == 0 else ("optimistic", "eager")):
                results[mode].append(one_run(spark, config(data, mode), mode))
                phases, wall, cpu, _ = results[mode][-1]
                print(f"  round {r + 1} {mode}: read+count {wall:.2f}s, {cpu:.2f} CPU s; "
                      + ", ".join(f"{k} {v:.2f}s" for k, v in phases.items() if k in ("reading", "checking pages", "count")),
                      file=sys.stderr)
            if args.pyarrow_tasks:
                tasks.append(pyarrow_tasks_run(spark, data))
                print(f"  round {r + 1} pyarrow in tasks: {tasks[-1][0]:.2f}s, {tasks[-1][1]:.2f} CPU s", file=sys.stderr)
        same = all(res[3] == results["eager"][0][3] for runs in results.values() for res in runs)
        tasks_same = all(docs == results["eager"][0][3] for *_, docs in tasks)

        bad = work / "bad"
        shutil.copytree(data, bad)
        part = sorted(bad.glob("*.parquet"))[3]
        start = pq.read_metadata(part).row_group(0).column(0).data_page_offset
        with open(part, "r+b") as f:  # the first page of TEXT, its header included; footer intact
            f.seek(start)
            f.write(bytes((i * 131 + 7) % 256 for i in range(4000)))
        failure = one_run(spark, config(bad, "corrupt"), "optimistic")
        spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def cells(runs, mode):
        reading = [ph.get("reading", 0) + ph.get("checking pages", 0) for ph, *_ in runs]
        count = [ph.get("count", 0) for ph, *_ in runs]
        walls = [w for _, w, _, _ in runs]
        cpus = [c for _, _, c, _ in runs]
        per_core = f"{n / statistics.median(cpus):,.0f}" if len(runs) > 1 else "-"  # a failed task's workers go uncounted
        return [mode, _spread(reading), _spread(count), _spread(walls), per_core]

    rows = [cells(results["eager"], "eager page check on the driver (before; baseline)"),
            cells(results["optimistic"], "optimistic: footers only, pages checked after a failure (now)")]
    base, now = (statistics.median(w for _, w, _, _ in results[m]) for m in ("eager", "optimistic"))
    rows.append(cells([failure], "now, one file of 16 corrupt: job fails, pages checked, recount"))
    print(f"Parquet read, {n:,} captions, {args.master}, {args.rounds} rounds alternated (median, min-max seconds); "
          f"counts {'identical' if same else 'DIFFER'}")
    if tasks:
        walls = [w for w, _, _ in tasks]
        rows.append(["experiment: pyarrow reads TEXT in the Python tasks (count only)", "-", "-", _spread(walls),
                     f"{n / statistics.median(c for _, c, _ in tasks):,.0f}"])
    print(text_table(["read", "reading s", "count s", "read + count s", "captions per busy core-s"], rows))
    print(f"read + count, now / before: {now / base:.2f}"
          + (f"; pyarrow in tasks / now: {statistics.median(walls) / now:.2f} (counts "
             f"{'identical' if tasks_same else 'DIFFER'})" if tasks else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
