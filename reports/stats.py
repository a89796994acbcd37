"""Correlation statistics of accuracy on log frequency, their seeded bootstrap intervals, Holm.

The bootstrap is part of the results' contract, so its resampling procedure is fixed:
`rng = numpy.random.default_rng(seed)`; resampling classes draws `rng.integers(0, n, size=(B, n))`
in one call; resampling superclasses (clusters) draws, for each of the B replicates in turn,
`rng.integers(0, G, size=G)` cluster labels and concatenates their classes. A replicate whose
statistic is undefined (e.g. constant docs) is left out and counted. Intervals are percentile
intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

STATS = ("spearman", "kendall", "pearson")


def log_docs(docs, offset: float = 1.0) -> np.ndarray:
    """log10(docs + offset): the frequency axis (offset 1 keeps zero-count classes)."""
    return np.log10(np.asarray(docs, dtype=float) + offset)


def correlations(x, y) -> dict:
    """Spearman rho, Kendall tau-b and Pearson r of y on x with their two-sided p-values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = {}
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        for s in STATS:
            out[s], out[f"{s}_p"] = np.nan, np.nan
        return out
    r = stats.spearmanr(x, y)
    out["spearman"], out["spearman_p"] = float(r.statistic), float(r.pvalue)
    r = stats.kendalltau(x, y, variant="b")
    out["kendall"], out["kendall_p"] = float(r.statistic), float(r.pvalue)
    r = stats.pearsonr(x, y)
    out["pearson"], out["pearson_p"] = float(r.statistic), float(r.pvalue)
    return out


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / den, np.nan)


def resample_indices(n: int, n_boot: int, seed: int, groups=None) -> list[np.ndarray] | np.ndarray:
    """Bootstrap index sets: a (B, n) array for classes, or a list of arrays for clusters."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    codes, uniques = _codes(groups)
    members = [np.flatnonzero(codes == g) for g in range(len(uniques))]
    out = []
    for _ in range(n_boot):
        picked = rng.integers(0, len(members), size=len(members))
        out.append(np.concatenate([members[g] for g in picked]))
    return out


def _codes(groups) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return codes, uniques


@dataclass
class Interval:
    lo: float
    hi: float
    n_valid: int


def bootstrap_intervals(x, y, n_boot: int = 1000, seed: int = 0, groups=None,
                        level: float = 0.95, which=STATS) -> dict[str, Interval]:
    """Percentile bootstrap intervals of each statistic in `which` (see the module doc)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = resample_indices(len(x), n_boot, seed, groups)
    values = {s: np.full(n_boot, np.nan) for s in which}
    if isinstance(idx, np.ndarray):  # class resampling: vectorised Pearson and Spearman
        xb, yb = x[idx], y[idx]
        if "pearson" in which:
            values["pearson"] = _rowwise_pearson(xb, yb)
        if "spearman" in which:
            values["spearman"] = _rowwise_pearson(stats.rankdata(xb, axis=1), stats.rankdata(yb, axis=1))
        if "kendall" in which:
            for b in range(n_boot):
                values["kendall"][b] = _kendall(xb[b], yb[b])
    else:
        for b, ix in enumerate(idx):
            xs, ys = x[ix], y[ix]
            if "pearson" in which:
                values["pearson"][b] = _rowwise_pearson(xs[None], ys[None])[0]
            if "spearman" in which:
                values["spearman"][b] = _rowwise_pearson(stats.rankdata(xs)[None], stats.rankdata(ys)[None])[0]
            if "kendall" in which:
                values["kendall"][b] = _kendall(xs, ys)
    alpha = (1 - level) / 2
    out = {}
    for s, v in values.items():
        v = v[np.isfinite(v)]
        if len(v) == 0:
            out[s] = Interval(np.nan, np.nan, 0)
        else:
            lo, hi = np.quantile(v, [alpha, 1 - alpha])
            out[s] = Interval(float(lo), float(hi), int(len(v)))
    return out


def _kendall(a, b) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(stats.kendalltau(a, b, variant="b").statistic)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count as a test)."""
    p = np.asarray(pvalues, float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out
