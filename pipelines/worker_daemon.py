"""The Python worker daemon of local counting runs: pyspark's own daemon, with the modules every
counting task needs imported once, before it forks a worker per task.

Spark starts one daemon per executor and forks a worker from it for each Python task slot; a
fresh worker imports pandas, pyarrow, numpy and classfreq's matcher (about 0.7 s of CPU on an
idle core, several seconds on a busy 2-core machine), and a run of a few thousand captions starts
several. Forked from this daemon they start with those modules loaded. pyspark's daemon imports
nothing heavy itself because pandas and pyarrow may start threads at import, which a fork does
not copy: numpy's OpenBLAS and pyarrow's allocator register fork handlers for theirs, and pyarrow's
thread pools start on first use, which happens only in the workers.

Used through ``spark.python.daemon.module`` for local masters (spark_session.get_spark).
"""
from __future__ import annotations

import numpy  # noqa: F401
import pandas  # noqa: F401
import pyarrow  # noqa: F401
from pyspark.daemon import manager

import classfreq.pipelines.count_batches  # noqa: F401  (with the matcher)
import classfreq.pipelines.readers  # noqa: F401  (every format's parser)

if __name__ == "__main__":
    manager()
