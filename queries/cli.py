"""`classfreq query`, `classfreq import-counts`, `classfreq mix`: the warehouse's query surface."""
from __future__ import annotations

import sys
from pathlib import Path

from classfreq.errors import UserError
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE, connect


def _warehouse_arg(p) -> None:
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default {DEFAULT_WAREHOUSE})")


def register(subparsers) -> None:
    p = subparsers.add_parser("query", help="run a named query (queries/*.sql); no NAME lists them",
                              description="Run a named query; parameters are bound as DuckDB variables.")
    p.add_argument("name", nargs="?", help="query name (omit to list the queries and their parameters)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="set a parameter (repeatable)")
    p.add_argument("--csv", metavar="FILE", help="write all rows to this CSV file instead of printing")
    p.add_argument("--limit", type=int, default=50, help="rows to print (default 50; --csv writes all)")
    _warehouse_arg(p)
    p.set_defaults(func=cmd_query)

    p = subparsers.add_parser("import-counts", help="import published per-class counts (bethgelab JSON or CSV)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bethgelab", nargs="+", metavar="FILE",
                     help="bethgelab *_search_counts.json files (corpus and method from the file name)")
    src.add_argument("--csv", metavar="FILE", help="CSV with class_index or class_id, and docs")
    p.add_argument("--labelset", help="label set (bethgelab: from the file name; CSV: required)")
    p.add_argument("--version", help="label-set version (default: the one in the warehouse)")
    p.add_argument("--origin", help="CSV: who published the counts (e.g. a paper or team)")
    p.add_argument("--corpus", help="CSV: the corpus counted (e.g. laion2b)")
    p.add_argument("--method", default="as-published", help="CSV: how they counted (default as-published)")
    p.add_argument("--corpus-docs", type=float, help="documents in the corpus, for per-million rates")
    p.add_argument("--missing", choices=["zero", "error"], default="zero",
                   help="CSV: classes the file lacks count as 0 (default) or stop with an error")
    _warehouse_arg(p)
    p.set_defaults(func=cmd_import_counts)

    p = subparsers.add_parser("mix", help="declare training mixes from YAML/JSON/CSV files, or show them")
    p.add_argument("files", nargs="*", metavar="FILE", help="mix files (see classfreq.queries.mixes)")
    _warehouse_arg(p)
    p.set_defaults(func=cmd_mix)


def cmd_query(args) -> int:
    from classfreq.queries.runner import get_query, list_queries, parse_params, run_query
    if not args.name:
        for q in list_queries().values():
            print(f"{q.name}: {q.summary}")
            for prm in q.params.values():
                print(f"    --param {prm.name}=...  ({prm.type}, default {prm.default}) {prm.help}")
        return 0
    get_query(args.name)  # an unknown name fails before the warehouse is opened
    con = _open_for_queries(args.warehouse)
    try:
        df = run_query(con, args.name, parse_params(args.param))
    finally:
        con.close()
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.csv, index=False)
        print(f"{len(df)} rows written to {args.csv}")
    else:
        import pandas as pd
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.max_colwidth", 60):
            print(df.head(args.limit).to_string(index=False) if len(df) else "(no rows)")
        if len(df) > args.limit:
            print(f"... {len(df) - args.limit} more rows (use --csv FILE for all)", file=sys.stderr)
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


def cmd_import_counts(args) -> int:
    from classfreq.queries.imports import import_bethgelab_counts, import_csv_counts
    con = connect(args.warehouse)
    try:
        if args.bethgelab:
            for f in args.bethgelab:
                r = import_bethgelab_counts(con, f, labelset=args.labelset, version=args.version,
                                            corpus_docs=args.corpus_docs)
                print(f"imported {r['rows']} classes from {Path(f).name} as {r['count_key']}")
        else:
            missing = [o for o in ("labelset", "origin", "corpus") if not getattr(args, o)]
            if missing:
                raise UserError(f"--csv needs --{' --'.join(missing)} (which label set, who counted, which corpus)")
            r = import_csv_counts(con, args.csv, origin=args.origin, corpus=args.corpus, method=args.method,
                                  labelset=args.labelset, version=args.version,
                                  corpus_docs=args.corpus_docs, missing=args.missing)
            note = f" ({r['filled_zero']} classes not in the file counted as 0)" if r["filled_zero"] else ""
            print(f"imported {r['rows']} classes from {Path(args.csv).name} as {r['count_key']}{note}")
    finally:
        con.close()
    return 0


def cmd_mix(args) -> int:
    from classfreq.queries.mixes import read_mix_file, write_mixes
    from classfreq.queries.runner import run_query
    con = connect(args.warehouse)
    try:
        for f in args.files:
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
