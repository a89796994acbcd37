"""Statistics, fits, recommendations and the report, checked against direct scipy/numpy computations
on the same joined real data (bethgelab LAION-400M counts x published per-class accuracies)."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager

import _reports_warehouse as W
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

from classfreq.queries.runner import run_query
from classfreq.reports import recommend as R
from classfreq.reports.analysis import run_analysis, superclasses
from classfreq.reports.configs import AnalysisOptions, RecommendOptions
from classfreq.reports.fits import binned_means, glmm_fit, logit_fit, ols_fit
from classfreq.reports.stats import bootstrap_intervals, holm, log_docs, resample_indices


@pytest.fixture(scope="module")
def wh(tmp_path_factory, shared):
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    con = W.build(path, shared)
    yield con
    con.close()


@pytest.fixture(scope="module")
def direct(shared):
    """The joined data computed straight from the published files, by position (no SQL)."""
    counts = list(json.loads((shared / "reference/bethgelab/imagenet_laion400m_lemmatized_search_counts.json")
                             .read_text()).values())
    res = json.loads((shared / "reference/bethgelab/imagenet_ensemble_results.json").read_text())
    acc = np.array(list(res["backboneViT-B-32_pretrainedlaion400m"]["classwise"].values())) / 100
    correct = np.round(acc * 50)
    return np.array(counts, float), correct / 50, correct


@pytest.fixture(scope="module")
def analysis(wh):
    return run_analysis(wh, AnalysisOptions(n_boot=200, seed=7))


def test_joined_data_matches_the_files(wh, direct):
    docs, acc, _ = direct
    df = run_query(wh, "frequency_accuracy", {"model": "ViT-B-32_laion400m"}).sort_values("class_index")
    np.testing.assert_array_equal(df["docs"].to_numpy(), docs)
    np.testing.assert_allclose(df["accuracy"].to_numpy(), acc)


def test_statistics_equal_scipy_on_the_joined_data(analysis, direct):
    docs, acc, correct = direct
    t = analysis.tests
    g = t[(t.model == "ViT-B-32_laion400m") & (t.role == "primary")].set_index(["subset", "statistic"])
    for subset, sel in (("all", np.ones(len(docs), bool)), ("docs>0", docs > 0)):
        x, y = np.log10(docs[sel] + 1), acc[sel]
        exp = {"spearman": stats.spearmanr(x, y), "kendall": stats.kendalltau(x, y, variant="b"),
               "pearson": stats.pearsonr(x, y)}
        for s, r in exp.items():
            assert g.loc[(subset, s), "estimate"] == pytest.approx(r.statistic, abs=1e-12)
            assert g.loc[(subset, s), "p"] == pytest.approx(r.pvalue, rel=1e-9)
            assert g.loc[(subset, s), "n_classes"] == sel.sum()
    summ = analysis.summary.query("model == 'ViT-B-32_laion400m' and role == 'primary'").iloc[0]
    assert summ["share_zero"] == pytest.approx((docs == 0).mean())
    assert summ["n_classes"] == 1000
    lr = stats.linregress(np.log10(docs + 1), acc)
    assert summ["ols_b"] == pytest.approx(lr.slope) and summ["ols_a"] == pytest.approx(lr.intercept)


def test_primary_is_declared_and_secondaries_are_holm_corrected(analysis):
    t = analysis.tests
    prim = t[t.test_role == "primary"]
    assert len(prim) == 3 and set(prim.statistic) == {"spearman"} and set(prim.subset) == {"all"}
    assert (prim["p_holm"] == prim["p"]).all()
    # issue 9 part 4 changed this statistic: Holm runs within one family per model (its mix and the
    # mix's alternative sources), no longer over every model against every source together
    sec = t[t.test_role == "secondary"]
    for _, fam in sec.groupby("model"):
        np.testing.assert_allclose(fam["p_holm"].to_numpy(), holm(fam["p"].to_numpy()), equal_nan=True)
        assert (fam["family_size"] == np.isfinite(fam["p"]).sum()).all()
    # secondary analyses cover the other count sources but not the one already in the mix
    assert set(t[t.role == "secondary"]["mix"]) == {"source:imported:bethgelab:cc3m:lemmatized",
                                                    "source:ours:tiny_web:default:all"}
    # neither is a LAION-400M count: exploratory, outside the family, p unadjusted
    assert (t.loc[t.role == "secondary", "test_role"] == "exploratory").all()
    assert t.loc[t.test_role == "exploratory", "p_holm"].isna().all()


def test_an_unrelated_model_changes_no_reported_p_value(tmp_path, shared):
    """Issue 9 part 4: the Holm family is fixed by the declared mixes; a model without one (and a
    probe evaluation of a declared model, a separate family) leaves every existing p-value as it was."""
    con = W.build(tmp_path / "w.duckdb", shared)
    try:
        opts = AnalysisOptions(n_boot=100, seed=1)
        before = run_analysis(con, opts).tests
        W.write_accuracies(con, shared, models=["RN50_yfcc15m"])
        probe = run_query(con, "frequency_accuracy", {"model": "ViT-B-32_laion400m"})
        rows = con.execute("SELECT * FROM accuracy WHERE model = 'ViT-B-32_laion400m'").df()
        rows = rows.assign(method="probe", dataset="imagewikiqa", accuracy=rows["accuracy"].to_numpy()[::-1])
        con.register("_p", rows)
        con.execute("INSERT INTO accuracy BY NAME SELECT * FROM _p")
        after = run_analysis(con, opts).tests
    finally:
        con.close()
    assert len(probe) == 1000 and "RN50_yfcc15m" not in set(after["model"])
    keys = ["model", "dataset", "method", "mix", "subset", "statistic"]
    both = before.merge(after, on=keys, suffixes=("", "_after"))
    assert len(both) == len(before) and len(after) > len(before)   # the probe adds its own family
    np.testing.assert_array_equal(both["p_holm"].to_numpy(), both["p_holm_after"].to_numpy())
    np.testing.assert_array_equal(both["family_size"].to_numpy(), both["family_size_after"].to_numpy())


def test_the_docs_subset_is_dropped_where_it_repeats_all_classes():
    from classfreq.reports.analysis import _subsets
    assert _subsets(np.array([0, 3, 5])) == ("all", "docs>0")
    assert _subsets(np.array([1, 3, 5])) == ("all",)


def test_holm_against_the_definition():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    ok = p[~np.isnan(p)]
    order = np.argsort(ok)
    m = len(ok)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ok[i]))
        adj[i] = running
    got = holm(p)
    assert np.isnan(got[3])
    np.testing.assert_allclose(got[~np.isnan(p)], adj)


def test_bootstrap_with_a_fixed_seed_matches_a_direct_loop(direct):
    docs, acc, _ = direct
    x, y = log_docs(docs), acc
    B, seed = 150, 11
    got = bootstrap_intervals(x, y, n_boot=B, seed=seed)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(B, len(x)))
    vals = {"spearman": [], "kendall": [], "pearson": []}
    for ix in idx:
        vals["spearman"].append(stats.spearmanr(x[ix], y[ix]).statistic)
        vals["kendall"].append(stats.kendalltau(x[ix], y[ix], variant="b").statistic)
        vals["pearson"].append(stats.pearsonr(x[ix], y[ix]).statistic)
    for s, v in vals.items():
        lo, hi = np.quantile(v, [0.025, 0.975])
        assert got[s].lo == pytest.approx(lo, abs=1e-12) and got[s].hi == pytest.approx(hi, abs=1e-12)
        assert got[s].n_valid == B
    again = bootstrap_intervals(x, y, n_boot=B, seed=seed)
    assert again["spearman"].lo == got["spearman"].lo
    assert bootstrap_intervals(x, y, n_boot=B, seed=seed + 1)["spearman"].lo != got["spearman"].lo


def test_superclass_bootstrap_resamples_whole_clusters(direct):
    docs, acc, _ = direct
    x, y = log_docs(docs), acc
    hyper = pd.Series([f"entity > animal > group{i // 25}" for i in range(1000)])
    groups = superclasses(hyper, pd.Series(range(1000)))
    assert groups[0] == "group0" and groups[999] == "group39"
    B, seed = 60, 3
    got = bootstrap_intervals(x, y, n_boot=B, seed=seed, groups=groups)
    rng = np.random.default_rng(seed)
    labels = np.unique(groups.astype(str))
    members = [np.flatnonzero(groups.astype(str) == g) for g in labels]
    vals = []
    for _ in range(B):
        ix = np.concatenate([members[g] for g in rng.integers(0, len(members), size=len(members))])
        vals.append(stats.kendalltau(x[ix], y[ix], variant="b").statistic)
    lo, hi = np.quantile(vals, [0.025, 0.975])
    assert got["kendall"].lo == pytest.approx(lo) and got["kendall"].hi == pytest.approx(hi)
    idx = resample_indices(1000, 5, seed, groups)
    assert all(len(i) % 25 == 0 for i in idx)   # whole clusters only
    # no hypernyms: each class is its own cluster
    assert superclasses(pd.Series([None, ""]), pd.Series([4, 5])).tolist() == ["class:4", "class:5"]


def test_ols_against_linregress_and_logit_against_direct_likelihood(direct):
    docs, acc, correct = direct
    x = log_docs(docs)
    n = np.full_like(x, 50)
    o = ols_fit(x, acc)
    lr = stats.linregress(x, acc)
    assert o.b == pytest.approx(lr.slope) and o.se_b == pytest.approx(lr.stderr)
    assert o.a == pytest.approx(lr.intercept) and o.se_a == pytest.approx(lr.intercept_stderr)
    t = stats.t.ppf(0.975, len(x) - 2)
    # issue 9 part 5 changed the interval: HC3 robust standard errors (hat matrix from its definition)
    X = np.column_stack([np.ones_like(x), x])
    H = X @ np.linalg.pinv(X)
    e = acc - H @ acc
    XtX_inv = np.linalg.inv(X.T @ X)
    hc3 = XtX_inv @ X.T @ np.diag(e ** 2 / (1 - np.diag(H)) ** 2) @ X @ XtX_inv
    assert o.se_b_hc3 == pytest.approx(np.sqrt(hc3[1, 1]), rel=1e-9)
    assert o.ci()["b"][1] == pytest.approx(lr.slope + t * np.sqrt(hc3[1, 1]))
    assert o.se_b_hc3 != pytest.approx(lr.stderr, rel=1e-3)

    g = logit_fit(x, correct, n)
    assert g.converged

    def nll(beta):
        eta = beta[0] + beta[1] * x
        return -np.sum(correct * eta - n * np.logaddexp(0, eta))
    opt = optimize.minimize(nll, [0.0, 0.0], method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose([g.a, g.b], opt.x, atol=1e-5)
    # binomial covariance = inverse of the observed information (numerical Hessian of the NLL)
    h = 1e-4
    H = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * h, np.eye(2)[j] * h
            b0 = np.array([g.a, g.b])
            H[i, j] = (nll(b0 + e_i + e_j) - nll(b0 + e_i - e_j) - nll(b0 - e_i + e_j) + nll(b0 - e_i - e_j)) / (4 * h * h)
    np.testing.assert_allclose(g.cov_binomial, np.linalg.inv(H), rtol=1e-3)
    mu = special.expit(g.a + g.b * x)
    phi = np.sum((correct - n * mu) ** 2 / (n * mu * (1 - mu))) / (len(x) - 2)
    assert g.phi == pytest.approx(phi)
    np.testing.assert_allclose(g.cov, g.cov_binomial * max(phi, 1))
    pr = g.predict(np.array([0.0, 3.0]))
    assert np.all((pr["pred_lo"] >= 0) & (pr["pred_hi"] <= 1) & (pr["pred_lo"] <= pr["mean_lo"]))


def test_binned_means_and_sensitivity(analysis, direct):
    docs, acc, _ = direct
    x = log_docs(docs)
    rows = binned_means(x, acc, 10)
    edges = np.linspace(x.min(), x.max(), 11)
    which = np.clip(np.digitize(x, edges) - 1, 0, 9)
    for r in rows:
        assert r["classes"] == (which == r["bin"]).sum()
        assert r["mean_accuracy"] == pytest.approx(acc[which == r["bin"]].mean())
    assert sum(r["classes"] for r in rows) == 1000
    sens = analysis.sensitivity
    s = sens[(sens.model == "ViT-B-32_laion400m") & (sens.role == "primary")].set_index("offset")
    for off in (0.1, 1.0, 10.0):
        assert s.loc[off, "pearson"] == pytest.approx(stats.pearsonr(np.log10(docs + off), acc).statistic)


def test_outliers_are_judged_against_the_overdispersed_model(analysis):
    """Issue 9 part 1 changed the judgement: outliers are judged against the GLMM (binomial noise and
    the between-class spread); the pure-binomial p stays as a descriptive column."""
    c = analysis.classes[analysis.classes.model == "ViT-B-32_laion400m"]
    row = c.iloc[int(np.argmin(c["z_binomial"]))]
    p_exp = stats.binomtest(int(row["correct"]), 50, row["logit_fitted"]).pvalue
    assert row["p_binomial"] == pytest.approx(p_exp)
    low = c.iloc[int(np.argmin(c["p_glmm"] + 2 * (c["class_estimate"] > c["glmm_fitted"])))]
    assert low["outlier"] in ("frequent but inaccurate", "below fit", "")
    flagged = c[c.outlier != ""]
    assert (flagged["p_glmm_holm"] < 0.05).all()
    assert (c.loc[c.outlier == "", "p_glmm_holm"] >= 0.05).all()
    # fewer classes leave the overdispersed model's noise than leave pure binomial noise
    assert len(flagged) < (c["p_binomial_holm"] < 0.05).sum()


def test_recommendation_math(direct):
    """Issue 9 parts 1-2: the GLMM's class-level slope and posterior class logits, no prediction past
    the most frequent class, intervals from a parametric bootstrap of the fit, target on one scale."""
    docs, acc, correct = direct
    n = np.full_like(docs, 50)
    fit = glmm_fit(log_docs(docs), correct, n)
    st = R.class_state(docs, correct, n, fit)
    p0, _, _ = R.predict_after(st, 0)
    p1, lo, hi = R.predict_after(st, 10_000)
    seen = docs + 10_000 <= docs.max()
    assert np.isnan(p1[~seen]).all() and np.isfinite(p1[seen]).all() and (~seen).any()
    assert np.all(p1[seen] >= p0[seen]) and np.all((lo[seen] <= p1[seen]) & (p1[seen] <= hi[seen]))
    np.testing.assert_allclose(p0, special.expit(st.eta0))
    # the interval carries the fit's uncertainty: wider than the class's own posterior alone
    # (the same parametric bootstrap, same seed, with the fit's parameters held at their estimates)
    fixed = type(fit)(**{**fit.__dict__, "cov": np.zeros((3, 3))})
    own = R.class_state(docs, correct, n, fixed)
    own.fit = fit
    _, lo_own, hi_own = R.predict_after(own, 10_000)
    assert np.nanmean(hi - lo) > np.nanmean(hi_own - lo_own)
    target = float(np.median(acc))
    need, notes = R.examples_needed(st, target, max_docs=1e12)
    ok = np.isfinite(need) & (need > 0)
    assert ok.any()
    unbounded = R.ClassState(st.docs, st.eta0, st.var0, fit)     # the arithmetic, without the range limit
    p_need, _, _ = R.predict_after(unbounded, np.where(ok, need, 0))
    assert np.all(p_need[ok] >= target - 1e-9)
    p_less, _, _ = R.predict_after(unbounded, np.where(ok, np.maximum(need - 1, 0), 0))
    assert np.all(p_less[ok & (need > 1)] < target)
    capped, notes2 = R.examples_needed(st, target, max_docs=docs.max())
    assert any(R.NOT_REACHABLE in s for s in notes2) == bool(np.isnan(capped).any())
    assert np.nanmax(capped + docs) <= docs.max() and any(R.BEYOND in s for s in notes2)
    # one scale: 'already at target' exactly where the class estimate is at or above the target
    at = np.array([s == "already at target" for s in notes2])
    np.testing.assert_array_equal(at, special.expit(st.eta0) >= target)
    flat = R.ClassState(st.docs, st.eta0, st.var0, type(fit)(**{**fit.__dict__, "b": -0.1}), st.max_docs)
    _, notes3 = R.examples_needed(flat, target, 1e12)
    assert all(s == "already at target" or R.NOT_REACHABLE in s for s in notes3)


def test_uncertain_counts_and_excluded_classes():
    docs, low, high = np.array([0, 0, 3, 3, 500]), np.array([0, 0, 3, 1, 400]), np.array([0, 900, 3, 80, 5000])
    assert R.uncertain_counts(docs, low, high, near_zero=10).tolist() == [True, True, False, True, False]
    fit = logit_fit(np.array([0, 1, 2, 3, 4.0]), np.array([10, 20, 30, 40, 45]), np.full(5, 50))
    st = R.ClassState(np.array([0.0, 10, 100, 1000]), np.array([-1.0, 0.0, 0.5, 2.0]), np.zeros(4), fit, 1000.0)
    alloc = R.allocate(st, 400, step=10, eligible=[False, True, True, True])
    assert alloc[0] == 0 and alloc[3] == 0                  # excluded; already at the most frequent class
    assert (alloc + st.docs <= 1000).all() and alloc.sum() == 400


def test_greedy_allocation_spends_the_budget_on_the_largest_gains():
    fit = logit_fit(np.array([0, 1, 2, 3, 4.0]), np.array([10, 20, 30, 40, 45]), np.full(5, 50))
    st = R.ClassState(np.array([0.0, 10, 100, 1000]), np.array([-1.0, 0.0, 0.5, 2.0]), np.zeros(4), fit)
    alloc = R.allocate(st, 40, step=10)
    assert alloc.sum() == 40
    # brute force over every split in steps of 10
    best = -1.0
    for a in range(5):
        for b in range(5 - a):
            for c in range(5 - a - b):
                d = 4 - a - b - c
                k = np.array([a, b, c, d]) * 10
                m = R.predict_after(st, k)[0].mean()
                if m > best:
                    best = m
    assert R.predict_after(st, alloc)[0].mean() == pytest.approx(best, abs=1e-9)


def test_recommend_end_to_end_candidates_and_advice(wh, analysis, tmp_path):
    rec = R.recommend(wh, analysis.classes, RecommendOptions(budget=5000))
    pc = rec.per_class
    assert len(pc) == 3000 and (pc["caveat"] == R.CAVEAT).all()
    assert pc.groupby("model")["allocated"].sum().eq(5000).all()
    tench = pc[(pc.class_index == 0)].iloc[0]
    assert "tinca tinca" in tench["prompt_advice"]
    assert R._prompt_advice("computer mouse", 7, float("nan"), "mouse") == \
        "prompt with 'computer mouse' (7 docs) rather than 'mouse' (ambiguous, not counted)"
    assert R._prompt_advice("tinca tinca", 3, 0.0, "tench").endswith("rather than 'tench' (0 docs)")
    assert pc.loc[pc.class_index == 744, "flag"].str.startswith("ambiguous").all()
    # issue 9 part 2: uncertain zero counts are marked and the allocation is shown under each treatment
    zero = pc[pc.docs == 0]
    assert len(zero) and zero["count_uncertain"].all() and zero["flag"].str.contains("count uncertain").all()
    tr = rec.treatments.set_index(["model", "treatment"])
    assert set(rec.treatments["treatment"]) == {"upper", "exclude", "as-counted"}
    assert (tr.xs("exclude", level="treatment")["to_uncertain"] == 0).all()
    assert (tr.xs("upper", level="treatment")["to_uncertain"] == 0).all()   # lone zeros: one counter here
    assert (tr.xs("upper", level="treatment")["used"]).all()
    assert (tr.xs("as-counted", level="treatment")["to_uncertain"] > 0).any()
    assert (pc["allocated"] + pc["docs"] <= pc.groupby("model")["docs"].transform("max")).all()
    alloc = pd.DataFrame({"class_index": [0, 1], "allocated": [2, 1]})
    cand = R.candidates(wh, "ViT-B-32_laion400m", alloc, oversample=2.0, top_k=3)
    assert cand.groupby("class_index").size().to_dict() == {0: 3, 1: 2}   # min(ceil(2*2), 3), ceil(1*2)
    assert list(cand.columns[:2]) == ["url", "caption"] and cand["url"].notna().all()


def build_hostile_report(con, out):
    """The fixture report, with a <script> caption among the candidates of an allocated class."""
    from classfreq.reports.report import build_report
    opts = AnalysisOptions(n_boot=100, secondary_sources=False)
    an = run_analysis(con, opts)
    rec = R.recommend(con, an.classes, RecommendOptions(budget=2000))
    top = int(rec.allocation.sort_values("allocated", ascending=False)["class_index"].iloc[0])
    W.add_hostile_candidate(con, top)
    return build_report(con, out, opts, RecommendOptions(budget=2000))


def test_report_files_and_escaping(wh, tmp_path):
    res = build_hostile_report(wh, tmp_path / "rep")
    html_text = res["report"].read_text()
    assert "<script>window.__xss" not in html_text and "<img src=x" not in html_text
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html_text      # the caption, as text
    assert "&lt;script&gt;window.__xss_note = 1&lt;/script&gt;" in html_text  # the mix note, as text
    assert "cdn" not in html_text.lower().split("<script>")[0]
    # every section of the registry, in its order (all have content with this fixture)
    from classfreq.reports.sections import SECTIONS
    ids = re.findall(r'<section id="([a-z]+)">', html_text)
    assert ids == ["headline", "scatter", "longtail", "classes", "recommendations", "coverage", "provenance"]
    # the experiments section (label-space size, prompts, probe, ImageWikiQA) renders nothing without
    # such results, which this fixture has none of; tests/test_reports_experiments.py shows it
    assert len(ids) == len(SECTIONS) - 1
    for f in ("tables/headline.csv", "charts/scatter.png", "charts/scatter.svg", "charts/longtail.svg",
              "recommendations/candidates.parquet", "recommendations/allocation.csv"):
        assert (tmp_path / "rep" / f).stat().st_size > 0
    cand = pd.read_parquet(tmp_path / "rep/recommendations/candidates.parquet")
    assert {"url", "caption"} <= set(cand.columns)
    assert len(res["headline"]) == 3
    prov = run_query(wh, "run_provenance", {"kind": "report"})
    assert res["run_id"] in set(prov["run_id"])


def test_cli_report_and_recommend(tmp_path, shared, capsys):
    from classfreq.cli import main
    path = tmp_path / "w.duckdb"
    W.build(path, shared).close()
    assert main(["recommend", "--warehouse", str(path), "--out", str(tmp_path / "rec"), "--budget", "1000",
                 "--bootstrap", "100", "--model", "ViT-B-32_laion400m"]) == 0
    out = capsys.readouterr().out
    assert R.CAVEAT in out and "ViT-B-32_laion400m: 1000 examples" in out
    alloc = pd.read_csv(tmp_path / "rec" / "recommendations" / "allocation.csv")
    assert set(alloc["model"]) == {"ViT-B-32_laion400m"} and alloc["allocated"].sum() == 1000
    # the same recommendations as the report's, under every count source of the mix too
    assert main(["report", "--warehouse", str(path), "--out", str(tmp_path / "same"), "--budget", "1000",
                 "--bootstrap", "100", "--model", "ViT-B-32_laion400m"]) == 0
    capsys.readouterr()
    for name in ("per_class.csv", "allocation.csv", "allocation_by_source.csv", "source_comparison.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "rec" / "recommendations" / name),
                                      pd.read_csv(tmp_path / "same" / "recommendations" / name))
    assert main(["report", "--warehouse", str(path), "--out", str(tmp_path / "rep"), "--bootstrap", "100",
                 "--no-secondary", "--bootstrap-unit", "superclass", "--budget", "500"]) == 0
    assert "Spearman rho" in capsys.readouterr().out
    assert (tmp_path / "rep" / "report.html").exists()
    assert main(["report", "--warehouse", str(path), "--out", str(tmp_path / "x"), "--target", "7"]) == 2
    capsys.readouterr()
    assert main(["report", "--warehouse", str(path), "--out", str(tmp_path / "y"), "--version", "V"]) == 2
    assert "--version V has no accuracies in the warehouse" in capsys.readouterr().err
    assert not (tmp_path / "y" / "report.html").exists()


def test_empty_warehouse_still_writes_a_report_that_says_what_is_missing(tmp_path):
    from classfreq.queries.warehouse import connect
    from classfreq.reports.report import build_report
    con = connect(tmp_path / "empty.duckdb")
    try:
        res = build_report(con, tmp_path / "rep", AnalysisOptions(n_boot=100))
    finally:
        con.close()
    text = res["report"].read_text()
    assert "No accuracy rows join a declared mix yet" in text and res["headline"] == []


def test_primary_groups_also_get_a_superclass_interval(analysis, wh):
    s = analysis.summary.query("model == 'ViT-B-32_laion400m' and role == 'primary'").iloc[0]
    df = run_query(wh, "frequency_accuracy", {"model": "ViT-B-32_laion400m"}).sort_values("class_index")
    g = superclasses(df["hypernyms"], df["class_index"])
    iv = bootstrap_intervals(log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy(), n_boot=200, seed=7,
                             groups=g, which=("spearman",))["spearman"]
    assert s["superclasses"] == 100   # the fixture's hypernyms: index // 10 (depth 2, the default: 100 clusters)
    assert s["superclass_rule"] == "depth 2 from the root"
    assert s["spearman_superclass_lo"] == pytest.approx(iv.lo) and s["spearman_superclass_hi"] == pytest.approx(iv.hi)


def test_headline_table_keeps_label_set_versions_apart(analysis):
    """A model with accuracies on two label-set versions is analysed per version; the headline table
    must show one row per version with that version's numbers, not merge them."""
    from dataclasses import replace

    from classfreq.reports.sections import headline_table
    t2 = analysis.tests.assign(version="test-v2", estimate=0.5, ci_lo=0.4, ci_hi=0.6)
    s2 = analysis.summary.assign(version="test-v2")
    two = replace(analysis, tests=pd.concat([analysis.tests, t2], ignore_index=True),
                  summary=pd.concat([analysis.summary, s2], ignore_index=True))
    one = headline_table(analysis, {})
    head = headline_table(two, {})
    assert len(head) == 2 * len(one)
    v2 = head[head["version"] == "test-v2"]
    assert len(v2) == len(one) and (v2["spearman"] == "0.500 [0.400, 0.600]").all()
    v1 = head[head["version"] == W.VERSION].reset_index(drop=True)
    assert (v1["spearman"].to_numpy() == one["spearman"].to_numpy()).all()


