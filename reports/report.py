"""Assemble the report from the warehouse: analysis, recommendations, tables, charts, provenance."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from classfreq import __version__
from classfreq.queries.runner import run_query
from classfreq.queries.warehouse import new_run_id, record_run, utcnow
from classfreq.reports import charts
from classfreq.reports.analysis import Analysis, Options, run_analysis
from classfreq.reports.html import Figure, Section, Table, render
from classfreq.reports.recommend import CAVEAT, Recommendations, recommend

DECLARATION = ("Declared analysis: the PRIMARY test is each model against its own declared training mix, "
               "Spearman rho of per-class accuracy on log10(docs + 1) over all classes, one pre-declared "
               "test per model (p unadjusted). Everything else (Kendall tau-b, Pearson r, docs > 0, other "
               "count sources) is SECONDARY and Holm-corrected together. Intervals: seeded percentile "
               "bootstrap, 95%.")


@dataclass
class ReportOptions:
    budget: int = 100_000
    ks: tuple = (1_000, 10_000, 100_000)
    target: float | None = None
    oversample: float = 2.0
    top_k: int = 1000
    max_punsafe: float = 0.1
    title: str = "classfreq report: class frequency in training data vs per-class accuracy"


def coverage_notes(coverage: pd.DataFrame) -> dict[str, str]:
    """One sentence per mix: which components are counted, which are not."""
    notes = {}
    for mix, g in coverage.groupby("mix"):
        notes[mix] = f"Mix {mix}: {_components_sentence(g)}"
    return notes


def _components_sentence(g: pd.DataFrame) -> str:
    counted = g[g["counted"] & g["has_counts"]]
    missing = g[g["counted"] & ~g["has_counts"]]
    unc = g[~g["counted"]]
    s = f"{len(counted)} of {len(g)} component(s) counted"
    if len(counted):
        s += " (" + ", ".join(f"{c} = {src} x{w:g}" for c, src, w in
                              zip(counted["component"], counted["source"], counted["weight"])) + ")"
    if len(missing):
        s += f"; declared but without counts yet: {', '.join(missing['component'])}"
    if len(unc):
        s += "; not counted: " + ", ".join(
            f"{c}" + (f" ({n})" if isinstance(n, str) and n else "") for c, n in zip(unc["component"], unc["note"]))
    return s + "."


def merged_coverage(coverage: pd.DataFrame) -> list[str]:
    """The coverage sentences with mixes of identical components merged (one line per distinct mix)."""
    by_text: dict[str, list[str]] = {}
    for mix, g in coverage.groupby("mix"):
        by_text.setdefault(_components_sentence(g), []).append(str(mix))
    return [f"Mix{'es' if len(m) > 1 else ''} {', '.join(m)}: {text}" for text, m in by_text.items()]


def _headline_table(an: Analysis, notes: dict) -> pd.DataFrame:
    t = an.tests
    if t.empty:
        return pd.DataFrame()
    keys = ["model", "dataset", "method", "prompt", "scoring", "labelset", "version", "mix", "role"]
    wide = []
    for k, g in t.groupby(keys, sort=True):
        row = dict(zip(keys, k))
        for subset in ("all", "docs>0"):
            for s in ("spearman", "kendall", "pearson"):
                r = g[(g["subset"] == subset) & (g["statistic"] == s)].iloc[0]
                tag = s if subset == "all" else f"{s} (docs>0)"
                row[tag] = f"{r['estimate']:.3f} [{r['ci_lo']:.3f}, {r['ci_hi']:.3f}]"
                row[f"p {tag}{' (Holm)' if r['test_role'] == 'secondary' else ''}"] = r["p_holm"]
        wide.append(row)
    df = pd.DataFrame(wide)
    summ = an.summary.set_index(keys)
    extra = summ[["n_classes", "share_zero", "mean_accuracy", "ols_b", "ols_b_lo", "ols_b_hi",
                  "logit_b", "logit_b_lo", "logit_b_hi", "logit_phi"]].reset_index()
    df = df.merge(extra, on=keys, how="left")
    df["ols slope [95%]"] = [f"{b:.3f} [{lo:.3f}, {hi:.3f}]" for b, lo, hi in zip(df.pop("ols_b"), df.pop("ols_b_lo"), df.pop("ols_b_hi"))]
    df["logit slope [95%]"] = [f"{b:.3f} [{lo:.3f}, {hi:.3f}]" for b, lo, hi in zip(df.pop("logit_b"), df.pop("logit_b_lo"), df.pop("logit_b_hi"))]
    df["coverage"] = [notes.get(m, f"single count source {m[len('source:'):]}" if str(m).startswith("source:") else "")
                      for m in df["mix"]]
    # "primary" sorts before "secondary" alphabetically: primary rows first, then by model and basis
    df = df.sort_values(["role", "model", "mix"])
    return df.reset_index(drop=True)


def build_report(con, out_dir: str | Path, opts: Options | None = None,
                 ropts: ReportOptions | None = None) -> dict:
    """Run the analysis and recommendations, write report.html + files; returns paths and headline numbers."""
    started = utcnow()
    opts, ropts = opts or Options(), ropts or ReportOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    an = run_analysis(con, opts)
    notes = coverage_notes(an.coverage)
    rec = recommend(con, an.classes, budget=ropts.budget, ks=ropts.ks, target=ropts.target,
                    oversample=ropts.oversample, top_k=ropts.top_k, max_punsafe=ropts.max_punsafe) \
        if len(an.classes) else None
    files = write_recommendation_files(rec, out_dir) if rec is not None else {}
    freq = run_query(con, "class_frequency")
    sections = _sections(con, an, rec, freq, notes, files)
    run_id = new_run_id("report")
    subtitle = (f"Generated {started:%Y-%m-%d %H:%M} UTC by classfreq {__version__}; run {run_id}. "
                f"{DECLARATION}")
    path = render(ropts.title, sections, out_dir, subtitle=subtitle)
    an.tests.to_csv(out_dir / "tables" / "all_tests.csv", index=False)
    cols = ["model", "dataset", "method", "mix", "n_classes", "share_zero", "spearman", "spearman_lo", "spearman_hi",
            "spearman_p", "spearman_superclass_lo", "spearman_superclass_hi", "superclasses"]
    headline = an.summary[an.summary["role"] == "primary"].reindex(columns=cols).to_dict("records") \
        if len(an.summary) else []
    record_run(con, run_id, "report", started, inputs={"warehouse_tables": ["accuracy", "class_sources", "mixes"]},
               options={**opts.as_dict(), **ropts.__dict__, "out": str(out_dir.resolve())})
    return {"report": path, "files": files, "headline": headline, "run_id": run_id,
            "unmatched_models": an.unmatched_models}


def write_recommendation_files(rec: Recommendations, out_dir: Path) -> dict:
    d = out_dir / "recommendations"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    if len(rec.per_class):
        rec.per_class.to_csv(d / "per_class.csv", index=False)
        files["per_class"] = d / "per_class.csv"
    if len(rec.allocation):
        rec.allocation.to_csv(d / "allocation.csv", index=False)
        files["allocation"] = d / "allocation.csv"
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


def _sections(con, an: Analysis, rec: Recommendations | None, freq: pd.DataFrame, notes: dict,
              files: dict) -> list[Section]:
    merged = merged_coverage(an.coverage)
    all_notes = " ".join(merged) or "No training mix is declared (classfreq mix FILE)."
    secs = []
    head = _headline_table(an, notes)
    s = Section("headline", "Headline numbers", DECLARATION, all_notes)
    if an.multi_version_models:
        s.items.append(f"Models with accuracies on more than one label-set version (each version is analysed "
                       f"separately; pass --version to pick one): {', '.join(an.multi_version_models)}.")
    if an.unmatched_models:
        s.items.append(f"Models with accuracies but no declared mix with counts for their label-set version "
                       f"(left out of the primary analysis): "
                       f"{', '.join(an.unmatched_models)}.")
    if len(an.summary):
        for h in an.summary[an.summary["role"] == "primary"].itertuples():
            s.items.append(f"{h.model} on {h.dataset} ({h.method}) vs its own mix: Spearman rho = {h.spearman:.3f} "
                           f"[95% CI {h.spearman_lo:.3f}, {h.spearman_hi:.3f}], p = {h.spearman_p:.2g}, "
                           f"{h.n_classes} classes, {h.share_zero:.1%} with zero count; logit slope "
                           f"{h.logit_b:.3f} [{h.logit_b_lo:.3f}, {h.logit_b_hi:.3f}] per decade of documents."
                           + (f" Resampling {int(h.superclasses)} WordNet superclasses instead of classes: rho interval "
                              f"[{h.spearman_superclass_lo:.3f}, {h.spearman_superclass_hi:.3f}]."
                              if pd.notna(getattr(h, "spearman_superclass_lo", np.nan)) else ""))
        s.items.append(Figure("headline", charts.headline(an.summary)))
        s.items.append(Table("headline", "Correlations with 95% bootstrap intervals and fits", head,
                             "Each row: one model against one count basis; 'coverage' says what of the mix has counts."))
        s.items.append(Table("tests", "Every test (long format)", an.tests,
                             "p_holm: Holm-adjusted over all secondary tests; the primary test is not adjusted."))
    else:
        s.items.append("No accuracy rows join a declared mix yet: import accuracies and declare mixes first.")
    secs.append(s)

    if len(an.classes):
        r_class = {}
        for _, row in an.tests[(an.tests["role"] == "primary") & (an.tests["subset"] == "all") &
                               (an.tests["statistic"] == "pearson")].iterrows():
            r_class[f"{row['model']} | {row['dataset']} | {row['method']} | mix {row['mix']}"] = row["estimate"]
        s = Section("scatter", "Accuracy vs frequency (per class)",
                    "Each point is a class; hover for its name and counts; drag to pan, scroll to zoom. "
                    "Lines: linear fit (OLS) and bounded logit fit (binomial GLM weighted by n) with 95% bands. "
                    "Colours mark classes outside binomial noise around the logit fit (Holm, 5%).", all_notes)
        s.items.append(Figure("scatter", charts.scatter(an.classes, an.curves, merged)))
        if len(an.binned):
            s.items.append(Figure("binned", charts.binned(an.binned, r_class),
                                  "Descriptive only; use the per-class statistics above for inference."))
            s.items.append(Table("binned", "Binned means (descriptive)", an.binned))
        s.items.append(Table("sensitivity", "Sensitivity to the +1 in log10(docs + 1)", an.sensitivity,
                             "Spearman and Kendall do not change with the offset (monotone transform); "
                             "Pearson r and the slopes do."))
        secs.append(s)

    if len(freq):
        s = Section("longtail", "The long tail", "Documents per class in every count source.", all_notes)
        s.items.append(Figure("longtail", charts.long_tail(freq)))
        tail = run_query(con, "tail_classes")
        never = run_query(con, "never_seen")
        s.items.append(Table("tail_classes", "Tail classes (docs <= 10 or rarest 5%)", tail))
        s.items.append(Table("never_seen", "Classes never seen, per count source", never))
        secs.append(s)

    if len(an.classes):
        s = Section("classes", "Per-class tables", "", all_notes)
        cols = ["model", "mix", "class_index", "class_id", "name", "docs", "n", "correct", "accuracy", "ols_fitted",
                "logit_fitted", "z_binomial", "p_binomial_holm", "outlier", "ambiguous"]
        out = an.classes[cols]
        s.items.append(Table("outliers", "Outliers against binomial noise",
                             out[out["outlier"] != ""].sort_values("z_binomial"),
                             "Frequent but inaccurate: often naming or ambiguity; rare but accurate: easy or "
                             "described by other words."))
        s.items.append(Table("per_class", "All classes of the primary analyses", out))
        amb = run_query(con, "ambiguous_classes")
        s.items.append(Table("ambiguous", "Ambiguous classes and the share of their counts from flagged forms", amb))
        secs.append(s)

    if rec is not None and len(rec.per_class):
        s = Section("recommendations", "Recommendations (hypotheses)", CAVEAT, all_notes)
        if len(rec.allocation):
            s.items.append(Figure("allocation", charts.allocation(rec.allocation)))
            gain = rec.allocation.groupby("model")[["budget", "mean_before", "mean_after"]].first().reset_index()
            s.items.append(Table("allocation_gain", "Predicted mean accuracy over all classes before/after the budget", gain))
            s.items.append(Table("allocation", "Budget allocation (greedy on marginal predicted gain)", rec.allocation))
        need = rec.per_class[rec.per_class["reach_note"] != "already at target"]
        cols = [c for c in rec.per_class.columns if c not in ("caveat", "labelset", "version", "dataset", "prompt", "scoring")]
        s.items.append(Table("examples_needed", "Classes below the target: examples needed, or not reachable",
                             need[cols].sort_values(["model", "examples_needed"])))
        adv = rec.per_class[rec.per_class["prompt_advice"] != ""][["model", "class_index", "name", "prompt_advice", "flag"]]
        s.items.append(Table("prompt_advice", "Prompt advice: a more frequent name for the class", adv,
                             "The most frequent lemma group in our counts (shared and polysemous forms excluded)."))
        s.items.append(Table("candidates_summary", "Candidate documents found per allocated class", rec.candidate_summary,
                             "From scanned sources outside the model's mix; NSFW/unsafe rows excluded. "
                             "'wanted' = allocated x oversampling (capped)."))
        s.items.append(Table("candidates", "Candidate documents (img2dataset input: url, caption)", rec.candidates))
        s.items.append("Files: " + ", ".join(f"{k} = {v}" for k, v in files.items()))
        secs.append(s)

    s = Section("coverage", "Mix coverage", "What each declared training mix contains, and what has counts.")
    s.items.append(Table("mix_coverage", "Mix components", an.coverage))
    for n in merged_coverage(an.coverage):
        s.items.append(n)
    secs.append(s)

    s = Section("provenance", "Run provenance", "Every run recorded in the warehouse: inputs, options, versions.")
    s.items.append(Table("runs", "Runs", run_query(con, "run_provenance")))
    s.items.append(Table("analysis_options", "This report's options",
                         pd.DataFrame([{"option": k, "value": json.dumps(v, default=str)} for k, v in an.options.as_dict().items()])))
    secs.append(s)
    return secs
