"""Counting speed end to end, two tables.

Small inputs: `classfreq count` in a fresh process (JVM start included) on 3, 30,000 and 100,000
JSONL captions (the real shared captions), against a plain Python process that reads the same
file and runs the same counting (count_batches) in the same run; with --before PYTHON also the
`classfreq count` of another checkout's interpreter (e.g. /work/main/.venv/bin/python).

At scale: the matcher rows of bench_matcher.py plus Spark local[1] and local[2] running the real
job, and one plain process running the same matcher and aggregation, on millions of captions (the
real shared captions replicated into Parquet in a temp folder); counts must be identical. Reports
captions per busy core-second of the whole job and the local[1] / plain time ratio, and ends with
a projection for LAION-2B-en on 64 cores that includes reading.

    .venv/bin/python benchmarks/bench_counting.py --shared ../shared/data [--captions 5000000] \
        [--small-only | --no-small] [--before /work/main/.venv/bin/python]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_matcher import Row, format_table, load_inputs, matcher_rows  # noqa: E402

from classfreq.pipelines.count_batches import count_batches  # noqa: E402
from classfreq.pipelines.match_spec import build_spec  # noqa: E402

LAION_2B_EN = 2_320_000_000
CORES = 64
SPARK_BASE = "Spark local[1] (spark-submit job)"


def write_replicas(captions: list, n_target: int, folder: Path, files: int = 16,
                   columns: tuple[str, ...] = ("SAMPLE_ID", "URL", "TEXT")) -> int:
    """The real captions repeated to >= n_target rows, as LAION-layout Parquet files (SAMPLE_ID, URL,
    TEXT, or those of ``columns``)."""
    reps = math.ceil(n_target / len(captions))
    text = pa.array(captions * reps, pa.string())
    n = len(text)
    urls = pa.array([f"http://example.invalid/{i}" for i in range(len(captions))] * reps, pa.string())
    table = pa.table({"SAMPLE_ID": pa.array(np.arange(n, dtype=np.int64)), "URL": urls, "TEXT": text}).select(list(columns))
    step = math.ceil(n / files)
    for k in range(files):
        # plain (not dictionary) pages and snappy, like LAION's metadata files: replicas must not
        # make reading cheaper than real data
        pq.write_table(table.slice(k * step, step), folder / f"part-{k:05d}.parquet", row_group_size=100_000,
                       use_dictionary=False, compression="snappy")
    return n


def busy_cpu_seconds() -> float:
    """CPU seconds (user + system) spent so far by this process and everything it started (the
    JVM, Python workers, reaped children included), from /proc: other programs on a shared
    machine do not count, as they would in /proc/stat's machine-wide total."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[tuple[int, float]]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # after the command: state, ppid, ..., utime stime cutime cstime at 11-14
        children.setdefault(int(fields[1]), []).append((int(pid), sum(int(x) for x in fields[11:15]) / tick))
    own = os.times()
    total, todo = own.user + own.system + own.children_user + own.children_system, [os.getpid()]
    while todo:
        for pid, cpu in children.get(todo.pop(), []):
            total += cpu
            todo.append(pid)
    return total


def plain_process(folder: Path, spec) -> tuple[float, pd.DataFrame, float]:
    """One Python process: read the Parquet files, the same count_batches (matcher + aggregation)."""
    start = time.perf_counter()
    read_s = 0.0
    partials = []
    no_text = '{"reason": "record without a text field (\'TEXT\')", "example": null, "file": null}'

    def batches():  # the columns the job hands count_batches: text, bad (quarantine details or null)
        nonlocal read_s
        for path in sorted(folder.glob("*.parquet")):
            f = pq.ParquetFile(path)
            t = time.perf_counter()
            for b in f.iter_batches(batch_size=100_000, columns=["TEXT"]):  # the job's Arrow batch size
                text = b.column(0)
                bad = pa.array(np.where(text.is_null().to_numpy(zero_copy_only=False), no_text, None), pa.string())
                read_s += time.perf_counter() - t
                yield pa.RecordBatch.from_arrays([text, bad], names=["text", "bad"])
                t = time.perf_counter()

    for out in count_batches(batches(), spec):
        partials.append(out.to_pandas())
    sums = pd.concat(partials).groupby(["kind", "role", "idx"], dropna=False)[["docs"]].sum().reset_index()
    return time.perf_counter() - start, sums, read_s


