"""The README's DuckDB CLI route, run as written: `duckdb warehouse/classfreq.duckdb`, then
`SET VARIABLE ...; .read queries/tail_classes.sql`. The CLI must come with `make setup` (the
duckdb-cli package, on the venv's PATH) and read the file the Python library wrote."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import _reports_warehouse as W
import duckdb
import pytest

from classfreq.queries.runner import run_query

ROOT = Path(__file__).resolve().parents[1]
LAION_KEY = "imported:bethgelab:laion400m:lemmatized"


def duckdb_cli() -> str:
    """The CLI the venv installs next to its python (bin/duckdb), else the one on PATH."""
    here = Path(sys.executable).with_name("duckdb")
    found = str(here) if here.exists() else shutil.which("duckdb")
    if found is None:
        pytest.fail("no duckdb command: pyproject's duckdb-cli dependency should put one in the venv's bin")
    return found


@pytest.fixture(scope="module")
def warehouse(shared, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "classfreq.duckdb"
    W.build(path, shared).close()
    return path


def run_cli(warehouse: Path, script: str) -> subprocess.CompletedProcess:
    # stdin, as a user types it after `duckdb warehouse/classfreq.duckdb`; cwd is the checkout so
    # `.read queries/...` is the README's relative path
    return subprocess.run([duckdb_cli(), "-csv", str(warehouse)], input=script, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_and_library_are_the_same_release():
    out = subprocess.run([duckdb_cli(), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert re.search(rf"\bv?{re.escape(duckdb.__version__)}\b", out), (out, duckdb.__version__)


def test_readme_commands_run_tail_classes_unchanged(warehouse):
    readme = (ROOT / "README.md").read_text()
    assert (f"    .venv/bin/duckdb warehouse/classfreq.duckdb          # `duckdb` with the venv activated\n"
            f"    SET VARIABLE count_key = '{LAION_KEY}';\n    .read queries/tail_classes.sql") in readme
    done = run_cli(warehouse, f"SET VARIABLE count_key = '{LAION_KEY}';\n.read queries/tail_classes.sql\n")
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        expected = run_query(con, "tail_classes", {"count_key": LAION_KEY})
    finally:
        con.close()
    assert len(rows) == len(expected) > 0
    assert {r["count_key"] for r in rows} == {LAION_KEY}
    assert [int(r["class_index"]) for r in rows] == expected["class_index"].astype(int).tolist()
    assert [float(r["docs_est"]) for r in rows] == pytest.approx(expected["docs_est"].astype(float).tolist())


def test_cli_reads_with_defaults_and_a_numeric_variable(warehouse):
    """Unset parameters mean "all"; a numeric one narrows the tail, as the header says."""
    everything = run_cli(warehouse, ".read queries/tail_classes.sql\n")
    narrow = run_cli(warehouse, f"SET VARIABLE count_key = '{LAION_KEY}';\nSET VARIABLE max_docs = 0;\n"
                                "SET VARIABLE quantile = 0;\n.read queries/tail_classes.sql\n")
    assert everything.returncode == 0 and narrow.returncode == 0, everything.stderr + narrow.stderr
    keys = {r["count_key"] for r in csv.DictReader(io.StringIO(everything.stdout))}
    assert {LAION_KEY, "imported:bethgelab:cc3m:lemmatized"} <= keys
    zero = list(csv.DictReader(io.StringIO(narrow.stdout)))
    assert all(float(r["docs_est"]) == 0 for r in zero)
