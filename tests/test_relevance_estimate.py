"""Relevant-share estimates: the calibrated mean (what runs report), Rogan–Gladen (kept for
comparison), and the seeded sampler."""
from __future__ import annotations

import random

import numpy as np
import pytest

from classfreq.relevance.estimate import (
    SMALL_N,
    Z95,
    JudgeErrors,
    calibrated_share,
    class_bias_var,
    class_calibration_var,
    normal_interval,
    poisson_binomial,
    relevant_share,
    sample_doc_ids,
    sample_key,
    small_n_interval,
)


def _calibrated_coverage(tau, docs, n, runs, seed, interval=None):
    """Classes whose documents' relevance follows the judge's p shifted by a class-level bias of SD
    tau (the judge is calibrated on average, not per class); the true share is over all documents.
    `interval` (p, tau^2, docs) -> (low, high); default what a run reports (calibrated_share)."""
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(runs):
        p = rng.beta(2, 2, docs)
        bias = rng.normal(0, tau)
        relevant = rng.random(docs) < np.clip(p + bias, 0, 1)
        sample = rng.choice(docs, n, replace=False) if n < docs else np.arange(docs)
        if interval is None:
            est = calibrated_share(p[sample], tau ** 2, docs)
            low, high = est.low, est.high
        else:
            low, high = interval(p[sample], tau ** 2, docs)
        covered += low - 1e-9 <= relevant.mean() <= high + 1e-9
    return covered / runs


@pytest.mark.parametrize("tau,docs,n", [(0.03, 5000, 200), (0.08, 5000, 200), (0.05, 150, 150), (0.0, 60, 60)])
def test_calibrated_interval_covers_the_true_share_about_95_percent(tau, docs, n):
    assert n >= SMALL_N    # the normal interval
    coverage = _calibrated_coverage(tau, docs, n, runs=1500, seed=3)
    assert 0.92 <= coverage <= 0.98, coverage


@pytest.mark.parametrize("tau,docs,n", [(0.1, 10, 10), (0.05, 30, 30), (0.0, 40, 40), (0.05, 500, 30),
                                        (0.15, 5000, 20), (0.19, 5000, 5)])
def test_small_n_interval_covers_the_true_share_at_least_95_percent(tau, docs, n):
    """Below SMALL_N judged documents the interval is exact for the judged count (discrete, so a
    little conservative where all were judged) and normal-t for the unjudged rest."""
    assert n < SMALL_N
    coverage = _calibrated_coverage(tau, docs, n, runs=1000, seed=5)
    assert 0.935 <= coverage <= 0.99, coverage


def test_exact_interval_holds_95_percent_where_the_normal_one_does_not():
    """Four judged documents of p = 0.1, all of the class (a labelled class's typical size), no bias:
    the chance that the true share lands in each interval, from the binomial pmf. The normal
    interval [0, 0.39] misses 2 of 4 relevant (5.2%); the exact one keeps at least 95%."""
    from scipy.stats import binom

    p = np.full(4, 0.1)
    pmf = binom.pmf(np.arange(5), 4, 0.1)

    def chance(low, high):
        return float(pmf[(np.arange(5) / 4 >= low - 1e-12) & (np.arange(5) / 4 <= high + 1e-12)].sum())

    assert chance(*normal_interval(p, 0.0, 4)) < 0.95 <= chance(*small_n_interval(p, 0.0, 4))
    assert calibrated_share(p, 0.0).high == small_n_interval(p, 0.0, 4)[1] == 0.5
    assert small_n_interval([0.01], 0.0, 1) == (0.0, 0.0)          # 99% of the time none is relevant
    one = calibrated_share([0.01], 0.0)                               # the reported interval holds its mean
    assert (one.low, one.share, one.high) == (0.0, 0.01, 0.01)


def test_poisson_binomial_equals_enumeration_row_by_row():
    import itertools

    q = np.array([[0.1, 0.5, 0.9, 0.3], [0.0, 1.0, 0.25, 0.75]])
    pmf = poisson_binomial(q)
    for row, probs in zip(pmf, q):
        direct = np.zeros(5)
        for outcome in itertools.product([0, 1], repeat=4):
            direct[sum(outcome)] += np.prod([pi if o else 1 - pi for o, pi in zip(outcome, probs)])
        assert row == pytest.approx(direct, abs=1e-12)


