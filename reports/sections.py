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
from classfreq.reports.counterror import SIMEX_BOOT, SIMEX_BOOT_REPLICATES
from classfreq.reports.experiments import experiments_section
from classfreq.reports.html import Figure, Section, Table
from classfreq.reports.keys import GROUP_KEYS
from classfreq.reports.recommend import CAVEAT, TOP_N, TOP_SHOWN, Recommendations, top_classes_by_source

DECLARATION = ("Declared analysis: the PRIMARY test is each model against its own declared training mix "
               "(relevance-adjusted counts where every counted component has them, else raw counts), "
               "Spearman rho of per-class accuracy on log10(docs + 1) over all classes, one pre-declared "
               "test per model (p unadjusted). SECONDARY, Holm-corrected within one fixed family per model "
               "(and dataset, method, prompt): Kendall tau-b, Pearson r, docs > 0 (when some class has zero "
               "documents), the mix's raw counts and its alternative count sources; the family size is shown "
               "beside each p. Tests against unrelated count sources are EXPLORATORY (p unadjusted). "
               "Models without a declared mix enter no test. Intervals: seeded percentile bootstrap, 95%.")
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
    extra = an.summary.set_index(keys).reindex(columns=[
        "n_classes", "share_zero", "mean_accuracy", "ols_b", "ols_b_lo", "ols_b_hi", "logit_b", "logit_b_lo",
        "logit_b_hi", "logit_phi", "glmm_b", "glmm_b_lo", "glmm_b_hi", "glmm_sigma"]).reset_index()
    df = df.merge(extra, on=keys, how="left")
    for fit in ("ols", "logit", "glmm"):
        df[f"{fit} slope [95%]"] = [_interval(b, lo, hi) for b, lo, hi in
                                    zip(df.pop(f"{fit}_b"), df.pop(f"{fit}_b_lo"), df.pop(f"{fit}_b_hi"))]
    df["coverage"] = [notes.get(m, f"single count source {m[len('source:'):]}" if str(m).startswith("source:") else "")
                      for m in df["mix"]]
    # "primary" sorts before "secondary" alphabetically: primary rows first, then by model and basis
    return df.sort_values(["role", "model", "mix"]).reset_index(drop=True)


def _statistics_row(row: dict, tests: pd.DataFrame) -> dict:
    """Each statistic with its interval and p; a secondary p is Holm-adjusted within its family, whose
    size is shown beside it; docs>0 is left blank where it would repeat all classes (no zeros)."""
    row["source_relation"] = tests["source_relation"].iloc[0]
    for subset in ("all", "docs>0"):
        for s in ("spearman", "kendall", "pearson"):
            tag = s if subset == "all" else f"{s} (docs>0)"
            hit = tests[(tests["subset"] == subset) & (tests["statistic"] == s)]
            if not len(hit):
                row[tag] = "= all classes (no zero counts)"
                continue
            r = hit.iloc[0]
            row[tag] = _interval(r["estimate"], r["ci_lo"], r["ci_hi"])
            if r["test_role"] == "secondary":
                row[f"p {tag} (Holm)"] = r["p_holm"]
                row[f"family {tag}"] = int(r["family_size"])
            else:
                row[f"p {tag}{' (exploratory, unadjusted)' if r['test_role'] == 'exploratory' else ''}"] = r["p"]
    return row


