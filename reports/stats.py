"""Correlation statistics of accuracy on log frequency, their seeded bootstrap intervals, Holm.

The bootstrap is part of the results' contract, so its resampling procedure is fixed:
`rng = numpy.random.default_rng(seed)`; resampling classes draws `rng.integers(0, n, size=(B, n))`
in one call; resampling superclasses (clusters) draws, for each of the B replicates in turn,
`rng.integers(0, G, size=G)` cluster labels and concatenates their classes. The statistics of a
replicate are computed from how often each class occurs in it (exactly those of the concatenated
data), all replicates at once. A replicate whose
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


def resample_weights(n: int, n_boot: int, seed: int, groups=None) -> np.ndarray:
    """The same draws as `resample_indices`, as a (B, n) array of how often each class was drawn."""
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, n, size=(n_boot, n))
        return np.stack([np.bincount(row, minlength=n) for row in idx]).astype(float)
    codes, uniques = _codes(groups)
    G = len(uniques)
    return np.stack([np.bincount(rng.integers(0, G, size=G), minlength=G)[codes] for _ in range(n_boot)]).astype(float)


@dataclass
class Interval:
    lo: float
    hi: float
    n_valid: int


def bootstrap_intervals(x, y, n_boot: int = 1000, seed: int = 0, groups=None,
                        level: float = 0.95, which=STATS) -> dict[str, Interval]:
    """Percentile bootstrap intervals of each statistic in `which` (see the module doc).

    A replicate is computed from the multiplicity of each class in it (how often it, or its cluster,
    was drawn), which gives the statistics of the resampled data exactly, for all replicates at once."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = resample_weights(len(x), n_boot, seed, groups)
    values = weighted_statistics(x, y, w, which)
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


def weighted_statistics(x, y, w: np.ndarray, which=STATS) -> dict[str, np.ndarray]:
    """Pearson r, Spearman rho and Kendall tau-b of the data in which class i appears w[b, i] times,
    for every row b of w; NaN where a resample has constant x or y."""
    gx, gy = _ValueGroups(x, w), _ValueGroups(y, w)
    valid = (gx.distinct_drawn() > 1) & (gy.distinct_drawn() > 1)
    out = {}
    if "pearson" in which:
        out["pearson"] = _weighted_pearson(np.broadcast_to(x, w.shape), np.broadcast_to(y, w.shape), w)
    if "spearman" in which:
        out["spearman"] = _weighted_pearson(gx.midranks(), gy.midranks(), w)
    if "kendall" in which:
        out["kendall"] = _weighted_kendall(x, y, w, gx.tied_pairs(), gy.tied_pairs())
    return {s: np.where(valid, v, np.nan) for s, v in out.items()}


class _ValueGroups:
    """The distinct values of one variable and, per resample, how many draws each received."""

    def __init__(self, v: np.ndarray, w: np.ndarray):
        order = np.argsort(v, kind="stable")
        sorted_v = v[order]
        starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
        self.inverse = np.empty(len(v), dtype=int)
        self.inverse[order] = np.cumsum(np.r_[True, sorted_v[1:] != sorted_v[:-1]]) - 1
        self.weight = np.add.reduceat(w[:, order], starts, axis=1)       # (B, distinct values)

    def distinct_drawn(self) -> np.ndarray:
        return (self.weight > 0).sum(axis=1)

    def midranks(self) -> np.ndarray:
        """The rank each class's value gets in the resampled data (ties, and copies, share a midrank)."""
        before = np.cumsum(self.weight, axis=1) - self.weight
        return (before + (self.weight + 1) / 2)[:, self.inverse]

    def tied_pairs(self) -> np.ndarray:
        return (self.weight * (self.weight - 1) / 2).sum(axis=1)


def _weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1, keepdims=True)
    a = a - (w * a).sum(axis=1, keepdims=True) / total
    b = b - (w * b).sum(axis=1, keepdims=True) / total
    den = np.sqrt((w * a * a).sum(axis=1) * (w * b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (w * a * b).sum(axis=1) / den, np.nan)


def _weighted_kendall(x: np.ndarray, y: np.ndarray, w: np.ndarray, ties_x: np.ndarray, ties_y: np.ndarray,
                      chunk: int = 2048) -> np.ndarray:
    """Kendall tau-b of every resample: (C - D) / sqrt((n0 - n1)(n0 - n2)), pairs counted with weights;
    copies of one class are tied in both x and y. Chunked so memory stays n x chunk."""
    cd = np.zeros(w.shape[0])
    for start in range(0, len(x), chunk):
        sl = slice(start, start + chunk)
        sign = np.sign(x[:, None] - x[None, sl]) * np.sign(y[:, None] - y[None, sl])   # n x chunk
        cd += ((w @ sign) * w[:, sl]).sum(axis=1)
    total = w.sum(axis=1)
    n0 = total * (total - 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt((n0 - ties_x) * (n0 - ties_y))
        return np.where(den > 0, cd / 2 / den, np.nan)


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
