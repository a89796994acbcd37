"""The declared analysis: per (model, dataset, method, prompt, scoring, mix), accuracy on log frequency.

Declared up front, not fished: the PRIMARY analysis is each model against its own declared
training mix, statistic Spearman rho over all classes (one pre-declared test per model, reported
unadjusted). Everything else — Kendall tau-b and Pearson r, the docs > 0 subset, and every model
against other count sources — is SECONDARY, and those p-values are Holm-corrected together.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from classfreq.errors import UserError
from classfreq.queries.runner import run_query
from classfreq.reports.configs import AnalysisOptions
from classfreq.reports.fits import binned_means, logit_fit, ols_fit
from classfreq.reports.keys import GROUP_KEYS, AnalysisKey
from classfreq.reports.stats import STATS, bootstrap_intervals, correlations, holm, log_docs

PRIMARY_STAT = "spearman"
SENSITIVITY_OFFSETS = (0.1, 1.0, 10.0)


@dataclass
class Analysis:
    options: AnalysisOptions
    tests: pd.DataFrame            # one row per (group, subset, statistic): estimate, interval, p, p_holm, role
    summary: pd.DataFrame          # one row per group: coverage, n, share zero, fits, primary statistic
    classes: pd.DataFrame          # per class of the primary groups: docs, accuracy, fits, outliers
    curves: pd.DataFrame           # fitted lines with bands for the primary groups
    binned: pd.DataFrame           # the descriptive binned figure
    sensitivity: pd.DataFrame      # Pearson r and slopes for other offsets than +1
    coverage: pd.DataFrame         # mix components
    unmatched_models: list[str] = field(default_factory=list)  # accuracy models without a mix with counts
    multi_version_models: list[str] = field(default_factory=list)  # models analysed on >1 label-set version


def superclasses(hypernyms: pd.Series, class_index: pd.Series, level: int = 1) -> np.ndarray:
    """A cluster label per class: its `level`-th hypernym (1 = immediate), else the class itself.

    Accepts a JSON list or a string joined by ' > ', ';', ',' or '|'; the chain is read nearest
    first unless it starts at WordNet's root 'entity' (then it is reversed).
    """
    out = []
    for h, ci in zip(hypernyms, class_index):
        chain = _chain(h)
        out.append(chain[level - 1] if len(chain) >= level else f"class:{ci}")
    return np.asarray(out, dtype=object)


def _chain(h) -> list[str]:
    if h is None or (isinstance(h, float) and np.isnan(h)) or not str(h).strip():
        return []
    if isinstance(h, (list, tuple, np.ndarray)):
        parts = [str(p) for p in h]
    else:
        s = str(h).strip()
        parts = None
        if s.startswith("["):
            try:
                parts = [str(p) for p in json.loads(s)]
            except json.JSONDecodeError:
                parts = None
        if parts is None:
            for sep in (" > ", ">", ";", "|", ","):
                if sep in s:
                    parts = [p.strip() for p in s.split(sep)]
                    break
            else:
                parts = [s]
    parts = [p for p in parts if p]
    if parts and parts[0].split(".")[0].lower() == "entity" and len(parts) > 1:
        parts = parts[::-1]
    return parts


def _group_stats(df: pd.DataFrame, opts: AnalysisOptions, groups=None) -> list[dict]:
    """Rows for the tests table: each statistic on all classes and on docs > 0."""
    rows = []
    for subset in ("all", "docs>0"):
        sel = np.ones(len(df), bool) if subset == "all" else (df["docs"].to_numpy() > 0)
        x = log_docs(df["docs"].to_numpy()[sel])
        y = df["accuracy"].to_numpy()[sel]
        est = correlations(x, y)
        g = None if groups is None else groups[sel]
        ci = bootstrap_intervals(x, y, n_boot=opts.n_boot, seed=opts.seed, groups=g, level=opts.level) \
            if len(x) >= 3 and np.ptp(x) > 0 else {}
        for s in STATS:
            iv = ci.get(s)
            rows.append({"subset": subset, "statistic": s, "n_classes": int(sel.sum()),
                         "estimate": est[s], "ci_lo": iv.lo if iv else np.nan,
                         "ci_hi": iv.hi if iv else np.nan, "boot_valid": iv.n_valid if iv else 0,
                         "p": est[f"{s}_p"]})
    return rows


def _fit_summary(df: pd.DataFrame, opts: AnalysisOptions) -> dict:
    x = log_docs(df["docs"].to_numpy())
    out = {}
    try:
        o = ols_fit(x, df["accuracy"].to_numpy())
        ci = o.ci(opts.level)
        out.update(ols_a=o.a, ols_b=o.b, ols_b_lo=ci["b"][0], ols_b_hi=ci["b"][1], ols_r2=o.r2)
    except ValueError:
        pass
    try:
        g = logit_fit(x, df["correct"].to_numpy(), df["n"].to_numpy())
        ci = g.ci(opts.level)
        out.update(logit_a=g.a, logit_b=g.b, logit_b_lo=ci["b"][0], logit_b_hi=ci["b"][1],
                   logit_phi=g.phi, logit_tau2=g.tau2, logit_converged=g.converged)
    except ValueError:
        pass
    return out


def _class_rows(df: pd.DataFrame, opts: AnalysisOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class fitted values and binomial outliers; the fitted curves with bands."""
    x = log_docs(df["docs"].to_numpy())
    out = df.copy()
    out["log10_docs1"] = x
    curves = []
    try:
        o = ols_fit(x, df["accuracy"].to_numpy())
        g = logit_fit(x, df["correct"].to_numpy(), df["n"].to_numpy())
    except ValueError:
        return out, pd.DataFrame()
    out["ols_fitted"] = o.a + o.b * x
    p_hat = g.predict(x)["mean"]
    out["logit_fitted"] = p_hat
    n, c = df["n"].to_numpy(), df["correct"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z_binomial"] = (c - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat))
    out["p_binomial"] = [stats.binomtest(int(ci), int(ni), float(pi)).pvalue if ni > 0 else np.nan
                         for ci, ni, pi in zip(c, n, p_hat)]
    out["p_binomial_holm"] = holm(out["p_binomial"].to_numpy())
    median_docs = np.median(df["docs"])
    sig = out["p_binomial_holm"] < opts.outlier_alpha
    out["outlier"] = np.select(
        [sig & (out["z_binomial"] < 0) & (out["docs"] >= median_docs),
         sig & (out["z_binomial"] > 0) & (out["docs"] < median_docs),
         sig & (out["z_binomial"] < 0), sig & (out["z_binomial"] > 0)],
        ["frequent but inaccurate", "rare but accurate", "below fit", "above fit"], default="")
    grid = np.linspace(x.min(), x.max(), 60)
    po, pg = o.predict(grid, opts.level), g.predict(grid, opts.level)
    for fit, pr in (("linear (OLS)", po), ("logit (binomial GLM)", pg)):
        curves.append(pd.DataFrame({"fit": fit, "log10_docs1": grid, **pr}))
    return out, pd.concat(curves, ignore_index=True)


def check_filters(con, opts: AnalysisOptions) -> None:
    """A --labelset, --version or --model that matches no accuracy would give an empty report: say so."""
    def values(col):
        return {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM accuracy").fetchall()}
    for flag, col, wanted in (("--labelset", "labelset", [opts.labelset] if opts.labelset else []),
                              ("--version", "version", [opts.version] if opts.version else []),
                              ("--model", "model", list(opts.models or []))):
        missing = [w for w in wanted if w not in values(col)]
        if missing:
            known = ", ".join(sorted(map(str, values(col)))) or "none"
            raise UserError(f"{flag} {missing[0]} has no accuracies in the warehouse (known: {known}); "
                            f"import or evaluate it first, or drop the option")


def run_analysis(con, opts: AnalysisOptions | None = None) -> Analysis:
    """Every (analysis key, role) group: tests, summary, sensitivity; per-class detail for the primary ones."""
    opts = opts or AnalysisOptions()
    primary = _load_primary(con, opts)
    unmatched = sorted(primary.loc[primary["docs"].isna(), "model"].unique())
    primary = primary[primary["docs"].notna()]
    results = [_analyse_group(info, df, opts) for info, df in _groups(_analysis_data(con, primary, opts))]
    tests = _declare_tests(pd.DataFrame([row for r in results for row in r.tests]))
    summary = _with_primary_statistic(pd.DataFrame([r.summary for r in results]), tests)
    return Analysis(opts, tests, summary,
                    _concat(r.classes for r in results), _concat(r.curves for r in results),
                    _concat(r.binned for r in results),
                    pd.DataFrame([row for r in results for row in r.sensitivity]),
                    run_query(con, "mix_coverage"), unmatched, _multi_version_models(primary))


# -- loading -----------------------------------------------------------------------------------

def _scope(opts: AnalysisOptions) -> dict:
    return {k: v for k, v in (("labelset", opts.labelset), ("version", opts.version)) if v is not None}


def _only_models(df: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    return df[df["model"].isin(opts.models)] if opts.models else df


def _load_primary(con, opts: AnalysisOptions) -> pd.DataFrame:
    return _only_models(run_query(con, "frequency_accuracy", _scope(opts)), opts)


def _load_secondary(con, primary: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    """Each model against every single count source, except the one that already is its whole mix."""
    if primary.empty:
        return primary
    keys = run_query(con, "class_frequency", _scope(opts))[["count_key", "labelset", "version"]].drop_duplicates()
    own = run_query(con, "mix_coverage")
    single = own[own["counted"]].groupby("mix")["source"].agg(lambda s: sorted(set(s)))
    frames = []
    for key in sorted(keys["count_key"].unique()):
        df = _only_models(run_query(con, "frequency_accuracy", {"count_key": key, **_scope(opts)}), opts)
        frames.append(df[~_mix_is_only(df["model"], single, key)])
    return pd.concat(frames, ignore_index=True) if frames else primary.iloc[:0]


def _mix_is_only(models: pd.Series, single_sources: pd.Series, count_key: str) -> pd.Series:
    """True where a model's mix is exactly this one count source (the secondary would repeat the primary)."""
    return models.map(lambda m: single_sources.get(m, []) == [count_key])


def _analysis_data(con, primary: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    frames = [primary.assign(role="primary")]
    if opts.secondary_sources:
        frames.append(_load_secondary(con, primary, opts).assign(role="secondary"))
    data = pd.concat(frames, ignore_index=True)
    return data[data["docs"].notna() & data["accuracy"].notna()]


def _multi_version_models(primary: pd.DataFrame) -> list[str]:
    versions = primary.groupby(["model", "labelset"])["version"].nunique()
    return sorted(versions[versions > 1].index.get_level_values("model").unique())


def _groups(data: pd.DataFrame) -> Iterator[tuple[dict, pd.DataFrame]]:
    """(key columns + role, the group's rows by class) for every analysis group, in key order."""
    for key, df in data.groupby(GROUP_KEYS + ["role"], sort=True, dropna=False):
        info = {**AnalysisKey(*key[:-1])._asdict(), "role": key[-1]}
        yield info, df.sort_values("class_index").reset_index(drop=True)


# -- one group ---------------------------------------------------------------------------------

@dataclass
class _GroupResult:
    tests: list[dict]
    summary: dict
    sensitivity: list[dict]
    classes: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    binned: pd.DataFrame | None = None


def _analyse_group(info: dict, df: pd.DataFrame, opts: AnalysisOptions) -> _GroupResult:
    groups = None
    if opts.bootstrap_unit == "superclass":
        groups = superclasses(df["hypernyms"], df["class_index"], opts.superclass_level)
    result = _GroupResult(tests=[{**info, **row} for row in _group_stats(df, opts, groups)],
                          summary=_summary_row(info, df, opts),
                          sensitivity=_sensitivity_rows(info, df))
    if info["role"] == "primary":
        result.classes, result.curves, result.binned = _primary_details(info, df, opts)
    return result


def _summary_row(info: dict, df: pd.DataFrame, opts: AnalysisOptions) -> dict:
    coverage = {"components_counted": int(df["components_counted"].max()),
                "components_found": int(df["components_found"].max()),
                "components_uncounted": int(df["components_uncounted"].max())}
    return {**info, **coverage, **_superclass_interval(info, df, opts), "n_classes": len(df),
            "share_zero": float((df["docs"] == 0).mean()),
            "mean_accuracy": float(df["accuracy"].mean()),
            "median_docs": float(df["docs"].median()), **_fit_summary(df, opts)}


def _superclass_interval(info: dict, df: pd.DataFrame, opts: AnalysisOptions) -> dict:
    """For a primary group resampled by class, the same interval resampling WordNet superclasses:
    classes under one parent are not independent."""
    if info["role"] != "primary" or opts.bootstrap_unit != "class" or not df["hypernyms"].notna().any():
        return {}
    g = superclasses(df["hypernyms"], df["class_index"], opts.superclass_level)
    iv = bootstrap_intervals(log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy(), n_boot=opts.n_boot,
                             seed=opts.seed, groups=g, level=opts.level, which=("spearman",))["spearman"]
    return {"spearman_superclass_lo": iv.lo, "spearman_superclass_hi": iv.hi, "superclasses": int(len(set(g)))}


def _sensitivity_rows(info: dict, df: pd.DataFrame) -> list[dict]:
    """Pearson r and the slopes with other offsets than the +1 in log10(docs + 1)."""
    y = df["accuracy"].to_numpy()
    rows = []
    for off in SENSITIVITY_OFFSETS:
        xo = log_docs(df["docs"].to_numpy(), off)
        row = {**info, "offset": off, "pearson": correlations(xo, y)["pearson"]}
        try:
            row["ols_b"] = ols_fit(xo, y).b
            row["logit_b"] = logit_fit(xo, df["correct"], df["n"]).b
        except ValueError:
            pass
        rows.append(row)
    return rows


def _primary_details(info: dict, df: pd.DataFrame, opts: AnalysisOptions):
    """Per-class rows, fitted curves and the descriptive binned means of one primary group."""
    cls, cur = _class_rows(df, opts)
    curves = cur.assign(**info) if len(cur) else None
    x, y = log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy()
    binned = None
    if len(x) >= 3 and np.ptp(x) > 0:
        binned = pd.DataFrame(binned_means(x, y, opts.bins)).assign(**info)
        binned["r_binned"] = correlations(binned["x_mid"], binned["mean_accuracy"])["pearson"] \
            if len(binned) >= 3 else np.nan
    return cls.assign(role="primary"), curves, binned


# -- across groups -----------------------------------------------------------------------------

def _declare_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """Mark the one pre-declared primary test per group (p unadjusted); Holm over all the others."""
    if len(tests):
        is_primary = (tests["role"] == "primary") & (tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)
        tests["test_role"] = np.where(is_primary, "primary", "secondary")
        tests["p_holm"] = np.nan
        sec = ~is_primary
        tests.loc[sec, "p_holm"] = holm(tests.loc[sec, "p"].to_numpy())
        tests.loc[is_primary, "p_holm"] = tests.loc[is_primary, "p"]  # pre-declared: not adjusted
    return tests


def _with_primary_statistic(summary: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """The summary rows with the primary statistic's estimate, interval and p beside them."""
    if not (len(summary) and len(tests)):
        return summary
    prim = tests[(tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)]
    return summary.merge(
        prim[GROUP_KEYS + ["role", "estimate", "ci_lo", "ci_hi", "p", "p_holm"]].rename(
            columns={"estimate": "spearman", "ci_lo": "spearman_lo", "ci_hi": "spearman_hi",
                     "p": "spearman_p", "p_holm": "spearman_p_adj"}),
        on=GROUP_KEYS + ["role"], how="left")


def _concat(frames: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
