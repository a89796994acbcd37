"""Which runs start their driver JVM with C1 JIT only (spark_session.light_jit): local runs whose
input is read by pyarrow in the Python tasks; and that the early session start (early_start) and
the run's own start (count_classes.prepare) decide alike from the same command line."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from classfreq.pipelines import early_start, spark_session
from classfreq.pipelines.spark_session import SMALL_INPUT_JAVA_OPTIONS, light_jit

PQ = ["/d/a.parquet", "/d/b.parquet"]


@pytest.mark.parametrize("master, files, options, light", [
    (None, PQ, {}, True),  # auto: every name ends in .parquet
    ("local[1]", PQ, {}, True),
    ("local[*]", PQ, {"fmt": "laion"}, True),
    (None, ["/d/a.bin"], {"fmt": "img2dataset"}, True),  # a Parquet --format: whatever the names
    (None, ["/d/a.bin"], {"fmt": "parquet"}, True),
    (None, ["/d/a.parquet", "/d/b.jsonl"], {}, False),  # auto with a file that is not *.parquet
    (None, ["/d/a.jsonl"], {}, False),
    (None, PQ, {"fmt": "jsonl"}, False),
    (None, PQ, {"fmt": "llava"}, False),
    (None, None, {}, False),  # not all inputs local (prepare lists none)
    (None, [], {}, False),
    ("spark://h:7077", PQ, {}, False),  # a cluster
    ("local-cluster[2,1,1024]", PQ, {}, False),
    ("yarn", PQ, {}, False),
    (None, PQ, {"parquet_scan": "spark"}, False),  # options that need Spark's JVM scan
    (None, PQ, {"sample": 0.5}, False),
    (None, PQ, {"sample": 1.0}, False),
    (None, PQ, {"dedup": "url"}, False),
    (None, PQ, {"partitions": 8}, False),
    (None, PQ, {"doc_unit": "image"}, False),
    (None, PQ, {"partitions": 0, "doc_unit": "caption", "parquet_scan": "python"}, True),
])
def test_light_jit_only_for_a_local_run_on_the_pyarrow_path(monkeypatch, master, files, options, light):
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert light_jit(master, files, **options) is light


def test_never_under_spark_submit(monkeypatch):
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "1")
    assert light_jit(None, PQ) is False


def test_the_parquet_formats_are_the_columnar_readers():
    from classfreq.pipelines.readers import READERS

    assert set(spark_session.PARQUET_FORMATS) == {name for name, r in READERS.items() if r.columnar}


def test_light_gives_the_c1_option_and_no_small_input_settings():
    assert spark_session.driver_java_options(True, "", None) == SMALL_INPUT_JAVA_OPTIONS
    start = spark_session._Start("local[1]", "t", 4, None, small_input=False, light=True)
    try:
        assert SMALL_INPUT_JAVA_OPTIONS in start.settings["spark.driver.extraJavaOptions"]
        assert not set(spark_session.SMALL_INPUT_CONF) & set(start.settings)
    finally:
        start.abandon()
    start = spark_session._Start("local[1]", "t", 4, None, small_input=False, light=False)
    try:
        assert SMALL_INPUT_JAVA_OPTIONS not in start.settings.get("spark.driver.extraJavaOptions", "")
    finally:
        start.abandon()


@pytest.fixture
def no_active_session(monkeypatch):
    """The early start refuses when this process already has a SparkContext (an in-process caller's:
    the run reuses it), as the whole suite's earlier tests leave one; these tests read the command
    line as a fresh `classfreq count` process does."""
    from pyspark import SparkContext

    monkeypatch.setattr(SparkContext, "_active_spark_context", None)


@pytest.mark.parametrize("extra, light", [
    ([], True),
    (["--format", "laion"], True),
    (["--format=img2dataset", "--master", "local[1]"], True),
    (["--format", "jsonl"], False),
    (["--parquet-scan", "spark"], False),
    (["--sample", "0.5"], False),
    (["--dedup", "text"], False),
    (["--partitions", "4"], False),
    (["--partitions", "0"], True),
    (["--doc-unit", "image"], False),
])
def test_early_start_and_the_run_decide_alike(tmp_path, monkeypatch, no_active_session, extra, light):
    """The early start's cheap reading of the command line and the run's own (the CLI's parser,
    CountConfig, prepare's session_options) give the same JVM options."""
    from classfreq.cli import build_parser
    from classfreq.configs import from_args
    from classfreq.pipelines.config import CountConfig
    from classfreq.pipelines.count_classes import session_options
    from classfreq.pipelines.input_files import expand_inputs

    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setenv(early_start.EARLY_ENV, "on")
    files = []
    for name in ("a.parquet", "b.parquet"):
        pq.write_table(pa.table({"SAMPLE_ID": [1], "URL": ["http://x.invalid/1"], "TEXT": ["a cat"]}), tmp_path / name)
        files += ["--input", str(tmp_path / name)]
    argv = [*files, "--source", "t", "--out", str(tmp_path / "out"), *extra]
    master, _, small, early_light = early_start.session_settings(argv)
    config = from_args(CountConfig, build_parser().parse_args(["count", *argv]))
    assert session_options(config, expand_inputs(None, list(config.inputs))) == {"small_input": small,
                                                                                 "light": early_light}
    assert early_light is light and small is True


def test_what_the_early_start_cannot_read_cheaply_it_leaves_to_the_run(tmp_path, monkeypatch, no_active_session):
    monkeypatch.setenv(early_start.EARLY_ENV, "on")
    pq.write_table(pa.table({"TEXT": ["a cat"]}), tmp_path / "a.parquet")
    assert early_start.session_settings(["--input", str(tmp_path)]) is None  # a folder: the run lists it
    assert early_start.session_settings(["--input", str(tmp_path / "a.parquet"), "--partitions", "x"]) is None
    assert early_start.session_settings(["--input", str(tmp_path / "a.parquet"), "--parquet-sc", "spark"]) is None
