"""Pairs judged per second per core: the relevance judge (full, fast, lexical) against the baselines.

Single process, one thread for torch. Pairs are the shared labelled pairs repeated, each copy's
caption made distinct (so no caption parse is reused); class definitions and glosses stay cached
across batches as in a real run. Model loading is timed separately, after a warm-up batch.
Two rates per method: by wall-clock time, and by the process's CPU time (pairs per CPU-second,
which is pairs/s/core and moves much less when other processes share the machine). The baselines
in the same run: spaCy's stock pipeline (its attribute ruler, which the judge replaces by an
equivalent table look-up) and numpy's BLAS left on its default threads (the judge pins it to one),
each as a ratio of CPU rates.

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
from classfreq.relevance.syntax import SYNTAX_FEATURES, blas_limit, load_spacy

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
    stock = Models(threads=1, spacy_options={"table_rules": False, "numpy_gemm": False})
    unpinned = Models(threads=1, blas_threads=None)
    start = time.perf_counter()
    judges = {v: load_judge("imagenet1k", v, models) for v in ("full", "fast", "lexical")}
    models.nlp, models.embedder, models.static  # noqa: B018 - load the models now, to time loading apart
    load_s = time.perf_counter() - start
    # the baselines share the loaded static vectors and their cache of gloss vectors: only the parse differs
    stock._static = unpinned._static = models.static
    unpinned._nlp = models.nlp
    stock_fast, unpinned_fast = load_judge("imagenet1k", "fast", stock), load_judge("imagenet1k", "fast", unpinned)
    ruler_only = load_spacy(numpy_gemm=False)
    locator = judges["fast"].extractor.locator

    def string_match(batch):
        return np.ones(len(locate_all(locator, batch)))

    def spacy_only(nlp):
        def rule(batch):
            with blas_limit(1):
                x, _ = syntax_matrix(nlp, locate_all(locator, batch))
            return spacy_rule(x, list(SYNTAX_FEATURES))
        return rule

    stock_rule = "spaCy-only rule, stock spaCy (attribute ruler, blis)"
    stock_judge = "judge fast, stock spaCy (attribute ruler, blis)"
    fast, fast_unpinned = "judge fast (spaCy + senses + static vectors)", "judge fast, numpy's BLAS threads not pinned"
    rows = [("string matching (locate only)", string_match, None),
            (stock_rule, spacy_only(stock.nlp), None),
            ("spaCy-only rule, table attribute rules, blis", spacy_only(ruler_only), stock_rule),
            ("spaCy-only rule (table attribute rules, numpy BLAS)", spacy_only(models.nlp), stock_rule),
            ("judge lexical (token rules + senses + static vectors)", judged(judges["lexical"]), None),
            (stock_judge, judged(stock_fast), None),
            (fast_unpinned, judged(unpinned_fast), None),
            (fast, judged(judges["fast"]), stock_judge),
            ("judge full (+ MiniLM embeddings)", judged(judges["full"]), None)]
    print(f"{len(pairs.texts)} pairs per method, batches of {BATCH}, 1 thread; models loaded in {load_s:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| method | pairs/s (wall clock) | pairs per CPU-second | CPU rate against |\n|---|---|---|---|")
    cpu_rates = {}
    for name, fn, baseline in rows:
        wall, cpu_rates[name] = timed(fn, pairs)
        against = f"{cpu_rates[name] / cpu_rates[baseline]:.2f} x {baseline}" if baseline else ""
        print(f"| {name} | {wall:,.0f} | {cpu_rates[name]:,.0f} | {against} |", flush=True)
    print(f"numpy's BLAS pinned to one thread / not pinned (judge fast): {cpu_rates[fast] / cpu_rates[fast_unpinned]:.2f}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")


def judged(judge):
    return lambda batch: judge.score(batch.texts, batch.class_indexes, batch.forms)


if __name__ == "__main__":
    main()
