"""The session of a run that starts its own JVM (spark_session._lazy_session): its JVM SparkSession
is made on first use, and is then what getOrCreate would have made. In a fresh process: the
session must be the first of its JVM."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from classfreq.pipelines.spark_session import SITE_TEMP_ENV

SCRIPT = r"""
import json, os
from pyspark.sql import SparkSession
from classfreq.pipelines.spark_session import get_spark

s = get_spark("local[1]", small_input=True)
jclass = getattr(s._jvm, "org.apache.spark.sql.classic.SparkSession")
out = {"jvm_session_at_start": jclass.getDefaultSession().isDefined()}
out["rdd_sum"] = s.sparkContext.parallelize(range(10), 2).sum()
out["jvm_session_after_rdd_job"] = jclass.getDefaultSession().isDefined()
out["getOrCreate_is_it"] = SparkSession.builder.getOrCreate() is s
out["active_is_it"] = SparkSession.active() is s
out["codegen"] = s.conf.get("spark.sql.codegen.wholeStage")
out["jvm_session_after_use"] = jclass.getDefaultSession().isDefined()
out["same_jvm_session"] = jclass.getDefaultSession().get().equals(s._jsparkSession)
out["active_after_use"] = SparkSession.getActiveSession() is s
out["df_count"] = s.range(5).count()
out["rdd_toDF"] = s.sparkContext.parallelize([(1,), (2,)]).toDF(["x"]).count()
plain = SparkSession(s.sparkContext)  # pyspark's own __init__: the attributes it sets
out["missing_attributes"] = sorted(set(vars(plain)) - set(vars(s)) - {"_jsparkSession"})
print("RESULT " + json.dumps(out), flush=True)
os._exit(0)
"""


def test_the_jvm_session_is_made_on_first_use_and_is_then_getOrCreates(tmp_path):
    env = {**os.environ, "CLASSFREQ_JVM_ARCHIVE": "off", "TMPDIR": str(tmp_path)}
    for name in ("PYSPARK_GATEWAY_PORT", *SITE_TEMP_ENV):  # a run whose JVM is its own to end (FastEnd)
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, proc.stderr[-3000:]
    out = json.loads(line[len("RESULT "):])
    assert out == {
        "jvm_session_at_start": False, "rdd_sum": 45, "jvm_session_after_rdd_job": False,
        "getOrCreate_is_it": True, "active_is_it": True, "codegen": "false", "jvm_session_after_use": True,
        "same_jvm_session": True, "active_after_use": True, "df_count": 5, "rdd_toDF": 2, "missing_attributes": [],
    }