def write_judged_source(con, shared, source="web_judged", share=0.6):
    """An 'ours' source over all classes (docs from the published CC3M counts) whose run was relevance
    judged: docs_relevant_* filled directly, as the relevance stage writes them."""
    from classfreq.queries.warehouse import record_run, replace_rows, utcnow
    counts = list(json.loads((shared / "reference/bethgelab/imagenet_cc3m_lemmatized_search_counts.json")
                             .read_text()).values())
    run_id = f"count-{source}"
    record_run(con, run_id, "count", utcnow(), inputs={"paths": ["x"]}, options={"mode": "default"},
               labelset=W.LABELSET, labelset_version=W.VERSION)
    docs = np.array(counts, float)
    rel_share = np.where(np.arange(len(docs)) % 2 == 0, share, 1.0)   # every other class: all relevant
    cc = pd.DataFrame({"run_id": run_id, "source": source, "mode": "default", "role": "all",
                       "labelset": W.LABELSET, "version": W.VERSION, "class_index": range(len(docs)),
                       "docs": docs.astype(int), "docs_clean": docs.astype(int), "mentions": docs.astype(int),
                       "relevance_judge": "fast", "relevance_judged": 50, "relevance_p_mean": rel_share,
                       "relevant_share": rel_share, "relevant_share_lo": rel_share * 0.8,
                       "relevant_share_hi": np.minimum(1, rel_share * 1.2), "docs_relevant_est": docs * rel_share,
                       "docs_relevant_lo": docs * rel_share * 0.8, "docs_relevant_hi": docs * np.minimum(1, rel_share * 1.2)})
    # as the count job writes them: never-matched classes have a row with docs 0 and no judgement,
    # and the view counts them as 0 relevant documents
    unjudged = ["relevance_judge", "relevance_judged", "relevance_p_mean", "relevant_share", "relevant_share_lo",
                "relevant_share_hi", "docs_relevant_est", "docs_relevant_lo", "docs_relevant_hi"]
    cc.loc[cc["docs"] == 0, unjudged] = None
    replace_rows(con, "class_counts", cc, {"run_id": run_id})
    return docs, rel_share


