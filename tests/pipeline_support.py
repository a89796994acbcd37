"""Helpers for the counting pipeline's tests (test_pipeline*.py): one local[2] SparkSession per
test session, the label set, and a function that runs the job in-process."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
_SPARK = None
_LABELSET = {}
KEY_COLUMNS = {"counts": ["role", "class_index", "form"], "class_counts": ["role", "class_index"]}


def spark_session():
    global _SPARK
    if _SPARK is None:
        from classfreq.pipelines.spark_session import get_spark
        _SPARK = get_spark("local[2]", app_name="classfreq-tests", shuffle_partitions=2,
                           conf={"spark.default.parallelism": "2", "spark.sql.adaptive.enabled": "false"})
    return _SPARK


def labelset(name: str = "imagenet1k"):
    if name not in _LABELSET:
        from classfreq.synsets import load_labelset
        _LABELSET[name] = load_labelset(name)
    return _LABELSET[name]


def count(tmp_path: Path, inputs, source: str, warehouse: Path | None = None, out: Path | str | None = None,
          **options):
    """Run the counting job in-process (same code as spark-submit) and return its RunResult;
    ``options`` are CountConfig fields (``max_matches_per_class=3``, ``format="cc3m"``...)."""
    from classfreq.pipelines.config import CountConfig
    from classfreq.pipelines.count_classes import run
    inputs = (inputs,) if isinstance(inputs, (str, Path)) else tuple(inputs)
    config = CountConfig(inputs=inputs, source=source, out=out or tmp_path / "out",
                         warehouse=warehouse or tmp_path / "wh.duckdb", progress_interval=0, **options)
    return run(config, spark_session())


def comparable(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """A count table without run-specific columns, sorted by its key."""
    keys = KEY_COLUMNS[table]
    return df.drop(columns=["run_id"]).sort_values(keys, ignore_index=True)


def stats(res) -> dict:
    return res.tables["source_stats"].iloc[0].to_dict()


def class_docs(res, role: str = "all") -> dict:
    c = res.tables["class_counts"]
    c = c[(c.role == role) & (c.docs > 0)]
    return dict(zip(c.class_index.astype(int), c.docs.astype(int)))


def assert_invariant(res) -> None:
    s = stats(res)
    assert s["docs_read"] == s["docs_matched"] + s["docs_unmatched"] + s["docs_quarantined"], s
    q = res.tables["quarantine"]
    assert int(q.n.sum()) == s["docs_quarantined"]
    c = res.tables["class_counts"]
    assert (c.docs <= s["docs_matched"]).all()
    assert (c.docs_clean <= c.docs).all()

