"""`classfreq count`: the Spark counting job, run in-process on local Spark (same code path as
`spark-submit pipelines/count_classes.py`)."""
from __future__ import annotations

from classfreq.configs import add_options, from_args
from classfreq.pipelines import relevance_run
from classfreq.pipelines.config import CountConfig
from classfreq.pipelines.count_classes import run, summary


def register(subparsers) -> None:
    p = subparsers.add_parser("count", help="count label-set classes in caption corpora (Spark)",
                              description="Count label-set classes in caption corpora with Spark "
                                          "(local[*] by default; same job as spark-submit pipelines/count_classes.py).")
    add_options(p, CountConfig)
    p.set_defaults(func=_handle)
    relevance_run.register(subparsers)


def _handle(args) -> int:
    res = run(from_args(CountConfig, args))
    print(summary(res))
    return 0
