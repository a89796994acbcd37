"""The SparkSession of a counting run: whatever master spark-submit gave, else --master, else
local[*] (embedded Spark, no cluster needed)."""
from __future__ import annotations

import os
import re
import sys

from classfreq.pipelines.jvm_archive import driver_archive

DEFAULT_CONF = {
    "spark.ui.showConsoleProgress": "false",
    # the web UI's Jetty server costs about a second of a run's start; a local run ends before
    # anyone looks at it (under spark-submit the session, and its UI, already exist)
    "spark.ui.enabled": "false",
    # big Arrow batches: per-batch costs (JVM and Python) drop; measured 20k -> 100k rows: +13% on
    # local[1]. The byte cap (Spark 4) keeps batches of long documents (LLaVA) in memory bounds.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    "spark.sql.execution.arrow.maxBytesPerBatch": str(64 << 20),
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


# Local runs only (their workers run this interpreter, with classfreq installed):
LOCAL_CONF = {
    # workers forked with pandas, pyarrow and the matcher already imported (see worker_daemon)
    "spark.python.daemon.module": "classfreq.pipelines.worker_daemon",
}
# A small input's run is mostly the JVM starting and loading Spark's classes once: the C2 JIT
# compiler's threads then compete with the run for the cores and compile code that runs for
# seconds only. C1 and the UI off together halved a 3-record run on a busy 2-core machine; large
# inputs keep C2 (Parquet decoding and Arrow conversion run for minutes).
SMALL_INPUT_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
# and plans run interpreted: compiling generated Java (Janino, whose signed jar the class archive
# of jvm_archive cannot hold) took about 2.7 of a 3-record run's 9.7 s count phase on a cold JVM.
# factoryMode is an internal setting of Spark's (its tests' switch), read wherever a projection
# or predicate is built.
SMALL_INPUT_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}


def get_spark(master: str | None = None, app_name: str = "classfreq-count", shuffle_partitions: int = 16,
              conf: dict | None = None, small_input: bool = False):
    """The session (an existing one is returned as it is); ``small_input``: the run reads little
    (JVM options for a short life, when this call starts the JVM)."""
    # executors must run the same interpreter (with pyarrow and classfreq) as the driver
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif not launched_by_spark_submit():
        builder = builder.master(master := "local[*]")
    settings = dict(DEFAULT_CONF, **{"spark.sql.shuffle.partitions": str(shuffle_partitions)})
    if master and master.startswith("local"):
        settings.update(LOCAL_CONF)
    if small_input:
        settings.update(SMALL_INPUT_CONF)
    starts_jvm = _starts_jvm()
    if small_input and starts_jvm:  # spark-submit first runs a short JVM that only builds the driver's command
        os.environ.setdefault("SPARK_LAUNCHER_OPTS", SMALL_INPUT_JAVA_OPTIONS)
    archive = driver_archive() if starts_jvm else None
    settings.update(conf or {})
    java_options = driver_java_options(small_input, archive.java_options() if archive else "", conf)
    if java_options:
        settings["spark.driver.extraJavaOptions"] = java_options
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if archive:
        archive.started(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def driver_java_options(small_input: bool, archive_options: str, conf: dict | None) -> str:
    """Ours first, then the user's (theirs win where flags clash): the run's conf, else
    spark-defaults.conf's, which the --conf this sets would otherwise silently replace."""
    key = "spark.driver.extraJavaOptions"
    user = (conf or {}).get(key) or spark_defaults().get(key, "")
    return " ".join(o for o in (SMALL_INPUT_JAVA_OPTIONS if small_input else "", archive_options, user) if o)


def spark_defaults() -> dict[str, str]:
    """$SPARK_CONF_DIR/spark-defaults.conf (else $SPARK_HOME/conf/), as spark-submit reads it."""
    folder = os.environ.get("SPARK_CONF_DIR")
    if not folder and os.environ.get("SPARK_HOME"):
        folder = os.path.join(os.environ["SPARK_HOME"], "conf")
    try:
        with open(os.path.join(folder or "", "spark-defaults.conf"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        m = re.match(r"\s*([^#!\s=:]+)\s*[\s=:]\s*(.*?)\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _starts_jvm() -> bool:
    """Whether getOrCreate will start a driver JVM (not under spark-submit, no context yet)."""
    from pyspark import SparkContext

    return not launched_by_spark_submit() and SparkContext._active_spark_context is None


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands its gateway to Python; its --master is then
    already set. (A fresh SparkConf() cannot tell: before a SparkContext exists it is empty.)"""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))
