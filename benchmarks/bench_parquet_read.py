"""The Parquet read: pyarrow inside the Python tasks (``parquet_tasks``, ``--parquet-scan python``,
now) against Spark's JVM Parquet scan handed to Python through Arrow (``--parquet-scan spark``,
before), in one Spark session, rounds alternated; and, each in its own JVM, the JVM scan under
JVM flags meant to lower the JVM's own CPU (``--jvm-flags``); and ``--cli-before PYTHON``:
`classfreq count` end to end, fresh processes, another checkout's interpreter against this one's.

Both run the job's own read and count steps (``count_classes.read_and_count``) on the real shared
captions replicated into LAION-layout Parquet files (SAMPLE_ID, URL, TEXT); the class counts of
every run must be identical. "busy core-seconds" are the CPU seconds of the benchmark's process
tree (driver, JVM, Python workers). A final row per path runs the failure path: one file of 16
with a corrupt TEXT page.

    .venv/bin/python benchmarks/bench_parquet_read.py --shared ../shared/data [--captions 2000000] \
        [--rounds 3] [--master local[1]] [--jvm-flags] [--no-paths --cli-before /work/main/.venv/bin/python]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_counting import busy_cpu_seconds, text_table, write_replicas  # noqa: E402
from bench_matcher import load_inputs  # noqa: E402

MODES = {"spark": "JVM Parquet scan, Arrow to Python (before)", "python": "pyarrow in the Python tasks (now)"}
JVM_FLAGS = ("", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=2")


def cpu_by_process() -> dict[str, float]:
    """CPU seconds so far of this process (the driver), of the JVM and of the Python workers (the
    daemon and its forks, reaped ones included), from /proc like ``busy_cpu_seconds``."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[tuple[int, float, str]]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        children.setdefault(int(fields[1]), []).append(
            (int(pid), sum(int(x) for x in fields[11:15]) / tick, head.split("(", 1)[1]))
    own = os.times()
    found = {"driver": own.user + own.system, "JVM": 0.0, "Python workers": 0.0}
    todo = [os.getpid()]
    while todo:
        for pid, cpu, name in children.get(todo.pop(), []):
            found["JVM" if name == "java" else "Python workers"] += cpu  # the workers are the JVM's children
            todo.append(pid)
    return found


def one_run(spark, config, by_process: dict | None = None) -> tuple[dict, float, float, dict]:
    """(phase seconds, read+count wall seconds, busy CPU seconds, class docs and stats) of one run's
    read and count; ``by_process`` gets the CPU seconds of the driver, the JVM and the Python workers."""
    from classfreq.pipelines import count_classes as cc
    from classfreq.pipelines.journal import discard

    job = cc.prepare(config, spark)
    start, cpu, parts = time.perf_counter(), busy_cpu_seconds(), cpu_by_process()
    try:
        read, sums, _ = cc.read_and_count(job)
    finally:
        discard(job.journal)
    wall, cpu = time.perf_counter() - start, busy_cpu_seconds() - cpu
    if by_process is not None:
        for k, v in cpu_by_process().items():
            by_process.setdefault(k, []).append(v - parts[k])
    c = sums[(sums.kind != "class") | (sums.role == "all")]
    found = {f"{k}/{i}/{n}": int(d) for k, i, n, d in zip(c.kind, c.idx.fillna(-1), c.name, c.docs)}
    found["files_failed"] = sorted(os.path.basename(f) for f, _ in read.result.failed)
    return dict(job.phases.seconds), wall, cpu, found


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


def jvm_child(args) -> int:
    """One JVM with ``--java-options``: a warm-up run of each scan, then one measured run of each;
    prints {scan: {wall, cpu, found}} as JSON."""
    from classfreq.pipelines.spark_session import get_spark

    conf = {"spark.driver.memory": "4g", "spark.sql.adaptive.enabled": "false"}
    if args.java_options:
        conf["spark.driver.extraJavaOptions"] = args.java_options
    spark = get_spark(args.master, app_name="bench-jvm-flags", shuffle_partitions=4, conf=conf)
    work = Path(args.data).parent
    out = {}
    for scan in MODES:
        one_run(spark, config(work, Path(args.data), "warm", scan))
    for scan in MODES:
        _, wall, cpu, found = one_run(spark, config(work, Path(args.data), scan, scan))
        out[scan] = {"wall": wall, "cpu": cpu, "found": found}
    spark.stop()
    print(json.dumps(out))
    return 0