@contextmanager
def judged_mix(tmp_path, shared, components: str):
    """A warehouse with the judged source of ``write_judged_source`` and ViT-B-16_laion400m's mix of
    ``components`` (mix-file YAML): (connection, docs, relevant share, the mix's problems)."""
    from classfreq.queries.mixes import read_mix_file, write_mixes
    con = W.build(tmp_path / "w.duckdb", shared, small_counts=False)
    try:
        docs, share = write_judged_source(con, shared)
        mf = tmp_path / "judged.yaml"
        mf.write_text("models: [ViT-B-16_laion400m]\ncomponents:\n" + components)
        yield con, docs, share, write_mixes(con, read_mix_file(mf))
    finally:
        con.close()


def analysed_headline(con):
    """ViT-B-16_laion400m's analysis, recommendations and the headline section's text."""
    from classfreq.reports.sections import ReportContext, headline_section
    an = run_analysis(con, AnalysisOptions(n_boot=100, models=("ViT-B-16_laion400m",)))
    rec = R.recommend(con, an.classes, RecommendOptions(budget=1000))
    head = headline_section(ReportContext(con, an, rec))
    return an, rec, " ".join(i for i in head.items if isinstance(i, str))


def test_unmatched_classes_of_a_judged_run_keep_the_raw_slice_values(tmp_path, shared):
    """A class no document matched counts 0 relevant documents, not NULL (it would drop out of the
    analysis), and keeps a sampled run's upper bound: a share is at most 1."""
    con = W.build(tmp_path / "w.duckdb", shared, small_counts=False)
    try:
        docs, share = write_judged_source(con, shared)
        con.execute("UPDATE class_counts SET docs_est = 0, docs_est_lo = 0, docs_est_hi = 37 "
                    "WHERE run_id = 'count-web_judged' AND docs = 0")
        rel = run_query(con, "class_frequency", {"count_key": "ours:web_judged:default:all:relevant"})
    finally:
        con.close()
    rel = rel.sort_values("class_index").set_index("class_index")
    unmatched = np.flatnonzero(docs == 0)
    assert len(unmatched) and len(rel) == len(docs)
    assert (rel.loc[unmatched, ["docs", "docs_est", "docs_est_lo"]] == 0).all().all()
    assert (rel.loc[unmatched, "docs_est_hi"] == 37).all()
    matched = np.flatnonzero(docs > 0)
    np.testing.assert_allclose(rel.loc[matched, "docs_est"], docs[matched] * share[matched])


