"""--sample and --dedup: which documents are counted.

Sampling keeps a document when a hash of its id (or text) and the seed falls under the fraction:
deterministic, and the same whatever the partitioning or master (Spark's sample() is not).
Estimates scale counts by 1/fraction with exact binomial (Clopper-Pearson) 95% intervals.
"""
from __future__ import annotations

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

_MOD = 1_000_000_007


def sample_documents(docs: DataFrame, fraction: float, seed: int) -> DataFrame:
    """The documents whose hash falls under ``fraction`` (in (0, 1], checked by CountConfig)."""
    key = F.coalesce(F.col("doc_id"), F.col("text"), F.col("parts"), F.col("example"))
    u = F.pmod(F.xxhash64(key, F.lit(int(seed))), F.lit(_MOD)) / F.lit(float(_MOD))
    return docs.where(u < F.lit(fraction))


DEDUP_KEYS = ("id", "url", "text")


def dedup_documents(docs: DataFrame, by: str) -> DataFrame:
    """Keep one document per key (the one with the smallest text, so runs are reproducible);
    quarantined records and documents without a key are never merged. ``by``: one of DEDUP_KEYS."""
    text_key = F.coalesce(F.col("text"), F.col("parts"))
    key = {"id": F.col("doc_id"), "url": F.col("url"), "text": text_key}[by]
    keyed = docs.withColumn("_key", key)
    pool = keyed.where(F.col("reason").isNull() & F.col("_key").isNotNull())
    rest = keyed.where(F.col("reason").isNotNull() | F.col("_key").isNull()).drop("_key")
    w = Window.partitionBy("_key").orderBy(text_key.asc_nulls_first(), F.col("doc_id").asc_nulls_first(),
                                           F.col("url").asc_nulls_first(), F.col("file"))
    kept = pool.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") == 1).drop("_rank", "_key")
    return kept.unionByName(rest)


def binomial_interval(k: np.ndarray, n: int, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval for proportions k/n."""
    from scipy.stats import beta  # imported here: scipy costs seconds at start-up

    k = np.asarray(k, dtype=float)
    a = (1 - level) / 2
    if n <= 0:
        return np.zeros_like(k), np.ones_like(k)
    lo = np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0)
    return np.nan_to_num(lo), np.nan_to_num(hi, nan=1.0)


def estimates(docs: np.ndarray, n_counted: int, fraction: float):
    """(docs_est, lo, hi): class documents in the whole source, from a sample of n_counted docs."""
    docs = np.asarray(docs, dtype=float)
    if fraction >= 1:
        return docs, docs.copy(), docs.copy()
    total = n_counted / fraction
    lo, hi = binomial_interval(docs, n_counted)
    return docs / fraction, lo * total, hi * total