def _interval(value, lo, hi) -> str:
    if not np.isfinite(value):
        return "undefined"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{value:.3f} [no interval]"
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
    named = _relevant_components_named(ctx.con)
    s.items += [_headline_sentence(h, an.summary, named.get(h.mix))
                for h in an.summary[an.summary["role"] == "primary"].itertuples()]
    s.items.append(Figure("headline", charts.headline(an.summary)))
    s.items.append(Table("headline", "Correlations with 95% bootstrap intervals and fits",
                         headline_table(an, ctx.mix_notes),
                         "Each row: one model against one count basis; 'coverage' says what of the mix has counts."))
    s.items += _count_error_items(an)
    if len(an.superclass_levels):
        s.items.append(Table("superclass_levels", "Class dependence: WordNet superclasses by depth from the root",
                             an.superclass_levels,
                             "Per model: clusters at each depth, the OLS slope of accuracy on log10(docs + 1) "
                             "within clusters (cluster fixed effects, cluster-robust 95% interval) and the share "
                             "of the variance of accuracy between clusters (ICC). 'used': the depth of the "
                             "superclass bootstrap."))
    s.items.append(Table("tests", "Every test (long format)", an.tests,
                         "p_holm: Holm-adjusted within the test's family (family_size tests: one model's accuracies against "
                         "its mix and the mix's alternative sources); the primary test is not adjusted; exploratory "
                         "tests are not adjusted and belong to no family."))
    return s


def _relevant_components_named(con) -> dict[str, tuple[int, int]]:
    """Per mix: (counted components whose source is a ':relevant' key, counted components)."""
    rows = con.execute("SELECT model, count(*) FILTER (WHERE source LIKE 'ours:%:relevant'), count(*) "
                       "FROM mixes WHERE counted GROUP BY model").fetchall()
    return {mix: (named, counted) for mix, named, counted in rows}


def _basis_label(count_basis: str, named: tuple[int, int] | None) -> str:
    if count_basis == "relevant":
        return "relevance-adjusted counts"
    if named and named[0]:
        return (f"raw counts, except the relevance-adjusted counts the mix file names for {named[0]} of its "
                f"{named[1]} counted components")
    return "raw counts"


def _headline_sentence(h, summary: pd.DataFrame, named: tuple[int, int] | None = None) -> str:
    """One model's primary numbers; every figure names the model and the count basis it came from."""
    who = f"{h.model} on {h.dataset} ({h.method})"
    basis = _basis_label(h.count_basis, named)
    text = (f"{who} vs its own mix ({basis}): Spearman rho = {h.spearman:.3f} "
            f"[95% CI {h.spearman_lo:.3f}, {h.spearman_hi:.3f}], p = {h.spearman_p:.2g} (pre-declared, 1 test), "
            f"{h.n_classes} classes, {h.share_zero:.1%} with zero count; logit slope (binomial GLM, population "
            f"average) {h.logit_b:.3f} [{h.logit_b_lo:.3f}, {h.logit_b_hi:.3f}] per decade of documents.")
    if pd.notna(getattr(h, "glmm_b", np.nan)):
        text += (f" {h.model}, logit-normal GLMM (the main bounded fit): class-level slope {h.glmm_b:.3f} "
                 f"[{h.glmm_b_lo:.3f}, {h.glmm_b_hi:.3f}], between-class SD {h.glmm_sigma:.2f} on the logit scale.")
    if h.count_basis == "relevant":
        raw = summary[(summary["model"] == h.model) & (summary["dataset"] == h.dataset) &
                      (summary["method"] == h.method) & (summary["source_relation"] == "own mix, raw counts")]
        if len(raw):
            r = raw.iloc[0]
            text += (f" {h.model} on the same mix's raw counts: rho = {r['spearman']:.3f} "
                     f"[{r['spearman_lo']:.3f}, {r['spearman_hi']:.3f}]; relevance-adjusted counts are primary.")
    if pd.notna(getattr(h, "spearman_superclass_lo", np.nan)):
        text += (f" {h.model}, resampling {int(h.superclasses)} WordNet superclasses ({h.superclass_rule}) "
                 f"instead of classes: rho interval [{h.spearman_superclass_lo:.3f}, {h.spearman_superclass_hi:.3f}].")
    if pd.notna(getattr(h, "within_b", np.nan)):
        text += (f" {h.model}, within {int(h.superclasses)} WordNet superclasses ({h.superclass_rule}): OLS slope "
                 f"{h.within_b:.3f} [{h.within_b_lo:.3f}, {h.within_b_hi:.3f}]; {h.icc_between:.0%} of the variance "
                 f"of accuracy lies between them.")
    return text


