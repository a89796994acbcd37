"""Evaluate the judge and its baselines on labelled pairs: accuracy, precision of the pairs kept,
recall of `yes` pairs, and per source the judged relevant share against the labelled share.

The judge's rows come from grouped cross-validation (folds split by class); the baselines are
fixed rules and need no fitting:
* string matching: every matched pair is relevant;
* spaCy-only: relevant when the match is a common noun heading its phrase, not capitalised
  mid-caption, not next to a proper noun and not followed by a model number;
* embedding-only nearest gloss: relevant when the caption context is nearer the class definition
  than any other WordNet sense of the form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from classfreq.relevance.labels import LabelledPairs


@dataclass
class Row:
    name: str
    predicted: np.ndarray     # 0/1 per labelled pair


def string_match_rule(x: np.ndarray, names: list[str]) -> np.ndarray:
    return np.ones(len(x), np.int64)


def spacy_rule(x: np.ndarray, names: list[str]) -> np.ndarray:
    f = {n: x[:, i] for i, n in enumerate(names)}
    noun = (f["pos_noun"] + f["pos_propn"]) > 0
    named = (f["capital_unexpected"] + f["next_has_digit"] + f["next_propn"] + f["prev_propn"]) > 0
    return (noun & (f["modifies_noun"] == 0) & ~named).astype(np.int64)


def nearest_gloss_rule(x: np.ndarray, names: list[str]) -> np.ndarray:
    margin = x[:, names.index("sim_margin")]
    return (margin >= 0).astype(np.int64)


BASELINES = {"string matching": string_match_rule, "spaCy-only rule": spacy_rule,
             "embedding-only nearest gloss": nearest_gloss_rule}


def metrics(y: np.ndarray, p: np.ndarray, sources: list[str], threshold: float = 0.5) -> dict:
    """Metrics of probabilities `p` (0/1 for rules) kept at `threshold`; per source the kept share,
    the mean probability (the expected relevant share) and the labelled share."""
    predicted = (p >= threshold).astype(np.int64)
    kept = predicted == 1
    out = {"accuracy": float((predicted == y).mean()),
           "precision_kept": float(y[kept].mean()) if kept.any() else float("nan"),
           "recall_yes": float(predicted[y == 1].mean()) if (y == 1).any() else float("nan"),
           "sources": {}}
    src = np.array(sources)
    for source in sorted(set(sources)):
        here = src == source
        out["sources"][source] = {"judged": float(predicted[here].mean()), "mean_p": float(p[here].mean()),
                                  "labelled": float(y[here].mean()), "n": int(here.sum())}
    return out


def format_table(results: dict[str, dict]) -> str:
    """Markdown table: one row per method; per source 'kept share / mean p (labelled share)'."""
    sources = sorted({s for r in results.values() for s in r["sources"]})
    head = ["method", "accuracy", "precision of kept", "recall of yes"] + [f"{s}: kept / mean p (labelled)"
                                                                          for s in sources]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        cells = [name, f"{r['accuracy']:.3f}", f"{r['precision_kept']:.3f}", f"{r['recall_yes']:.3f}"]
        cells += [f"{r['sources'][s]['judged']:.2f} / {r['sources'][s]['mean_p']:.2f} ({r['sources'][s]['labelled']:.2f})"
                  for s in sources]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluate_rows(pairs: LabelledPairs, x: np.ndarray, names: list[str], judged: dict[str, np.ndarray]) -> dict:
    """Metrics for the judge rows (given probabilities) and every baseline."""
    results = {name: metrics(pairs.y, p, pairs.sources) for name, p in judged.items()}
    for name, rule in BASELINES.items():
        results[name] = metrics(pairs.y, rule(x, names), pairs.sources)
    return results


def share_estimates(y: np.ndarray, p: np.ndarray, sources: list[str], classes, threshold: float = 0.5) -> dict:
    """Per source, the two estimators of the relevant share on held-out probabilities: the calibrated
    mean and Rogan–Gladen (with the pooled error rates), each as (share, low, high), beside the
    labelled share. Both use rates measured on every source, as a judge shipped with these labels
    would. A source pools many classes, each with its own bias of variance tau^2 (cross-product
    estimate from these classes), so the bias of its mean has variance tau^2 sum(n_c^2) / n^2."""
    from classfreq.relevance.estimate import JudgeErrors, calibrated_share, class_bias_var, relevant_share
    from classfreq.relevance.train import confusion

    predicted = (p >= threshold).astype(np.int64)
    errors = JudgeErrors.from_params(confusion(y, predicted))
    tau2 = class_bias_var(y, p, classes)
    src, cls, out = np.array(sources), np.asarray(classes), {}
    for source in sorted(set(sources)):
        here = src == source
        _, per_class = np.unique(cls[here], return_counts=True)
        cal = calibrated_share(p[here], tau2 * float((per_class ** 2).sum()) / int(here.sum()) ** 2)
        rg = relevant_share(int(predicted[here].sum()), int(here.sum()), errors)
        out[source] = {"labelled": float(y[here].mean()), "calibrated": (cal.share, cal.low, cal.high),
                       "rogan_gladen": (rg.share, rg.low, rg.high)}
    return out


def format_share_table(estimates: dict[str, dict]) -> str:
    """Markdown: one row per (judge, source): labelled share, each estimator with its interval and
    whether the interval covers the labelled share."""
    head = ["judge", "source", "labelled share", "calibrated mean p [95%]", "Rogan–Gladen [95%]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for judge, per_source in estimates.items():
        for source, r in per_source.items():
            cells = [judge, source, f"{r['labelled']:.3f}"]
            for key in ("calibrated", "rogan_gladen"):
                mid, low, high = r[key]
                cells.append(f"{mid:.3f} [{low:.3f}, {high:.3f}]" + ("" if low <= r["labelled"] <= high else " (misses)"))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# the per-class intervals `relevance evaluate` checks: (interval, tau^2 estimator) per column
COVERAGE_METHODS = ("normal, tau^2 mean-square", "exact small-n, tau^2 mean-square",
                    "exact small-n, tau^2 cross-product")
RUN_SAMPLE, RUN_DOCS = 200, 5000     # the interval width a counted class of this size would get
BOOTSTRAP = 300                      # class-bootstrap replicates of tau


def class_coverage(y: np.ndarray, p: np.ndarray, classes, fold: np.ndarray) -> dict:
    """Per-class coverage on held-out probabilities: each labelled class's interval for the share of
    its own labelled pairs (all of them judged), with tau^2 estimated from the classes of the other
    folds only, covers its labelled share or not. For each method: the share of classes covered
    (all, and those with at least 3 pairs), the tau^2 from all classes, and the half-width of the
    normal interval of a class judged on RUN_SAMPLE of RUN_DOCS documents with these p."""
    from classfreq.relevance.estimate import (
        Z95,
        calibrated_share,
        class_bias_var,
        class_calibration_var,
        normal_interval,
    )

    estimators = {"mean-square": class_calibration_var, "cross-product": class_bias_var}
    classes = np.asarray(classes)
    tau2 = {k: {f: est(y[fold != f], p[fold != f], classes[fold != f]) for f in set(fold.tolist())}
            for k, est in estimators.items()}
    hits = {m: [] for m in COVERAGE_METHODS}
    sizes = []
    for c in sorted(set(classes.tolist())):
        here = classes == c
        f, pc, share = int(fold[here][0]), p[here], float(y[here].mean())
        n = int(here.sum())
        sizes.append(n)
        for method in COVERAGE_METHODS:
            t2 = tau2[method.rsplit(" ", 1)[1]][f]
            if method.startswith("normal"):
                low, high = normal_interval(pc, t2, n)
            else:                                   # what a run reports: exact below SMALL_N pairs
                est = calibrated_share(pc, t2)
                low, high = est.low, est.high
            hits[method].append(low - 1e-9 <= share <= high + 1e-9)
    sizes = np.array(sizes)
    spread = float(p.var(ddof=1)) * (1 - RUN_SAMPLE / RUN_DOCS) / RUN_SAMPLE + float((p * (1 - p)).mean()) / RUN_DOCS
    out = {"classes": len(sizes), "classes_3plus": int((sizes >= 3).sum()), "methods": {}}
    whole = {k: (est(y, p, classes), bootstrap_tau(est, y, p, classes)) for k, est in estimators.items()}
    for method in COVERAGE_METHODS:
        h = np.array(hits[method])
        t2, tau_95 = whole[method.rsplit(" ", 1)[1]]
        out["methods"][method] = {"coverage": float(h.mean()), "coverage_3plus": float(h[sizes >= 3].mean()),
                                  "tau": t2 ** 0.5, "tau_95": tau_95, "half_width_run": Z95 * (t2 + spread) ** 0.5}
    return out


def bootstrap_tau(estimator, y: np.ndarray, p: np.ndarray, classes, replicates: int = BOOTSTRAP,
                  seed: int = 0) -> tuple[float, float]:
    """2.5% and 97.5% percentiles of tau = sqrt(estimator) over classes resampled with replacement."""
    classes = np.asarray(classes)
    members = [np.flatnonzero(classes == c) for c in np.unique(classes)]
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(replicates):
        picked = rng.integers(len(members), size=len(members))
        rows = np.concatenate([members[k] for k in picked])
        relabel = np.repeat(np.arange(len(picked)), [len(members[k]) for k in picked])
        taus.append(estimator(y[rows], p[rows], relabel) ** 0.5)
    low, high = np.percentile(taus, [2.5, 97.5])
    return float(low), float(high)


def format_coverage_table(coverage: dict[str, dict]) -> str:
    """Markdown: one row per (judge, method): tau, per-class coverage (all classes; >= 3 pairs) and
    the half-width at RUN_SAMPLE of RUN_DOCS documents."""
    head = ["judge", "interval, tau^2 estimator", "tau [95%, class bootstrap]", "classes covered",
            "classes with >= 3 pairs covered", f"± at n={RUN_SAMPLE} of {RUN_DOCS}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for judge, cov in coverage.items():
        for method, r in cov["methods"].items():
            low, high = r["tau_95"]
            lines.append(f"| {judge} | {method} | {r['tau']:.3f} [{low:.3f}, {high:.3f}] | "
                         f"{r['coverage']:.1%} of {cov['classes']} | "
                         f"{r['coverage_3plus']:.1%} of {cov['classes_3plus']} | {r['half_width_run']:.3f} |")
    return "\n".join(lines)