def class_docs_from_sums(sums: pd.DataFrame) -> dict:
    c = sums[(sums.kind == "class") & (sums.role == "all")]
    return {int(i): int(d) for i, d in zip(c.idx, c.docs) if d > 0}


def spark_run(master: str, folder: Path, work: Path) -> tuple[float, dict, float]:
    """The real job (count_classes.run) on `master`; returns (job seconds, class docs, read-only seconds)."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from classfreq.pipelines.config import CountConfig
    from classfreq.pipelines.count_classes import run
    from classfreq.pipelines.spark_session import get_spark

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    spark = get_spark(master, app_name="bench-counting", shuffle_partitions=4,
                      conf={"spark.driver.memory": "4g", "spark.sql.adaptive.enabled": "false"})
    config = CountConfig(inputs=(str(folder),), source="bench", format="laion", out=str(work / "out"),
                         warehouse=str(work / f"wh-{master[6]}.duckdb"), progress_interval=0)
    tiny = work / "warm"
    tiny.mkdir(exist_ok=True)
    shutil.copy(sorted(folder.glob("*.parquet"))[0], tiny / "p.parquet")
    run(CountConfig(inputs=(str(tiny),), source="warm", format="laion", out=str(work / "o2"),
                    warehouse=str(work / "warm.duckdb"), progress_interval=0), spark)  # JVM/JIT warm-up
    start, cpu = time.perf_counter(), busy_cpu_seconds()
    res = run(config, spark)
    seconds = time.perf_counter() - start
    cores = (busy_cpu_seconds() - cpu) / seconds
    print(f"  {master}: phases {', '.join(f'{k} {v:.1f}s' for k, v in res.timings.items())}; "
          f"{cores:.2f} cores busy ({n_per_core(res, seconds * cores):,.0f} captions per busy core-second)",
          file=sys.stderr)
    docs = {int(i): int(d) for i, r, d in zip(res.tables["class_counts"].class_index,
                                               res.tables["class_counts"].role,
                                               res.tables["class_counts"].docs) if r == "all" and d > 0}
    # reading alone: the same Parquet scan handed to Python through Arrow, nothing matched
    def drain(batches):
        for b in batches:
            yield pa.RecordBatch.from_pydict({"n": [b.num_rows]})
    start = time.perf_counter()
    spark.read.parquet(str(folder)).select("TEXT").mapInArrow(drain, "n long").agg(F.sum("n")).collect()
    read_s = time.perf_counter() - start
    spark.stop()
    return seconds, docs, read_s, cores


SMALL_SIZES = (3, 30_000, 100_000)
SMALL_GOAL_S = 8.0


def write_jsonl(captions: list, n: int, path: Path) -> Path:
    """``n`` JSONL records {id, text} from the real captions (repeated when n exceeds them)."""
    real = [c for c in captions if c is not None]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": str(i), "text": real[i % len(real)]}) + "\n")
    return path


def plain_jsonl_count(path: str) -> int:
    """The plain-Python baseline of a small run (run in its own process by --plain-jsonl): read the
    JSONL file, count with the job's count_batches, sum the partial rows; prints docs_matched."""
    from classfreq.pipelines.count_batches import count_batches as count
    from classfreq.pipelines.match_spec import build_spec as spec_of
    from classfreq.synsets import load_labelset

    with open(path, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    batch = pa.RecordBatch.from_arrays([pa.array(texts, pa.string()), pa.nulls(len(texts), pa.string())],
                                       names=["text", "bad"])
    partials = pa.Table.from_batches(list(count([batch], spec_of(load_labelset("imagenet1k"), "default"))))
    sums = partials.to_pandas().groupby(["kind", "name"], dropna=False)["docs"].sum()
    print(f"{int(sums[('stat', 'docs_matched')]):,} matched")
    return 0


def _timed_process(argv: list[str], env: dict, cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800, cwd=cwd)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def small_input_rows(captions: list, work: Path, before: str | None, log, repeat: int = 1,
                     ablation: bool = False, sizes: tuple[int, ...] = SMALL_SIZES) -> list[list[str]]:
    """One row per input size and run: median wall seconds of `classfreq count` (fresh process)
    over ``repeat`` rounds, the runs interleaved (their order rotates each round, so that load
    from elsewhere falls on all of them alike), the plain-Python baseline, the ratio to --before
    when given, the counts check and the phase line of the median run. ``ablation``: also this
    checkout with its early session start off (CLASSFREQ_EARLY_SESSION=off)."""
    rows = []
    runs = [("classfreq count", sys.executable, {})]
    if ablation:
        runs.append(("classfreq count, early session off", sys.executable, {"CLASSFREQ_EARLY_SESSION": "off"}))
    if before:
        runs.append(("classfreq count (--before)", before, {}))
    for n in sizes:
        path = write_jsonl(captions, n, work / f"small_{n}.jsonl")
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
        plain_s, plain_out = _timed_process([sys.executable, __file__, "--plain-jsonl", str(path)], env)
        timed: dict[str, list[tuple[float, str]]] = {label: [] for label, _, _ in runs}
        for r in range(repeat):
            for label, python, extra in runs[r % len(runs):] + runs[:r % len(runs)]:
                env = {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python, **extra}
                out = work / f"out_{n}_{r}_{len(timed[label])}_{abs(hash(label))}"
                seconds, text = _timed_process(
                    [python, "-m", "classfreq.cli", "count", "--input", str(path), "--source", f"small{n}",
                     "--out", str(out), "--warehouse", str(out / "wh.duckdb"), "--progress-interval", "0"], env,
                    cwd=work)  # not a checkout's root: its classfreq/ folder would shadow the interpreter's install
                shutil.rmtree(out, ignore_errors=True)
                timed[label].append((seconds, text))
                log(f"  {n:,} captions, {label}: {seconds:.1f}s (plain Python {plain_s:.1f}s)")
        base = statistics.median(s for s, _ in timed[runs[-1][0]]) if before else None
        for label, _, _ in runs:
            all_s = sorted(s for s, _ in timed[label])
            seconds = statistics.median(all_s)
            text = min(timed[label], key=lambda st: abs(st[0] - seconds))[1]
            matched = re.search(r"([\d,]+) matched", text).group(1)
            same = "same docs_matched" if f"{matched} matched" in plain_out else f"DIFFERS: {matched} vs {plain_out.strip()}"
            phases = next((ln for ln in text.splitlines() if ln.startswith("phases:")), "")
            rows.append([f"{n:,}", label, f"{seconds:.1f}", " / ".join(f"{x:.1f}" for x in all_s), f"{plain_s:.1f}",
                         f"{seconds / base:.2f}" if base else "", "yes" if seconds <= SMALL_GOAL_S else "no", same,
                         phases.replace("phases: ", "")])
    return rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]

    def fmt(cells):
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([fmt(header), "-+-".join("-" * w for w in widths)] + [fmt(r) for r in rows])