def test_relevance_adjusted_counts_are_primary_and_raw_ones_shown_beside(tmp_path, shared):
    """Issue 8 in the report: a mix whose counted component was relevance judged is analysed on the
    adjusted counts (primary), on the raw ones beside it, and the recommendations use the adjusted."""
    with judged_mix(tmp_path, shared, "  - component: judged web\n    source: ours:web_judged:default:all\n") as (
            con, docs, share, _):
        src = run_query(con, "class_frequency", {"count_key": "ours:web_judged:default:all:relevant"})
        np.testing.assert_allclose(src.sort_values("class_index")["docs_est"].to_numpy(), docs * share)
        an, rec, text = analysed_headline(con)
    s = an.summary.set_index("source_relation")
    assert s.loc["own mix", "count_basis"] == "relevant" and s.loc["own mix", "role"] == "primary"
    assert s.loc["own mix, raw counts", "count_basis"] == "raw"
    y = an.classes.sort_values("class_index")["accuracy"].to_numpy()
    assert s.loc["own mix", "spearman"] == pytest.approx(stats.spearmanr(np.log10(docs * share + 1), y).statistic)
    assert s.loc["own mix, raw counts", "spearman"] == pytest.approx(stats.spearmanr(np.log10(docs + 1), y).statistic)
    t = an.tests
    assert set(t.loc[t.source_relation == "own mix, raw counts", "test_role"]) == {"secondary"}
    assert "relevance-adjusted counts are primary" in text and "ViT-B-16_laion400m on the same mix's raw counts" in text
    np.testing.assert_allclose(rec.per_class.sort_values("class_index")["docs"].to_numpy(), docs * share)
    assert len(an.counters) and (an.counters["other_source"].str.contains("raw")).any()


