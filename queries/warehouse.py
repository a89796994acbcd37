"""The DuckDB warehouse: open it with its schema, replace a slice of a table atomically, record runs.

Every writer (the counter, the evaluator, importers) goes through `replace_rows`, so re-running a
source or a model replaces exactly its own rows in one transaction and a killed run leaves the
previous rows intact.
"""
from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from classfreq import __version__
from classfreq.errors import UserError

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
DEFAULT_WAREHOUSE = "warehouse/classfreq.duckdb"
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")  # DuckDB's "Conflicting lock is held in /usr/bin/python (PID 123) by user ..."
_RETRY_EVERY = 0.2  # seconds between tries while waiting for a lock
WAIT_HINT = "let it finish, or pass --wait-lock SECONDS to wait for it"


def connect(path: str | Path = DEFAULT_WAREHOUSE, read_only: bool = False, wait: float = 0) -> duckdb.DuckDBPyConnection:
    """Open (creating when missing) the warehouse file and make sure every table exists.

    While another process holds the file, retry for up to ``wait`` seconds; then, or when the file
    is not a DuckDB database, raise a UserError of one sentence."""
    path = Path(path)
    if read_only:
        if not path.exists():
            raise UserError(f"warehouse {path} does not exist; run the counter or an import first, or pass --warehouse")
        return open_database(path, read_only=True, wait=wait)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = open_database(path, wait=wait)
    con.execute(SCHEMA_SQL.read_text())
    return con


def open_database(path: Path, read_only: bool = False, wait: float = 0, hint: str = "let it finish first",
                  deadline: float | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with its file errors turned into one sentence, retried while the file is
    locked for ``wait`` seconds (or until the ``time.monotonic()`` ``deadline``); ``hint`` ends the
    sentence when the lock does not go away."""
    deadline = time.monotonic() + wait if deadline is None else deadline
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            holder = _LOCK_HOLDER.search(str(exc))
            if holder is None:
                raise UserError(f"warehouse {path} cannot be opened as a DuckDB database: {_first_line(exc)}") from None
            if time.monotonic() >= deadline:
                raise UserError(_busy(path, holder.group(1), wait, hint)) from None
            time.sleep(_RETRY_EVERY)


@contextmanager
def writer_lock(path: str | Path, wait: float = 0) -> Iterator[None]:
    """Hold the warehouse for one writing job from its start to its end.

    DuckDB locks its file only while a connection is open, and a job opens it only to write its
    rows at the end, so two jobs (or a job and another program holding the file) would collide
    only after all their work. This takes an exclusive lock on the side file ``PATH.lock``, which
    records the holder's PID, and checks that the database itself opens for writing now; both
    wait up to ``wait`` seconds. Raises UserError naming the holder."""
    path = Path(path)
    deadline = time.monotonic() + wait
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        side = open(f"{path}.lock", "a+")  # noqa: SIM115  (held open until the job ends)
    except OSError as exc:
        raise UserError(f"--warehouse {path} cannot be written here ({exc.strerror or exc})") from None
    with side:
        while not _try_flock(side):
            if time.monotonic() >= deadline:
                side.seek(0)
                raise UserError(_busy(path, side.read().strip() or "unknown", wait, WAIT_HINT))
            time.sleep(_RETRY_EVERY)
        side.seek(0)
        side.truncate()
        side.write(str(os.getpid()))
        side.flush()
        if path.exists():
            open_database(path, wait=wait, hint=WAIT_HINT, deadline=deadline).close()
        yield


def _try_flock(f) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _busy(path: Path, pid: str, wait: float, hint: str) -> str:
    waited = f" after waiting {wait:g} s" if wait else ""
    return f"warehouse {path} is in use by another process (PID {pid}){waited}; {hint}"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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


def replace_tables(con: duckdb.DuckDBPyConnection, slices: list[tuple],
                   before_commit: Callable[[], None] | None = None) -> list[int]:
    """`replace_rows` for several tables at once, all in ONE transaction: a run that writes
    counts, class counts, source stats and its `runs` row is either wholly in the warehouse or
    not at all. Each slice is (table, rows, where) or (table, rows, where, parquet).
    ``before_commit`` is called with every row in place, just before COMMIT (a test hook)."""
    views: list[str] = []  # DataFrames registered for the inserts, dropped once the transaction has ended
    con.execute("BEGIN TRANSACTION")
    try:
        inserted = [_delete_insert(con, views, *s) for s in slices]
        if before_commit is not None:
            before_commit()
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
    row = run_row(run_id, kind, started, inputs, options, labelset, labelset_version, finished)
    replace_rows(con, "runs", row, {"run_id": run_id})


def run_row(run_id: str, kind: str, started: _dt.datetime, inputs, options, labelset: str | None = None,
            labelset_version: str | None = None, finished: _dt.datetime | None = None,
            phase_seconds: dict | None = None) -> pd.DataFrame:
    """The `runs` row of one run, for a caller that writes it in the same transaction as its data."""
    return pd.DataFrame([{
        "run_id": run_id, "kind": kind, "started": started, "finished": finished or utcnow(),
        "inputs": json.dumps(inputs, sort_keys=True, default=str),
        "options": json.dumps(options, sort_keys=True, default=str),
        "code_version": f"classfreq {__version__}", "labelset": labelset,
        "labelset_version": labelset_version,
        "phase_seconds": None if phase_seconds is None else json.dumps(phase_seconds),
    }])


def set_phase_seconds(con: duckdb.DuckDBPyConnection, run_id: str, phase_seconds: dict) -> None:
    """The run's seconds per phase, completed after its commit (the commit's own time included)."""
    con.execute("UPDATE runs SET phase_seconds = ? WHERE run_id = ?", [json.dumps(phase_seconds), run_id])


def has_run(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether the run committed (its `runs` row is written in the same transaction as its rows)."""
    return con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0] > 0


def utcnow() -> _dt.datetime:
    """Naive UTC timestamp, the form the `runs` table stores."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _sql_str(s: str) -> str:
    return s.replace("'", "''")
