"""The sections of the report, one function each, in page order.

A section function takes the `ReportContext` (the analysis, the recommendations and the open
warehouse) and returns a `Section`, or None when it has nothing to show. To add a section to the
report, write such a function here and add it to `SECTIONS` where it should appear on the page.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from classfreq.queries.runner import run_query
from classfreq.reports import charts
from classfreq.reports.analysis import Analysis
from classfreq.reports.experiments import experiments_section
from classfreq.reports.html import Figure, Section, Table
from classfreq.reports.keys import GROUP_KEYS
from classfreq.reports.recommend import CAVEAT, Recommendations

DECLARATION = ("Declared analysis: the PRIMARY test is each model against its own declared training mix, "
               "Spearman rho of per-class accuracy on log10(docs + 1) over all classes, one pre-declared "
               "test per model (p unadjusted). Everything else (Kendall tau-b, Pearson r, docs > 0, other "
               "count sources) is SECONDARY and Holm-corrected together. Intervals: seeded percentile "
               "bootstrap, 95%.")
NO_MIX = "No training mix is declared (classfreq mix FILE)."


@dataclass
class ReportContext:
    """What every section may read."""
    con: object                             # the open warehouse (for the named queries)
    analysis: Analysis
    recommendations: Recommendations | None
    files: dict = field(default_factory=dict)  # recommendation files written beside the report
    mix_notes: dict = field(init=False)
    merged_notes: list = field(init=False)
    coverage_text: str = field(init=False)

    def __post_init__(self):
        self.mix_notes = coverage_notes(self.analysis.coverage)      # mix -> one sentence
        self.merged_notes = merged_coverage(self.analysis.coverage)  # one sentence per distinct mix
        self.coverage_text = " ".join(self.merged_notes) or NO_MIX   # shown under every section


# -- coverage sentences --------------------------------------------------------------------------

def coverage_notes(coverage: pd.DataFrame) -> dict[str, str]:
    """One sentence per mix: which components are counted, which are not."""
    return {mix: f"Mix {mix}: {_components_sentence(g)}" for mix, g in coverage.groupby("mix")}


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


# -- the headline table ----------------------------------------------------------------------------

def headline_table(an: Analysis, notes: dict) -> pd.DataFrame:
    """One row per (analysis key, role): every statistic with its interval and p, the fits, the coverage."""
    if an.tests.empty:
        return pd.DataFrame()
    keys = GROUP_KEYS + ["role"]
    df = pd.DataFrame([_statistics_row(dict(zip(keys, k)), g) for k, g in an.tests.groupby(keys, sort=True)])
    extra = an.summary.set_index(keys)[["n_classes", "share_zero", "mean_accuracy", "ols_b", "ols_b_lo", "ols_b_hi",
                                        "logit_b", "logit_b_lo", "logit_b_hi", "logit_phi"]].reset_index()
    df = df.merge(extra, on=keys, how="left")
    for fit in ("ols", "logit"):
        df[f"{fit} slope [95%]"] = [_interval(b, lo, hi) for b, lo, hi in
                                    zip(df.pop(f"{fit}_b"), df.pop(f"{fit}_b_lo"), df.pop(f"{fit}_b_hi"))]
    df["coverage"] = [notes.get(m, f"single count source {m[len('source:'):]}" if str(m).startswith("source:") else "")
                      for m in df["mix"]]
    # "primary" sorts before "secondary" alphabetically: primary rows first, then by model and basis
    return df.sort_values(["role", "model", "mix"]).reset_index(drop=True)


def _statistics_row(row: dict, tests: pd.DataFrame) -> dict:
    for subset in ("all", "docs>0"):
        for s in ("spearman", "kendall", "pearson"):
            r = tests[(tests["subset"] == subset) & (tests["statistic"] == s)].iloc[0]
            tag = s if subset == "all" else f"{s} (docs>0)"
            row[tag] = _interval(r["estimate"], r["ci_lo"], r["ci_hi"])
            row[f"p {tag}{' (Holm)' if r['test_role'] == 'secondary' else ''}"] = r["p_holm"]
    return row


def _interval(value, lo, hi) -> str:
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


# -- the sections, in page order -------------------------------------------------------------------

def headline_section(ctx: ReportContext) -> Section:
    an = ctx.analysis
    s = Section("headline", "Headline numbers", DECLARATION, ctx.coverage_text)
    if an.multi_version_models:
        s.items.append(f"Models with accuracies on more than one label-set version (each version is analysed "
                       f"separately; pass --version to pick one): {', '.join(an.multi_version_models)}.")
    if an.unmatched_models:
        s.items.append(f"Models with accuracies but no declared mix with counts for their label-set version "
                       f"(left out of the primary analysis): "
                       f"{', '.join(an.unmatched_models)}.")
    if not len(an.summary):
        s.items.append("No accuracy rows join a declared mix yet: import accuracies and declare mixes first.")
        return s
    s.items += [_headline_sentence(h) for h in an.summary[an.summary["role"] == "primary"].itertuples()]
    s.items.append(Figure("headline", charts.headline(an.summary)))
    s.items.append(Table("headline", "Correlations with 95% bootstrap intervals and fits",
                         headline_table(an, ctx.mix_notes),
                         "Each row: one model against one count basis; 'coverage' says what of the mix has counts."))
    s.items.append(Table("tests", "Every test (long format)", an.tests,
                         "p_holm: Holm-adjusted over all secondary tests; the primary test is not adjusted."))
    return s


def _headline_sentence(h) -> str:
    superclass = ""
    if pd.notna(getattr(h, "spearman_superclass_lo", np.nan)):
        superclass = (f" Resampling {int(h.superclasses)} WordNet superclasses instead of classes: rho interval "
                      f"[{h.spearman_superclass_lo:.3f}, {h.spearman_superclass_hi:.3f}].")
    return (f"{h.model} on {h.dataset} ({h.method}) vs its own mix: Spearman rho = {h.spearman:.3f} "
            f"[95% CI {h.spearman_lo:.3f}, {h.spearman_hi:.3f}], p = {h.spearman_p:.2g}, "
            f"{h.n_classes} classes, {h.share_zero:.1%} with zero count; logit slope "
            f"{h.logit_b:.3f} [{h.logit_b_lo:.3f}, {h.logit_b_hi:.3f}] per decade of documents." + superclass)


def scatter_section(ctx: ReportContext) -> Section | None:
    an = ctx.analysis
    if not len(an.classes):
        return None
    t = an.tests
    pearson = t[(t["role"] == "primary") & (t["subset"] == "all") & (t["statistic"] == "pearson")]
    r_class = {f"{row['model']} | {row['dataset']} | {row['method']} | mix {row['mix']}": row["estimate"]
               for _, row in pearson.iterrows()}
    s = Section("scatter", "Accuracy vs frequency (per class)",
                "Each point is a class; hover for its name and counts; drag to pan, scroll to zoom. "
                "Lines: linear fit (OLS) and bounded logit fit (binomial GLM weighted by n) with 95% bands. "
                "Colours mark classes outside binomial noise around the logit fit (Holm, 5%).", ctx.coverage_text)
    s.items.append(Figure("scatter", charts.scatter(an.classes, an.curves, ctx.merged_notes)))
    if len(an.binned):
        s.items.append(Figure("binned", charts.binned(an.binned, r_class),
                              "Descriptive only; use the per-class statistics above for inference."))
        s.items.append(Table("binned", "Binned means (descriptive)", an.binned))
    s.items.append(Table("sensitivity", "Sensitivity to the +1 in log10(docs + 1)", an.sensitivity,
                         "Spearman and Kendall do not change with the offset (monotone transform); "
                         "Pearson r and the slopes do."))
    return s


def long_tail_section(ctx: ReportContext) -> Section | None:
    freq = run_query(ctx.con, "class_frequency")
    if not len(freq):
        return None
    s = Section("longtail", "The long tail", "Documents per class in every count source.", ctx.coverage_text)
    s.items.append(Figure("longtail", charts.long_tail(freq)))
    s.items.append(Table("tail_classes", "Tail classes (docs <= 10 or rarest 5%)", run_query(ctx.con, "tail_classes")))
    s.items.append(Table("never_seen", "Classes never seen, per count source", run_query(ctx.con, "never_seen")))
    return s


CLASS_COLUMNS = ["model", "mix", "class_index", "class_id", "name", "docs", "n", "correct", "accuracy", "ols_fitted",
                 "logit_fitted", "z_binomial", "p_binomial_holm", "outlier", "ambiguous"]


def class_tables_section(ctx: ReportContext) -> Section | None:
    if not len(ctx.analysis.classes):
        return None
    s = Section("classes", "Per-class tables", "", ctx.coverage_text)
    out = ctx.analysis.classes[CLASS_COLUMNS]
    s.items.append(Table("outliers", "Outliers against binomial noise",
                         out[out["outlier"] != ""].sort_values("z_binomial"),
                         "Frequent but inaccurate: often naming or ambiguity; rare but accurate: easy or "
                         "described by other words."))
    s.items.append(Table("per_class", "All classes of the primary analyses", out))
    s.items.append(Table("ambiguous", "Ambiguous classes and the share of their counts from flagged forms",
                         run_query(ctx.con, "ambiguous_classes")))
    return s


def recommendations_section(ctx: ReportContext) -> Section | None:
    rec = ctx.recommendations
    if rec is None or not len(rec.per_class):
        return None
    s = Section("recommendations", "Recommendations (hypotheses)", CAVEAT, ctx.coverage_text)
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
    s.items.append("Files: " + ", ".join(f"{k} = {v}" for k, v in ctx.files.items()))
    return s


def coverage_section(ctx: ReportContext) -> Section:
    s = Section("coverage", "Mix coverage", "What each declared training mix contains, and what has counts.")
    s.items.append(Table("mix_coverage", "Mix components", ctx.analysis.coverage))
    s.items += ctx.merged_notes
    return s


def provenance_section(ctx: ReportContext) -> Section:
    s = Section("provenance", "Run provenance", "Every run recorded in the warehouse: inputs, options, versions.")
    s.items.append(Table("runs", "Runs", run_query(ctx.con, "run_provenance")))
    options = [{"option": k, "value": json.dumps(v, default=str)} for k, v in ctx.analysis.options.as_dict().items()]
    s.items.append(Table("analysis_options", "This report's options", pd.DataFrame(options)))
    return s


# the report's sections in page order: a new section is one function above and one entry here
SECTIONS: list[Callable[[ReportContext], Section | None]] = [
    headline_section,
    scatter_section,
    long_tail_section,
    class_tables_section,
    recommendations_section,
    experiments_section,
    coverage_section,
    provenance_section,
]


def build_sections(ctx: ReportContext) -> list[Section]:
    return [s for s in (make(ctx) for make in SECTIONS) if s is not None]
