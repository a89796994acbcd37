"""`classfreq report`, `classfreq recommend`, `classfreq demo`.

Each command's arguments are the fields of its config (reports/configs.py); the handlers below
receive the validated config, never the argparse namespace.
"""
from __future__ import annotations

from pathlib import Path

from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.reports.configs import (
    AnalysisOptions,
    DemoConfig,
    RecommendConfig,
    RecommendOptions,
    ReportConfig,
)


def register(subparsers) -> None:
    _job_command(subparsers, "report", ReportConfig, make_report,
                 help="analysis + recommendations + self-contained HTML report")
    _job_command(subparsers, "recommend", RecommendConfig, make_recommendations,
                 help="data-augmentation recommendations (tables and candidate files)")
    p = add_options(subparsers.add_parser("demo", help="end to end on the real data: count, import, analyse, report"),
                    DemoConfig)
    p.set_defaults(func=lambda args: demo(from_args(DemoConfig, args)))


def _job_command(subparsers, name: str, config_cls: type, job, **parser_kw) -> None:
    """A command with the analysis and recommendation options plus the fields of `config_cls`."""
    p = subparsers.add_parser(name, **parser_kw)
    add_options(p, AnalysisOptions)
    add_options(p, RecommendOptions)
    add_options(p, config_cls)
    p.set_defaults(func=lambda args: job(job_config(config_cls, args)))


def job_config(config_cls: type, args):
    """The validated `report` / `recommend` config from parsed arguments."""
    analysis = from_args(AnalysisOptions, args)
    return from_args(config_cls, args, analysis=analysis, recommend=from_args(RecommendOptions, args))


def make_report(config: ReportConfig) -> int:
    from classfreq.queries.warehouse import connect
    from classfreq.reports.analysis import check_filters
    from classfreq.reports.report import build_report
    con = connect(config.warehouse)
    try:
        check_filters(con, config.analysis)
        res = build_report(con, config.out, config.analysis, config.recommend, title=config.title)
    finally:
        con.close()
    for h in res["headline"]:
        print(f"{h['model']} vs mix {h['mix']}: Spearman rho {h['spearman']:.3f} "
              f"[{h['spearman_lo']:.3f}, {h['spearman_hi']:.3f}] over {h['n_classes']} classes")
    if res["unmatched_models"]:
        print(f"no declared mix with counts (not analysed): {', '.join(res['unmatched_models'])}")
    print(f"report: {Path(res['report']).resolve()}")
    return 0


def make_recommendations(config: RecommendConfig) -> int:
    from classfreq.queries.warehouse import connect
    from classfreq.reports.analysis import check_filters, run_analysis
    from classfreq.reports.recommend import CAVEAT, recommend
    from classfreq.reports.report import write_recommendation_files
    con = connect(config.warehouse)
    try:
        check_filters(con, config.analysis)
        an = run_analysis(con, config.analysis)  # with the mix's other count sources: an allocation under each
        if an.classes.empty:
            raise UserError("no model has both per-class accuracies and a declared mix with counts; "
                            "import accuracies and run `classfreq mix FILE` first")
        rec = recommend(con, an.classes, config.recommend, an.sources)
    finally:
        con.close()
    files = write_recommendation_files(rec, Path(config.out))
    print(CAVEAT)
    if len(rec.allocation):
        for model, g in rec.allocation.groupby("model"):
            print(f"{model}: {config.recommend.budget} examples over {len(g)} classes; predicted mean accuracy "
                  f"{g['mean_before'].iloc[0]:.3f} -> {g['mean_after'].iloc[0]:.3f}")
            print(g.head(10)[["class_index", "name", "docs", "allocated", "accuracy", "pred_allocated", "flag"]]
                  .to_string(index=False))
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


def demo(config: DemoConfig) -> int:
    from classfreq.reports.demo import print_result, run_demo
    print_result(run_demo(config))
    return 0
