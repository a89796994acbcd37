"""Line input end to end: `classfreq count` in fresh processes on a JSONL file of the real shared
captions (repeated to ``--captions``), read in the Python tasks (``--text-scan python``, now) against
Spark's text reader handed to Python twice through Arrow (``--text-scan spark``, before), rounds
alternated; busy core-seconds are the CPU of the process and all it started (``TreeCpu``). The class
counts of every run must be identical.

    .venv/bin/python benchmarks/bench_text_scan.py --shared ../shared/data [--captions 1000000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_counting import text_table, write_jsonl  # noqa: E402
from bench_matcher import load_inputs  # noqa: E402
from bench_parquet_read import TreeCpu, _spread  # noqa: E402

SCANS = {"spark": "Spark's text reader (before)", "python": "read in the Python tasks (now)"}


def run_once(path: Path, scan: str, work: Path, master: str) -> tuple[float, float, str]:
    """(wall s, busy core-s, the class counts written) of one fresh `classfreq count`."""
    out = work / f"out_{scan}"
    argv = [sys.executable, "-m", "classfreq.cli", "count", "--input", str(path), "--source", "bench",
            "--format", "jsonl", "--text-scan", scan, "--master", master, "--out", str(out),
            "--warehouse", str(out / "wh.duckdb"), "--progress-interval", "0"]
    with TreeCpu() as tree:
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=work, timeout=3600)
        wall = time.perf_counter() - start
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)
    if done.returncode != 0:
        raise RuntimeError(f"classfreq count --text-scan {scan} failed: {done.stderr[-2000:]}")
    tables = [pq.read_table(f, columns=["role", "class_index", "docs", "mentions"])
              for f in sorted(out.glob("class_counts/**/*.parquet"))]
    counts = str(sorted(r for t in tables for r in zip(*t.to_pydict().values())))
    shutil.rmtree(out, ignore_errors=True)
    return wall, tree.seconds, counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    p.add_argument("--captions", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--master", default="local[1]")
    args = p.parse_args(argv)
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans stay in the tree
    captions, _, _, _ = load_inputs(args.shared)
    work = Path(tempfile.mkdtemp(prefix="bench_text_scan_"))
    try:
        path = write_jsonl(captions, args.captions, work / "captions.jsonl")
        found: dict[str, list[tuple[float, float, str]]] = {s: [] for s in SCANS}
        for r in range(-1, args.rounds):  # a warm-up of each first
            for scan in (list(SCANS) if r % 2 == 0 else list(SCANS)[::-1]):
                wall, cpu, counts = run_once(path, scan, work, args.master)
                print(f"  {'warm-up' if r < 0 else f'round {r + 1}'} {scan}: {wall:.2f}s, {cpu:.2f} busy core-s",
                      file=sys.stderr)
                if r >= 0:
                    found[scan].append((wall, cpu, counts))
        same = len({c for runs in found.values() for _, _, c in runs}) == 1
        load = os.getloadavg()[0]
        print(f"`classfreq count` on {args.captions:,} JSONL captions ({path.stat().st_size / 1e6:.0f} MB), "
              f"{args.master}, {args.rounds} rounds alternated (median, min-max); counts "
              f"{'identical' if same else 'DIFFER'}; load {load:.1f}")
        rows = [[f"--text-scan {s}: {SCANS[s]}", _spread([w for w, _, _ in xs]), _spread([c for _, c, _ in xs]),
                 f"{args.captions / statistics.median(c for _, c, _ in xs):,.0f}"] for s, xs in found.items()]
        print(text_table(["run", "wall s", "busy core-s", "captions per busy core-s"], rows))
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
