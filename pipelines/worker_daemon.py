"""The Python worker daemon of local counting runs: pyspark's own daemon, with the modules every
counting task needs imported once, before it forks a worker per task.

Spark starts one daemon per executor and forks a worker from it for each Python task slot; a
fresh worker imports pyarrow, numpy and classfreq's readers and matcher, and a run of a few
thousand captions starts several. Forked from this daemon they start with those modules loaded.
Counting tasks need no pandas (its import is about 0.6 CPU-s, on the way to every run's first
task): only the kept doc matches and the relevance stage use it, and their workers import it
themselves. pyspark's daemon imports nothing heavy itself because pyarrow may start threads at
import, which a fork does not copy: numpy's OpenBLAS and pyarrow's allocator register fork
handlers for theirs, and pyarrow's thread pools start on first use, which happens only in the
workers.

Used through ``spark.python.daemon.module`` for local masters (spark_session.get_spark).
"""
from __future__ import annotations

import numpy  # noqa: F401
import pyarrow  # noqa: F401
from pyspark.daemon import manager

import classfreq.pipelines.count_batches  # noqa: F401  (with the matcher)
import classfreq.pipelines.readers  # noqa: F401  (every format's parser)

if __name__ == "__main__":
    manager()