def _count_error_items(an: Analysis) -> list:
    """Counter agreement and the errors-in-variables slopes (declared secondary), when there are counters."""
    items = []
    if len(an.counters):
        items.append(Table("counters", "Count error: agreement between counters of the same documents", an.counters,
                           "Per model's mix: Spearman rho between its primary counts and each other count of the same "
                           "documents (raw vs relevance-adjusted, other published counters of the corpus); the share "
                           "of classes in the rarest third by one and the most frequent third by the other; half the "
                           "variance of the difference in log10(docs + 1) (the error variance of one counter)."))
    if len(an.errors_in_variables):
        items += [_eiv_sentence(r) for r in an.errors_in_variables.itertuples()
                  if r.slope.startswith("logit")]
        items.append(Table("errors_in_variables", "Errors in variables (declared secondary): slopes corrected for count "
                           "error, 95% intervals", eiv_table(an.errors_in_variables),
                           f"Per model: the naive slope, SIMEX (added error, rational-linear extrapolation to no error; "
                           f"the quadratic extrapolant beside it under-corrects) and regression calibration with a "
                           f"second counter. Error variance from counter disagreement plus the count intervals. "
                           f"Intervals: percentile bootstrap over classes of the whole procedure ({SIMEX_BOOT} seeded "
                           f"replicates, {SIMEX_BOOT_REPLICATES} simulations per lambda inside each), the error "
                           f"variance held at its estimate."))
    return items


EIV_ESTIMATES = {"naive": "naive", "simex": "SIMEX", "simex_quadratic": "SIMEX (quadratic)",
                 "regression_calibration": "regression calibration"}


def eiv_table(eiv: pd.DataFrame) -> pd.DataFrame:
    """The errors-in-variables rows with each estimate and its interval side by side as text."""
    df = eiv.drop(columns=[c for c in eiv.columns if c.endswith("_draws")])
    for col, label in EIV_ESTIMATES.items():
        df[f"{label} [95%]"] = [_interval(v, lo, hi) if np.isfinite(v) else "" for v, lo, hi in
                                zip(df.pop(col), df.pop(f"{col}_lo"), df.pop(f"{col}_hi"))]
    return df


def _eiv_sentence(r) -> str:
    """One model's count-error-corrected logit slope, naming the fit and the correction."""
    text = (f"{r.model} on {r.dataset}, logit slope (binomial GLM, population average) corrected for count error "
            f"(declared secondary; error variance {r.error_var_log10:.3f} in log10(docs + 1)): naive "
            f"{_interval(r.naive, r.naive_lo, r.naive_hi)}, SIMEX {_interval(r.simex, r.simex_lo, r.simex_hi)}")
    if np.isfinite(r.regression_calibration):
        text += (", regression calibration "
                 f"{_interval(r.regression_calibration, r.regression_calibration_lo, r.regression_calibration_hi)}")
    text += f" (95% bootstrap over classes of the whole correction, {int(r.eiv_boot)} replicates"
    failed = {EIV_ESTIMATES[k]: int(r.eiv_boot) - int(getattr(r, f"{k}_draws")) for k in ("simex", "regression_calibration")
              if np.isfinite(getattr(r, k)) and getattr(r, f"{k}_draws") < r.eiv_boot}
    if failed:
        text += "; the correction failed in " + ", ".join(f"{n} for {k}" for k, n in failed.items())
        text += " (no interval where more than 2.5% failed)"
    return text + ")."


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
                "Lines: linear fit (OLS, HC3 band), bounded logit fit (binomial GLM weighted by n, population "
                "average) and the main bounded fit, a logit-normal GLMM (the median class), with 95% bands. "
                "Colours mark classes outside the GLMM's noise (binomial and between-class; Holm, 5%).",
                ctx.coverage_text)
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


