"""Write a run's tables: Parquet under --out (one folder per source, mode and label set, written
to a temporary folder then renamed into place) and the DuckDB warehouse (delete + insert of that
source/mode/label set's rows in one transaction, so a killed run leaves the previous rows)."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass, fields

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from classfreq.pipelines.input_files import is_local
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


def write_parquet(spark, out: str, table: str, df: pd.DataFrame, key: CountKey) -> str:
    """Replace one partition folder with `df` (partition columns live in the path, hive style)."""
    target = partition_dir(out, table, key)
    data = df.drop(columns=[c for c in PARTITION_KEYS if c in df.columns])
    if is_local(out):
        tmp = f"{out.rstrip('/')}/_tmp/{table}-{uuid.uuid4().hex}"
        os.makedirs(tmp, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), f"{tmp}/part-00000.parquet")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        old = None
        if os.path.exists(target):
            old = f"{tmp}.old"
            os.replace(target, old)
        os.replace(tmp, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return target
    # a Hadoop URI (s3a://, hdfs://): the same file as above, written locally by pyarrow and copied
    # by Hadoop's FileSystem (Spark cannot infer a schema for an empty table, e.g. no quarantine)
    tmp = f"{out.rstrip('/')}/_tmp/{table}-{uuid.uuid4().hex}"
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    jt, jtmp = jvm.org.apache.hadoop.fs.Path(target), jvm.org.apache.hadoop.fs.Path(tmp)
    fs = jt.getFileSystem(conf)
    with tempfile.TemporaryDirectory() as local:
        part = os.path.join(local, "part-00000.parquet")
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), part)
        fs.mkdirs(jtmp)
        fs.copyFromLocalFile(False, True, jvm.org.apache.hadoop.fs.Path("file://" + part),
                             jvm.org.apache.hadoop.fs.Path(f"{tmp}/part-00000.parquet"))
    if fs.exists(jt):
        fs.delete(jt, True)
    fs.mkdirs(jt.getParent())
    fs.rename(jtmp, jt)
    return target


def remove_stale_parquet(out: str, tables: dict, key: CountKey) -> None:
    """A rerun that does not write a table (no --max-matches-per-class: no doc_matches) still
    replaces that source's rows: the previous run's folder goes."""
    for table in TABLES:
        target = partition_dir(out, table, key)
        if table not in tables and is_local(out) and os.path.isdir(target):
            shutil.rmtree(target, ignore_errors=True)


def write_warehouse(con, tables: dict[str, pd.DataFrame], key: CountKey) -> None:
    # one transaction for all tables; a table this run did not produce still loses the previous
    # run's rows for this key
    replace_tables(con, [(table, tables.get(table), key.as_dict()) for table in TABLES])
