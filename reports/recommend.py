"""Data-augmentation recommendations from the overdispersed bounded fit (logit-normal GLMM).

These are HYPOTHESES from a cross-class fit, not causal estimates: the fit says how accuracy
varies with frequency ACROSS classes; that adding examples to one class moves it along the same
slope is an assumption to test. Every output table carries that caveat.

For class i with docs_i documents in the mix, its own logit eta_i = a + b x_i + u_i is the GLMM
posterior mean given its counts (variance var_i), and b is the CLASS-LEVEL slope. After k more
examples it is predicted at eta_i + b (log10(docs_i + k + 1) - log10(docs_i + 1)), ONLY while
docs_i + k stays within the frequencies the fit has seen (the most frequent class); past that the
prediction is "beyond what the fit has seen". The interval is a parametric bootstrap of the fit
((a, b, log sigma) drawn from their estimated sampling distribution, each class's posterior
recomputed and drawn), so it carries the fit's uncertainty as well as the class's own.

The target is compared on one scale: each class's estimate (the posterior above) against a target
accuracy, by default the median of those same estimates. A class whose count is zero or near zero
and uncertain (its count interval, or another counter of the same corpus, reaches an order of
magnitude higher) is marked; `uncertain_counts` says how the budget treats it, and the report shows
the allocation under every treatment.

Every count source of a declared mix (its primary counts, its raw counts where the primary are
relevance-adjusted, its alternative sources, other published counters of its corpora) gets its own
GLMM and allocation of the same budget (`compare_sources`); the primary's are the recommendations,
the others show how far the recommended classes depend on which counter is believed.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from classfreq.queries.runner import run_query
from classfreq.reports.configs import UNCERTAIN_COUNT_TREATMENTS, RecommendOptions
from classfreq.reports.fits import GLMMFit, LogitFit, class_posterior, glmm_fit
from classfreq.reports.keys import FAMILY_KEYS, GROUP_KEYS, AnalysisKey
from classfreq.reports.stats import log_docs

CAVEAT = ("Hypotheses from a cross-class fit: classes that occur more often are more accurate; "
          "that adding examples to one class moves it along the same slope is an assumption to test.")
NOT_REACHABLE = "not reachable by data alone in this fit"
BEYOND = "beyond what the fit has seen"
UNCERTAIN = "count uncertain (zero or near zero; other counts of it are an order of magnitude higher)"
CANDIDATE_COLUMNS = ["url", "caption", "class_index", "class_name", "rank_in_class", "source", "doc_id"]
N_DRAWS = 200
TOP_N = 20                 # the classes compared between count sources: the N that receive most
TOP_SHOWN = 10             # per source, the classes of the side-by-side table


@dataclass
class ClassState:
    docs: np.ndarray
    eta0: np.ndarray
    var0: np.ndarray
    fit: GLMMFit | LogitFit
    max_docs: float = np.inf                 # the most documents of any class the fit has seen
    eta_draws: np.ndarray | None = None      # (draws, classes): parametric bootstrap of each class's logit
    b_draws: np.ndarray | None = None        # (draws,): the slope in the same draws


def class_state(docs, correct, n, fit: GLMMFit, n_draws: int = N_DRAWS, seed: int = 0) -> ClassState:
    """Each class's own logit under the GLMM and its parametric-bootstrap draws."""
    docs = np.asarray(docs, float)
    x = log_docs(docs)
    eta0, var0 = fit.class_effects(x, correct, n)
    rng = np.random.default_rng(seed)
    theta = rng.multivariate_normal([fit.a, fit.b, np.log(fit.sigma)], fit.cov, size=n_draws)
    draws = np.empty((n_draws, len(docs)))
    for j, (a, b, log_s) in enumerate(theta):
        m, v = class_posterior(a, b, np.exp(log_s), x, correct, n)
        draws[j] = m + np.sqrt(v) * rng.standard_normal(len(docs))
    if not n_draws:     # no draws: predict_after falls back to the normal approximation
        return ClassState(docs, eta0, var0, fit, float(docs.max()))
    return ClassState(docs, eta0, var0, fit, float(docs.max()), draws, theta[:, 1])