CLASS_COLUMNS = ["model", "mix", "count_basis", "class_index", "class_id", "name", "docs", "count_low", "count_high",
                 "n", "correct", "accuracy", "ols_fitted", "logit_fitted", "glmm_fitted", "class_estimate", "p_glmm_holm",
                 "z_binomial", "p_binomial_holm", "outlier", "ambiguous"]


def class_tables_section(ctx: ReportContext) -> Section | None:
    if not len(ctx.analysis.classes):
        return None
    s = Section("classes", "Per-class tables", "", ctx.coverage_text)
    out = ctx.analysis.classes.reindex(columns=CLASS_COLUMNS)
    s.items.append(Table("outliers", "Outliers against the overdispersed model (logit-normal GLMM, per model)",
                         out[out["outlier"] != ""].sort_values(["model", "p_glmm_holm"]),
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
    s = Section("recommendations", "Recommendations (hypotheses)",
                CAVEAT + " Per model, from its logit-normal GLMM (class-level slope); no prediction beyond the most "
                "frequent class the fit has seen; intervals from a parametric bootstrap of the fit; the target is "
                "compared with each class's estimate on the same scale (default: their median). Counts: "
                "relevance-adjusted where the mix has them.", ctx.coverage_text)
    if len(rec.allocation):
        s.items.append(Figure("allocation", charts.allocation(rec.allocation)))
        gain = rec.allocation.groupby("model")[["budget", "mean_before", "mean_after"]].first().reset_index()
        s.items.append(Table("allocation_gain", "Predicted mean accuracy over all classes before/after the budget", gain))
        s.items.append(Table("allocation", "Budget allocation (greedy on marginal predicted gain)", rec.allocation))
    s.items += _source_items(rec)
    if rec.treatments is not None and len(rec.treatments):
        s.items.append(Table("uncertain_counts", "Classes with uncertain zero or near-zero counts: the allocation "
                             "under each treatment", rec.treatments,
                             "Per model: 'upper' counts them at the top of their count range, 'exclude' gives them "
                             "nothing, 'as-counted' takes the count as it is; 'used' is the allocation above."))
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


def _source_items(rec: Recommendations) -> list:
    """How the allocation changes with the count source believed: one row per source, and the classes
    any source funds most, with every source's share of the budget side by side."""
    if not len(rec.source_comparison):
        return []
    cmp = rec.source_comparison
    items = [f"{r.model}: under {r.count_source} ({r.source_relation}) its logit-normal GLMM's class-level slope "
             f"is {r.glmm_b:.3f} and "
             f"{getattr(r, f'top{TOP_N}_shared_with_primary')} of the {TOP_N} classes funded most are the primary's; "
             f"{r.share_allocated:.0%} of the budget can be placed, {r.budget_shared_with_primary:.0%} where the "
             f"primary puts it."
             for r in cmp[cmp["role"] != "primary"].itertuples()]
    items.append(Table("source_comparison", "The allocation under every count source of the mix", cmp,
                       f"Per model and count source of its declared mix: its own logit-normal GLMM (class-level "
                       f"slope glmm_b) and greedy split of the same budget, the same treatment of uncertain counts. "
                       f"top{TOP_N}_shared_with_primary: of the {TOP_N} classes funded most, how many are among the "
                       f"primary's {TOP_N}; budget_shared_with_primary: the share of the budget put on the same "
                       f"classes as the primary (sum of the smaller allocation); share_allocated: below 1 where the "
                       f"source's fit has seen too few documents to place the whole budget (no class is taken past "
                       f"its most frequent class) or its slope is not positive; mean_before/after: the mean GLMM "
                       f"class estimate before and after, under that source."))
    items.append(Table("top_classes_by_source", f"Each count source's {TOP_SHOWN} most funded classes: share of "
                       f"the budget under every source", top_classes_by_source(rec.by_source),
                       "One column per count source ('primary': the model's own mix counts, as in the tables above); "
                       "every allocation is in "
                       "recommendations/allocation_by_source.csv."))
    return items


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
