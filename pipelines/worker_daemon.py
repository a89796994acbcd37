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

import gc
import importlib.util
import os
import sys


def _is_spark_zip(name: str) -> bool:
    """Spark's own pyspark.zip and py4j-<version>-src.zip (a user's --py-files zip stays)."""
    return name == "pyspark.zip" or (name.startswith("py4j-") and name.endswith("-src.zip"))


def _drop_spark_zips() -> None:
    """Import pyspark and py4j from this interpreter's installation, not from the zips Spark puts
    first on the workers' path: every task's worker calls importlib.invalidate_caches(), which
    re-reads a zip's whole directory once per package imported from it (profiled: 1.4 s of every
    task of a 3-record run). Local runs' workers run the driver's interpreter, whose pyspark
    ships those very zips; kept when pyspark is installed nowhere else."""
    zips = [p for p in sys.path if _is_spark_zip(os.path.basename(p))]
    sys.path[:] = [p for p in sys.path if p not in zips]
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("py4j") is None:
        sys.path[:0] = zips


_drop_spark_zips()

# numpy's OpenBLAS starts a thread per core when numpy is imported (measured: numpy's import 0.12 CPU
# s, 0.064 with one thread); the tasks' products are small and the judge limits BLAS to one thread
# anyway (relevance.judge.Models). One, unless set: the forked workers inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Python's cyclic garbage collector finds next to nothing in the imports below (some 140,000
# objects): paused during them; the imported objects are then frozen (gc.freeze: left out of every
# later collection, in the forked workers too, whose collections would otherwise go through them
# all and touch their memory, which the fork shares with the daemon until written)
gc.disable()

import numpy  # noqa: E402, F401
import pandas  # noqa: E402, F401
import pyarrow  # noqa: E402, F401
from pyspark.daemon import manager  # noqa: E402

import classfreq.pipelines.count_batches  # noqa: E402, F401  (with the matcher)
import classfreq.pipelines.readers  # noqa: E402, F401  (every format's parser)

gc.freeze()
gc.enable()

if __name__ == "__main__":
    manager()