def test_small_n_interval_without_bias_is_the_binomial_quantiles():
    from scipy.stats import binom

    low, high = small_n_interval(np.full(20, 0.3), 0.0, 20)
    assert (low, high) == (binom.ppf(0.025, 20, 0.3) / 20, binom.ppf(0.975, 20, 0.3) / 20)
    wider = small_n_interval(np.full(20, 0.3), 0.02, 20)
    assert wider[0] <= low and wider[1] >= high and wider != (low, high)
    # of 2000 documents with these p, the share is nearer its mean (outcomes average out); when the
    # judged p differ, the sampling of 20 of them widens it again
    census_like = small_n_interval(np.full(20, 0.3), 0.0, 2000)
    assert low < census_like[0] < 0.3 < census_like[1] < high
    spread = small_n_interval(np.linspace(0.05, 0.55, 20), 0.0, 2000)
    assert spread[1] - spread[0] > census_like[1] - census_like[0]


def _equal_p_interval_by_quad(p0, n, tau, docs):
    """small_n_interval's model computed independently for n judged documents all of probability
    p0: the class bias b ~ N(0, tau^2) integrated by adaptive quadrature (broken where p0 + b is
    clipped and where the unjudged count's normal steps over the share), the judged count
    binomial(n, q), the unjudged count normal around rest q with sd sqrt(rest q(1 - q)) widened by
    t(n - 1) / z (the p do not differ, so no sampling part); quantiles by Brent's method."""
    from scipy import integrate, optimize, special, stats

    rest, counts = docs - n, np.arange(n + 1)
    widen = float(stats.t.ppf(0.975, n - 1)) / float(stats.norm.ppf(0.975))

    def cdf(share):
        def given(b):
            q = min(max(p0 + b, 0.0), 1.0)
            sd = max((rest * q * (1 - q)) ** 0.5 * widen, 1e-9)
            inside = special.ndtr((share * docs - counts - rest * q) / sd)
            return float(stats.binom.pmf(counts, n, q) @ inside) * stats.norm.pdf(b, 0, tau)

        breaks = [b for b in (-p0, 1 - p0, share - p0) if -8 * tau < b < 8 * tau]
        return integrate.quad(given, -8 * tau, 8 * tau, points=breaks, limit=200)[0]

    def quantile(level):
        if cdf(0.0) >= level:
            return 0.0
        return float(optimize.brentq(lambda s: cdf(s) - level, 0.0, 1.0, xtol=1e-7))

    return quantile(0.025), quantile(0.975)


@pytest.mark.parametrize("p0,n,tau,docs", [(0.5, 49, 0.2, 10 ** 6), (0.5, 20, 0.1, 10 ** 5), (0.15, 30, 0.25, 10 ** 5)])
def test_small_n_interval_takes_the_class_bias_quantiles_not_a_quadrature_node(p0, n, tau, docs):
    """Judged documents of equal p in a large class: the share is p0 + b up to a little noise, so the
    interval is p0 ± 1.96 tau (clipped at 0). Gauss–Hermite nodes put the 97.5% quantile of b on
    the node at 2.24 sd (0.9744 of the mass up to the one at 1.59 sd): ±2.24 tau. Within a grid step
    of b (0.03 tau) of an adaptive-quadrature computation of the same mixture."""
    low, high = small_n_interval(np.full(n, p0), tau ** 2, docs)
    ref_low, ref_high = _equal_p_interval_by_quad(p0, n, tau, docs)
    step = 0.03 * tau
    assert abs(low - ref_low) <= step and abs(high - ref_high) <= step, (low, high, ref_low, ref_high)
    assert high - p0 == pytest.approx(Z95 * tau, abs=step)
    if p0 > Z95 * tau:
        assert p0 - low == pytest.approx(Z95 * tau, abs=step)
    else:
        assert low == ref_low == 0.0


def _labelled(tau, sizes, seed, slope=1.0, a=2.0):
    """Labelled classes of the given sizes: p ~ Beta(a, a); relevance follows expit(slope logit p)
    (slope > 1: the judge's p are underconfident, as the shipped judge's held-out p are) plus a
    class-level bias of SD tau."""
    rng = np.random.default_rng(seed)
    classes = np.repeat(np.arange(len(sizes)), sizes)
    p = rng.beta(a, a, len(classes))
    truth = 1 / (1 + np.exp(-slope * np.log(p / (1 - p))))
    bias = rng.normal(0, tau, len(sizes))[classes]
    return (rng.random(len(classes)) < np.clip(truth + bias, 0, 1)).astype(float), p, classes


