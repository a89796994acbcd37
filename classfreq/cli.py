"""`classfreq` — one console command; each area of the project registers its own subcommands.

Counting is a Spark job and runs with `spark-submit pipelines/count_classes.py`; `classfreq count`
runs the same job in-process on local Spark for convenience.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import sys

from classfreq.errors import ClassfreqError

# area modules, each with register(subparsers): adds its subcommands and sets func=handler(args)
# in layer order: an area may add actions to a lower area's command (pipelines adds `relevance judge-run`)
AREAS = [
    "classfreq.synsets.cli",
    "classfreq.relevance.cli",
    "classfreq.queries.cli",
    "classfreq.pipelines.cli",
    "classfreq.models.cli",
    "classfreq.reports.cli",
]


# the areas a process's command needs, where the whole parser would import every other area's
# modules for nothing (some 0.05 CPU s of every count; AREAS order): count is the pipelines', whose
# `relevance judge-run` goes under the relevance area's command
COMMAND_AREAS = {"count": ("classfreq.relevance.cli", "classfreq.pipelines.cli")}


def build_parser(areas: tuple[str, ...] | list[str] = tuple(AREAS)) -> argparse.ArgumentParser:
    """The command's parser, with the subcommands of ``areas`` (all of them unless told)."""
    parser = argparse.ArgumentParser(prog="classfreq", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in areas:
        importlib.import_module(name).register(sub)  # an area that fails to import is a bug: show it
    return parser


# commands whose work can start before the parser is built (the areas' imports take a second);
# only as the process's command (argv None), not for in-process callers, whose process goes on
EARLY = {"count": ("classfreq.pipelines.early_start", "start_count_session")}


# commands whose process does no large matrix products: numpy's OpenBLAS gets one thread, not one
# per core, which it starts (and spins) at numpy's import (0.12 -> 0.064 CPU s for the import; the
# count's worker daemon does the same, pipelines/worker_daemon.py). OPENBLAS_NUM_THREADS set by the
# user stays.
ONE_BLAS_THREAD = {"count"}


# commands that, as the process's command, end the process as soon as their work and the exit
# handlers are done: a count's Python exit (freeing pandas, pyarrow, Spark's modules) took 0.4-0.5 s
# after its last line; its outputs are closed and committed by then
EXIT_AT_ONCE = {"count"}


def main(argv: list[str] | None = None) -> int:
    if argv is not None:
        return _main(argv)
    # the imports of the start (pandas, pyarrow, pyspark, every area's modules: some 80,000 objects)
    # ran some 230 cyclic garbage collections that freed about 1,500 objects: paused until the
    # parser is built (the imports' end)
    collecting = gc.isenabled()
    gc.disable()
    argv = sys.argv[1:]
    if argv and argv[0] in ONE_BLAS_THREAD:  # before numpy's import, and before the JVM (its Python workers) starts
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if argv and argv[0] in EARLY:
        module, function = EARLY[argv[0]]
        getattr(importlib.import_module(module), function)(argv[1:])
    code = _main(argv, resume_gc=collecting, areas=COMMAND_AREAS.get(argv[0], tuple(AREAS)) if argv else tuple(AREAS))
    if argv and argv[0] in EXIT_AT_ONCE:
        _exit_at_once(code)
    return code


def _exit_at_once(code: int) -> None:
    """Flush, run the exit handlers (the JVM's fast end among them), and end the process without
    Python's finalization. Output that cannot be written (a full disk) ends it with status 120, as
    Python's own exit would."""
    error = _flush()
    atexit._run_exitfuncs()
    error = _flush() or error
    if error is not None:
        try:
            print(f"classfreq: error: the output could not be written: {error}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        code = 120
    os._exit(code)


def _flush() -> OSError | None:
    """Flush stdout and stderr; the first error, but for a pipe whose reader left or a closed stream."""
    error = None
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a pipe whose reader left (`| head`), or closed
            pass
        except OSError as exc:
            error = error or exc
    return error


def _main(argv: list[str], resume_gc: bool = False, areas: tuple[str, ...] = tuple(AREAS)) -> int:
    parser = build_parser(areas)
    if resume_gc:  # paused by main() for the imports
        gc.enable()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except ClassfreqError as exc:
        print(f"classfreq {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
