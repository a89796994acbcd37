"""Count error as part of the analysis: how far counters of the same documents agree, and the
errors-in-variables correction of the slopes (a declared SECONDARY analysis).

Two counters of one corpus are two noisy measurements x1, x2 of the same log frequency. With
independent errors of equal variance, var(x1 - x2) = 2 sigma_u^2 gives the error variance of the
primary's x; a count interval (sampling, relevance) adds its own variance ((log10(hi+1) -
log10(lo+1)) / 3.92)^2. SIMEX (simulation-extrapolation): add extra error of variance lambda
sigma_u^2 for lambda in LAMBDAS, refit, and extrapolate the slope to lambda = -1 (no error) with the
rational-linear extrapolant a + b / (c + lambda), c = var(x) / sigma_u^2, exact for a linear fit with
normal errors (the quadratic extrapolant, kept beside it, is known to under-correct: on the
simulation of tests/test_reports_stats.py it gives 0.468 for a true 0.5, the rational one 0.488).
Regression calibration: the slope divided by the reliability cov(x1, x2) / var(x1).

Intervals (95%): a percentile bootstrap over classes of the WHOLE procedure (resample classes, refit
the naive slope, rerun SIMEX with its own added error, recompute the reliability from the resampled
counters), SIMEX_BOOT seeded replicates with SIMEX_BOOT_REPLICATES simulations per lambda inside each
(fewer than the point estimate's SIMEX_REPLICATES: the extra simulation noise, if anything, widens the
interval a little). The error variance is held at its estimate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from classfreq.reports.fits import logit_fit, ols_fit
from classfreq.reports.keys import FAMILY_KEYS
from classfreq.reports.stats import log_docs, resample_indices

LAMBDAS = (0.0, 0.5, 1.0, 1.5, 2.0)
SIMEX_REPLICATES = 50
SIMEX_BOOT = 200
SIMEX_BOOT_REPLICATES = 10
TERCILES = ("tail", "middle", "head")


def counter_agreement(primary: pd.DataFrame, other: pd.DataFrame, label: str) -> dict:
    """Spearman rho between two counts of the same classes, and the share of classes that are in the
    tail (rarest third) by one and the head (most frequent third) by the other."""
    both = primary[["class_index", "docs"]].merge(other[["class_index", "docs"]], on="class_index",
                                                  suffixes=("", "_other"))
    a, b = both["docs"].to_numpy(float), both["docs_other"].to_numpy(float)
    ta, tb = _tercile(a), _tercile(b)
    return {"other_source": label, "classes": len(both),
            "spearman_counts": float(stats.spearmanr(a, b).statistic) if np.ptp(a) and np.ptp(b) else np.nan,
            "share_tail_head_swapped": float(np.mean(((ta == 0) & (tb == 2)) | ((ta == 2) & (tb == 0)))),
            "share_other_tercile": float(np.mean(ta != tb)),
            "error_var_log10": float(np.var(log_docs(a) - log_docs(b), ddof=1) / 2)}


def _tercile(v: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(v) / len(v)
    return np.digitize(ranks, [1 / 3, 2 / 3], right=True)


def interval_error_var(docs_lo, docs_hi) -> float:
    """Mean variance of log10(docs + 1) implied by the count intervals (95%, normal on the log scale)."""
    lo, hi = np.asarray(docs_lo, float), np.asarray(docs_hi, float)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return 0.0
    return float(np.mean(((log_docs(hi[ok]) - log_docs(lo[ok])) / (2 * 1.96)) ** 2))


def simex_slope(x, fit_slope, error_var: float, seed: int = 0, lambdas=LAMBDAS,
                replicates: int = SIMEX_REPLICATES) -> dict:
    """SIMEX estimate of the slope fitted by fit_slope(x) when x carries error of variance error_var."""
    x = np.asarray(x, float)
    rng = np.random.default_rng(seed)
    means = []
    for lam in lambdas:
        if lam == 0:
            means.append(fit_slope(x))
            continue
        sims = [fit_slope(x + np.sqrt(lam * error_var) * rng.standard_normal(len(x))) for _ in range(replicates)]
        means.append(float(np.mean(sims)))
    lam, means = np.asarray(lambdas, float), np.asarray(means, float)
    return {"naive": float(means[0]), "simex": _simex_rational(x, lam, means, error_var),
            "simex_quadratic": float(np.polyval(np.polyfit(lam, means, 2), -1.0)),
            "path": dict(zip(map(float, lam), map(float, means)))}


def _simex_rational(x: np.ndarray, lambdas: np.ndarray, means: np.ndarray, error_var: float) -> float:
    """The rational-linear extrapolant; the naive slope without error; NaN where the error variance
    reaches the variance of x (nothing of the signal left to correct)."""
    if error_var <= 0:
        return float(means[0])
    c = float(np.var(x)) / error_var
    return rational_extrapolation(lambdas, means, c) if c > 1 else np.nan


def rational_extrapolation(lambdas: np.ndarray, means: np.ndarray, c: float) -> float:
    """The least-squares fit of a + b / (c + lambda) to the SIMEX path, evaluated at lambda = -1.

    c is fixed at var(x) / sigma_u^2, its value for a linear fit with normal error (the slope at
    lambda is then beta sigma_x^2 / (sigma_x^2 + (1 + lambda) sigma_u^2)): fitted freely it is
    ill-determined on a noisy path (bootstrap replicates on the published LAION-400M join reached
    five times the estimate), fixed it leaves a linear least-squares fit."""
    design = np.column_stack([np.ones_like(lambdas), 1 / (c + lambdas)])
    a, b = np.linalg.lstsq(design, means, rcond=None)[0]
    return float(a + b / (c - 1))


def eiv_intervals(x, fit_for, error_var: float, x2=None, n_boot: int = SIMEX_BOOT, seed: int = 0,
                  level: float = 0.95, replicates: int = SIMEX_BOOT_REPLICATES) -> dict:
    """Percentile bootstrap intervals over classes for the naive, SIMEX and (with a second counter x2)
    regression-calibration slopes, each replicate running the whole procedure on the resampled classes.
    fit_for(idx) is the slope fit on the classes idx (it takes x[idx] with any error added)."""
    x = np.asarray(x, float)
    x2 = None if x2 is None else np.asarray(x2, float)
    seeds = np.random.default_rng(seed).integers(0, 2 ** 32, size=n_boot)
    draws = {"naive": [], "simex": [], "simex_quadratic": [], "regression_calibration": []}
    for idx, s in zip(resample_indices(len(x), n_boot, seed), seeds):
        try:
            r = simex_slope(x[idx], fit_for(idx), error_var, seed=int(s), replicates=replicates)
        except (ValueError, np.linalg.LinAlgError):
            continue       # a degenerate resample (all classes at one frequency): no slope
        draws["naive"].append(r["naive"])
        draws["simex"].append(r["simex"])
        draws["simex_quadratic"].append(r["simex_quadratic"])
        if x2 is not None:
            draws["regression_calibration"].append(reliability_slope(r["naive"], x[idx], x2[idx]))
    q = [(1 - level) / 2, (1 + level) / 2]
    out = {"eiv_boot": n_boot}
    for name, v in draws.items():
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        out[f"{name}_draws"] = len(v)
        # replicates where the correction breaks down (the error variance reaches the resample's
        # var(x), a reliability <= 0) cannot be dropped quietly: the survivors are a biased sample.
        # Beyond the tail the percentile interval leaves out, there is no interval.
        usable = len(v) > 0 and n_boot - len(v) <= (1 - level) / 2 * n_boot
        out[f"{name}_lo"], out[f"{name}_hi"] = np.quantile(v, q) if usable else (np.nan, np.nan)
    return out


def reliability_slope(naive: float, x1, x2) -> float:
    """Regression calibration with a second counter: naive slope / (cov(x1, x2) / var(x1))."""
    x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
    reliability = np.cov(x1, x2)[0, 1] / np.var(x1, ddof=1)
    return float(naive / reliability) if reliability > 0 else np.nan


def count_error_tables(data: pd.DataFrame, same_documents: tuple[str, ...], seed: int = 0
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per set of accuracies: its primary counts against every other count of the same documents
    (agreement), and the errors-in-variables slopes (OLS and population-average logit)."""
    agree, eiv = [], []
    primary = data[data["role"] == "primary"]
    for key, prim in primary.groupby(FAMILY_KEYS, dropna=False):
        prim = prim.sort_values("class_index")
        info = dict(zip(FAMILY_KEYS, key)) | {"mix": prim["mix"].iloc[0], "count_basis": prim["count_basis"].iloc[0]}
        fam = data[(data[FAMILY_KEYS] == pd.Series(key, index=FAMILY_KEYS)).all(axis=1)]
        others = fam[(fam["role"] != "primary") & fam["source_relation"].isin(same_documents)]
        rows = [info | counter_agreement(prim, g, f"{m} ({b})")
                for (m, b), g in others.groupby(["mix", "count_basis"])]
        agree += rows
        eiv += _eiv_rows(info, prim, others, rows, seed)
    return pd.DataFrame(agree), pd.DataFrame(eiv)