def test_class_bias_variance_is_recovered_from_labelled_classes():
    """tau^2 from cross-products of held-out residuals within a class: unbiased, where the
    mean-square estimator shipped before is biased low (by mean(1 - 1/n) over the classes)."""
    y, p, classes = _labelled(0.1, [6] * 400, seed=0)
    assert class_bias_var(y, p, classes) == pytest.approx(0.01, abs=0.003)
    y, p, classes = _labelled(0.0, [6] * 400, seed=1)
    assert class_bias_var(y, p, classes) < 0.002
    sizes = [1] * 300 + [2] * 150 + [4] * 100 + [10] * 50     # like the shared labels: many singletons
    tau2 = [(class_bias_var(*_labelled(0.15, sizes, seed)), class_calibration_var(*_labelled(0.15, sizes, seed)))
            for seed in range(20)]
    cross, mean_square = np.mean(tau2, axis=0)
    assert cross == pytest.approx(0.0225, rel=0.15) and mean_square < 0.8 * cross


def test_underconfident_judge_hides_the_class_bias_from_the_mean_square_estimator():
    """The shipped judge's held-out p are underconfident (Platt slope 1.38): their p(1 - p) overstates
    the pairs' own noise, which the mean-square estimator subtracts; cross-products do not use it."""
    y, p, classes = _labelled(0.1, [4] * 600, seed=2, slope=1.5, a=4.0)   # p mid-range: little clipping
    cross = class_bias_var(y, p, classes)
    assert cross == pytest.approx(0.01, abs=0.004) and class_calibration_var(y, p, classes) < 0.6 * cross


def test_calibrated_share_narrows_with_more_judged_documents_down_to_the_calibration_error():
    p = np.array([0.9, 0.8, 0.2, 0.6, 0.1] * 20)
    est = calibrated_share(p, 0.001, docs=100000)
    assert est.share == pytest.approx(0.52) and est.judged_share == pytest.approx(0.6)
    more = calibrated_share(np.tile(p, 4), 0.001, docs=100000)
    assert more.high - more.low < est.high - est.low
    huge = calibrated_share(np.tile(p, 1000), 0.001, docs=10 ** 9)
    assert huge.high - huge.low == pytest.approx(2 * 1.96 * 0.001 ** 0.5, rel=0.02)
    assert calibrated_share([], 0.001).n_judged == 0


def _coverage(true_share, se, sp, docs, n, n_yes, n_no, runs, seed):
    rng = np.random.default_rng(seed)
    covered = 0
    for _ in range(runs):
        relevant = rng.random(docs) < true_share
        sample = relevant[rng.choice(docs, n, replace=False)]
        judged = np.where(sample, rng.random(n) < se, rng.random(n) >= sp)
        tp, tn = rng.binomial(n_yes, se), rng.binomial(n_no, sp)   # error rates measured on labels
        est = relevant_share(int(judged.sum()), n, JudgeErrors(tp, n_yes - tp, tn, n_no - tn), docs)
        covered += est.low <= relevant.mean() <= est.high
    return covered / runs


@pytest.mark.parametrize("true_share,se,sp", [(0.4, 0.85, 0.80), (0.7, 0.9, 0.75), (0.25, 0.8, 0.9)])
def test_interval_covers_the_true_share_about_95_percent(true_share, se, sp):
    coverage = _coverage(true_share, se, sp, docs=5000, n=200, n_yes=350, n_no=310, runs=1500, seed=7)
    assert 0.92 <= coverage <= 0.98, coverage


def test_ignoring_the_judge_error_would_not_cover():
    """The correction matters: the raw judged share is biased well outside the interval width."""
    est = relevant_share(80, 200, JudgeErrors(tp=85, fn=15, tn=80, fp=20))
    assert abs(est.judged_share - est.share) > 0.05 and est.low <= est.share <= est.high


def test_estimate_is_clipped_and_scales_to_documents():
    est = relevant_share(0, 200, JudgeErrors(tp=90, fn=10, tn=80, fp=20))
    assert est.share == 0.0 and est.low == 0.0 and 0 < est.high < 0.2
    mid, low, high = relevant_share(120, 200, JudgeErrors(90, 10, 80, 20)).docs_relevant(1000)
    assert low <= mid <= high and mid == pytest.approx(1000 * (0.6 + 0.8 - 1) / 0.7)
    est = relevant_share(120, 200, JudgeErrors(90, 10, 80, 20))
    assert est.docs_relevant(1000, 900, 1200) == pytest.approx((1000 * est.share, 900 * est.low, 1200 * est.high))
    full_census = relevant_share(120, 200, JudgeErrors(90, 10, 80, 20), docs=200)
    sampled = relevant_share(120, 200, JudgeErrors(90, 10, 80, 20), docs=100000)
    assert full_census.high - full_census.low < sampled.high - sampled.low