def in_range(state: ClassState, k) -> np.ndarray:
    """True where docs + k stays within the frequencies the fit has seen."""
    return state.docs + np.broadcast_to(np.asarray(k, float), state.docs.shape) <= state.max_docs


def predict_after(state: ClassState, k, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted accuracy of each class after adding k examples (k scalar or per class), with interval;
    NaN where docs + k lies beyond what the fit has seen."""
    k = np.broadcast_to(np.asarray(k, float), state.docs.shape)
    dx = log_docs(state.docs + k) - log_docs(state.docs)
    p = special.expit(state.eta0 + state.fit.b * dx)
    if state.eta_draws is not None:
        sims = special.expit(state.eta_draws + state.b_draws[:, None] * dx[None, :])
        lo, hi = np.quantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
    else:
        se = np.sqrt(state.var0 + dx ** 2 * state.fit.cov[1, 1])
        z = stats.norm.ppf(0.5 + level / 2)
        lo, hi = special.expit(state.eta0 - z * se), special.expit(state.eta0 + z * se)
    beyond = ~in_range(state, k)
    return tuple(np.where(beyond, np.nan, v) for v in (p, lo, hi))


def examples_needed(state: ClassState, target: float, max_docs: float) -> tuple[np.ndarray, list[str]]:
    """Examples each class needs for its estimate to reach `target` (same scale: a class's estimated
    accuracy); NaN with a reason when out of reach.

    Out of reach: the fit's slope is not reliably positive (its interval includes 0), or the count
    needed lies beyond `max_docs` (the frequencies the fit has seen).
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
            need[i], notes[i] = np.nan, f"{NOT_REACHABLE}: {BEYOND} (more than {max_docs:,.0f} documents)"
            continue
        need[i] = math.ceil(total - d)
    return need, notes


def allocate(state: ClassState, budget: int, step: int | None = None, eligible=None) -> np.ndarray:
    """Greedy split of `budget` examples over classes, each step to the largest marginal gain in
    predicted accuracy (so the mean predicted accuracy rises fastest). Greedy is exact for concave
    gains; the logit curve is concave above 50% accuracy and a good heuristic below. A class gets
    nothing past the frequencies the fit has seen, and nothing where `eligible` is False."""
    n = len(state.docs)
    step = step or max(1, budget // 2000)
    alloc = np.zeros(n)
    if budget <= 0 or n == 0:
        return alloc.astype(int)
    ok = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool)

    def p(i, k):
        return special.expit(state.eta0[i] + state.fit.b * (math.log10(state.docs[i] + k + 1)
                                                           - math.log10(state.docs[i] + 1)))

    def gain(i, k):
        if state.docs[i] + k + step > state.max_docs:
            return 0.0
        return p(i, k + step) - p(i, k)
    heap = [(-gain(i, 0), i) for i in range(n) if ok[i]]
    heapq.heapify(heap)
    left = budget
    while left > 0 and heap:
        g, i = heapq.heappop(heap)
        if -g <= 0:
            break
        s = min(step, left)
        alloc[i] += s
        left -= s
        heapq.heappush(heap, (-gain(i, alloc[i]), i))
    return alloc.astype(int)


def uncertain_counts(docs, low, high, near_zero: float) -> np.ndarray:
    """A zero count from one counter, or a near-zero count (<= near_zero) whose other measures (count
    interval, other counters of the same corpus) reach at least ten times higher."""
    docs, low, high = (np.asarray(v, float) for v in (docs, low, high))
    low, high = np.fmin(low, docs), np.fmax(high, docs)
    single_zero = (docs == 0) & (high == 0)
    return single_zero | ((low <= near_zero) & (high >= 10 * (low + 1)))


@dataclass
class Recommendations:
    per_class: pd.DataFrame
    allocation: pd.DataFrame
    candidates: pd.DataFrame
    candidate_summary: pd.DataFrame
    treatments: pd.DataFrame = None     # the allocation under each treatment of uncertain counts
    by_source: pd.DataFrame = field(default_factory=pd.DataFrame)    # per count source and class: allocated
    source_comparison: pd.DataFrame = field(default_factory=pd.DataFrame)  # per count source against the primary
    caveat: str = CAVEAT


def recommend(con, classes: pd.DataFrame, opts: RecommendOptions | None = None,
              sources: pd.DataFrame | None = None) -> Recommendations:
    """Recommendations for every primary group in `classes` (Analysis.classes); with `sources`
    (Analysis.sources) also the allocation under every count source of each mix."""
    opts = opts or RecommendOptions()
    prompts = run_query(con, "prompt_names")
    per_class, allocs, cands, treatments = [], [], [], []
    for k, df in classes.groupby(GROUP_KEYS, sort=True):
        key = AnalysisKey(*k)
        out = _class_recommendations(df.sort_values("class_index").reset_index(drop=True), prompts, opts)
        if out is None:
            continue
        out, treated = out
        per_class.append(out)
        treatments.append(treated)
        alloc = _allocation_rows(out, opts.budget)
        allocs.append(alloc)
        if len(alloc):
            c = candidates(con, key.mix, alloc, oversample=opts.oversample, top_k=opts.top_k,
                           max_punsafe=opts.max_punsafe, labelset=key.labelset, version=key.version)
            cands.append(c.assign(model=key.model))
    per_class = pd.concat(per_class, ignore_index=True) if per_class else pd.DataFrame()
    allocation = pd.concat(allocs, ignore_index=True) if allocs else pd.DataFrame()
    cand = pd.concat(cands, ignore_index=True) if cands else pd.DataFrame(columns=CANDIDATE_COLUMNS + ["model"])
    by_source, comparison = compare_sources(sources, opts) if sources is not None and len(sources) \
        else (pd.DataFrame(), pd.DataFrame())
    return Recommendations(per_class, allocation, cand, _candidate_summary(allocation, cand, opts),
                           pd.concat(treatments, ignore_index=True) if treatments else pd.DataFrame(),
                           by_source, comparison)


SOURCE_KEYS = FAMILY_KEYS + ["count_source", "role", "source_relation", "mix", "count_basis"]


def compare_sources(sources: pd.DataFrame, opts: RecommendOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The allocation of the budget under every count source of each mix (its own GLMM, the same
    treatment of uncertain counts), per class; and per source, how it differs from the primary's."""
    frames = [_source_allocation(df.sort_values("class_index").reset_index(drop=True), opts)
              for _, df in sources.groupby(GROUP_KEYS + ["role"], sort=True)]
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame(), pd.DataFrame()
    by_source = pd.concat(frames, ignore_index=True)
    rows = []
    for _, fam in by_source.groupby(FAMILY_KEYS, sort=True):
        rows += _against_primary(fam, opts.budget)
    return by_source, pd.DataFrame(rows)


def _source_allocation(df: pd.DataFrame, opts: RecommendOptions) -> pd.DataFrame | None:
    """One count source's allocation: its GLMM, its uncertain counts, the budget split; None when the
    GLMM cannot be fitted."""
    try:
        fit = glmm_fit(log_docs(df["docs"]), df["correct"], df["n"])
    except (ValueError, np.linalg.LinAlgError):
        return None
    unc = uncertain_counts(df["docs"], df["count_low"].fillna(df["docs"]), df["count_high"].fillna(df["docs"]),
                           opts.near_zero)
    alloc = _allocate_treated(df, fit, unc, opts.uncertain_counts, opts)
    st = class_state(df["docs"], df["correct"], df["n"], fit, n_draws=0)
    return df[SOURCE_KEYS + ["class_index", "name", "docs"]].assign(
        count_uncertain=unc, allocated=alloc, budget_share=alloc / max(opts.budget, 1), glmm_b=fit.b,
        mean_before=float(special.expit(st.eta0).mean()), mean_after=float(np.nanmean(predict_after(st, alloc)[0])))


def source_order(fam: pd.DataFrame) -> list[str]:
    """The count sources of one set of accuracies: the primary first ('primary' < 'secondary'), then by name."""
    return list(fam[["role", "count_source"]].drop_duplicates().sort_values(["role", "count_source"])["count_source"])


def _top_classes(g: pd.DataFrame, n: int) -> pd.DataFrame:
    """The n classes that receive most of the budget (ties by class index)."""
    return g[g["allocated"] > 0].sort_values(["allocated", "class_index"], ascending=[False, True]).head(n)


def _against_primary(fam: pd.DataFrame, budget: int) -> list[dict]:
    """Per count source of one set of accuracies: its slope, its funded classes, how many of its top
    TOP_N are the primary's, and the share of the budget it puts where the primary does."""
    prim = fam[fam["role"] == "primary"]
    if not len(prim):
        return []
    p_alloc = prim.set_index("class_index")["allocated"]
    p_top = set(_top_classes(prim, TOP_N)["class_index"])
    rows = []
    for src in source_order(fam):
        g = fam[fam["count_source"] == src]
        alloc = g.set_index("class_index")["allocated"]
        top = _top_classes(g, TOP_N)
        first = g.iloc[0]
        rows.append({**{k: first[k] for k in SOURCE_KEYS}, "glmm_b": first["glmm_b"],
                     "classes_funded": int((alloc > 0).sum()),
                     "share_allocated": float(alloc.sum() / max(budget, 1)),   # < 1: the fit's range is full
                     f"top{TOP_N}_shared_with_primary": len(p_top & set(top["class_index"])),
                     "budget_shared_with_primary": float(np.minimum(alloc, p_alloc.reindex(alloc.index, fill_value=0))
                                                         .sum() / max(budget, 1)),
                     "share_to_zero_count": float(alloc[g.set_index("class_index")["docs"] == 0].sum() / max(budget, 1)),
                     "share_to_uncertain": float(g.loc[g["count_uncertain"], "allocated"].sum() / max(budget, 1)),
                     "mean_before": first["mean_before"], "mean_after": first["mean_after"],
                     "top_classes": ", ".join(top["name"].astype(str).head(5))})
    return rows


def top_classes_by_source(by_source: pd.DataFrame, n: int = TOP_SHOWN) -> pd.DataFrame:
    """Per set of accuracies: the union of each count source's top-n classes, with the share of the
    budget every source gives each of them (one column per source, the primary first, named 'primary')."""
    if not len(by_source):
        return pd.DataFrame()
    out = []
    for _, fam in by_source.groupby(FAMILY_KEYS, sort=True):
        chosen = set().union(*(_top_classes(g, n)["class_index"] for _, g in fam.groupby("count_source")))
        order = source_order(fam)
        primary = fam.loc[fam["role"] == "primary", "count_source"].drop_duplicates()
        wide = fam[fam["class_index"].isin(chosen)].pivot_table(
            index=["model", "class_index", "name"], columns="count_source", values="budget_share", aggfunc="first")
        # the primary's column is named alike for every model, so their rows share the columns; a
        # model whose primary fit failed has none (a secondary is not renamed in its place)
        wide = wide.reindex(columns=order).rename(columns={p: "primary" for p in primary}).reset_index()
        if "primary" not in wide:
            wide.insert(3, "primary", np.nan)
        wide.columns.name = None
        out.append(wide.sort_values(["primary", "class_index"], ascending=[False, True]))
    return pd.concat(out, ignore_index=True)


def _class_recommendations(df: pd.DataFrame, prompts: pd.DataFrame, opts: RecommendOptions):
    """Per class of one analysis group: predictions after k examples, examples needed, the allocated
    share of the budget, prompt advice and flags, and the allocation under each treatment of uncertain
    counts; None when the GLMM cannot be fitted."""
    try:
        fit = glmm_fit(log_docs(df["docs"]), df["correct"], df["n"])
    except (ValueError, np.linalg.LinAlgError):
        return None
    st = class_state(df["docs"], df["correct"], df["n"], fit)
    out = df[GROUP_KEYS + ["class_index", "class_id", "name", "docs", "n", "correct", "accuracy", "ambiguous"]].copy()
    out["current_estimate"] = special.expit(st.eta0)
    goal = float(np.median(out["current_estimate"])) if opts.target is None else opts.target
    out["count_low"] = df.get("count_low", df["docs"]).fillna(df["docs"])
    out["count_high"] = df.get("count_high", df["docs"]).fillna(df["docs"])
    out["count_uncertain"] = uncertain_counts(out["docs"], out["count_low"], out["count_high"], opts.near_zero)
    for k in opts.ks:
        p, lo, hi = predict_after(st, k, opts.level)
        out[f"pred_k{k}"], out[f"pred_k{k}_lo"], out[f"pred_k{k}_hi"] = p, lo, hi
    k_max = max(opts.ks, default=0)
    out["range_note"] = np.where(in_range(st, k_max), "", f"{BEYOND} after {k_max:,} more (the most frequent "
                                                        f"class has {st.max_docs:,.0f} documents)")
    need, notes = examples_needed(st, goal, opts.extrapolation * st.max_docs)
    out["target"], out["target_scale"] = goal, "class estimate (GLMM posterior) vs target; default target: median estimate"
    out["examples_needed"], out["reach_note"] = need, notes
    treated = {t: _allocate_treated(df, fit, out["count_uncertain"].to_numpy(), t, opts) for t in UNCERTAIN_COUNT_TREATMENTS}
    alloc = treated[opts.uncertain_counts]
    out["allocated"] = alloc
    p, lo, hi = predict_after(st, alloc, opts.level)
    out["pred_allocated"], out["pred_allocated_lo"], out["pred_allocated_hi"] = p, lo, hi
    out = _with_prompt_advice(out, prompts)
    out["flag"] = ["; ".join(f for f, on in (("ambiguous name: counts and accuracy may mix senses", amb),
                                             (UNCERTAIN, unc)) if on)
                   for amb, unc in zip(out["ambiguous"], out["count_uncertain"])]
    out["caveat"] = CAVEAT
    return out, _treatment_rows(out, treated, opts)


def _allocate_treated(df: pd.DataFrame, fit: GLMMFit, uncertain: np.ndarray, treatment: str,
                      opts: RecommendOptions) -> np.ndarray:
    """The budget split with uncertain counts taken as counted, at the top of their range (left out when
    that is a lone zero), or left out."""
    docs = df["docs"].to_numpy(float)
    eligible = None
    if treatment == "upper":
        high = df.get("count_high", df["docs"]).fillna(df["docs"]).to_numpy(float)
        docs = np.where(uncertain, high, docs)
        eligible = ~(uncertain & (high == 0))     # a lone zero: nothing says what its count is
    elif treatment == "exclude":
        eligible = ~uncertain
    st = class_state(docs, df["correct"], df["n"], fit, n_draws=0)  # the allocation needs no interval draws
    st.max_docs = float(df["docs"].max())
    return allocate(st, opts.budget, eligible=eligible)


def _treatment_rows(out: pd.DataFrame, treated: dict, opts: RecommendOptions) -> pd.DataFrame:
    """Per treatment of uncertain counts: the share of the budget they take and the classes funded."""
    unc = out["count_uncertain"].to_numpy()
    rows = []
    for t, alloc in treated.items():
        rows.append({"model": out["model"].iloc[0], "mix": out["mix"].iloc[0], "treatment": t,
                     "used": t == opts.uncertain_counts, "uncertain_classes": int(unc.sum()),
                     "budget": opts.budget, "to_uncertain": int(alloc[unc].sum()),
                     "share_to_uncertain": float(alloc[unc].sum() / max(alloc.sum(), 1)),
                     "classes_funded": int((alloc > 0).sum())})
    return pd.DataFrame(rows)


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
    a = out[out["allocated"] > 0][["model", "mix", "class_index", "name", "docs", "count_uncertain", "allocated",
                                   "accuracy", "pred_allocated", "pred_allocated_lo",
                                   "pred_allocated_hi", "flag"]].sort_values("allocated", ascending=False)
    return a.assign(budget=budget, mean_before=float(out["current_estimate"].mean()),
                    mean_after=float(np.nanmean(out["pred_allocated"])))


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
