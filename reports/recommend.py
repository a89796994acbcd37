"""Data-augmentation recommendations from the bounded (logit) cross-class fit.

These are HYPOTHESES from a cross-class fit, not causal estimates: the fit says how accuracy
varies with frequency ACROSS classes; that adding examples to one class moves it along the same
slope is an assumption to test. Every output table carries that caveat.

For class i with docs_i documents in the mix, the model's own class effect is kept: its current
logit is the empirical logit shrunk toward the fitted line, eta_i = line_i + w_i (emp_i - line_i),
w_i = tau^2 / (tau^2 + v_i), with variance w_i v_i. After k more examples it is predicted at
eta_i + b (log10(docs_i + k + 1) - log10(docs_i + 1)); the 95% interval adds the slope's
variance times the squared shift.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from classfreq.queries.runner import run_query
from classfreq.reports.configs import RecommendOptions
from classfreq.reports.fits import LogitFit, empirical_logit, logit_fit
from classfreq.reports.keys import GROUP_KEYS, AnalysisKey
from classfreq.reports.stats import log_docs

CAVEAT = ("Hypotheses from a cross-class fit: classes that occur more often are more accurate; "
          "that adding examples to one class moves it along the same slope is an assumption to test.")
NOT_REACHABLE = "not reachable by data alone in this fit"
CANDIDATE_COLUMNS = ["url", "caption", "class_index", "class_name", "rank_in_class", "source", "doc_id"]


@dataclass
class ClassState:
    docs: np.ndarray
    eta0: np.ndarray
    var0: np.ndarray
    fit: LogitFit


def class_state(docs, correct, n, fit: LogitFit) -> ClassState:
    docs = np.asarray(docs, float)
    line = fit.eta(log_docs(docs))
    emp, v = empirical_logit(correct, n)
    w = fit.tau2 / (fit.tau2 + v) if fit.tau2 > 0 else np.zeros_like(v)
    return ClassState(docs, line + w * (emp - line), w * v, fit)


def predict_after(state: ClassState, k, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted accuracy of each class after adding k examples (k scalar or per class), with interval."""
    k = np.broadcast_to(np.asarray(k, float), state.docs.shape)
    dx = log_docs(state.docs + k) - log_docs(state.docs)
    eta = state.eta0 + state.fit.b * dx
    se = np.sqrt(state.var0 + dx ** 2 * state.fit.cov[1, 1])
    z = stats.norm.ppf(0.5 + level / 2)
    return special.expit(eta), special.expit(eta - z * se), special.expit(eta + z * se)


def examples_needed(state: ClassState, target: float, max_docs: float) -> tuple[np.ndarray, list[str]]:
    """Examples each class needs to reach `target` accuracy; NaN with a reason when out of reach.

    Out of reach: the fit's slope is not reliably positive (its interval includes 0), or the count
    needed lies beyond `max_docs` (extrapolating past the frequencies the fit has seen).
    """
    fit = state.fit
    need = np.zeros_like(state.docs)
    notes = [""] * len(need)
    lo_b = fit.ci()["b"][0]
    t = special.logit(target)
    for i, (d, e) in enumerate(zip(state.docs, state.eta0)):
        if e >= t:
            need[i], notes[i] = 0, "already at target"
            continue
        if fit.b <= 0 or lo_b <= 0:
            need[i], notes[i] = np.nan, f"{NOT_REACHABLE} (no reliable gain with frequency)"
            continue
        total = (d + 1) * 10 ** ((t - e) / fit.b) - 1
        if not np.isfinite(total) or total > max_docs:
            need[i], notes[i] = np.nan, f"{NOT_REACHABLE} (needs more documents than the fit has seen)"
            continue
        need[i] = math.ceil(total - d)
    return need, notes