def test_sample_is_the_same_whatever_the_order_or_partitioning():
    ids = [f"doc{i}" for i in range(5000)]
    expected = sample_doc_ids(ids, 200, seed=3)
    shuffled = ids[:]
    random.Random(1).shuffle(shuffled)
    assert sample_doc_ids(shuffled, 200, seed=3) == expected
    # per partition: keep each partition's first 200 by key, then merge: same sample
    parts = [shuffled[i::7] for i in range(7)]
    merged = sample_doc_ids([d for p in parts for d in sample_doc_ids(p, 200, seed=3)], 200, seed=3)
    assert merged == expected
    assert sample_doc_ids(ids, 200, seed=4) != expected
    assert len(set(expected)) == 200 and sample_doc_ids(ids[:50], 200) == sample_doc_ids(ids[:50][::-1], 200)


def test_sample_is_not_the_smallest_ids():
    ids = list(range(10000))
    sample = sample_doc_ids(ids, 200)
    assert max(sample) > 5000 and 3000 < np.mean(sample) < 7000
    assert sample_key(5, 0) == sample_key(5, 0) != sample_key(5, 1)


def test_evaluation_metrics_and_table():
    from classfreq.relevance.evaluate import format_table, metrics

    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.2, 0.6, 0.1, 0.8])
    m = metrics(y, p, ["a", "a", "a", "b", "b"])
    assert m["accuracy"] == pytest.approx(3 / 5) and m["precision_kept"] == pytest.approx(2 / 3)
    assert m["recall_yes"] == pytest.approx(2 / 3)
    assert m["sources"]["b"] == {"judged": 0.5, "mean_p": pytest.approx(0.45), "labelled": 0.5, "n": 2}
    table = format_table({"judge": m})
    assert "| judge | 0.600 | 0.667 | 0.667 |" in table and "0.50 / 0.45 (0.50)" in table


def test_evaluate_prints_both_estimators_per_source():
    """`relevance evaluate`'s share table: with calibrated probabilities the calibrated mean covers each
    source's labelled share, even where the judge's kept/dropped error rates differ by source."""
    from classfreq.relevance.evaluate import format_share_table, share_estimates
    rng = np.random.default_rng(4)
    sharp = rng.choice([0.05, 0.95], 600)            # a source the judge finds easy
    vague = rng.uniform(0.3, 0.55, 600)              # one where its verdicts are near chance
    p = np.concatenate([sharp, vague])
    y = (rng.random(len(p)) < p).astype(int)
    sources = ["easy"] * 600 + ["hard"] * 600
    est = share_estimates(y, p, sources, np.repeat(np.arange(300), 4))
    for r in est.values():
        mid, low, high = r["calibrated"]
        assert low <= r["labelled"] <= high
    rg_mid, rg_low, rg_high = est["hard"]["rogan_gladen"]    # pooled error rates do not carry over
    assert not rg_low <= est["hard"]["labelled"] <= rg_high
    table = format_share_table({"judge": est})
    assert "| judge | easy |" in table and "| judge | hard |" in table and table.count("(misses)") >= 1


def test_evaluate_measures_per_class_coverage_of_each_interval():
    """`relevance evaluate`'s coverage table: labelled classes with a class-level bias (tau 0.15) and an
    underconfident judge; the cross-product tau^2 covers at the nominal rate, the mean-square one not."""
    from classfreq.relevance.evaluate import COVERAGE_METHODS, class_coverage, format_coverage_table

    sizes = [1] * 60 + [2] * 60 + [4] * 80 + [8] * 60
    y, p, classes = _labelled(0.15, sizes, seed=6, slope=1.4)
    fold = np.arange(len(sizes))[classes] % 5
    cov = class_coverage(y, p, classes, fold)
    assert cov["classes"] == len(sizes) and cov["classes_3plus"] == 140
    cross = cov["methods"]["exact small-n, tau^2 cross-product"]
    mean_square = cov["methods"]["normal, tau^2 mean-square"]
    assert cross["coverage"] >= 0.93 and cross["coverage_3plus"] >= 0.92
    assert mean_square["coverage_3plus"] < cross["coverage_3plus"] - 0.05
    assert cross["tau"] == pytest.approx(0.15, abs=0.05) and mean_square["tau"] < cross["tau"]
    assert cross["tau_95"][0] < 0.15 < cross["tau_95"][1] and cross["tau_95"][0] < cross["tau"] < cross["tau_95"][1]
    table = format_coverage_table({"judge": cov})
    assert all(f"| judge | {m} |" in table for m in COVERAGE_METHODS) and "of 260" in table
