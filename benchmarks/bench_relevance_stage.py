"""Pairs judged per second by the count's relevance stage (Spark local mode, mapInPandas, the judge
loaded once per Python worker) against the same judge called in-process, for both variants.

The Spark stage is timed after a warm-up call, so its workers already hold the judge (as in a
run, where every source after the first finds them warm); the in-process baseline uses one
thread for torch, the stage one per task (spark.task.cpus).

    .venv/bin/python benchmarks/bench_relevance_stage.py --shared ../shared/data [--pairs 2000] [--master local[2]]

`--cold BASELINE_CHECKOUT` times instead the stage's first call in fresh Spark sessions, whose Python
workers have run a task already (as after the count phase) but hold no judge, so they load it: this
checkout against another one (its .venv runs the same script), alternating in rounds, asserting that
both give every pair the same p_relevant:

    .venv/bin/python benchmarks/bench_relevance_stage.py --cold ../main-at-base --pairs 7000 --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_relevance import bench_pairs

from classfreq.pipelines.relevance_stage import RelevanceOptions, score_in_spark
from classfreq.pipelines.spark_session import get_spark
from classfreq.relevance.judge import Models, load_judge


def in_process(pairs, variant: str) -> float:
    judge = load_judge("imagenet1k", variant, Models(threads=1))
    judge.score(pairs.texts[:64], pairs.class_indexes[:64], pairs.forms[:64])  # warm-up: lazy model loads
    start = time.perf_counter()
    judge.score(pairs.texts, pairs.class_indexes, pairs.forms)
    return len(pairs.texts) / (time.perf_counter() - start)


def in_spark(spark, pairs, variant: str) -> float:
    frame = pd.DataFrame({"doc_id": [str(i) for i in range(len(pairs.texts))], "text": pairs.texts,
                          "class_index": pairs.class_indexes, "form": pairs.forms})
    options = RelevanceOptions(labelset="imagenet1k", judge=variant)
    score_in_spark(spark, frame.head(64), options)  # warm-up: every worker that runs a task loads the judge
    start = time.perf_counter()
    score_in_spark(spark, frame, options)
    return len(frame) / (time.perf_counter() - start)


def _noop(frames):
    yield from frames


def cold_once(args) -> None:
    """One fresh session: warm its Python workers with a trivial task each, then time the stage's
    first (judge-loading) and second call; prints JSON, saves the p_relevant."""
    pairs = bench_pairs(Path(args.shared) / "relevance" / "imagenet1k_dev_labels.jsonl", args.pairs)
    frame = pd.DataFrame({"doc_id": [str(i) for i in range(len(pairs.texts))], "text": pairs.texts,
                          "class_index": pairs.class_indexes, "form": pairs.forms})
    spark = get_spark(args.master, app_name="bench-relevance-cold")
    slots = spark.sparkContext.defaultParallelism
    spark.range(slots * 4).repartition(slots).mapInPandas(_noop, "id long").count()  # the count phase's workers
    options = RelevanceOptions(labelset="imagenet1k", judge=args.judge)
    start = time.perf_counter()
    p = score_in_spark(spark, frame, options)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    score_in_spark(spark, frame, options)
    warm = time.perf_counter() - start
    spark.stop()
    np.save(args.save, p)
    print(json.dumps({"cold": cold, "warm": warm}))


def cold_compare(args) -> None:
    here = Path(__file__).resolve().parents[1]
    checkouts = {"this": here, "baseline": Path(args.cold).resolve()}
    print(f"{args.pairs} pairs, judge {args.judge}, Spark {args.master}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows, saved = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(checkouts) if r % 2 == 0 else list(reversed(checkouts))
            for name in order:
                load = os.getloadavg()[0]
                out = Path(tmp) / f"{name}.npy"
                cmd = [str(checkouts[name] / ".venv" / "bin" / "python"), str(Path(__file__).resolve()),
                       "--cold-once", "--save", str(out), "--pairs", str(args.pairs), "--judge", args.judge,
                       "--master", args.master, "--shared", str(Path(args.shared).resolve())]
                done = subprocess.run(cmd, cwd=checkouts[name], capture_output=True, text=True)
                if done.returncode:
                    sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                p = np.load(out)
                if name in saved:
                    assert np.array_equal(saved[name], p), f"{name}: p_relevant changed between rounds"
                saved[name] = p
                rows.append((r + 1, name, load, result["cold"], result["warm"]))
        assert np.array_equal(saved["this"], saved["baseline"]), "p_relevant differs from the baseline"
    print(f"p_relevant identical on all {len(saved['this'])} pairs\n")
    print("| round | code | load (1 min) | first call, loads the judge (s) | second call (s) | difference (s) |")
    print("|---|---|---|---|---|---|")
    for r, name, load, cold, warm in rows:
        print(f"| {r} | {name} | {load:.1f} | {cold:.1f} | {warm:.1f} | {cold - warm:.1f} |")
    for name in checkouts:
        cold = np.median([c for _, n, _, c, _ in rows if n == name])
        print(f"median first call, {name}: {cold:.1f} s")
    base = np.median([c for _, n, _, c, _ in rows if n == "baseline"])
    this = np.median([c for _, n, _, c, _ in rows if n == "this"])
    print(f"ratio this/baseline (median first call): {this / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--cold", metavar="BASELINE_CHECKOUT", help="time the judge-loading first call against this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--judge", default="fast", choices=["fast", "full"])
    parser.add_argument("--cold-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_once:
        return cold_once(args)
    if args.cold:
        return cold_compare(args)
    import torch

    torch.set_num_threads(1)
    pairs = bench_pairs(Path(args.shared) / "relevance" / "imagenet1k_dev_labels.jsonl", args.pairs)
    spark = get_spark(args.master, app_name="bench-relevance-stage")
    cores = spark.sparkContext.defaultParallelism
    print(f"{len(pairs.texts)} pairs; Spark {args.master} ({cores} task slots)")
    print("| judge | in-process, 1 thread (pairs/s) | Spark stage, warm (pairs/s) |\n|---|---|---|")
    for variant in ("fast", "full"):
        print(f"| {variant} | {in_process(pairs, variant):,.0f} | {in_spark(spark, pairs, variant):,.0f} |",
              flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