class TreeCpu:
    """The CPU seconds of this process's descendants while the block runs: each process's own user
    + system time, sampled from /proc every 50 ms, its last value kept. Not the parents' counts of
    reaped children (cutime): pyspark's daemon ignores SIGCHLD, so its workers' time reaches no
    parent. A process's last < 50 ms, or one that lives less, is missed (alike in every run)."""

    def __init__(self, interval: float = 0.05):
        import threading

        self.interval, self.last, self.stop = interval, {}, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.last.values())

    def _sample(self) -> None:
        tick, me = os.sysconf("SC_CLK_TCK"), os.getpid()
        while True:
            children: dict[int, list[tuple[int, str, float]]] = {}
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # state, ppid, ... utime stime at 11-12, starttime at 19 (with pid: one process)
                children.setdefault(int(fields[1]), []).append((int(pid), fields[19], (int(fields[11]) + int(fields[12])) / tick))
            todo = [me]
            while todo:
                for pid, started, cpu in children.get(todo.pop(), []):
                    self.last[(pid, started)] = cpu
                    todo.append(pid)
            if self.stop.wait(self.interval):
                return


def cli_table(work: Path, data: Path, n: int, rounds: int, master: str, before: str) -> tuple[list[list[str]], bool]:
    """`classfreq count` end to end (a fresh process, its JVM's start included) on the 16 files,
    with the interpreter of ``before`` (another checkout's) and this one, rounds alternated.
    Busy core-seconds: the CPU of the process and of all it started (``TreeCpu``). Rows: [run, wall, busy core-s, captions per
    busy core-s]; and whether the counts written agree."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans stay in the tree
    files = [str(f) for f in sorted(data.glob("*.parquet"))]
    runs = {"before": before, "now": sys.executable}
    found: dict[str, list[tuple[float, float, str]]] = {k: [] for k in runs}
    # a warm-up run of each first (its JVM may record the class archive of jvm_archive at exit)
    order = [(-1, k) for k in runs] + [(i, k) for i in range(rounds)
                                       for k in (list(runs) if i % 2 == 0 else list(runs)[::-1])]
    for r, label in order:
        python = runs[label]
        out = work / f"cli_{label}_{r}"
        env = {**os.environ, "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}
        argv = [python, "-m", "classfreq.cli", "count", *(a for f in files for a in ("--input", f)),
                "--source", "cli", "--master", master, "--out", str(out), "--warehouse", str(out / "wh.duckdb"),
                "--progress-interval", "0"]
        with TreeCpu() as tree:
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work, timeout=3600)
            wall = time.perf_counter() - start
            with contextlib.suppress(ChildProcessError):
                while True:  # the JVM, its workers: whatever the run left running, to its end
                    os.waitpid(-1, 0)
        cpu = tree.seconds
        if done.returncode != 0:
            raise RuntimeError(f"classfreq count ({label}) failed: {done.stderr[-2000:]}")
        # the class counts written, and the summary's totals
        tables = [pq.read_table(f, columns=["role", "class_index", "docs", "mentions"])
                  for f in sorted(out.glob("class_counts/**/*.parquet"))]
        counts = str(sorted(r for t in tables for r in zip(*t.to_pydict().values()))) + re.sub(
            r" in [\d.]+s|; run \S+", "", done.stdout.splitlines()[0])
        shutil.rmtree(out, ignore_errors=True)
        print(f"  {f'round {r + 1}' if r >= 0 else 'warm-up'} {label}: {wall:.2f}s, {cpu:.2f} busy core-s",
              file=sys.stderr)
        if r >= 0:
            found[label].append((wall, cpu, counts))
    same = len({c for runs_ in found.values() for _, _, c in runs_}) == 1
    rows = [[f"{label} ({runs[label]})", _spread([w for w, _, _ in xs]), _spread([c for _, c, _ in xs]),
             f"{n / statistics.median(c for _, c, _ in xs):,.0f}"] for label, xs in found.items()]
    return rows, same


def config(work: Path, folder: Path, name: str, scan: str):
    from classfreq.pipelines.config import CountConfig

    return CountConfig(inputs=(str(folder),), source=name, format="laion", out=str(work / f"out_{name}"),
                       warehouse=str(work / f"wh_{name}.duckdb"), progress_interval=0, parquet_scan=scan)


def jvm_flags_table(data: Path, n: int, rounds: int, master: str, flag_sets=JVM_FLAGS) -> tuple[list[list[str]], bool]:
    """Each flag set in its own JVM (child processes), rounds alternated, both scans in each:
    rows and whether counts agree."""
    found: dict[tuple[str, str], list[dict]] = {}
    for r in range(rounds):
        for flags in (flag_sets if r % 2 == 0 else flag_sets[::-1]):
            out = subprocess.run([sys.executable, __file__, "--jvm-child", "--data", str(data), "--master", master,
                                  f"--java-options={flags}"], capture_output=True, text=True, check=True).stdout
            for scan, res in json.loads(out.strip().splitlines()[-1]).items():
                found.setdefault((scan, flags), []).append(res)
                print(f"  round {r + 1} {scan}, JVM flags {flags or '(none)'}: {res['wall']:.2f}s, {res['cpu']:.2f} CPU s",
                      file=sys.stderr)
    first = next(iter(found.values()))[0]["found"]
    same = all(x["found"] == first for xs in found.values() for x in xs)
    rows = [[scan, flags or "(none: baseline)", _spread([x["wall"] for x in xs]), _spread([x["cpu"] for x in xs]),
             f"{n / statistics.median(x['cpu'] for x in xs):,.0f}"] for (scan, flags), xs in sorted(found.items())]
    return rows, same


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    p.add_argument("--captions", type=int, default=2_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--master", default="local[1]")
    p.add_argument("--scan-breakdown", action="store_true", help="also: the Spark scan drained, per column set")
    p.add_argument("--jvm-flags", action="store_true", help="also: the JVM scan under JVM flags, each in its own JVM")
    p.add_argument("--flag-set", action="append", dest="flag_sets",
                   help="with --jvm-flags: this flag set instead of the default list (repeat; --flag-set= for none, "
                        "--flag-set=-XX:... for one)")
    p.add_argument("--no-paths", action="store_true", help="skip the JVM scan against pyarrow-in-tasks table")
    p.add_argument("--cli-before", metavar="PYTHON", help="also: `classfreq count` end to end with this interpreter "
                                                          "(another checkout's venv) against this checkout's")
    p.add_argument("--jvm-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--java-options", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.jvm_child:
        return jvm_child(args)


    captions, *_ = load_inputs(args.shared)
    work = Path(tempfile.mkdtemp(prefix="bench_parquet_read_"))
    try:
        data = work / "parquet"
        data.mkdir()
        n = write_replicas(captions, args.captions, data)
        size = sum(f.stat().st_size for f in data.glob("*.parquet"))
        print(f"{n:,} captions in 16 Parquet files ({size / 1e6:.0f} MB), {args.master}; load {os.getloadavg()[0]:.1f}",
              file=sys.stderr)
        if not args.no_paths or args.scan_breakdown:
            paths_table(work, data, n, args)
        if args.jvm_flags:
            rows, same = jvm_flags_table(data, n, args.rounds, args.master, tuple(args.flag_sets or JVM_FLAGS))
            print(f"JVM scan under JVM flags (spark.driver.extraJavaOptions), {n:,} captions, {args.master}, each run "
                  f"in its own JVM after a warm-up run, {args.rounds} rounds alternated (median, min-max); counts "
                  f"{'identical' if same else 'DIFFER'}; load {os.getloadavg()[0]:.1f}")
            print(text_table(["scan", "JVM flags", "read + count s", "busy core-s", "captions per busy core-s"], rows))
        if args.cli_before:
            rows, same = cli_table(work, data, n, args.rounds, args.master, args.cli_before)
            print(f"`classfreq count` end to end (fresh process, JVM start included), {n:,} captions in 16 files, "
                  f"{args.master}, {args.rounds} rounds alternated (median, min-max); counts "
                  f"{'identical' if same else 'DIFFER'}; load {os.getloadavg()[0]:.1f}")
            print(text_table(["run", "wall s", "busy core-s", "captions per busy core-s"], rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def paths_table(work: Path, data: Path, n: int, args) -> None:
    """The JVM scan against pyarrow in the tasks, one session, rounds alternated, then the failure path."""
    from classfreq.pipelines.spark_session import get_spark

    spark = get_spark(args.master, app_name="bench-parquet-read", shuffle_partitions=4,
                      conf={"spark.driver.memory": "4g", "spark.sql.adaptive.enabled": "false"})
    for scan in MODES:
        one_run(spark, config(work, data, "warm", scan))  # JVM and worker warm-up
    if args.scan_breakdown:
        rows = scan_breakdown(spark, data, args.rounds)
        print(f"Spark scan handed to Python and drained, {n:,} captions (SAMPLE_ID, URL, TEXT), {args.master}, "
              f"{args.rounds} rounds: median (min-max) seconds")
        print(text_table(["columns", "seconds"], rows))
        return
    results: dict[str, list] = {scan: [] for scan in MODES}
    by_process: dict[str, dict] = {scan: {} for scan in MODES}
    for r in range(args.rounds):
        for scan in (list(MODES) if r % 2 == 0 else list(MODES)[::-1]):
            results[scan].append(one_run(spark, config(work, data, scan, scan), by_process[scan]))
            phases, wall, cpu, _ = results[scan][-1]
            print(f"  round {r + 1} {scan}: read+count {wall:.2f}s, {cpu:.2f} CPU s; "
                  + ", ".join(f"{k} {v:.2f}s" for k, v in phases.items() if k in ("reading", "checking pages", "count")),
                  file=sys.stderr)
    first = results["spark"][0][3]
    same = all(res[3] == first for runs in results.values() for res in runs)

    bad = work / "bad"
    shutil.copytree(data, bad)
    part = sorted(bad.glob("*.parquet"))[3]
    meta = pq.read_metadata(part).row_group(0)
    start = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == "TEXT").data_page_offset
    with open(part, "r+b") as f:  # the first page of TEXT, its header included; footer intact
        f.seek(start)
        f.write(bytes((i * 131 + 7) % 256 for i in range(4000)))
    failures = {scan: one_run(spark, config(work, bad, f"corrupt_{scan}", scan)) for scan in MODES}
    spark.stop()
    failures_same = failures["spark"][3] == failures["python"][3] and failures["spark"][3]["files_failed"] == [part.name]

    def cells(runs, what):
        reading = [ph.get("reading", 0) + ph.get("checking pages", 0) for ph, *_ in runs]
        count = [ph.get("count", 0) for ph, *_ in runs]
        walls = [w for _, w, _, _ in runs]
        cpus = [c for _, _, c, _ in runs]
        if len(runs) == 1:  # a failed task's workers go uncounted
            return [what, _spread(reading), _spread(count), _spread(walls), "-", "-"]
        return [what, _spread(reading), _spread(count), _spread(walls), _spread(cpus), f"{n / statistics.median(cpus):,.0f}"]

    rows = [cells(results[scan], what) for scan, what in MODES.items()]
    rows += [cells([failures[scan]], f"{scan}, one file of 16 with a corrupt TEXT page") for scan in MODES]
    base, now = (statistics.median(w for _, w, _, _ in results[m]) for m in MODES)
    cpu_base, cpu_now = (statistics.median(c for _, _, c, _ in results[m]) for m in MODES)
    print(f"Parquet read, {n:,} captions, {args.master}, {args.rounds} rounds alternated (median, min-max); counts "
          f"{'identical' if same else 'DIFFER'}; with a corrupt file: "
          f"{'identical, one file failed' if failures_same else 'DIFFER'}; load {os.getloadavg()[0]:.1f}")
    print(text_table(["read", "reading s", "count s", "read + count s", "busy core-s", "captions per busy core-s"], rows))
    print(f"pyarrow in tasks / JVM scan: wall {now / base:.2f}, busy core-seconds {cpu_now / cpu_base:.2f}")
    print("busy core-seconds by process, median (min-max)")
    print(text_table(["read", *by_process["spark"]],
                     [[what, *(_spread(xs) for xs in by_process[scan].values())] for scan, what in MODES.items()]))


if __name__ == "__main__":
    sys.exit(main())
