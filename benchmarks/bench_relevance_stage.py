"""Pairs judged per second by the count's relevance stage (Spark local mode, mapInPandas, the judge
loaded once per Python worker) against the same judge called in-process, for both variants.

The Spark stage is timed after a warm-up call, so its workers already hold the judge (as in a
run, where every source after the first finds them warm); the in-process baseline uses one
thread for torch, the stage one per task (spark.task.cpus).

    .venv/bin/python benchmarks/bench_relevance_stage.py --shared ../shared/data [--pairs 2000] [--master local[2]]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
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
