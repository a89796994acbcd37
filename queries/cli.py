"""`classfreq query`, `classfreq import-counts`, `classfreq mix`: the warehouse's query surface."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from classfreq.configs import add_options, from_args
from classfreq.queries.configs import ImportCountsConfig, MixConfig, QueryConfig
from classfreq.queries.warehouse import connect


def register(subparsers) -> None:
    _command(subparsers, "query", QueryConfig, run_query_command,
             help="run a named query (queries/*.sql); no NAME lists them",
             description="Run a named query; parameters are bound as DuckDB variables.")
    _command(subparsers, "import-counts", ImportCountsConfig, import_counts,
             help="import published per-class counts (bethgelab JSON or CSV)")
    _command(subparsers, "mix", MixConfig, declare_mixes,
             help="declare training mixes from YAML/JSON/CSV files, or show them")


def _command(subparsers, name: str, config_cls: type, job: Callable, **parser_kw) -> None:
    """A subcommand whose arguments are the fields of `config_cls`; `job` receives the validated config."""
    p = add_options(subparsers.add_parser(name, **parser_kw), config_cls)
    p.set_defaults(func=lambda args: job(from_args(config_cls, args)))


def run_query_command(config: QueryConfig) -> int:
    from classfreq.queries.runner import list_queries, run_query
    if not config.name:
        for q in list_queries().values():
            print(f"{q.name}: {q.summary}")
            for prm in q.params.values():
                print(f"    --param {prm.name}=...  ({prm.type}, default {prm.default}) {prm.help}")
        return 0
    con = _open_for_queries(config.warehouse)
    try:
        df = run_query(con, config.name, config.bound_params())
    finally:
        con.close()
    if config.csv:
        Path(config.csv).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(config.csv, index=False)
        print(f"{len(df)} rows written to {config.csv}")
    else:
        import pandas as pd
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 60):
            print(df.head(config.limit).to_string(index=False) if len(df) else "(no rows)")
        if len(df) > config.limit:
            print(f"... {len(df) - config.limit} more rows (use --csv FILE for all)", file=sys.stderr)
    return 0


def _open_for_queries(path):
    """Read-only, after making sure the views of schema.sql exist (older warehouses lack them)."""
    con = connect(path, read_only=True)
    have = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    if {"class_sources", "mix_class_docs"} <= have:
        return con
    con.close()
    connect(path).close()  # applies the schema (tables and views)
    return connect(path, read_only=True)


def import_counts(config: ImportCountsConfig) -> int:
    from classfreq.queries.imports import import_bethgelab_counts, import_csv_counts
    con = connect(config.warehouse)
    try:
        for f in config.bethgelab or ():
            r = import_bethgelab_counts(con, f, labelset=config.labelset, version=config.version,
                                        corpus_docs=config.corpus_docs)
            print(f"imported {r['rows']} classes from {Path(f).name} as {r['count_key']}")
        if config.csv:
            r = import_csv_counts(con, config.csv, origin=config.origin, corpus=config.corpus, method=config.method,
                                  labelset=config.labelset, version=config.version,
                                  corpus_docs=config.corpus_docs, missing=config.missing)
            note = f" ({r['filled_zero']} classes not in the file counted as 0)" if r["filled_zero"] else ""
            print(f"imported {r['rows']} classes from {Path(config.csv).name} as {r['count_key']}{note}")
    finally:
        con.close()
    return 0


def declare_mixes(config: MixConfig) -> int:
    from classfreq.queries.mixes import read_mix_file, write_mixes
    from classfreq.queries.runner import run_query
    con = connect(config.warehouse)
    try:
        for f in config.files:
            rows = read_mix_file(f)
            for w in write_mixes(con, rows):
                print(f"warning: {w}", file=sys.stderr)
            print(f"{Path(f).name}: declared {rows['model'].nunique()} model(s), "
                  f"{rows['component'].nunique()} component(s)")
        cov = run_query(con, "mix_coverage")
        if not len(cov):
            print("no mixes declared yet")
        else:
            print(cov[["mix", "component", "source", "weight", "counted", "has_counts"]].to_string(index=False))
    finally:
        con.close()
    return 0
