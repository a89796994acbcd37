"""`classfreq report`, `classfreq recommend`, `classfreq demo`."""
from __future__ import annotations

from pathlib import Path

from classfreq.errors import UserError
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE


def _analysis_args(p) -> None:
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default {DEFAULT_WAREHOUSE})")
    p.add_argument("--model", action="append", help="only this model (repeatable; default: every model with a mix)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--bootstrap-unit", choices=["class", "superclass"], default="class",
                   help="resample classes, or WordNet superclasses (their immediate hypernym) since e.g. "
                        "118 dog breeds are not independent")
    p.add_argument("--superclass-level", type=int, default=1, help="hypernym steps up for --bootstrap-unit superclass")
    p.add_argument("--labelset", help="only this label set (default: all in the warehouse)")
    p.add_argument("--version", help="only this label-set version (default: all)")
    p.add_argument("--no-secondary", action="store_true", help="skip the secondary analyses against other count sources")


def _rec_args(p) -> None:
    p.add_argument("--budget", type=int, default=100_000, help="examples to allocate (default 100000)")
    p.add_argument("--k", type=int, action="append", help="predict accuracy after adding K examples (repeatable)")
    p.add_argument("--target", type=float, help="target accuracy (default: the median class's)")
    p.add_argument("--oversample", type=float, default=2.0, help="candidates per wanted example (dead links; default 2)")
    p.add_argument("--top-k", type=int, default=1000, help="at most this many candidates per class (default 1000)")
    p.add_argument("--max-punsafe", type=float, default=0.1, help="drop candidates with punsafe above this (default 0.1)")


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="analysis + recommendations + self-contained HTML report")
    _analysis_args(p)
    _rec_args(p)
    p.add_argument("--out", required=True, help="folder for report.html, tables/, charts/, recommendations/")
    p.set_defaults(func=cmd_report)

    p = subparsers.add_parser("recommend", help="data-augmentation recommendations (tables and candidate files)")
    _analysis_args(p)
    _rec_args(p)
    p.add_argument("--out", required=True, help="folder for recommendations/*.csv and candidates.parquet")
    p.set_defaults(func=cmd_recommend)

    p = subparsers.add_parser("demo", help="end to end on the real data: count, import, analyse, report")
    p.add_argument("--shared", default="../shared/data", help="the real data folder (default ../shared/data)")
    p.add_argument("--out", default="out", help="output folder (default out/)")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default {DEFAULT_WAREHOUSE})")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--skip-count", action="store_true", help="reuse the counts already in the warehouse")
    p.set_defaults(func=cmd_demo)


def _options(args):
    from classfreq.reports.analysis import Options
    if args.bootstrap < 100:
        raise UserError("--bootstrap must be at least 100 replicates for a 95% interval")
    return Options(n_boot=args.bootstrap, seed=args.seed, bootstrap_unit=args.bootstrap_unit,
                   superclass_level=args.superclass_level, secondary_sources=not args.no_secondary,
                   models=args.model, labelset=args.labelset, version=args.version)


def _check_filters(con, args) -> None:
    """A --labelset, --version or --model that matches nothing would give an empty report: say so."""
    def values(col):
        return {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM accuracy").fetchall()}
    for option, col, wanted in (("--labelset", "labelset", [args.labelset] if args.labelset else []),
                                ("--version", "version", [args.version] if args.version else []),
                                ("--model", "model", args.model or [])):
        missing = [w for w in wanted if w not in values(col)]
        if missing:
            known = ", ".join(sorted(map(str, values(col)))) or "none"
            raise UserError(f"{option} {missing[0]} has no accuracies in the warehouse (known: {known}); "
                            f"import or evaluate it first, or drop the option")


def _ropts(args):
    from classfreq.reports.report import ReportOptions
    if args.target is not None and not 0 < args.target < 1:
        raise UserError("--target is an accuracy between 0 and 1, e.g. 0.7")
    return ReportOptions(budget=args.budget, ks=tuple(args.k or (1_000, 10_000, 100_000)), target=args.target,
                         oversample=args.oversample, top_k=args.top_k, max_punsafe=args.max_punsafe)


def cmd_report(args) -> int:
    from classfreq.queries.warehouse import connect
    from classfreq.reports.report import build_report
    opts, ropts = _options(args), _ropts(args)
    con = connect(args.warehouse)
    try:
        _check_filters(con, args)
        res = build_report(con, args.out, opts, ropts)
    finally:
        con.close()
    for h in res["headline"]:
        print(f"{h['model']} vs mix {h['mix']}: Spearman rho {h['spearman']:.3f} "
              f"[{h['spearman_lo']:.3f}, {h['spearman_hi']:.3f}] over {h['n_classes']} classes")
    if res["unmatched_models"]:
        print(f"no declared mix with counts (not analysed): {', '.join(res['unmatched_models'])}")
    print(f"report: {Path(res['report']).resolve()}")
    return 0


def cmd_recommend(args) -> int:
    from classfreq.queries.warehouse import connect
    from classfreq.reports.analysis import run_analysis
    from classfreq.reports.recommend import CAVEAT, recommend
    from classfreq.reports.report import write_recommendation_files
    opts, ropts = _options(args), _ropts(args)
    opts.secondary_sources = False
    con = connect(args.warehouse)
    try:
        _check_filters(con, args)
        an = run_analysis(con, opts)
        if an.classes.empty:
            raise UserError("no model has both per-class accuracies and a declared mix with counts; "
                            "import accuracies and run `classfreq mix FILE` first")
        rec = recommend(con, an.classes, budget=ropts.budget, ks=ropts.ks, target=ropts.target,
                        oversample=ropts.oversample, top_k=ropts.top_k, max_punsafe=ropts.max_punsafe)
    finally:
        con.close()
    files = write_recommendation_files(rec, Path(args.out))
    print(CAVEAT)
    if len(rec.allocation):
        for model, g in rec.allocation.groupby("model"):
            print(f"{model}: {ropts.budget} examples over {len(g)} classes; predicted mean accuracy "
                  f"{g['mean_before'].iloc[0]:.3f} -> {g['mean_after'].iloc[0]:.3f}")
            print(g.head(10)[["class_index", "name", "docs", "allocated", "accuracy", "pred_allocated", "flag"]]
                  .to_string(index=False))
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


def cmd_demo(args) -> int:
    from classfreq.reports.demo import print_result, run_demo
    res = run_demo(args.shared, args.out, args.warehouse, n_boot=args.bootstrap, skip_count=args.skip_count)
    print_result(res)
    return 0