def allocate(state: ClassState, budget: int, step: int | None = None) -> np.ndarray:
    """Greedy split of `budget` examples over classes, each step to the largest marginal gain in
    predicted accuracy (so the mean predicted accuracy rises fastest). Greedy is exact for concave
    gains; the logit curve is concave above 50% accuracy and a good heuristic below."""
    n = len(state.docs)
    step = step or max(1, budget // 2000)
    alloc = np.zeros(n)
    if budget <= 0 or n == 0:
        return alloc.astype(int)

    def p(i, k):
        return special.expit(state.eta0[i] + state.fit.b * (math.log10(state.docs[i] + k + 1)
                                                           - math.log10(state.docs[i] + 1)))
    heap = [(-(p(i, step) - p(i, 0)), i) for i in range(n)]
    heapq.heapify(heap)
    left = budget
    while left > 0 and heap:
        gain, i = heapq.heappop(heap)
        if -gain <= 0:
            break
        s = min(step, left)
        alloc[i] += s
        left -= s
        heapq.heappush(heap, (-(p(i, alloc[i] + step) - p(i, alloc[i])), i))
    return alloc.astype(int)


@dataclass
class Recommendations:
    per_class: pd.DataFrame
    allocation: pd.DataFrame
    candidates: pd.DataFrame
    candidate_summary: pd.DataFrame
    caveat: str = CAVEAT


def recommend(con, classes: pd.DataFrame, opts: RecommendOptions | None = None) -> Recommendations:
    """Recommendations for every primary group in `classes` (Analysis.classes)."""
    opts = opts or RecommendOptions()
    prompts = run_query(con, "prompt_names")
    per_class, allocs, cands = [], [], []
    for k, df in classes.groupby(GROUP_KEYS, sort=True):
        key = AnalysisKey(*k)
        out = _class_recommendations(df.sort_values("class_index").reset_index(drop=True), prompts, opts)
        if out is None:
            continue
        per_class.append(out)
        alloc = _allocation_rows(out, opts.budget)
        allocs.append(alloc)
        if len(alloc):
            c = candidates(con, key.mix, alloc, oversample=opts.oversample, top_k=opts.top_k,
                           max_punsafe=opts.max_punsafe, labelset=key.labelset, version=key.version)
            cands.append(c.assign(model=key.model))
    per_class = pd.concat(per_class, ignore_index=True) if per_class else pd.DataFrame()
    allocation = pd.concat(allocs, ignore_index=True) if allocs else pd.DataFrame()
    cand = pd.concat(cands, ignore_index=True) if cands else pd.DataFrame(columns=CANDIDATE_COLUMNS + ["model"])
    return Recommendations(per_class, allocation, cand, _candidate_summary(allocation, cand, opts))


def _class_recommendations(df: pd.DataFrame, prompts: pd.DataFrame, opts: RecommendOptions) -> pd.DataFrame | None:
    """Per class of one analysis group: predictions after k examples, examples needed, the allocated
    share of the budget, prompt advice and flags; None when the logit fit fails."""
    try:
        fit = logit_fit(log_docs(df["docs"]), df["correct"], df["n"])
    except ValueError:
        return None
    st = class_state(df["docs"], df["correct"], df["n"], fit)
    goal = float(np.median(df["accuracy"])) if opts.target is None else opts.target
    out = df[GROUP_KEYS + ["class_index", "class_id", "name", "docs", "n", "correct", "accuracy", "ambiguous"]].copy()
    out["current_estimate"] = special.expit(st.eta0)
    for k in opts.ks:
        p, lo, hi = predict_after(st, k, opts.level)
        out[f"pred_k{k}"], out[f"pred_k{k}_lo"], out[f"pred_k{k}_hi"] = p, lo, hi
    need, notes = examples_needed(st, goal, opts.extrapolation * float(df["docs"].max()))
    out["target"], out["examples_needed"], out["reach_note"] = goal, need, notes
    alloc = allocate(st, opts.budget)
    out["allocated"] = alloc
    p, lo, hi = predict_after(st, alloc, opts.level)
    out["pred_allocated"], out["pred_allocated_lo"], out["pred_allocated_hi"] = p, lo, hi
    out = _with_prompt_advice(out, prompts)
    out["flag"] = np.where(out["ambiguous"], "ambiguous name: counts and accuracy may mix senses", "")
    out["caveat"] = CAVEAT
    return out


def _with_prompt_advice(out: pd.DataFrame, prompts: pd.DataFrame) -> pd.DataFrame:
    out = out.merge(prompts[["labelset", "version", "class_index", "best_lemma_group", "best_docs",
                             "display_name_docs", "differs"]],
                    on=["labelset", "version", "class_index"], how="left")
    out["prompt_advice"] = [_prompt_advice(g, bd, dd, nm) if d is True else "" for g, bd, dd, nm, d in
                            zip(out["best_lemma_group"], out["best_docs"], out["display_name_docs"],
                                out["name"], out["differs"])]
    return out


def _allocation_rows(out: pd.DataFrame, budget: int) -> pd.DataFrame:
    """The classes that got examples, most first, with the group's predicted mean before and after."""
    a = out[out["allocated"] > 0][["model", "mix", "class_index", "name", "docs", "allocated",
                                   "accuracy", "pred_allocated", "pred_allocated_lo",
                                   "pred_allocated_hi", "flag"]].sort_values("allocated", ascending=False)
    return a.assign(budget=budget, mean_before=float(out["current_estimate"].mean()),
                    mean_after=float(out["pred_allocated"].mean()))


def _candidate_summary(allocation: pd.DataFrame, cand: pd.DataFrame, opts: RecommendOptions) -> pd.DataFrame:
    """Per allocated class: how many candidate documents were found against how many are wanted."""
    if not len(allocation):
        return pd.DataFrame()
    got = cand.groupby(["model", "class_index"]).size().rename("candidates").reset_index() if len(cand) \
        else pd.DataFrame(columns=["model", "class_index", "candidates"])
    summary = allocation[["model", "class_index", "name", "allocated"]].merge(
        got, on=["model", "class_index"], how="left")
    summary["candidates"] = pd.to_numeric(summary["candidates"]).fillna(0).astype(int)
    summary["wanted"] = np.minimum(np.ceil(summary["allocated"] * opts.oversample), opts.top_k).astype(int)
    return summary


def candidates(con, mix: str, allocation: pd.DataFrame, oversample: float = 2.0, top_k: int = 1000,
               max_punsafe: float = 0.1, labelset: str | None = None, version: str | None = None) -> pd.DataFrame:
    """Top documents per allocated class from sources outside `mix`: allocated x oversample, at most top_k."""
    want = {int(c): min(int(math.ceil(a * oversample)), top_k)
            for c, a in zip(allocation["class_index"], allocation["allocated"])}
    df = run_query(con, "doc_candidates", {"mix": mix, "classes": ",".join(map(str, sorted(want))),
                                           "max_punsafe": max_punsafe, "labelset": labelset, "version": version})
    if df.empty:
        return df
    df = df[df["rank_in_class"] <= df["class_index"].map(want)]
    return df[CANDIDATE_COLUMNS + ["form", "ambiguous_form"]].reset_index(drop=True)


def _prompt_advice(group: str, group_docs, name_docs, name: str) -> str:
    # no count for the display name's own group: its forms are shared/polysemous, so not counted
    own = f"{int(name_docs)} docs" if pd.notna(name_docs) else "ambiguous, not counted"
    return f"prompt with '{group}' ({int(group_docs)} docs) rather than '{name}' ({own})"
