"""`classfreq count` starts its Spark session before Python has imported the rest of the CLI.

A small run's driver JVM takes seconds to start, and the process first spends about a second
importing pandas, pyarrow, DuckDB and the other areas' modules to build the argument parser; the
JVM's start waits on none of it. So, when the command line is plainly a local count (local files,
a local master or none, no option this cheap reading could misread), the session starts in a
background thread (``spark_session.start_in_background``) with the settings the run would give
it (its JVM options too: small input, ``spark_session.light_jit``), and the run's ``get_spark``
waits for it. Everything else (a glob, a folder, an URI, a cluster, --help, spark-submit,
whatever ``FastEnd`` excludes) takes the usual path. Arguments are then checked in full as before.
The JVM's stdout and stderr are held (``_HeldOutput``) until the run asks for its session, after
the last check: a run that fails a check prints its one sentence alone, and the JVM being started
is killed at exit with its folder.

On unless ``CLASSFREQ_EARLY_SESSION=off``. Measured: see README ("Counting on small inputs").

This module imports only the standard library and ``spark_session`` (itself import-light).
"""
from __future__ import annotations

import argparse
import os
import sys

from classfreq.pipelines import spark_session

EARLY_ENV = "CLASSFREQ_EARLY_SESSION"
FLAGS = ("--input", "--master", "--shuffle-partitions", "--format", "--parquet-scan", "--sample", "--dedup",
         "--partitions", "--doc-unit")


class _Refused(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # the full parser reports it later
        raise _Refused(message)


def start_count_session(args: list[str]) -> bool:
    """Start the session of ``classfreq count ARGS`` in the background, when it is plainly local.
    Returns whether it started."""
    settings = session_settings(args)
    return settings is not None and spark_session.start_in_background(*settings)


def session_settings(args: list[str]) -> tuple[str | None, int, bool, bool] | None:
    """(master, shuffle partitions, small input, light JIT) of ``classfreq count ARGS``'s session,
    as ``count_classes.prepare`` would decide them, when the command line is plainly local; else
    None (the run starts its session itself)."""
    if os.environ.get(EARLY_ENV) == "off" or spark_session.launched_by_spark_submit():
        return None
    if any(a in ("-h", "--help") or _abbreviates_a_flag(a) for a in args):
        return None
    p = _Parser(add_help=False, allow_abbrev=False)
    p.add_argument("--input", action="append", default=[])
    p.add_argument("--master")
    p.add_argument("--shuffle-partitions", type=int, default=16)
    # what spark_session.light_jit decides by (only the JVM's speed: a wrong guess counts the same)
    p.add_argument("--format", default="auto")
    p.add_argument("--parquet-scan", default="python")
    p.add_argument("--sample")
    p.add_argument("--dedup")
    p.add_argument("--partitions", type=int, default=0)
    p.add_argument("--doc-unit", default="caption")
    try:
        known, _ = p.parse_known_args(args)
    except _Refused:
        return None
    if not known.input or known.shuffle_partitions < 1:
        return None
    if known.master is not None and not spark_session.LOCAL_MASTER.fullmatch(known.master):
        return None
    if not all(os.path.isfile(f) and "://" not in f for f in known.input):
        return None  # folders and globs are listed by the run (input_files), URIs by Spark
    if "pyspark" in sys.modules:
        from pyspark import SparkContext

        if SparkContext._active_spark_context is not None:  # an in-process caller's session: the run reuses it
            return None
    small = sum(os.path.getsize(f) for f in dict.fromkeys(os.path.abspath(f) for f in known.input))
    light = spark_session.light_jit(known.master, known.input, known.format, known.parquet_scan, known.sample,
                                    known.dedup, known.partitions, known.doc_unit)
    return known.master, known.shuffle_partitions, small <= spark_session.SMALL_INPUT_BYTES, light


def _abbreviates_a_flag(arg: str) -> bool:
    """``--mast``: argparse's full parser would read it as --master; this one would not."""
    name = arg.split("=", 1)[0]
    return name.startswith("--") and name not in FLAGS and any(f.startswith(name) for f in FLAGS)
