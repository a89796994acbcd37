"""Errors a user can read (issue 11): every bad argument or path is refused with one sentence and
exit code 2 before any data is read; a warehouse held by another process is refused at the start,
naming the holder's PID (or waited for with --wait-lock); and a run in which no record could be
read says the --format is probably wrong instead of writing zeros."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from pipeline_support import count, stats

from classfreq.errors import UserError
from classfreq.queries.warehouse import writer_lock

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "classfreq count: error: "


def count_without_java(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """`classfreq count` in a subprocess whose JAVA_HOME points nowhere: Spark cannot start there,
    so a refusal with our one sentence proves it came before Spark (and before any data)."""
    captions = tmp_path / "captions.tsv"
    captions.write_text("a goldfish in a bowl\thttp://x/1\na tabby cat\thttp://x/2\n")
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    return subprocess.run([sys.executable, "-m", "classfreq.cli", "count", "--input", str(captions), "--source", "s",
                           "--progress-interval", "0", *argv], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)


def assert_one_sentence(done: subprocess.CompletedProcess, *needles: str) -> str:
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr and len(err.splitlines()) == 1 and err.startswith(PREFIX), err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture
def text_file(tmp_path) -> Path:
    f = tmp_path / "notes.txt"
    f.write_text("not a folder and not a database\n")
    return f


@pytest.mark.parametrize("option,value,needles", [
    ("--out", "{file}/out", ["--out {file}/out is under {file}, which is a file, not a folder"]),
    ("--out", "{file}", ["--out {file} is a file, not a folder"]),
    ("--staging", "{file}/stage", ["--staging {file}/stage is under {file}, which is a file"]),
    ("--warehouse", "{file}", ["warehouse {file} cannot be opened as a DuckDB database"]),
    ("--warehouse", "{tmp}", ["--warehouse {tmp} is a folder; give a file in it, such as {tmp}/classfreq.duckdb"]),
    ("--warehouse", "{file}/wh.duckdb", ["--warehouse {file}/wh.duckdb is under {file}, which is a file"]),
    ("--partitions", "-3", ["--partitions must be 0 or more, got -3"]),
    ("--shuffle-partitions", "0", ["--shuffle-partitions must be at least 1, got 0"]),
    ("--wait-lock", "-1", ["--wait-lock must be 0 or more, got -1.0"]),
])
def test_bad_argument_is_one_sentence_before_spark(tmp_path, text_file, option, value, needles):
    fill = {"file": text_file, "tmp": tmp_path}
    extra = [] if option in ("--out", "--staging") else ["--out", str(tmp_path / "out")]
    done = count_without_java(tmp_path, option, value.format(**fill), *extra,
                              *([] if option == "--warehouse" else ["--warehouse", str(tmp_path / "wh.duckdb")]))
    assert_one_sentence(done, *(n.format(**fill) for n in needles))
    assert text_file.read_text() == "not a folder and not a database\n"  # refused, not overwritten


def test_unwritable_out_is_one_sentence(tmp_path):
    """A folder this process cannot write: read-only for a normal user; under /sys (a kernel file
    system) for root, whom permission bits do not stop."""
    if os.geteuid() == 0:
        target = "/sys/classfreq-out"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        target = str(locked / "out")
    done = count_without_java(tmp_path, "--out", target, "--warehouse", str(tmp_path / "wh.duckdb"))
    assert_one_sentence(done, f"--out {target} is not a folder this process can write (")


def hold(path: Path, code: str) -> subprocess.Popen:
    """A second process that holds ``path`` (how: ``code``) until killed; returns once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding", "the holder process did not start"
    return proc


DUCKDB_WRITER = ("import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1])\ncon.execute('CREATE TABLE IF NOT "
                 "EXISTS held (x INT)')\nprint('holding', flush=True)\ntime.sleep(float(sys.argv[2]) if len(sys.argv) "
                 "> 2 else 300)\n")
CLASSFREQ_RUN = ("import sys, time\nfrom classfreq.queries.warehouse import writer_lock\nwith writer_lock(sys.argv[1]):\n"
                 "    print('holding', flush=True)\n    time.sleep(300)\n")


@pytest.mark.parametrize("holder_code", [DUCKDB_WRITER, CLASSFREQ_RUN], ids=["duckdb-writer", "another-count"])
def test_held_warehouse_is_refused_at_the_start_naming_the_pid(tmp_path, holder_code):
    wh = tmp_path / "wh.duckdb"
    holder = hold(wh, holder_code)
    try:
        done = count_without_java(tmp_path, "--warehouse", str(wh), "--out", str(tmp_path / "out"))
        assert_one_sentence(done, f"warehouse {wh} is in use by another process (PID {holder.pid})",
                            "--wait-lock SECONDS")
        assert not (tmp_path / "out" / "counts").exists()
    finally:
        holder.kill()
        holder.wait()


