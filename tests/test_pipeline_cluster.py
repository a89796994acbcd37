"""spark-submit on a real standalone cluster (a master and two workers on 127.0.0.1, started from
the pip pyspark's spark-class) gives the same counts as local mode."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pandas as pd
import pyspark
import pytest
from pipeline_support import ROOT, comparable, count

SPARK_BIN = Path(pyspark.__file__).parent / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, what: str, timeout: float = 90):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def standalone_cluster(tmp_path):
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", SPARK_HOME=str(SPARK_BIN.parent),
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               SPARK_WORKER_DIR=str(tmp_path / "work"), SPARK_LOG_DIR=str(tmp_path / "logs"))
    port, ui = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs = []
    logs = []

    def start(*args):
        log = open(tmp_path / f"daemon-{len(procs)}.log", "w")
        logs.append(log)
        procs.append(subprocess.Popen([str(SPARK_BIN / "spark-class"), *args], env=env,
                                      stdout=log, stderr=subprocess.STDOUT))

    try:
        start("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
              "--webui-port", str(ui))
        started = time.monotonic()
        for _ in range(2):  # workers retry until the master is up
            start("org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
                  "--memory", "1g", "--webui-port", str(_free_port()))

        def two_workers():
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as r:
                return json.load(r).get("aliveworkers", 0) >= 2
        _wait(two_workers, "two workers to register")
        print(f"cluster up in {time.monotonic() - started:.1f}s")
        yield url, env, ui
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


def _submit_count(url: str, env: dict, tmp_path: Path, wh: Path, *job_args: str) -> subprocess.CompletedProcess:
    """``spark-submit pipelines/count_classes.py JOB_ARGS`` on the cluster at ``url``, classfreq
    shipped as a --py-files zip, writing under ``tmp_path`` and into the warehouse ``wh``."""
    zip_path = tmp_path / "classfreq.zip"
    subprocess.run([sys.executable, "-m", "classfreq.pipelines.pyfiles", str(zip_path)], check=True, cwd=ROOT)
    cmd = [str(SPARK_BIN / "spark-submit"), "--master", url, "--total-executor-cores", "2",
           "--executor-memory", "1g", "--driver-memory", "1g", "--conf", "spark.ui.enabled=false",
           "--py-files", str(zip_path), str(ROOT / "pipelines" / "count_classes.py"), *job_args,
           "--out", str(tmp_path / "cluster_out"), "--warehouse", str(wh), "--progress-interval", "0"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.slow
def test_spark_submit_on_standalone_cluster_equals_local(shared, tmp_path, standalone_cluster):
    url, env, ui = standalone_cluster
    lines = (shared / "captions" / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv").read_text(
        encoding="utf-8").splitlines()[:6000]
    data = tmp_path / "cc3m_part.tsv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wh = tmp_path / "cluster.duckdb"
    started = time.monotonic()
    run = _submit_count(url, env, tmp_path, wh, "--input", str(data), "--source", "cc3m_cluster", "--partitions", "3")
    print(f"spark-submit took {time.monotonic() - started:.1f}s")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "counted source cc3m_cluster" in run.stdout
    assert "6,000 documents read" in run.stdout

    with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as r:
        apps = json.load(r)
    assert [a["name"] for a in apps.get("completedapps", []) + apps.get("activeapps", [])] == ["classfreq-count"]

    local = count(tmp_path, data, "cc3m_cluster", partitions=1)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        for table in ("counts", "class_counts"):
            remote = con.execute(f"SELECT * FROM {table}").fetchdf()
            unjudged = [c for c in remote.columns if c not in local.tables[table].columns]  # relevance columns
            assert remote[unjudged].isna().all().all(), unjudged
            remote = remote.drop(columns=unjudged)
            mine = local.tables[table][list(remote.columns)]
            estimates = ["docs_est", "docs_est_lo", "docs_est_hi"]
            pd.testing.assert_frame_equal(comparable(remote, table).drop(columns=estimates, errors="ignore"),
                                          comparable(mine, table).drop(columns=estimates, errors="ignore"),
                                          check_dtype=False)
        assert con.execute("SELECT docs_read FROM source_stats").fetchone()[0] == 6000
        # the job really ran on the cluster, not on an embedded local master
        assert con.execute("SELECT options->>'$.spark_master' FROM runs").fetchone()[0] == url
    finally:
        con.close()


def test_parquet_read_in_the_tasks_on_a_standalone_cluster_equals_the_jvm_scan(shared, tmp_path, standalone_cluster):
    """Local Parquet is read by the executors' Python workers (pyarrow, parquet_tasks) on a cluster
    too: the same tables as Spark's JVM scan on the embedded master."""
    url, env, _ = standalone_cluster
    data = shared / "captions" / "laion400m_sample_img2dataset" / "test_10000.parquet"
    wh = tmp_path / "cluster.duckdb"
    run = _submit_count(url, env, tmp_path, wh, "--input", str(data), "--source", "laion_cluster", "--format", "laion",
                        "--max-matches-per-class", "3")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    local = count(tmp_path, data, "laion_cluster", format="laion", max_matches_per_class=3, parquet_scan="spark")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        for table in ("counts", "class_counts"):
            remote = con.execute(f"SELECT * FROM {table}").fetchdf()
            remote = remote.drop(columns=[c for c in remote.columns if c not in local.tables[table].columns])
            pd.testing.assert_frame_equal(comparable(remote, table), comparable(local.tables[table][list(remote.columns)], table),
                                          check_dtype=False)
        remote = con.execute("SELECT class_index, doc_id FROM doc_matches ORDER BY 1, 2").fetchdf()
        mine = local.tables["doc_matches"][["class_index", "doc_id"]].sort_values(["class_index", "doc_id"], ignore_index=True)
        pd.testing.assert_frame_equal(remote, mine, check_dtype=False)
        assert con.execute("SELECT docs_read FROM source_stats").fetchone()[0] == 10000
        assert con.execute("SELECT options->>'$.spark_master' FROM runs").fetchone()[0] == url
    finally:
        con.close()