def test_a_mix_naming_a_relevant_key_is_analysed_on_the_adjusted_counts(tmp_path, shared):
    """A mix file may name a judged source's ':relevant' count key: that source's relevant-document
    estimates are then the mix's counts, the headline says so, and there is no raw view of the mix."""
    with judged_mix(tmp_path, shared, "  - component: judged web\n    source: ours:web_judged:default:all:relevant\n"
                    "    weight: 2\n") as (con, docs, share, problems):
        assert problems == []  # the key has counts
        bases = con.execute("SELECT DISTINCT basis FROM mix_class_docs WHERE mix = 'ViT-B-16_laion400m'").fetchall()
        an, _, text = analysed_headline(con)
    assert bases == [("relevant",)]
    s = an.summary.set_index("source_relation")
    assert s.loc["own mix", "count_basis"] == "relevant" and "own mix, raw counts" not in s.index
    primary = an.classes.sort_values("class_index")
    np.testing.assert_allclose(primary["docs"].to_numpy(), 2 * docs * share)
    y = primary["accuracy"].to_numpy()
    assert s.loc["own mix", "spearman"] == pytest.approx(stats.spearmanr(np.log10(2 * docs * share + 1), y).statistic)
    raw = an.summary[an.summary["mix"] == "source:ours:web_judged:default:all"]
    assert raw["source_relation"].tolist() == ["alternative"]  # the raw counts of the same source, beside it
    assert "ViT-B-16_laion400m on imagenet-val (zero-shot) vs its own mix (relevance-adjusted counts)" in text
    assert "raw counts" not in text


