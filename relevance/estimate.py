"""From judged samples to relevant-document estimates with honest 95% intervals.

The share of a class's matched documents that are relevant is estimated as the mean of the judge's
calibrated probabilities p over a sample of them (``calibrated_share``). Its variance adds

- the class's own calibration error: a class-level bias whose variance tau^2 was measured across
  held-out classes by grouped cross-validation (shipped with the judge's parameters);
- the documents' own outcomes around their p: mean p(1 - p) / N over the class's N documents;
- the sampling of n of the N documents: (1 - n/N) var(p) / n.

That normal interval is kept from ``SMALL_N`` (50) judged documents up. Below, the number relevant
among the judged documents is a Poisson-binomial given their p, which is far from normal with a few
documents; the interval is then exact for it (``small_n_interval``): the Poisson-binomial mixed over
the class-level bias b ~ N(0, tau^2) on the share (an evenly spaced grid in b, ``BIAS_GRID``),
convolved with the unjudged documents' count (normal, its sampling part widened by a Student-t
factor), cut at its 2.5% and 97.5% quantiles.

tau^2 is measured by ``class_bias_var``: cross-products of held-out residuals between different
pairs of a class, which carry the class-level bias and none of the pairs' own Bernoulli noise.
``class_calibration_var`` (what judge parameters shipped before 2026-12-03) subtracted p(1 - p)
from squared class means instead; it is biased low (classes with one pair add nothing but noise,
and p(1 - p) already holds the variance of the bias), and is kept for comparison.

The Rogan–Gladen correction of the judged-relevant share by the judge's sensitivity and specificity
(``relevant_share``) is kept for comparison: it assumes that those error rates carry over from the
labelled pairs to every source, and on the shared labels they do not (the judge errs differently on
LAION alt-text than on COCO captions), so ``classfreq relevance evaluate`` shows both per source.
Intervals are clipped to [0, 1].
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
SMALL_N = 50          # below this many judged documents the interval is exact (small_n_interval)
BIAS_GRID = 401       # evenly spaced points over the class-level bias, within ±BIAS_SPAN sd
BIAS_SPAN = 6.0
DEFAULT_SAMPLE = 200
DEFAULT_SEED = 0


@dataclass(frozen=True)
class JudgeErrors:
    """The judge's error rates as measured on labels: counts from the grouped-CV confusion table."""

    tp: int
    fn: int
    tn: int
    fp: int

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp)

    @classmethod
    def from_params(cls, grouped_cv: dict) -> JudgeErrors:
        return cls(int(grouped_cv["tp"]), int(grouped_cv["fn"]), int(grouped_cv["tn"]), int(grouped_cv["fp"]))


@dataclass(frozen=True)
class ShareEstimate:
    share: float
    low: float
    high: float
    judged_share: float
    n_judged: int

    def docs_relevant(self, docs: float, docs_low: float | None = None,
                      docs_high: float | None = None) -> tuple[float, float, float]:
        """docs_relevant_est with its 95% interval: each bound of the share scales the same bound of
        the document count (an estimated count has its own interval; an exact one has none)."""
        low = docs if docs_low is None else docs_low
        high = docs if docs_high is None else docs_high
        return docs * self.share, low * self.low, high * self.high


