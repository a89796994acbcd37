"""Killed runs (issue 11): a `classfreq count` killed with SIGKILL at any phase leaves the Parquet
folders and the warehouse agreeing on one run per source: the previous run everywhere, or the new
one everywhere, and never count rows without their `runs` row. A real subprocess is stopped at a
named checkpoint (``phases.checkpoint``: the CLASSFREQ_STOP_AT hook), then killed with its JVM and
Python workers; the next run's first step (``journal.settle_killed_runs``) settles what it left."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pipeline_support import count

from classfreq.pipelines.journal import TMP, settle_killed_runs
from classfreq.pipelines.outputs import TABLES, CountKey, partition_dir
from classfreq.pipelines.phases import STOP_AT_ENV, STOP_FILE_ENV

SOURCE = "killed"
KEY = CountKey(source=SOURCE, mode="default", labelset="imagenet1k")
WRITTEN = ("counts", "class_counts", "source_stats", "quarantine", "doc_matches")
# every checkpoint of a run that keeps doc matches, in the order the run passes them
BEFORE_COMMIT = ["labelset", "listing", "session", "reading", "count", "collecting",
                 *(f"parquet:{t}" for t in WRITTEN), "warehouse", "warehouse:commit"]
AFTER_COMMIT = ["publish", *(f"publish:{t}" for t in TABLES), "publish:class_counts:moved-aside"]


@pytest.fixture(scope="module")
def previous_run(shared, tmp_path_factory):
    """A folder with --out and a warehouse holding one finished run (without doc matches), and
    the captions of the next run."""
    base = tmp_path_factory.mktemp("killed_runs")
    lines = (shared / "captions/cc3m_val/Validation_GCC-1.1.0-Validation.tsv").read_text(encoding="utf-8").splitlines()
    old, new = base / "old.tsv", base / "new.tsv"
    old.write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    new.write_text("\n".join(lines[200:500]) + "\n", encoding="utf-8")
    res = count(base, old, SOURCE, warehouse=base / "wh.duckdb", out=base / "out")
    return base, res.run_id, new


def run_ids(out: Path, con) -> dict[str, tuple[set, set]]:
    """Per table: (run ids in its Parquet folder, run ids of the source's warehouse rows)."""
    found = {}
    for table in TABLES:
        folder = partition_dir(str(out), table, KEY)
        parquet = set(pq.read_table(folder).column("run_id").to_pylist()) if os.path.isdir(folder) else set()
        rows = con.execute(f"SELECT DISTINCT run_id FROM {table} WHERE source = ?", [SOURCE]).fetchall()
        found[table] = (parquet, {r[0] for r in rows})
    return found


def orphan_rows(con) -> int:
    """Count rows whose run has no `runs` row."""
    return sum(con.execute(f"SELECT count(*) FROM {t} WHERE run_id NOT IN (SELECT run_id FROM runs)").fetchone()[0]
               for t in TABLES)


def start_and_kill_at(checkpoint: str, work: Path, new_input: Path) -> None:
    """`classfreq count` in its own process group, stopped at ``checkpoint``, then SIGKILLed
    with everything it started (JVM, Python workers)."""
    kill_at(checkpoint, work, ["count", "--input", str(new_input), "--source", SOURCE, "--format", "cc3m",
                               "--max-matches-per-class", "2", "--out", str(work / "out"),
                               "--warehouse", str(work / "wh.duckdb"), "--progress-interval", "0"])


def kill_at(checkpoint: str, work: Path, argv: list[str]) -> None:
    """`classfreq ARGV` in its own process group, stopped at ``checkpoint``, then SIGKILLed with
    everything it started."""
    marker = work / "stopped"
    env = {**os.environ, STOP_AT_ENV: checkpoint, STOP_FILE_ENV: str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "classfreq.cli", *argv],
                            env=env, cwd=work, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert proc.poll() is None, f"the run ended before {checkpoint}: {proc.stdout.read().decode()[-3000:]}"
            assert time.monotonic() < deadline, f"the run never reached {checkpoint}"
            time.sleep(0.1)
        assert marker.read_text().split() == [str(proc.pid), checkpoint]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", BEFORE_COMMIT + AFTER_COMMIT)
def test_a_run_killed_at_any_phase_leaves_one_run_everywhere(previous_run, tmp_path, checkpoint):
    base, old_run, new_input = previous_run
    shutil.copytree(base / "out", tmp_path / "out")
    shutil.copy(base / "wh.duckdb", tmp_path / "wh.duckdb")
    start_and_kill_at(checkpoint, tmp_path, new_input)

    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        assert orphan_rows(con) == 0
        in_warehouse = {t: rows for t, (_, rows) in run_ids(tmp_path / "out", con).items()}
    finally:
        con.close()
    # the warehouse alone: the whole new run (with its doc matches), or the whole previous one
    runs = set().union(*in_warehouse.values())
    assert len(runs) == 1, in_warehouse
    committed = runs != {old_run}
    assert committed == (checkpoint in AFTER_COMMIT), checkpoint
    assert bool(in_warehouse["doc_matches"]) == committed

    # the next run's first step settles what the killed one left under --out
    settle_killed_runs(str(tmp_path / "out"), str(tmp_path / "wh.duckdb"))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        for table, (parquet, rows) in run_ids(tmp_path / "out", con).items():
            assert parquet == rows, (table, parquet, rows)
    finally:
        con.close()
    assert not (tmp_path / "out" / TMP).exists()
    assert not [p for p in (tmp_path / "out").rglob("*") if "_staging" in p.name]


def test_a_failed_run_leaves_nothing_staged(tmp_path):
    """A run that stops with an error before its commit removes what it staged and its journal."""
    from classfreq.errors import UserError
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n{\"text\": 3}\n")
    with pytest.raises(UserError, match="format is probably wrong"):
        count(tmp_path, bad, "bad", format="jsonl")
    assert not (tmp_path / "out" / TMP).exists()


@pytest.fixture(scope="module")
def kept_run(shared, tmp_path_factory):
    """A folder with --out and a warehouse holding one run that kept its matches, never judged."""
    base = tmp_path_factory.mktemp("killed_judge_runs")
    lines = (shared / "captions/cc3m_val/Validation_GCC-1.1.0-Validation.tsv").read_text(encoding="utf-8").splitlines()
    captions = base / "captions.tsv"
    captions.write_text("\n".join(lines[:300]) + "\n", encoding="utf-8")
    res = count(base, captions, SOURCE, warehouse=base / "wh.duckdb", out=base / "out", max_matches_per_class=3)
    return base, res.run_id


JUDGED = ("class_counts", "doc_matches")
JUDGE_BEFORE_COMMIT = ["parquet:doc_matches", "warehouse:commit"]
JUDGE_AFTER_COMMIT = ["publish:class_counts:moved-aside", "publish:doc_matches"]


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", JUDGE_BEFORE_COMMIT + JUDGE_AFTER_COMMIT)
def test_a_killed_judge_run_leaves_parquet_and_warehouse_agreeing(kept_run, tmp_path, checkpoint):
    """`classfreq relevance judge-run` killed anywhere: after the next run's first step, the Parquet
    and the warehouse hold the same verdicts (none before the commit, the new ones after it)."""
    base, run_id = kept_run
    shutil.copytree(base / "out", tmp_path / "out")
    shutil.copy(base / "wh.duckdb", tmp_path / "wh.duckdb")
    kill_at(checkpoint, tmp_path, ["relevance", "judge-run", "--run", run_id, "--judge", "lexical",
                                   "--warehouse", str(tmp_path / "wh.duckdb"), "--out", str(tmp_path / "out")])
    settle_killed_runs(str(tmp_path / "out"), str(tmp_path / "wh.duckdb"))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        rows = {t: con.execute(f"SELECT * EXCLUDE (source, mode, labelset) FROM {t}").fetchdf() for t in JUDGED}
        judge_runs = con.execute("SELECT count(*) FROM runs WHERE kind = 'judge'").fetchone()[0]
    finally:
        con.close()
    committed = checkpoint in JUDGE_AFTER_COMMIT
    assert judge_runs == int(committed) and rows["doc_matches"].p_relevant.notna().any() == committed
    for table, key in (("class_counts", ["role", "class_index"]), ("doc_matches", ["class_index", "doc_id", "form"])):
        parquet = pq.read_table(partition_dir(str(tmp_path / "out"), table, KEY)).to_pandas()
        unwritten = set(rows[table].columns) - set(parquet.columns)  # relevance columns the count left NULL
        assert not committed or not unwritten, (table, unwritten)
        assert rows[table][sorted(unwritten)].isna().all().all() and set(parquet.columns) <= set(rows[table].columns)
        pd.testing.assert_frame_equal(parquet.sort_values(key, ignore_index=True),
                                      rows[table][parquet.columns].sort_values(key, ignore_index=True),
                                      check_dtype=False)
    assert not (tmp_path / "out" / TMP).exists()