def n_per_core(res, cpu_seconds: float) -> float:
    return int(res.tables["source_stats"].docs_read.iloc[0]) / cpu_seconds


def _bytes_per_caption(captions: list, work: Path) -> float:
    path = work / "real_captions.parquet"
    pq.write_table(pa.table({"TEXT": pa.array(captions, pa.string())}), path, compression="snappy")
    return path.stat().st_size / len(captions)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    p.add_argument("--captions", type=int, default=5_000_000, help="captions for the Spark rows (>= 5M)")
    p.add_argument("--repeat", type=int, default=3, help="rounds of the fast matcher rows")
    p.add_argument("--no-slow", action="store_true", help="skip spaCy and paper mode rows")
    p.add_argument("--small-only", action="store_true", help="only the small-input table")
    p.add_argument("--no-small", action="store_true", help="skip the small-input table")
    p.add_argument("--before", metavar="PYTHON", help="also time `classfreq count` with this interpreter "
                                                      "(another checkout's venv) on the small inputs")
    p.add_argument("--small-repeat", type=int, default=1, help="rounds of the small-input runs (median reported)")
    p.add_argument("--small-sizes", type=lambda t: tuple(int(x) for x in t.split(",")), default=SMALL_SIZES,
                   help="captions of the small-input runs, comma-separated (default 3,30000,100000)")
    p.add_argument("--early-ablation", action="store_true",
                   help="small inputs: also this checkout with its early session start off")
    p.add_argument("--plain-jsonl", help=argparse.SUPPRESS)  # the baseline process of the small-input table
    args = p.parse_args(argv)
    if args.plain_jsonl:
        return plain_jsonl_count(args.plain_jsonl)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    from classfreq.synsets import load_labelset
    captions, forms, names, origin = load_inputs(args.shared)
    log(f"{len(captions):,} real captions, {len(forms):,} forms ({origin})")
    if not args.no_small:
        work = Path(tempfile.mkdtemp(prefix="bench_small_"))
        try:
            small = small_input_rows(captions, work, args.before, log, args.small_repeat, args.early_ablation,
                                     args.small_sizes)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"Small inputs: wall seconds of a fresh `classfreq count` process (JVM start included) vs a "
              f"plain Python process counting the same JSONL file (goal <= {SMALL_GOAL_S:g} s)")
        print(text_table(["captions", "run", "median wall s", "each round", "plain Python s", "x before", "<= 8 s",
                          "counts", "phases of the median run (s)"], small))
        print()
        if args.small_only:
            return 0
    rows = matcher_rows(captions, forms, names, args.repeat, slow=not args.no_slow, log=lambda s: log(s))
    spec = build_spec(load_labelset("imagenet1k"), "default")

    work = Path(tempfile.mkdtemp(prefix="bench_counting_"))
    try:
        data = work / "parquet"
        data.mkdir()
        n = write_replicas(captions, args.captions, data)
        size = sum(f.stat().st_size for f in data.glob("*.parquet"))
        log(f"wrote {n:,} captions to {len(list(data.glob('*.parquet')))} Parquet files ({size / 1e6:.0f} MB)")

        t = time.perf_counter()
        rows_read = sum(pq.read_table(f, columns=["TEXT"]).num_rows for f in sorted(data.glob("*.parquet")))
        pyarrow_read = time.perf_counter() - t
        cpu = busy_cpu_seconds()
        plain_s, plain_sums, plain_read = plain_process(data, spec)
        plain_cores = (busy_cpu_seconds() - cpu) / plain_s
        plain_docs = class_docs_from_sums(plain_sums)
        rows.append(Row("plain process: Parquet + FormMatcher + aggregation", n, plain_s, "reference for Spark rows",
                        f"{plain_cores:.2f} cores busy; {plain_read:.1f}s of it reading"))
        log(f"  plain process: {n / plain_s:,.0f} captions/s")
        spark_rows = {}
        for master in ("local[1]", "local[2]"):
            seconds, docs, read_s, cores = spark_run(master, data, work)
            same = "identical" if docs == plain_docs else f"{sum(docs.get(k) != v for k, v in plain_docs.items())} classes differ"
            spark_rows[master] = (seconds, read_s, cores)
            rows.append(Row(f"Spark {master} (the count_classes job)", n, seconds, same + " to plain process",
                            f"{cores:.2f} cores busy; read only: {n / read_s:,.0f}/s"))
            log(f"  Spark {master}: {n / seconds:,.0f} captions/s; read-only {n / read_s:,.0f}/s")
        print(format_table(rows))

        s1, s2 = spark_rows["local[1]"][0], spark_rows["local[2]"][0]
        print()
        print(f"Spark local[2] / local[1]: {s1 / s2:.2f}x   Spark local[1] / plain process: "
              f"{s1 / plain_s:.2f}x (time ratio; goal <= 1.3)   pyarrow TEXT read, 1 thread: "
              f"{rows_read / pyarrow_read:,.0f} rows/s")
        print("captions per busy core-second of the whole job (goal >= 600,000): "
              + ", ".join(f"Spark {m} {n / (sec * cores):,.0f}" for m, (sec, _, cores) in spark_rows.items())
              + f", plain process {n / (plain_s * plain_cores):,.0f}")
        # projection: a 64-core cluster runs the same tasks; what one core-second of the whole
        # job buys (Spark's JVM reading + Arrow + Python matching + aggregation, from the local[2]
        # run that kept this machine's cores busy) times 64 cores
        cores2 = spark_rows["local[2]"][2]
        per_core = n / (s2 * cores2)
        read_per_core = n / spark_rows["local[1]"][1]
        real_bytes = _bytes_per_caption(captions, work)
        minutes = LAION_2B_EN / (per_core * CORES) / 60
        print(f"LAION-2B-en projection ({LAION_2B_EN / 1e9:.2f}B captions, {CORES} cores): "
              f"{per_core:,.0f} captions per busy core-second end to end (Spark Parquet read + Arrow + match + "
              f"aggregate; Spark read alone {read_per_core:,.0f}/s) -> {minutes:.0f} min of CPU-bound work "
              f"if storage delivers the TEXT column at {per_core * CORES * real_bytes / 1e6:,.0f} MB/s "
              f"({real_bytes:.0f} bytes per caption in snappy Parquet of the real captions); at 200 MB/s "
              f"reading bounds it: {LAION_2B_EN * real_bytes / 200e6 / 60:.0f} min")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
