"""The seeded uniform sample of a class's matched documents kept in doc_matches (and judged by the
relevance stage): per class, the documents first in the hash order of
``relevance.estimate.sample_key(doc_id, seed)``, ties broken by doc id. The order depends only on
the seed and the doc ids, so the sample is the same however the documents are partitioned: each
Spark task keeps its batch's first N per class, and the driver's pick of the first N of those is
the first N overall.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from classfreq.relevance.estimate import sample_key

_SIGN = 1 << 63


def sample_keys(doc_ids, seed: int) -> np.ndarray:
    """``sample_key`` of each doc id as a signed 64-bit integer (same order; Spark has no unsigned long)."""
    return np.fromiter((sample_key(d, seed) - _SIGN for d in doc_ids), dtype=np.int64, count=len(doc_ids))


def first_per_class(docs: pd.DataFrame, size: int, seed: int, class_column: str = "idx") -> pd.DataFrame:
    """The rows of the first ``size`` documents per class in the seeded order; ``docs`` has one
    row per (class, doc_id)."""
    ordered = docs.assign(_key=sample_keys(docs.doc_id.tolist(), seed)).sort_values([class_column, "_key", "doc_id"])
    return ordered.groupby(class_column, sort=False).head(size).drop(columns="_key")


def first_per_class_in_spark(per_doc, size: int, seed: int):
    """The same pick on a Spark DataFrame of distinct (idx, doc_id) rows: (idx, doc_id) of the
    first ``size`` documents per class."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def keys(doc_ids: pd.Series) -> pd.Series:
        return pd.Series(sample_keys(doc_ids.tolist(), seed))

    key = F.pandas_udf(keys, "long")
    order = Window.partitionBy("idx").orderBy("_key", "doc_id")
    return (per_doc.withColumn("_key", key("doc_id"))
            .withColumn("_rank", F.row_number().over(order))
            .where(F.col("_rank") <= int(size))
            .select("idx", "doc_id"))