def relevant_share(n_relevant: int, n_judged: int, errors: JudgeErrors, docs: int | None = None) -> ShareEstimate:
    """Rogan–Gladen share of relevant documents from `n_relevant` of `n_judged` judged relevant,
    drawn without replacement from `docs` matched documents (None: an unbounded population)."""
    if n_judged <= 0:
        return ShareEstimate(math.nan, 0.0, 1.0, math.nan, 0)
    q = n_relevant / n_judged
    se, sp = errors.sensitivity, errors.specificity
    youden = se + sp - 1
    if youden <= 0:
        return ShareEstimate(math.nan, 0.0, 1.0, q, n_judged)  # a judge no better than chance tells nothing
    share = (q + sp - 1) / youden
    fpc = (docs - n_judged) / (docs - 1) if docs and docs > 1 else 1.0
    var_q = q * (1 - q) / n_judged * max(fpc, 0.0)
    var_se = se * (1 - se) / (errors.tp + errors.fn)
    var_sp = sp * (1 - sp) / (errors.tn + errors.fp)
    clipped = min(max(share, 0.0), 1.0)
    var = (var_q + clipped ** 2 * var_se + (1 - clipped) ** 2 * var_sp) / youden ** 2
    half = Z95 * math.sqrt(var)
    # centred on the clipped estimate: when sampling noise puts the raw estimate outside [0, 1],
    # the interval still reaches into the possible range instead of collapsing onto its edge
    return ShareEstimate(clipped, max(0.0, clipped - half), min(1.0, clipped + half), q, n_judged)


def calibrated_share(p, calibration_var: float, docs: int | None = None) -> ShareEstimate:
    """Mean calibrated probability of the `len(p)` judged documents, drawn without replacement from
    `docs` matched documents (None: all of them were judged), with the variance described above
    (exact below SMALL_N judged documents); `judged_share` is the share kept at p >= 0.5."""
    p = np.asarray(p, float)
    n = len(p)
    if n == 0:
        return ShareEstimate(math.nan, 0.0, 1.0, math.nan, 0)
    population = max(int(docs), n) if docs else n
    share = float(p.mean())
    judged_share = float((p >= 0.5).mean())
    if n < SMALL_N:
        low, high = small_n_interval(p, calibration_var, population)
        # a discrete interval can miss the mean (one document of p 0.01: [0, 0]); widen to it
        return ShareEstimate(share, min(low, share), max(high, share), judged_share, n)
    return ShareEstimate(share, *normal_interval(p, calibration_var, population), judged_share, n)


def normal_interval(p, calibration_var: float, docs: int) -> tuple[float, float]:
    """The normal 95% interval of the mean of p over `docs` documents of which these were judged:
    calibration error, outcomes around p, finite-population-corrected sampling; clipped to [0, 1]."""
    p = np.asarray(p, float)
    n = len(p)
    share = float(p.mean())
    sampling = (1 - n / docs) * (float(p.var(ddof=1)) / n if n > 1 else 0.25)
    outcomes = float((p * (1 - p)).mean()) / docs
    half = Z95 * math.sqrt(max(calibration_var, 0.0) + outcomes + sampling)
    return max(0.0, share - half), min(1.0, share + half)


