"""The DuckDB warehouse: open it with its schema, replace a slice of a table atomically, record runs.

Every writer (the counter, the evaluator, importers) goes through `replace_rows`, so re-running a
source or a model replaces exactly its own rows in one transaction and a killed run leaves the
previous rows intact.
"""
from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from classfreq import __version__
from classfreq.errors import UserError

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
DEFAULT_WAREHOUSE = "warehouse/classfreq.duckdb"


def connect(path: str | Path = DEFAULT_WAREHOUSE, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating when missing) the warehouse file and make sure every table exists."""
    path = Path(path)
    if read_only:
        if not path.exists():
            raise UserError(f"warehouse {path} does not exist; run the counter or an import first, or pass --warehouse")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(SCHEMA_SQL.read_text())
    return con


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()
    return [r[0] for r in rows]


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame | None,
                 where: dict, parquet: str | Path | None = None) -> int:
    """Delete the rows of `table` whose columns equal `where`, insert `rows`, in one transaction.

    `rows` (a DataFrame) or `parquet` (a file, folder or glob that DuckDB's read_parquet reads)
    gives the new rows; columns are matched by name, missing ones are NULL. Returns rows inserted.
    """
    return replace_tables(con, [(table, rows, where, parquet)])[0]


def replace_tables(con: duckdb.DuckDBPyConnection, slices: list[tuple]) -> list[int]:
    """`replace_rows` for several tables at once, all in ONE transaction: a run that writes
    counts, class counts and source stats is either wholly in the warehouse or not at all.
    Each slice is (table, rows, where) or (table, rows, where, parquet)."""
    views: list[str] = []  # DataFrames registered for the inserts, dropped once the transaction has ended
    con.execute("BEGIN TRANSACTION")
    try:
        inserted = [_delete_insert(con, views, *s) for s in slices]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        # after the ROLLBACK: inside an aborted transaction unregister itself fails and hides the real error
        for name in views:
            con.unregister(name)
    return inserted


def _delete_insert(con, views: list[str], table: str, rows: pd.DataFrame | None, where: dict, parquet=None) -> int:
    cols = table_columns(con, table)
    if not cols:
        raise ValueError(f"unknown warehouse table {table!r}")
    unknown = set(where) - set(cols)
    if unknown:
        raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
    condition = " AND ".join(f'"{k}" IS NOT DISTINCT FROM ?' for k in where) or "TRUE"
    con.execute(f"DELETE FROM {table} WHERE {condition}", list(where.values()))
    if parquet is not None:
        src = f"read_parquet('{_sql_str(str(parquet))}', union_by_name = true)"
        present = list(con.execute(f"SELECT * FROM {src} LIMIT 0").fetchdf().columns)
    elif rows is not None:
        if rows.empty and not len(rows.columns):
            return 0
        src, present = f"_classfreq_new_rows_{len(views)}", list(rows.columns)
        con.register(src, rows)
        views.append(src)
    else:
        return 0
    return _insert_by_name(con, table, src, [c for c in present if c in cols])


def _insert_by_name(con, table: str, src: str, columns: list[str]) -> int:
    """Insert the named columns of `src` into the same-named columns of `table` (the others NULL);
    columns of `src` that the table lacks are not selected. Returns the rows inserted."""
    if not columns:
        raise ValueError(f"the new rows for {table} share no column with it")
    select = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"INSERT INTO {table} BY NAME SELECT {select} FROM {src}").fetchone()[0]


def new_run_id(kind: str) -> str:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{uuid.uuid4().hex[:8]}"


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, started: _dt.datetime,
               inputs, options, labelset: str | None = None, labelset_version: str | None = None,
               finished: _dt.datetime | None = None) -> None:
    """Write the provenance row of one run (inputs and options as JSON)."""
    row = pd.DataFrame([{
        "run_id": run_id, "kind": kind, "started": started,
        "finished": finished or _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None),
        "inputs": json.dumps(inputs, sort_keys=True, default=str),
        "options": json.dumps(options, sort_keys=True, default=str),
        "code_version": f"classfreq {__version__}", "labelset": labelset,
        "labelset_version": labelset_version,
    }])
    replace_rows(con, "runs", row, {"run_id": run_id})


def utcnow() -> _dt.datetime:
    """Naive UTC timestamp, the form the `runs` table stores."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _sql_str(s: str) -> str:
    return s.replace("'", "''")
