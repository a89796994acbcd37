"""The relevance stage of a count run (``--relevance``) and of `relevance-run`: judge a seeded
sample of each class's matched documents as a Spark stage, then estimate each class's relevant
documents with 95% intervals.

The sample is the first ``sample`` documents per class of doc_matches in the seeded hash order
(``match_sample``): doc_matches holds a prefix of that order, so it is the same sample whatever
the partitioning, and all of a class's documents when it has fewer. The judge runs in Spark
Python workers (an RDD job of pair frames) and is loaded once per worker process (``_worker_judge``), so the
stage runs unchanged on a cluster; only the sampled pairs travel.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from classfreq.errors import UserError
from classfreq.pipelines.match_sample import first_per_class
from classfreq.pipelines.tables import with_relevance
from classfreq.relevance.estimate import DEFAULT_SAMPLE, DEFAULT_SEED, class_relevance

if TYPE_CHECKING:
    from classfreq.relevance.judge import Judge, Models

PAIRS_PER_TASK = 2000  # fewer, bigger tasks: every worker that gets one loads the judge once


@dataclass(frozen=True)
class RelevanceOptions:
    labelset: str                  # built-in name or label-set folder, as every worker loads it
    judge: str = "full"            # judge variant: full | fast
    sample: int = DEFAULT_SAMPLE   # documents judged per class
    seed: int = DEFAULT_SEED       # seed of the sampling order


@dataclass
class StageTiming:
    """What the last stage judged, for benchmarks and the run summary."""
    pairs: int = 0
    seconds: float = 0.0


LAST = StageTiming()


def judge_tables(spark, tables: dict[str, pd.DataFrame], options: RelevanceOptions) -> dict[str, pd.DataFrame]:
    """``tables`` with the relevance columns of class_counts and doc_matches filled."""
    counts, matches = judge_run_rows(spark, tables["class_counts"], tables.get("doc_matches"), options)
    return {**tables, "class_counts": counts, "doc_matches": matches}


def judge_run_rows(spark, class_counts: pd.DataFrame, doc_matches: pd.DataFrame | None,
                   options: RelevanceOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Judge the sample drawn from one run's doc_matches; returns its class_counts and doc_matches
    rows with the relevance columns."""
    if doc_matches is None:
        raise UserError("the relevance stage needs the run's matched documents (doc_matches), and this run kept none")
    threshold, calibration_var = judge_facts(options)
    pairs = sampled_pairs(doc_matches, options.sample, options.seed)
    pairs["p_relevant"] = score_in_spark(spark, pairs, options)
    pairs["relevant"] = pairs.p_relevant >= threshold
    per_class = class_relevance(pairs, class_counts[class_counts.role == "all"], calibration_var, options.judge)
    return with_relevance(class_counts, doc_matches, per_class, pairs)


def judge_facts(options: RelevanceOptions) -> tuple[float, float]:
    """The judge's threshold and its class-level calibration variance measured by grouped
    cross-validation. Loading it here (without its models) checks the label set and parameters
    before any Spark work."""
    from classfreq.relevance.judge import load_judge, read_params  # only with --relevance (a count imports this module)

    judge = load_judge(options.labelset, options.judge)
    return judge.threshold, float(read_params()["variants"][options.judge]["grouped_cv"]["class_calibration_var"])


def sampled_pairs(doc_matches: pd.DataFrame, sample: int, seed: int) -> pd.DataFrame:
    """The doc_matches rows (class_index, doc_id, form, text) of each class's first ``sample``
    documents in the seeded order."""
    docs = doc_matches[["class_index", "doc_id"]].drop_duplicates()
    chosen = first_per_class(docs, sample, seed, class_column="class_index")
    rows = doc_matches.merge(chosen, on=["class_index", "doc_id"])
    return rows[["class_index", "doc_id", "form", "text"]].reset_index(drop=True)


def score_in_spark(spark, pairs: pd.DataFrame, options: RelevanceOptions) -> np.ndarray:
    """p_relevant of each pair (text, class_index, form), judged in Spark Python workers."""
    started = time.monotonic()
    if pairs.empty:
        return np.zeros(0)
    frame = pd.DataFrame({"pair": np.arange(len(pairs), dtype=np.int64), "doc_id": pairs.doc_id.astype(str),
                          "text": pairs.text.fillna("").astype(str),
                          "class_index": pairs.class_index.astype("int64"), "form": pairs.form.astype(str)})
    tasks = max(1, min(spark.sparkContext.defaultParallelism, math.ceil(len(frame) / PAIRS_PER_TASK)))
    threads = int(spark.conf.get("spark.task.cpus", "1"))
    score = partial(score_frames, labelset=options.labelset, variant=options.judge, threads=threads)
    # an RDD job of one frame per task, a caption's pairs in one frame (it is parsed once): no query
    # to plan, code-generate and shuffle (about 2 JVM CPU-seconds, as in ``partials``)
    task = pd.util.hash_pandas_object(frame.doc_id, index=False).to_numpy() % tasks
    frames = [part for t in range(tasks) if len(part := frame[task == t])]
    scored = pd.concat(spark.sparkContext.parallelize(frames, len(frames)).mapPartitions(score).collect())
    p = scored.set_index("pair").p_relevant.reindex(frame.pair).to_numpy()
    LAST.pairs, LAST.seconds = len(frame), time.monotonic() - started
    return p


def score_frames(frames, labelset: str, variant: str, threads: int):
    """mapPartitions body: (pair, p_relevant) for each frame of pairs."""
    judge = _worker_judge(labelset, variant, threads)
    for f in frames:
        p = judge.score(f.text.tolist(), f.class_index.tolist(), f.form.tolist())
        yield pd.DataFrame({"pair": f.pair.to_numpy(), "p_relevant": np.asarray(p, dtype=np.float64)})


_MODELS: dict[int, Models] = {}
_JUDGES: dict[tuple[str, str], Judge] = {}


def _worker_judge(labelset: str, variant: str, threads: int) -> Judge:
    """One judge per Python worker process and (label set, variant); the models behind it (spaCy,
    MiniLM) are shared by all label sets and loaded on first use."""
    from classfreq.relevance.judge import Models, load_judge

    key = (labelset, variant)
    if key not in _JUDGES:
        models = _MODELS.setdefault(threads, Models(threads))
        _JUDGES[key] = load_judge(labelset, variant, models=models)
    return _JUDGES[key]
