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

`--load` with `--cold` times instead what one Python worker spends loading the judge (fresh
interpreter with the worker daemon's modules imported; CPU seconds, which other jobs move far less
than wall seconds, and wall seconds), in each checkout, alternating.

`--demo-count` with `--cold` times instead `make demo`'s count step (the four caption sources, the
fast judge's stage in each, one Spark session) in each checkout, into a scratch warehouse, and
asserts that both give the same p_relevant to every judged match.
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


def load_once(args) -> None:
    """A fresh interpreter as a forked Python worker: the daemon's imports, then the stage's
    judge loaded and one pair scored; prints JSON with CPU and wall seconds, saves the p."""
    import classfreq.pipelines.worker_daemon  # noqa: F401  (what every worker starts with)
    from classfreq.pipelines.relevance_stage import _worker_judge

    cpu, wall = time.process_time(), time.perf_counter()
    judge = _worker_judge("imagenet1k", args.judge, 1)
    jaguar = int(judge.extractor.labelset.classes.class_index[judge.extractor.labelset.classes.name == "jaguar"].iloc[0])
    p = judge.score(["a jaguar resting on a branch"], [jaguar], ["jaguar"])
    np.save(args.save, p)
    print(json.dumps({"cold": time.process_time() - cpu, "warm": time.perf_counter() - wall}))


def demo_count_once(args) -> None:
    """make demo's count step into a scratch warehouse: prints JSON with its wall time and the stage's
    seconds per source, saves the judged matches' p_relevant."""
    import contextlib
    import io
    import re

    from classfreq.queries.warehouse import connect
    from classfreq.reports.demo import _labelset_in_warehouse, count_captions

    with tempfile.TemporaryDirectory() as tmp:
        out, warehouse = Path(tmp) / "out", Path(tmp) / "wh.duckdb"
        out.mkdir()
        name = _labelset_in_warehouse(warehouse, "imagenet1k").name
        printed = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(printed):
            count_captions(Path(args.shared), out, warehouse, name, relevance_judge=args.judge)
        seconds = time.perf_counter() - start
        stage = [float(s) for s in re.findall(r"pairs judged in ([0-9.]+)s", printed.getvalue())]
        con = connect(warehouse)
        rows = con.execute("SELECT class_index, doc_id, form, p_relevant FROM doc_matches WHERE p_relevant "
                           "IS NOT NULL ORDER BY ALL").fetchall()
        con.close()
    np.save(args.save, np.array([r[3] for r in rows]))
    print(json.dumps({"cold": seconds, "warm": sum(stage), "stage": stage, "pairs": len(rows)}))


def cold_compare(args) -> None:
    here = Path(__file__).resolve().parents[1]
    checkouts = {"this": here, "baseline": Path(args.cold).resolve()}
    what = ("make demo's count step" if args.demo_count else "one worker's judge load" if args.load
            else f"{args.pairs} pairs")
    mode = "--demo-count" if args.demo_count else "--load-once" if args.load else "--cold-once"
    print(f"{what}, judge {args.judge}, Spark {args.master}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows, saved = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(checkouts) if r % 2 == 0 else list(reversed(checkouts))
            for name in order:
                load = os.getloadavg()[0]
                out = Path(tmp) / f"{name}.npy"
                cmd = [str(checkouts[name] / ".venv" / "bin" / "python"), str(Path(__file__).resolve()),
                       mode, "--save", str(out),
                       "--pairs", str(args.pairs), "--judge", args.judge, "--master", args.master,
                       "--shared", str(Path(args.shared).resolve())]
                done = subprocess.run(cmd, cwd=checkouts[name], capture_output=True, text=True)
                if done.returncode:
                    sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                p = np.load(out)
                if name in saved:
                    assert np.array_equal(saved[name], p), f"{name}: p_relevant changed between rounds"
                saved[name] = p
                rows.append((r + 1, name, load, result["cold"], result["warm"], result.get("stage")))
        # the same pairs, the same probabilities up to float rounding (pairs batched differently
        # may differ in the last bit of a dot product: 2 of 34,949 by 2.2e-16 on the demo)
        assert saved["this"].shape == saved["baseline"].shape, "other pairs judged than in the baseline"
        worst = float(np.max(np.abs(saved["this"] - saved["baseline"]), initial=0.0))
        assert worst <= 1e-12, f"p_relevant differs from the baseline by up to {worst}"
    print(f"p_relevant equal on all {len(saved['this'])} judged pairs (largest difference {worst:.1e})\n")
    if args.demo_count:
        print("| round | code | load (1 min) | count step (s) | relevance stage, 4 sources (s) | per source (s) |")
    elif args.load:
        print("| round | code | load (1 min) | CPU (s) | wall (s) | |")
    else:
        print("| round | code | load (1 min) | first call, loads the judge (s) | second call (s) | difference (s) |")
    print("|---|---|---|---|---|---|")
    for r, name, load, cold, warm, stage in rows:
        last = " / ".join(f"{s:.1f}" for s in stage) if stage else "" if args.load else f"{cold - warm:.1f}"
        print(f"| {r} | {name} | {load:.1f} | {cold:.2f} | {warm:.2f} | {last} |")
    labels = (("count step", "stage") if args.demo_count else ("CPU", "wall") if args.load
              else ("first call", "second call"))
    for column, label in zip((3, 4), labels):
        median = {name: np.median([row[column] for row in rows if row[1] == name]) for name in checkouts}
        print(f"median {label}: this {median['this']:.1f} s, baseline {median['baseline']:.1f} s, "
              f"ratio {median['this'] / median['baseline']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--cold", metavar="BASELINE_CHECKOUT", help="time the judge-loading first call against this checkout")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--judge", default="fast", choices=["fast", "full"])
    parser.add_argument("--demo-count", action="store_true", help="with --cold: time make demo's count step")
    parser.add_argument("--load", action="store_true", help="with --cold: time one worker's judge load")
    parser.add_argument("--cold-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load-once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_once:
        return cold_once(args)
    if args.load_once:
        return load_once(args)
    if args.demo_count and not args.cold:
        return demo_count_once(args)
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