def test_wait_lock_waits_for_the_holder_then_names_it(tmp_path):
    wh = tmp_path / "wh.duckdb"
    holder = hold(wh, DUCKDB_WRITER)
    try:
        started = time.monotonic()
        with pytest.raises(UserError, match=rf"\(PID {holder.pid}\) after waiting 1 s"):
            with writer_lock(wh, wait=1):
                pass
        assert time.monotonic() - started >= 1
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(wh, wait=1):  # released: taken at once
        assert (tmp_path / "wh.duckdb.lock").read_text() == str(os.getpid())


def test_every_command_opening_a_held_warehouse_gets_one_sentence(tmp_path):
    """queries.warehouse.connect (import-counts, query, report...) names the holder too, read-only or not."""
    from classfreq.queries.warehouse import connect
    wh = tmp_path / "wh.duckdb"
    holder = hold(wh, DUCKDB_WRITER)
    try:
        for read_only in (False, True):
            with pytest.raises(UserError, match=rf"is in use by another process \(PID {holder.pid}\); let it finish first$"):
                connect(wh, read_only=read_only)
    finally:
        holder.kill()
        holder.wait()
    connect(wh, read_only=True).close()


def test_count_with_wait_lock_runs_once_the_holder_lets_go(tmp_path):
    """A real count started while another process writes the warehouse, with --wait-lock: it waits,
    then counts and writes its rows."""
    wh = tmp_path / "wh.duckdb"
    captions = tmp_path / "c.tsv"
    captions.write_text("a goldfish in a bowl\thttp://x/1\na tabby cat on a sofa\thttp://x/2\n")
    holder = subprocess.Popen([sys.executable, "-c", DUCKDB_WRITER, str(wh), "4"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    try:
        res = count(tmp_path, captions, "waited", warehouse=wh, format="cc3m", wait_lock=120)
    finally:
        holder.wait(timeout=60)
    assert stats(res)["docs_read"] == 2 and stats(res)["docs_matched"] == 2
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [res.run_id]).fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM held").fetchone()[0] == 0  # the holder's own table is kept
    finally:
        con.close()


def wrong_format_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text('{"text": "a goldfish"}\n{"text": "a tabby cat"}\n{"text": "a school bus"}\n')
    table = tmp_path / "captions.csv"
    table.write_text("id,text\n1,a goldfish\n2,a tabby cat\n3,a school bus\n")
    return {"parquet-on-jsonl": (jsonl, "parquet"), "llava-on-csv": (table, "llava")}


@pytest.mark.parametrize("case", ["parquet-on-jsonl", "llava-on-csv"])
def test_wrong_format_says_so_and_writes_nothing(tmp_path, case):
    path, fmt = wrong_format_inputs(tmp_path)[case]
    wh = tmp_path / "wh.duckdb"
    with pytest.raises(UserError) as refused:
        count(tmp_path, path, "wrong", warehouse=wh, format=fmt)
    msg = str(refused.value)
    assert msg.startswith(f"no record of {path.name} could be read as --format {fmt} (")
    assert "the format is probably wrong; pass the right --format, or --allow-all-bad" in msg and "\n" not in msg
    assert not (tmp_path / "out" / "counts").exists()
    if wh.exists():
        con = duckdb.connect(str(wh), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        finally:
            con.close()

    allowed = count(tmp_path, path, "wrong", warehouse=wh, format=fmt, allow_all_bad=True)
    s = stats(allowed)
    assert s["docs_matched"] + s["docs_unmatched"] == 0 and s["docs_quarantined"] + s["files_failed"] > 0


def test_wrong_format_exits_2_through_the_cli(tmp_path, capsys):
    from pipeline_support import spark_session

    from classfreq.cli import main
    spark_session()  # the CLI's local session reuses the tests' one
    path, fmt = wrong_format_inputs(tmp_path)["parquet-on-jsonl"]
    rc = main(["count", "--input", str(path), "--source", "wrong", "--format", fmt, "--out", str(tmp_path / "out"),
               "--warehouse", str(tmp_path / "wh.duckdb"), "--progress-interval", "0"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"{PREFIX}no record of captions.jsonl could be read as --format parquet"), err


@pytest.mark.parametrize("where", ["input", "out"])
@pytest.mark.parametrize("uri", ["s3a://bucket/laion", "nosuchfs://bucket/laion"])
def test_a_uri_spark_has_no_file_system_for_is_one_sentence_before_counting(tmp_path, where, uri):
    """pyspark's jars have no s3a file system (hadoop-aws) and none for an unknown scheme: one sentence
    saying what to add, before any data is read, not a Py4J traceback (for --out, not after the count)."""
    captions = tmp_path / "captions.tsv"
    captions.write_text("a goldfish in a bowl\thttp://x/1\n")
    argv = ["--input", uri if where == "input" else str(captions), "--out", uri if where == "out" else str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-m", "classfreq.cli", "count", *argv, "--source", "s", "--master", "local[1]",
                           "--warehouse", str(tmp_path / "wh.duckdb"), "--progress-interval", "0"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    lines = [line for line in done.stderr.splitlines() if line.startswith(PREFIX)]
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(lines) == 1, done.stderr[-3000:]
    assert f"Spark cannot open '{uri}" in lines[0] and "classpath" in lines[0], lines[0]
    assert "counted source" not in done.stdout
