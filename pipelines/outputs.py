"""Write a run's tables: Parquet under --out (one folder per source, mode and label set; staged,
then moved into place after the warehouse commit, see ``journal``) and the DuckDB warehouse (delete
+ insert of that source/mode/label set's rows and the ``runs`` row in one transaction)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, fields

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from classfreq.pipelines.input_files import hadoop_fs, is_local
from classfreq.pipelines.journal import Journal, publish
from classfreq.pipelines.phases import checkpoint
from classfreq.queries.warehouse import replace_tables

TABLES = ("counts", "class_counts", "source_stats", "quarantine", "doc_matches")


@dataclass(frozen=True)
class CountKey:
    """What a run replaces: its rows in every table and its Parquet partition folders. Every row
    of a run carries these columns (plus run_id and the label-set version)."""
    source: str
    mode: str       # default | nested | paper
    labelset: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


PARTITION_KEYS = tuple(f.name for f in fields(CountKey))


def partition_dir(out: str, table: str, key: CountKey) -> str:
    return "/".join([out.rstrip("/"), table, *(f"{k}={v}" for k, v in key.as_dict().items())])


def write_parquet(spark, folder: str, df: pd.DataFrame) -> None:
    """Write ``df`` as one Parquet file into the new folder ``folder`` (partition columns dropped:
    they live in the published path, hive style). pyarrow writes it: for tables of a few thousand
    rows a Spark write job costs more than the data, and Spark cannot infer a schema for an empty
    table (a clean source has no quarantine rows)."""
    table = pa.Table.from_pandas(df.drop(columns=[c for c in PARTITION_KEYS if c in df.columns]),
                                 preserve_index=False)
    if is_local(folder):
        os.makedirs(folder, exist_ok=True)
        pq.write_table(table, f"{folder}/part-00000.parquet")
        return
    # a Hadoop URI (s3a://, hdfs://): written locally, copied by Hadoop's FileSystem
    fs, target = hadoop_fs(spark, folder)
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path
    with tempfile.TemporaryDirectory() as local:
        part = os.path.join(local, "part-00000.parquet")
        pq.write_table(table, part)
        fs.mkdirs(target)
        fs.copyFromLocalFile(False, True, path("file://" + part), path(f"{folder}/part-00000.parquet"))


@contextmanager
def checkpointed(name: str):
    """A phase that is only a checkpoint (``phases.Phases`` also times it)."""
    checkpoint(name)
    yield


def stage_tables(spark, journal: Journal, tables: dict[str, pd.DataFrame], moves: dict[str, str],
                 phases: Callable[[str], AbstractContextManager] = checkpointed) -> None:
    """Steps 1-2 of ``journal``: write ``tables`` under the run's staging folder (phase
    ``parquet:TABLE`` each), then record in the journal the published folders (``moves``) that the
    commit will replace (a folder in ``moves`` without a staged table is removed)."""
    for table, df in tables.items():
        with phases(f"parquet:{table}"):
            write_parquet(spark, journal.staged(table), df)
    journal.moves, journal.written = dict(moves), list(tables)
    if is_local(journal.out):
        journal.save()


def publish_staged(spark, journal: Journal) -> None:
    """Step 4 of ``journal`` (after the warehouse commit): move the staged tables into place."""
    if is_local(journal.out):
        publish(journal)
    else:
        publish_uri(spark, journal.moves, {t: journal.staged(t) for t in journal.written})


def published_run_ids(spark, folder: str) -> set[str] | None:
    """The run ids in a published table folder; None when there is no such folder."""
    if is_local(folder):
        return set(pq.read_table(folder, columns=["run_id"]).column("run_id").to_pylist()) \
            if os.path.isdir(folder) else None
    fs, target = hadoop_fs(spark, folder)
    if not fs.exists(target):
        return None
    return {r.run_id for r in spark.read.parquet(folder).select("run_id").distinct().collect()}


def publish_uri(spark, moves: dict[str, str], staged: dict[str, str]) -> None:
    """``journal.publish`` for an --out URI: replace each published folder by its staged one."""
    for table, target in moves.items():
        fs, jt = hadoop_fs(spark, target)
        if fs.exists(jt):
            fs.delete(jt, True)
        if table in staged:
            fs.mkdirs(jt.getParent())
            fs.rename(spark.sparkContext._jvm.org.apache.hadoop.fs.Path(staged[table]), jt)



def write_warehouse(con, tables: dict[str, pd.DataFrame], key: CountKey, run: pd.DataFrame) -> None:
    """The run's rows and its ``runs`` row (``warehouse.run_row``) in one transaction: the run's
    commit point. A table this run did not produce still loses the previous run's rows for this key."""
    slices = [(table, tables.get(table), key.as_dict()) for table in TABLES]
    replace_tables(con, [*slices, ("runs", run, {"run_id": run.run_id.iloc[0]})],
                   before_commit=lambda: checkpoint("warehouse:commit"))
