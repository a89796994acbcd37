"""The report's bootstrap, per analysis group: the statistics of every replicate from class
multiplicities at once (reports/stats.py) against the baseline of resampling indices and calling
scipy per replicate (what the report did before), on the real bethgelab LAION-400M join (1,000
classes), resampling classes and superclasses (clusters of 7). CPU seconds per 1,000 replicates of
Spearman, Kendall tau-b and Pearson; both must give the same intervals.

Then the count-error correction per primary group (reports/counterror.py): CPU seconds of the SIMEX and
regression-calibration point estimates alone (what the report did before) against the same with their
95% bootstrap intervals, for the OLS and the logit slope, the lowercased LAION-400M counts as the second
counter.

    .venv/bin/python benchmarks/bench_report_bootstrap.py --shared ../shared/data
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from classfreq.reports.counterror import eiv_intervals, reliability_slope, simex_slope
from classfreq.reports.fits import logit_fit, ols_fit
from classfreq.reports.stats import bootstrap_intervals, resample_indices


def baseline(x, y, n_boot, seed, groups):
    """Index resampling and one scipy call per statistic and replicate."""
    vals = {"spearman": [], "kendall": [], "pearson": []}
    for ix in resample_indices(len(x), n_boot, seed, groups):
        xs, ys = x[ix], y[ix]
        vals["spearman"].append(stats.spearmanr(xs, ys).statistic)
        vals["kendall"].append(stats.kendalltau(xs, ys).statistic)
        vals["pearson"].append(stats.pearsonr(xs, ys).statistic)
    return {s: tuple(np.quantile(v, [0.025, 0.975])) for s, v in vals.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    ref = Path(args.shared) / "reference" / "bethgelab"
    docs = np.array(list(json.loads((ref / "imagenet_laion400m_lemmatized_search_counts.json").read_text()).values()), float)
    res = json.loads((ref / "imagenet_ensemble_results.json").read_text())
    acc = np.array(list(res["backboneViT-B-32_pretrainedlaion400m"]["classwise"].values())) / 100
    x, y = np.log10(docs + 1), np.round(acc * 50) / 50
    print(f"{'unit':<12}{'baseline s':>12}{'weights s':>12}{'speed-up':>10}{'max |interval diff|':>22}")
    for unit, groups in (("class", None), ("superclass", np.array([f"g{i // 7}" for i in range(len(x))]))):
        t = time.process_time()
        old = baseline(x, y, args.bootstrap, 0, groups)
        t_old = time.process_time() - t
        t = time.process_time()
        new = bootstrap_intervals(x, y, n_boot=args.bootstrap, seed=0, groups=groups)
        t_new = time.process_time() - t
        diff = max(abs(old[s][0] - new[s].lo) + abs(old[s][1] - new[s].hi) for s in old)
        print(f"{unit:<12}{t_old:>12.2f}{t_new:>12.2f}{t_old / t_new:>9.1f}x{diff:>22.1e}")
    other = np.array(list(json.loads((ref / "imagenet_laion400m_lowercased_search_counts.json").read_text()).values()), float)
    count_error(x, np.log10(other + 1), np.round(acc * 50))


def count_error(x, x2, correct):
    """CPU seconds of the errors-in-variables slopes without and with their intervals."""
    n = np.full(len(x), 50.0)
    error_var = float(np.var(x - x2, ddof=1) / 2)
    fits = {"OLS": lambda idx: lambda xs: ols_fit(xs, correct[idx] / 50).b,
            "logit": lambda idx: lambda xs: logit_fit(xs, correct[idx], n[idx]).b}
    print(f"\n{'slope':<8}{'point s':>10}{'with 95% s':>12}{'added s':>10}  SIMEX [95%]")
    for name, fit_for in fits.items():
        t = time.process_time()
        s = simex_slope(x, fit_for(np.arange(len(x))), error_var)
        reliability_slope(s["naive"], x, x2)
        t_point = time.process_time() - t
        t = time.process_time()
        iv = eiv_intervals(x, fit_for, error_var, x2)
        t_iv = time.process_time() - t
        print(f"{name:<8}{t_point:>10.2f}{t_point + t_iv:>12.2f}{t_iv:>10.2f}  "
              f"{s['simex']:.3f} [{iv['simex_lo']:.3f}, {iv['simex_hi']:.3f}]")


if __name__ == "__main__":
    main()
