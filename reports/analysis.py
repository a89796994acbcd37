"""The declared analysis: per (model, dataset, method, prompt, scoring, mix), accuracy on log frequency.

Declared up front, not fished: the PRIMARY analysis is each model against its own declared
training mix, statistic Spearman rho over all classes (one pre-declared test per model, reported
unadjusted). Everything else — Kendall tau-b and Pearson r, the docs > 0 subset, and every model
against other count sources — is SECONDARY, and those p-values are Holm-corrected together.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from classfreq.queries.runner import run_query
from classfreq.reports.fits import binned_means, logit_fit, ols_fit
from classfreq.reports.stats import STATS, bootstrap_intervals, correlations, holm, log_docs

GROUP_KEYS = ["model", "dataset", "method", "prompt", "scoring", "labelset", "version", "mix"]
PRIMARY_STAT = "spearman"
SENSITIVITY_OFFSETS = (0.1, 1.0, 10.0)


@dataclass
class Options:
    n_boot: int = 1000
    seed: int = 0
    bootstrap_unit: str = "class"         # or "superclass" (WordNet hypernym clusters)
    superclass_level: int = 1             # 1 = the immediate hypernym
    secondary_sources: bool = True        # also each model against every other count source
    models: list[str] | None = None
    labelset: str | None = None           # restrict to one label set ...
    version: str | None = None            # ... and version (default: all in the warehouse)
    level: float = 0.95
    bins: int = 10
    outlier_alpha: float = 0.05

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Analysis:
    options: Options
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


def _group_stats(df: pd.DataFrame, opts: Options, groups=None) -> list[dict]:
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


def _fit_summary(df: pd.DataFrame, opts: Options) -> dict:
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


def _class_rows(df: pd.DataFrame, opts: Options) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def _scope(opts: Options) -> dict:
    return {k: v for k, v in (("labelset", opts.labelset), ("version", opts.version)) if v is not None}


def _load_primary(con, opts: Options) -> pd.DataFrame:
    df = run_query(con, "frequency_accuracy", _scope(opts))
    if opts.models:
        df = df[df["model"].isin(opts.models)]
    return df


def _load_secondary(con, primary: pd.DataFrame, opts: Options) -> pd.DataFrame:
    if primary.empty:
        return primary
    keys = run_query(con, "class_frequency", _scope(opts))[["count_key", "labelset", "version"]].drop_duplicates()
    own = run_query(con, "mix_coverage")
    single = own[own["counted"]].groupby("mix")["source"].agg(lambda s: sorted(set(s)))
    frames = []
    for key in sorted(keys["count_key"].unique()):
        df = run_query(con, "frequency_accuracy", {"count_key": key, **_scope(opts)})
        if opts.models:
            df = df[df["model"].isin(opts.models)]
        # the same as the primary when a model's mix is exactly this one source
        same = df["model"].map(lambda m: single.get(m, []) == [key])
        frames.append(df[~same])
    return pd.concat(frames, ignore_index=True) if frames else primary.iloc[:0]


def run_analysis(con, opts: Options | None = None) -> Analysis:
    opts = opts or Options()
    primary = _load_primary(con, opts)
    unmatched = sorted(primary.loc[primary["docs"].isna(), "model"].unique())
    primary = primary[primary["docs"].notna()]
    versions = primary.groupby(["model", "labelset"])["version"].nunique()
    multi = sorted(versions[versions > 1].index.get_level_values("model").unique())
    frames = [primary.assign(role="primary")]
    if opts.secondary_sources:
        frames.append(_load_secondary(con, primary, opts).assign(role="secondary"))
    data = pd.concat(frames, ignore_index=True)
    data = data[data["docs"].notna() & data["accuracy"].notna()]

    tests, summary, classes, curves, binned, sens = [], [], [], [], [], []
    for key, df in data.groupby(GROUP_KEYS + ["role"], sort=True, dropna=False):
        df = df.sort_values("class_index").reset_index(drop=True)
        info = dict(zip(GROUP_KEYS + ["role"], key))
        groups = None
        if opts.bootstrap_unit == "superclass":
            groups = superclasses(df["hypernyms"], df["class_index"], opts.superclass_level)
        for row in _group_stats(df, opts, groups):
            tests.append({**info, **row})
        cov = {"components_counted": int(df["components_counted"].max()),
               "components_found": int(df["components_found"].max()),
               "components_uncounted": int(df["components_uncounted"].max())}
        robust = {}
        if info["role"] == "primary" and opts.bootstrap_unit == "class" and df["hypernyms"].notna().any():
            # the same interval resampling WordNet superclasses: classes under one parent are not independent
            g = superclasses(df["hypernyms"], df["class_index"], opts.superclass_level)
            iv = bootstrap_intervals(log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy(), n_boot=opts.n_boot,
                                     seed=opts.seed, groups=g, level=opts.level, which=("spearman",))["spearman"]
            robust = {"spearman_superclass_lo": iv.lo, "spearman_superclass_hi": iv.hi,
                      "superclasses": int(len(set(g)))}
        summary.append({**info, **cov, **robust, "n_classes": len(df),
                        "share_zero": float((df["docs"] == 0).mean()),
                        "mean_accuracy": float(df["accuracy"].mean()),
                        "median_docs": float(df["docs"].median()), **_fit_summary(df, opts)})
        x = log_docs(df["docs"].to_numpy())
        y = df["accuracy"].to_numpy()
        for off in SENSITIVITY_OFFSETS:
            xo = log_docs(df["docs"].to_numpy(), off)
            row = {**info, "offset": off, "pearson": correlations(xo, y)["pearson"]}
            try:
                row["ols_b"] = ols_fit(xo, y).b
                row["logit_b"] = logit_fit(xo, df["correct"], df["n"]).b
            except ValueError:
                pass
            sens.append(row)
        if info["role"] == "primary":
            cls, cur = _class_rows(df, opts)
            classes.append(cls.assign(role="primary"))
            if len(cur):
                curves.append(cur.assign(**info))
            if len(x) >= 3 and np.ptp(x) > 0:
                b = pd.DataFrame(binned_means(x, y, opts.bins)).assign(**info)
                b["r_binned"] = correlations(b["x_mid"], b["mean_accuracy"])["pearson"] if len(b) >= 3 else np.nan
                binned.append(b)

    tests = pd.DataFrame(tests)
    if len(tests):
        is_primary = (tests["role"] == "primary") & (tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)
        tests["test_role"] = np.where(is_primary, "primary", "secondary")
        tests["p_holm"] = np.nan
        sec = ~is_primary
        tests.loc[sec, "p_holm"] = holm(tests.loc[sec, "p"].to_numpy())
        tests.loc[is_primary, "p_holm"] = tests.loc[is_primary, "p"]  # pre-declared: not adjusted
    summary = pd.DataFrame(summary)
    if len(summary) and len(tests):
        prim = tests[(tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)]
        summary = summary.merge(
            prim[GROUP_KEYS + ["role", "estimate", "ci_lo", "ci_hi", "p", "p_holm"]].rename(
                columns={"estimate": "spearman", "ci_lo": "spearman_lo", "ci_hi": "spearman_hi",
                         "p": "spearman_p", "p_holm": "spearman_p_adj"}),
            on=GROUP_KEYS + ["role"], how="left")
    coverage = run_query(con, "mix_coverage")
    return Analysis(opts, tests, summary,
                    pd.concat(classes, ignore_index=True) if classes else pd.DataFrame(),
                    pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
                    pd.concat(binned, ignore_index=True) if binned else pd.DataFrame(),
                    pd.DataFrame(sens), coverage, unmatched, multi)