def _eiv_rows(info: dict, prim: pd.DataFrame, others: pd.DataFrame, agreement: list[dict], seed: int) -> list[dict]:
    x = log_docs(prim["docs"].to_numpy())
    counter_var = float(np.mean([r["error_var_log10"] for r in agreement])) if agreement else 0.0
    error_var = counter_var + interval_error_var(prim["docs_lo"], prim["docs_hi"])
    if error_var <= 0 or len(x) < 3 or np.ptp(x) == 0:
        return []
    y, c, n = prim["accuracy"].to_numpy(), prim["correct"].to_numpy(), prim["n"].to_numpy()
    fits = {"OLS slope": lambda idx: lambda xs: ols_fit(xs, y[idx]).b,
            "logit slope (binomial GLM, population average)": lambda idx: lambda xs: logit_fit(xs, c[idx], n[idx]).b}
    x2 = None
    if len(others):
        first = others.groupby(["mix", "count_basis"]).ngroup() == 0
        second = prim[["class_index"]].merge(others[first][["class_index", "docs"]], on="class_index", how="left")
        if second["docs"].notna().all():
            x2 = log_docs(second["docs"].to_numpy())
    everything = np.arange(len(x))
    rows = []
    for name, fit_for in fits.items():
        s = simex_slope(x, fit_for(everything), error_var, seed=seed)
        rc = np.nan if x2 is None else reliability_slope(s["naive"], x, x2)
        points = {"naive": s["naive"], "simex": s["simex"], "simex_quadratic": s["simex_quadratic"],
                  "regression_calibration": rc}
        rows.append(info | {"slope": name, **points,
                            **_without_undefined(eiv_intervals(x, fit_for, error_var, x2, seed=seed), points),
                            "error_var_log10": error_var, "from_counters": counter_var,
                            "counters": len(agreement)})
    return rows


def _without_undefined(intervals: dict, points: dict) -> dict:
    """No interval around an estimate that is itself undefined on the full data."""
    for name, value in points.items():
        if not np.isfinite(value):
            intervals[f"{name}_lo"] = intervals[f"{name}_hi"] = np.nan
    return intervals
