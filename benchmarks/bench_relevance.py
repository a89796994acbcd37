"""Pairs judged per second per core: the relevance judge (full, fast, lexical) against the baselines.

Single process, one thread for torch. Pairs are the shared labelled pairs repeated, each copy's
caption made distinct (so no caption parse is reused); class definitions and glosses stay cached
across batches as in a real run. Model loading is timed separately, after a warm-up batch.
Two rates per method: by wall-clock time, and by the process's CPU time (pairs per CPU-second,
which is pairs/s/core and moves much less when other processes share the machine).

    .venv/bin/python benchmarks/bench_relevance.py --shared ../shared/data [--pairs 2000]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from classfreq.relevance.evaluate import spacy_rule
from classfreq.relevance.features import PairBatch, locate_all, syntax_matrix
from classfreq.relevance.judge import Models, load_judge
from classfreq.relevance.labels import read_labels
from classfreq.relevance.syntax import SYNTAX_FEATURES

BATCH = 512


def bench_pairs(labels: Path, n: int) -> PairBatch:
    pairs = read_labels(labels)
    texts, classes, forms = [], [], []
    for k in range(n):
        i = k % len(pairs)
        texts.append(pairs.texts[i] if k < len(pairs) else f"{pairs.texts[i]} ({k // len(pairs)})")
        classes.append(pairs.class_indexes[i])
        forms.append(pairs.forms[i])
    return PairBatch(texts, classes, forms)


def batches(pairs: PairBatch):
    for a in range(0, len(pairs.texts), BATCH):
        yield PairBatch(pairs.texts[a:a + BATCH], pairs.class_indexes[a:a + BATCH], pairs.forms[a:a + BATCH])


def timed(fn, pairs: PairBatch) -> tuple[float, float]:
    """(pairs per wall-clock second, pairs per CPU-second of this process)."""
    fn(next(batches(pairs)))                       # warm-up: lazy loads and caches
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches(pairs):
        fn(batch)
    n = len(pairs.texts)
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--pairs", type=int, default=2000, help="pairs per method (default 2000)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    pairs = bench_pairs(Path(args.shared) / "relevance" / "imagenet1k_dev_labels.jsonl", args.pairs)
    models = Models(threads=1)
    start = time.perf_counter()
    judges = {v: load_judge("imagenet1k", v, models) for v in ("full", "fast", "lexical")}
    models.nlp, models.embedder, models.static  # noqa: B018 - load the models now, to time loading apart
    load_s = time.perf_counter() - start
    locator = judges["fast"].extractor.locator

    def string_match(batch):
        return np.ones(len(locate_all(locator, batch)))

    def spacy_only(batch):
        x, _ = syntax_matrix(models.nlp, locate_all(locator, batch))
        return spacy_rule(x, list(SYNTAX_FEATURES))

    rows = [("string matching (locate only)", string_match), ("spaCy-only rule", spacy_only),
            ("judge lexical (token rules + senses + static vectors)", judged(judges["lexical"])),
            ("judge fast (spaCy + senses + static vectors)", judged(judges["fast"])),
            ("judge full (+ MiniLM embeddings)", judged(judges["full"]))]
    print(f"{len(pairs.texts)} pairs per method, batches of {BATCH}, 1 thread; models loaded in {load_s:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| method | pairs/s (wall clock) | pairs per CPU-second |\n|---|---|---|")
    for name, fn in rows:
        wall, cpu = timed(fn, pairs)
        print(f"| {name} | {wall:,.0f} | {cpu:,.0f} |", flush=True)


def judged(judge):
    return lambda batch: judge.score(batch.texts, batch.class_indexes, batch.forms)


if __name__ == "__main__":
    main()
