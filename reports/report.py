"""Assemble the report from the warehouse: analysis, recommendations, sections, files, provenance.

The sections themselves (what the page shows, in which order) are in `reports/sections.py`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from classfreq import __version__
from classfreq.queries.warehouse import new_run_id, record_run, utcnow
from classfreq.reports.analysis import run_analysis
from classfreq.reports.configs import REPORT_TITLE, AnalysisOptions, RecommendOptions
from classfreq.reports.html import render
from classfreq.reports.recommend import CAVEAT, Recommendations, recommend
from classfreq.reports.sections import DECLARATION, ReportContext, build_sections

HEADLINE_COLUMNS = ["model", "dataset", "method", "mix", "count_basis", "n_classes", "share_zero", "spearman",
                    "spearman_lo", "spearman_hi", "spearman_p", "spearman_superclass_lo", "spearman_superclass_hi",
                    "superclasses", "glmm_b", "glmm_b_lo", "glmm_b_hi", "logit_b"]


def build_report(con, out_dir: str | Path, analysis: AnalysisOptions | None = None,
                 recommendations: RecommendOptions | None = None, title: str = REPORT_TITLE) -> dict:
    """Run the analysis and recommendations, write report.html + files; returns paths and headline numbers."""
    started = utcnow()
    analysis, recommendations = analysis or AnalysisOptions(), recommendations or RecommendOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    an = run_analysis(con, analysis)
    rec = recommend(con, an.classes, recommendations, an.sources) if len(an.classes) else None
    files = write_recommendation_files(rec, out_dir) if rec is not None else {}
    sections = build_sections(ReportContext(con, an, rec, files))
    run_id = new_run_id("report")
    subtitle = (f"Generated {started:%Y-%m-%d %H:%M} UTC by classfreq {__version__}; run {run_id}. "
                f"{DECLARATION}")
    path = render(title, sections, out_dir, subtitle=subtitle)
    an.tests.to_csv(out_dir / "tables" / "all_tests.csv", index=False)
    headline = an.summary[an.summary["role"] == "primary"].reindex(columns=HEADLINE_COLUMNS).to_dict("records") \
        if len(an.summary) else []
    record_run(con, run_id, "report", started, inputs={"warehouse_tables": ["accuracy", "class_sources", "mixes"]},
               options={**analysis.as_dict(), **recommendations.as_dict(), "title": title,
                        "out": str(out_dir.resolve())})
    return {"report": path, "files": files, "headline": headline, "run_id": run_id,
            "unmatched_models": an.unmatched_models}


def write_recommendation_files(rec: Recommendations, out_dir: Path) -> dict:
    """recommendations/: per_class.csv, allocation.csv, allocation_by_source.csv and
    source_comparison.csv (every count source of the mix), the candidates as Parquet and CSV, a README."""
    d = out_dir / "recommendations"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    if len(rec.per_class):
        rec.per_class.to_csv(d / "per_class.csv", index=False)
        files["per_class"] = d / "per_class.csv"
    if len(rec.allocation):
        rec.allocation.to_csv(d / "allocation.csv", index=False)
        files["allocation"] = d / "allocation.csv"
    if len(rec.by_source):
        rec.by_source[rec.by_source["allocated"] > 0].to_csv(d / "allocation_by_source.csv", index=False)
        rec.source_comparison.to_csv(d / "source_comparison.csv", index=False)
        files["allocation_by_source"] = d / "allocation_by_source.csv"
        files["source_comparison"] = d / "source_comparison.csv"
    # img2dataset: --input_format parquet --url_col url --caption_col caption
    cand = rec.candidates.copy()
    if "model" not in cand.columns:
        cand["model"] = pd.Series(dtype=str)
    cand.to_parquet(d / "candidates.parquet", index=False)
    cand.to_csv(d / "candidates.csv", index=False)
    files["candidates_parquet"] = d / "candidates.parquet"
    files["candidates_csv"] = d / "candidates.csv"
    (d / "README.txt").write_text(
        f"{CAVEAT}\n\nDownload the candidate images with img2dataset:\n"
        f"  img2dataset --url_list candidates.parquet --input_format parquet --url_col url "
        f"--caption_col caption --output_format webdataset --output_folder images\n"
        f"Rows are ranked per class and oversampled (dead links are common); keep the first "
        f"'allocated' images per class that download.\n")
    return files