def test_a_mix_naming_a_relevant_key_for_some_components_says_so(tmp_path, shared):
    """A mix of a ':relevant' key and raw imported counts is analysed on its raw basis, and the
    headline names which components are counted as relevant documents instead of 'raw counts'."""
    with judged_mix(tmp_path, shared, "  - component: judged web\n    source: ours:web_judged:default:all:relevant\n"
                    "  - component: LAION-400M\n    source: imported:bethgelab:laion400m:lemmatized\n") as (
            con, _, _, problems):
        assert problems == []
        _, _, text = analysed_headline(con)
    assert ("vs its own mix (raw counts, except the relevance-adjusted counts the mix file names for 1 of its 2 "
            "counted components)") in text


SOURCES_MIX = """
models: [ViT-B-32_laion400m]
components:
  - component: LAION-400M
    source: imported:bethgelab:laion400m:lemmatized
  - component: CC3M subset
    source: imported:bethgelab:cc3m:lemmatized
    counted: false
"""


def test_recommendations_under_every_count_source_of_the_mix(tmp_path, shared):
    """Issue 9 part 3: the allocation is computed under every count source of the mix (primary, another
    counter of the same corpus, an uncounted component), each from its own GLMM, and compared with the
    primary's; unrelated sources are left out."""
    from classfreq.queries.imports import import_bethgelab_counts
    from classfreq.queries.mixes import read_mix_file, write_mixes
    con = W.build(tmp_path / "w.duckdb", shared, small_counts=False, mix=False)
    try:
        import_bethgelab_counts(con, shared / "reference/bethgelab/imagenet_laion400m_lowercased_search_counts.json")
        import_bethgelab_counts(con, shared / "reference/bethgelab/imagenet_yfcc15m_lemmatized_search_counts.json")
        (tmp_path / "m.yaml").write_text(SOURCES_MIX)
        write_mixes(con, read_mix_file(tmp_path / "m.yaml"))
        an = run_analysis(con, AnalysisOptions(n_boot=100, models=("ViT-B-32_laion400m",)))
        opts = RecommendOptions(budget=3000)
        rec = R.recommend(con, an.classes, opts, an.sources)
    finally:
        con.close()
    by, cmp = rec.by_source, rec.source_comparison.set_index("source_relation")
    assert set(cmp.index) == {"own mix", "other counter of a counted corpus", "alternative"}   # not yfcc15m
    assert by.groupby("count_source")["allocated"].sum().eq(3000).all()
    # the primary source's allocation is the recommendations' own
    prim = by[by.role == "primary"].set_index("class_index")["allocated"]
    main = rec.per_class.set_index("class_index")["allocated"]
    pd.testing.assert_series_equal(prim, main.reindex(prim.index), check_names=False)
    assert cmp.loc["own mix", "budget_shared_with_primary"] == 1.0 and (cmp["share_allocated"] == 1.0).all()
    assert cmp.loc["own mix", f"top{R.TOP_N}_shared_with_primary"] == R.TOP_N
    # another counter: its own fit and allocation, recomputed here from its counts
    other = by[by.source_relation == "other counter of a counted corpus"].sort_values("class_index")
    src = an.sources[an.sources.count_source == other["count_source"].iloc[0]].sort_values("class_index")
    fit = glmm_fit(log_docs(src["docs"]), src["correct"], src["n"])
    assert cmp.loc["other counter of a counted corpus", "glmm_b"] == pytest.approx(fit.b)
    unc = R.uncertain_counts(src["docs"], src["count_low"], src["count_high"], opts.near_zero)
    high = np.where(unc, src["count_high"], src["docs"])
    st = R.class_state(high, src["correct"], src["n"], fit, n_draws=0)
    st.max_docs = float(src["docs"].max())
    np.testing.assert_array_equal(other["allocated"].to_numpy(), R.allocate(st, 3000, eligible=~(unc & (high == 0))))
    top = lambda g: set(g[g.allocated > 0].sort_values(["allocated", "class_index"], ascending=[False, True])  # noqa: E731
                        .head(R.TOP_N)["class_index"])
    assert cmp.loc["other counter of a counted corpus", f"top{R.TOP_N}_shared_with_primary"] == \
        len(top(other) & top(by[by.role == "primary"]))
    shared_budget = np.minimum(other.set_index("class_index")["allocated"], prim).sum() / 3000
    assert cmp.loc["other counter of a counted corpus", "budget_shared_with_primary"] == pytest.approx(shared_budget)
    assert cmp.loc["alternative", "budget_shared_with_primary"] < 1.0     # CC3M counts fund other classes
    wide = R.top_classes_by_source(by)
    assert list(wide.columns[3:]) == ["primary"] + list(cmp["count_source"])[1:] and len(wide) >= R.TOP_SHOWN