def _bias_nodes(calibration_var: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights for b ~ N(0, calibration_var): BIAS_GRID evenly spaced points over
    ±BIAS_SPAN sd (0.03 sd apart), weighted by the normal density, normalised. Not Gauss–Hermite
    nodes: those integrate means exactly, but the mixture's 2.5% and 97.5% quantiles fall between
    them (24 nodes hold 0.9744 of the mass up to +1.59 sd, the next is at +2.24 sd), so a
    bias-dominated interval reached ±2.24 tau instead of ±1.96 tau; on this grid a quantile is off by
    at most one step."""
    if calibration_var <= 0:
        return np.zeros(1), np.ones(1)
    x = np.linspace(-BIAS_SPAN, BIAS_SPAN, BIAS_GRID)
    w = np.exp(-x * x / 2)
    return math.sqrt(calibration_var) * x, w / w.sum()


def poisson_binomial(q: np.ndarray) -> np.ndarray:
    """pmf of the number of successes of independent Bernoulli(q[..., i]) trials, for every row of q
    at once: shape q.shape[:-1] + (n + 1,)."""
    q = np.asarray(q, float)
    pmf = np.zeros(q.shape[:-1] + (q.shape[-1] + 1,))
    pmf[..., 0] = 1.0
    for i in range(q.shape[-1]):
        qi = q[..., i:i + 1]
        pmf[..., 1:i + 2] = pmf[..., 1:i + 2] * (1 - qi) + pmf[..., :i + 1] * qi
        pmf[..., :1] *= 1 - qi
    return pmf


def small_n_interval(p, calibration_var: float, docs: int) -> tuple[float, float]:
    """95% interval of the relevant share of `docs` documents of which the `len(p)` judged ones have
    probabilities p: quantiles of (judged relevant + unjudged relevant) / docs, where, given the
    class-level bias b, the judged count is Poisson-binomial(clip(p + b)) and the unjudged count is
    normal around (docs - n) mean(clip(p + b)), its sd scaled by the Student-t (n - 1 df) quantile;
    the whole mixed over b ~ N(0, calibration_var)."""
    from scipy import special

    p = np.asarray(p, float)
    n = len(p)
    bias, weight = _bias_nodes(calibration_var)
    q = np.clip(p[None, :] + bias[:, None], 0.0, 1.0)               # node × document
    pmf = poisson_binomial(q)                                       # node × judged count
    rest = docs - n
    if rest <= 0:
        cdf = np.cumsum(weight @ pmf)
        low = int(np.searchsorted(cdf, 0.025 - 1e-12))
        high = int(np.searchsorted(cdf, 0.975 - 1e-12))
        return low / n, min(high, n) / n
    spread = q.var(axis=1, ddof=1) if n > 1 else np.full(len(bias), 0.25)
    sd = np.sqrt(docs ** 2 * (1 - n / docs) * spread / n + rest * (q * (1 - q)).mean(axis=1))
    sd = np.maximum(sd * float(special.stdtrit(max(n - 1, 1), 0.975)) / Z95, 1e-9)
    # one normal per (node, judged count): its mass, mean count and sd; cells of mass under 1e-13
    # (at most 2e-9 of it in all) are left out, most of the grid × counts
    mass = weight[:, None] * pmf
    keep = mass > 1e-13
    offset = (np.arange(n + 1)[None, :] + rest * q.mean(axis=1)[:, None])[keep]
    mass, scale = mass[keep], np.broadcast_to(sd[:, None], keep.shape)[keep]

    def cdf(share: float) -> float:   # not `mass @ ...`: BLAS threads a long dot product, and spins
        return float((mass * special.ndtr((share * docs - offset) / scale)).sum())

    return _quantile(cdf, 0.025), _quantile(cdf, 0.975)


def _quantile(cdf, level: float) -> float:
    """The share in [0, 1] where the increasing, continuous `cdf` reaches `level` (Brent's method:
    about 15 evaluations of the mixture instead of bisection's 40)."""
    from scipy import optimize

    if cdf(0.0) >= level:
        return 0.0
    if cdf(1.0) <= level:
        return 1.0
    return float(optimize.brentq(lambda share: cdf(share) - level, 0.0, 1.0, xtol=1e-10))


def class_calibration_var(y, p, classes) -> float:
    """tau^2 as shipped before 2026-12-03: the variance of the class means of y - p beyond p(1 - p)/n
    (method of moments over the classes; probabilities from held-out folds). Biased low: it
    estimates tau^2 × mean(1 - 1/n) over classes of n pairs, and less where p is underconfident."""
    frame = pd.DataFrame({"c": classes, "d": np.asarray(y, float) - np.asarray(p, float),
                          "v": np.asarray(p, float) * (1 - np.asarray(p, float))})
    per = frame.groupby("c").agg(d=("d", "mean"), v=("v", "sum"), n=("d", "size"))
    return max(0.0, float((per.d ** 2).mean() - (per.v / per.n ** 2).mean()))


def class_bias_var(y, p, classes, iterations: int = 2) -> float:
    """tau^2, the variance of a class-level bias of the judge's p, from held-out probabilities:
    within a class, (y_i - p_i)(y_j - p_j) for two different pairs i != j has expectation b^2 whatever
    the pairs' own Bernoulli noise, so each class of n >= 2 pairs gives the unbiased estimate
    U = sum over i != j of that product / (n (n - 1)). The classes' U are averaged with weights
    1 / var(U) = 1 / (2 tau^4 + 4 tau^2 v / n + 2 v^2 / (n (n - 1))) (v: the class's mean p(1 - p)),
    tau^2 starting from the pooled estimate and refined `iterations` times. Classes of one pair carry
    no information on tau^2 and are left out."""
    d = np.asarray(y, float) - np.asarray(p, float)
    frame = pd.DataFrame({"c": np.asarray(classes), "d": d, "d2": d * d,
                          "v": np.asarray(p, float) * (1 - np.asarray(p, float))})
    per = frame.groupby("c").agg(s=("d", "sum"), s2=("d2", "sum"), v=("v", "mean"), n=("d", "size"))
    per = per[per.n > 1]
    if per.empty:
        return 0.0
    pairs = per.n * (per.n - 1)
    cross = per.s ** 2 - per.s2
    tau2 = max(0.0, float(cross.sum() / pairs.sum()))
    u = cross / pairs
    for _ in range(iterations):
        weight = 1 / (2 * tau2 ** 2 + 4 * tau2 * per.v / per.n + 2 * per.v ** 2 / pairs + 1e-12)
        tau2 = max(0.0, float((weight * u).sum() / weight.sum()))
    return tau2


def sample_key(doc_id, seed: int = DEFAULT_SEED) -> int:
    """A document's place in the seeded sampling order: a hash of the seed and the doc id, so the
    sample does not depend on how the documents are ordered or partitioned."""
    digest = hashlib.blake2b(f"{seed}\x1f{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def sample_doc_ids(doc_ids: Iterable, n: int = DEFAULT_SAMPLE, seed: int = DEFAULT_SEED) -> list:
    """The `n` documents (all when fewer) first in the seeded hash order, ties broken by id."""
    keyed = sorted((sample_key(d, seed), str(d), d) for d in set(doc_ids))
    return [d for _, _, d in keyed[:n]]


# class_counts columns a judged run fills (NULL where no judge looked): the contract with the
# warehouse (queries/schema.sql) and the report
RELEVANCE_COLUMNS = ("relevance_judge", "relevance_judged", "relevance_p_mean", "relevant_share",
                     "relevant_share_lo", "relevant_share_hi", "docs_relevant_est", "docs_relevant_lo",
                     "docs_relevant_hi")


def class_relevance(judged: pd.DataFrame, class_docs: pd.DataFrame, calibration_var: float,
                    judge: str) -> pd.DataFrame:
    """The relevance columns of each judged class.

    ``judged``: class_index, doc_id, p_relevant, one row per judged (document, form); a document
    judged through several forms of a class counts once, with its highest probability.
    ``class_docs``: class_index, docs (the matched documents the sample was drawn from), docs_est,
    docs_est_lo, docs_est_hi. docs_relevant_* scale docs_est by the share, each bound by its bound."""
    docs = class_docs.set_index("class_index")
    per_doc = judged.groupby(["class_index", "doc_id"]).p_relevant.max()
    rows = []
    for index, p in per_doc.groupby(level="class_index"):
        d = docs.loc[index]
        share = calibrated_share(p.to_numpy(), calibration_var, int(d.docs))
        est, low, high = share.docs_relevant(float(d.docs_est), float(d.docs_est_lo), float(d.docs_est_hi))
        rows.append({"class_index": int(index), "relevance_judge": judge, "relevance_judged": len(p),
                     "relevance_p_mean": share.share, "relevant_share": share.share,
                     "relevant_share_lo": share.low, "relevant_share_hi": share.high,
                     "docs_relevant_est": est, "docs_relevant_lo": low, "docs_relevant_hi": high})
    return pd.DataFrame(rows, columns=["class_index", *RELEVANCE_COLUMNS])
