"""The declared analysis: per (model, dataset, method, prompt, scoring, mix), accuracy on log frequency.

Declared up front, not fished: the PRIMARY analysis is each model against its own declared
training mix (its relevance-judged counts where every counted component has them, else all
matches), statistic Spearman rho over all classes (one pre-declared test per model, reported
unadjusted). SECONDARY, Holm-corrected within one fixed family per set of accuracies (model,
dataset, method, prompt, scoring, label-set version): Kendall tau-b and Pearson r, the docs > 0
subset (when it differs from all classes), the mix's raw counts, and the mix's alternative count
sources (its other components, their relevance-judged variants, other published counts of the same
corpora). Tests against unrelated count sources are EXPLORATORY: shown, p unadjusted, in no family.
Models without a declared mix enter no test.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from classfreq.errors import UserError
from classfreq.queries.runner import run_query
from classfreq.reports.configs import AnalysisOptions
from classfreq.reports.counterror import count_error_tables
from classfreq.reports.fits import GLMMFit, binned_means, glmm_fit, logit_fit, ols_fit, within_cluster
from classfreq.reports.keys import FAMILY_KEYS, GROUP_KEYS, AnalysisKey
from classfreq.reports.stats import STATS, bootstrap_intervals, correlations, holm, log_docs

PRIMARY_STAT = "spearman"
OTHER_COUNTER = "other counter of a counted corpus"
# the count sources that measure the mix's own documents: they bound each class's count
SAME_DOCUMENTS = ("own mix", "own mix, raw counts", OTHER_COUNTER)
SENSITIVITY_OFFSETS = (0.1, 1.0, 10.0)


@dataclass
class Analysis:
    options: AnalysisOptions
    tests: pd.DataFrame            # one row per (group, subset, statistic): estimate, interval, p, p_holm, role
    summary: pd.DataFrame          # one row per group: coverage, n, share zero, fits, primary statistic
    classes: pd.DataFrame          # per class of the primary groups: docs, accuracy, fits, outliers
    curves: pd.DataFrame           # fitted lines with bands for the primary groups
    binned: pd.DataFrame           # the descriptive binned figure
    sensitivity: pd.DataFrame      # Pearson r and slopes for other offsets than +1
    coverage: pd.DataFrame         # mix components
    unmatched_models: list[str] = field(default_factory=list)  # accuracy models without a mix with counts
    multi_version_models: list[str] = field(default_factory=list)  # models analysed on >1 label-set version
    counters: pd.DataFrame = field(default_factory=pd.DataFrame)   # agreement of counters of the same documents
    errors_in_variables: pd.DataFrame = field(default_factory=pd.DataFrame)  # SIMEX / regression calibration
    superclass_levels: pd.DataFrame = field(default_factory=pd.DataFrame)    # per depth: clusters, within slope
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)  # per class, every count source of each declared mix


def superclasses(hypernyms: pd.Series, class_index: pd.Series, level: int = 1) -> np.ndarray:
    """A cluster label per class: its `level`-th hypernym (1 = immediate), else the class itself.

    Accepts a JSON list or a string joined by ' > ', ';', ',' or '|'; the chain is read nearest
    first unless it starts at WordNet's root 'entity' (then it is reversed).
    """
    out = []
    for h, ci in zip(hypernyms, class_index):
        chain = _chain(h)
        out.append(chain[level - 1] if len(chain) >= level else f"class:{ci}")
    return np.asarray(out, dtype=object)


def superclasses_at_depth(hypernyms: pd.Series, class_index: pd.Series, depth: int) -> np.ndarray:
    """A cluster label per class: its ancestor `depth` steps below WordNet's root (1 = the root
    itself), else (a class shallower than that) the class itself."""
    out = []
    for h, ci in zip(hypernyms, class_index):
        chain = _chain(h)[::-1]                       # root first
        out.append(" > ".join(chain[:depth]) if len(chain) >= depth else f"class:{ci}")
    return np.asarray(out, dtype=object)


TARGET_CLUSTERS = (100, 200)


def superclass_levels(hypernyms: pd.Series, class_index: pd.Series) -> pd.DataFrame:
    """Per depth from the root: clusters, single-class clusters, the largest cluster."""
    rows = []
    deepest = max((len(_chain(h)) for h in hypernyms), default=0)
    for depth in range(1, deepest + 1):
        sizes = pd.Series(superclasses_at_depth(hypernyms, class_index, depth)).value_counts()
        rows.append({"depth": depth, "clusters": len(sizes), "single_class_clusters": int((sizes == 1).sum()),
                     "largest_cluster": int(sizes.max())})
    return pd.DataFrame(rows, columns=["depth", "clusters", "single_class_clusters", "largest_cluster"])


def default_depth(levels: pd.DataFrame) -> int | None:
    """The depth whose cluster count is nearest 150, preferring one within 100-200 clusters."""
    if not len(levels):
        return None
    lo, hi = TARGET_CLUSTERS
    inside = levels[levels["clusters"].between(lo, hi)]
    pool = inside if len(inside) else levels
    return int(pool.iloc[int(np.argmin(np.abs(pool["clusters"].to_numpy() - (lo + hi) / 2)))]["depth"])


def cluster_labels(df: pd.DataFrame, opts: AnalysisOptions) -> tuple[np.ndarray, str]:
    """The superclass of each class for the cluster bootstrap and a phrase saying how it was chosen:
    --superclass-level N (N hypernym steps up) when given, else --superclass-depth (0: the default)."""
    if opts.superclass_level:
        return superclasses(df["hypernyms"], df["class_index"], opts.superclass_level), \
            f"hypernym {opts.superclass_level} step(s) up"
    depth = opts.superclass_depth or default_depth(superclass_levels(df["hypernyms"], df["class_index"])) or 1
    return superclasses_at_depth(df["hypernyms"], df["class_index"], depth), f"depth {depth} from the root"


def _chain(h) -> list[str]:
    if h is None or (isinstance(h, float) and np.isnan(h)) or not str(h).strip():
        return []
    if isinstance(h, (list, tuple, np.ndarray)):
        return _ordered([str(p) for p in h])
    return list(_parse_chain(str(h)))


@functools.lru_cache(maxsize=65536)
def _parse_chain(text: str) -> tuple[str, ...]:
    """A hypernym string parsed once (every depth of every group reads the same few thousand)."""
    return tuple(_ordered(_split_chain(text)))


def _split_chain(text: str) -> list[str]:
    s = text.strip()
    if s.startswith("["):
        try:
            return [str(p) for p in json.loads(s)]
        except json.JSONDecodeError:
            pass
    for sep in (" > ", ">", ";", "|", ","):
        if sep in s:
            return [p.strip() for p in s.split(sep)]
    return [s]


def _ordered(parts: list[str]) -> list[str]:
    """Nearest hypernym first (a chain that starts at WordNet's root 'entity' is reversed)."""
    parts = [p for p in parts if p]
    if parts and parts[0].split(".")[0].lower() == "entity" and len(parts) > 1:
        parts = parts[::-1]
    return parts


def _subsets(docs: np.ndarray) -> tuple[str, ...]:
    """'all', and 'docs>0' unless it would repeat 'all' exactly (no zero-count class)."""
    return ("all", "docs>0") if (docs == 0).any() else ("all",)


def _group_stats(df: pd.DataFrame, opts: AnalysisOptions, groups=None) -> list[dict]:
    """Rows for the tests table: each statistic on all classes and on docs > 0 (when that differs)."""
    rows = []
    for subset in _subsets(df["docs"].to_numpy()):
        sel = np.ones(len(df), bool) if subset == "all" else (df["docs"].to_numpy() > 0)
        x = log_docs(df["docs"].to_numpy()[sel])
        y = df["accuracy"].to_numpy()[sel]
        est = correlations(x, y)
        g = None if groups is None else groups[sel]
        ci = bootstrap_intervals(x, y, n_boot=opts.n_boot, seed=opts.seed, groups=g, level=opts.level) \
            if len(x) >= 3 and np.ptp(x) > 0 else {}
        for s in STATS:
            iv = ci.get(s)
            rows.append({"subset": subset, "statistic": s, "n_classes": int(sel.sum()),
                         "estimate": est[s], "ci_lo": iv.lo if iv else np.nan,
                         "ci_hi": iv.hi if iv else np.nan, "boot_valid": iv.n_valid if iv else 0,
                         "p": est[f"{s}_p"]})
    return rows


def _glmm(df: pd.DataFrame) -> GLMMFit | None:
    """The main bounded fit (logit-normal random intercept), or None when it cannot be fitted."""
    try:
        return glmm_fit(log_docs(df["docs"].to_numpy()), df["correct"].to_numpy(), df["n"].to_numpy())
    except (ValueError, np.linalg.LinAlgError):
        return None


def _fit_summary(df: pd.DataFrame, opts: AnalysisOptions, glmm: GLMMFit | None) -> dict:
    x = log_docs(df["docs"].to_numpy())
    out = {}
    try:
        o = ols_fit(x, df["accuracy"].to_numpy())
        ci = o.ci(opts.level)
        out.update(ols_a=o.a, ols_b=o.b, ols_b_lo=ci["b"][0], ols_b_hi=ci["b"][1], ols_r2=o.r2)
    except ValueError:
        pass
    try:
        g = logit_fit(x, df["correct"].to_numpy(), df["n"].to_numpy())
        ci = g.ci(opts.level)
        out.update(logit_a=g.a, logit_b=g.b, logit_b_lo=ci["b"][0], logit_b_hi=ci["b"][1],
                   logit_phi=g.phi, logit_tau2=g.tau2, logit_converged=g.converged)
    except ValueError:
        pass
    if glmm is not None:
        ci = glmm.ci(opts.level)
        out.update(glmm_a=glmm.a, glmm_b=glmm.b, glmm_b_lo=ci["b"][0], glmm_b_hi=ci["b"][1],
                   glmm_sigma=glmm.sigma, glmm_sigma_lo=ci["sigma"][0], glmm_sigma_hi=ci["sigma"][1],
                   glmm_converged=glmm.converged)
    return out


def _class_rows(df: pd.DataFrame, opts: AnalysisOptions, glmm: GLMMFit | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class fitted values and outliers; the fitted curves with bands.

    Outliers are judged against the overdispersed model (binomial noise AND the between-class
    spread sigma), Holm over classes; the pure-binomial z and p are kept as descriptive columns.
    """
    x = log_docs(df["docs"].to_numpy())
    out = df.copy()
    out["log10_docs1"] = x
    curves = []
    try:
        o = ols_fit(x, df["accuracy"].to_numpy())
        g = logit_fit(x, df["correct"].to_numpy(), df["n"].to_numpy())
    except ValueError:
        return out, pd.DataFrame()
    out["ols_fitted"] = o.a + o.b * x
    p_hat = g.predict(x)["mean"]
    out["logit_fitted"] = p_hat
    n, c = df["n"].to_numpy(), df["correct"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z_binomial"] = (c - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat))
    out["p_binomial"] = [stats.binomtest(int(ci), int(ni), float(pi)).pvalue if ni > 0 else np.nan
                         for ci, ni, pi in zip(c, n, p_hat)]
    out["p_binomial_holm"] = holm(out["p_binomial"].to_numpy())
    fits = [("linear (OLS)", o.predict), ("logit (binomial GLM, population average)", g.predict)]
    out["outlier"] = ""
    if glmm is not None:
        eta_i, _ = glmm.class_effects(x, c, n)
        out["glmm_fitted"] = glmm.predict(x)["mean"]
        out["class_estimate"] = special.expit(eta_i)
        out["p_glmm"] = glmm.outlier_pvalues(x, c, n)
        out["p_glmm_holm"] = holm(out["p_glmm"].to_numpy())
        out["outlier"] = _outlier_labels(out, eta_i - glmm.eta(x), opts)
        fits.append(("logit-normal GLMM (median class)", glmm.predict))
    grid = np.linspace(x.min(), x.max(), 60)
    for fit, predict in fits:
        curves.append(pd.DataFrame({"fit": fit, "log10_docs1": grid, **predict(grid, opts.level)}))
    return out, pd.concat(curves, ignore_index=True)


def _outlier_labels(out: pd.DataFrame, effect: np.ndarray, opts: AnalysisOptions) -> np.ndarray:
    """Which way a significant class departs from the GLMM (its class effect's sign) and where it sits."""
    median_docs = np.median(out["docs"])
    sig = out["p_glmm_holm"].to_numpy() < opts.outlier_alpha
    frequent = out["docs"].to_numpy() >= median_docs
    return np.select([sig & (effect < 0) & frequent, sig & (effect > 0) & ~frequent,
                      sig & (effect < 0), sig & (effect > 0)],
                     ["frequent but inaccurate", "rare but accurate", "below fit", "above fit"], default="")


def check_filters(con, opts: AnalysisOptions) -> None:
    """A --labelset, --version or --model that matches no accuracy would give an empty report: say so."""
    def values(col):
        return {r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM accuracy").fetchall()}
    for flag, col, wanted in (("--labelset", "labelset", [opts.labelset] if opts.labelset else []),
                              ("--version", "version", [opts.version] if opts.version else []),
                              ("--model", "model", list(opts.models or []))):
        missing = [w for w in wanted if w not in values(col)]
        if missing:
            known = ", ".join(sorted(map(str, values(col)))) or "none"
            raise UserError(f"{flag} {missing[0]} has no accuracies in the warehouse (known: {known}); "
                            f"import or evaluate it first, or drop the option")


def run_analysis(con, opts: AnalysisOptions | None = None) -> Analysis:
    """Every (analysis key, role) group: tests, summary, sensitivity; per-class detail for the primary ones."""
    opts = opts or AnalysisOptions()
    primary = _load_primary(con, opts)
    unmatched = sorted(primary.loc[primary["docs"].isna(), "model"].unique())
    primary = primary[primary["docs"].notna()]
    data = _analysis_data(con, primary, opts)
    results = [_analyse_group(info, df, opts) for info, df in _groups(data)]
    tests = _declare_tests(pd.DataFrame([row for r in results for row in r.tests]))
    summary = _with_primary_statistic(pd.DataFrame([r.summary for r in results]), tests)
    classes = _concat(r.classes for r in results)
    if len(classes):
        classes = classes.merge(count_ranges(data), on=FAMILY_KEYS + ["class_index"], how="left")
    counters, eiv = count_error_tables(data, SAME_DOCUMENTS, seed=opts.seed)
    return Analysis(opts, tests, summary,
                    classes, _concat(r.curves for r in results),
                    _concat(r.binned for r in results),
                    pd.DataFrame([row for r in results for row in r.sensitivity]),
                    run_query(con, "mix_coverage"), unmatched, _multi_version_models(primary),
                    counters, eiv, _levels_table(data, opts), mix_sources(data))


# -- loading -----------------------------------------------------------------------------------

def _scope(opts: AnalysisOptions) -> dict:
    return {k: v for k, v in (("labelset", opts.labelset), ("version", opts.version)) if v is not None}


def _only_models(df: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    return df[df["model"].isin(opts.models)] if opts.models else df


def _load(con, opts: AnalysisOptions, **params) -> pd.DataFrame:
    df = _only_models(run_query(con, "frequency_accuracy", {**params, **_scope(opts)}), opts)
    return df.rename(columns={"basis": "count_basis"})


def _load_primary(con, opts: AnalysisOptions) -> pd.DataFrame:
    """Each model against its own mix, on relevance-judged counts where the whole mix has them."""
    return _load(con, opts).assign(source_relation="own mix")


def _load_secondary(con, primary: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    """The declared models (those with a mix with counts) against the raw counts of their mix where
    the primary used relevant ones, and against every single count source except the one that already
    is their whole mix. Models without a declared mix never enter: importing one changes no test."""
    if primary.empty:
        return primary
    declared = set(primary["model"])
    mixes = run_query(con, "mix_coverage")
    frames = []
    relevant_models = set(primary.loc[primary["count_basis"] == "relevant", "model"])
    if relevant_models:
        raw = _load(con, opts, basis="raw")
        frames.append(raw[raw["model"].isin(relevant_models)].assign(source_relation="own mix, raw counts"))
    basis = primary.groupby("model")["count_basis"].first()
    keys = run_query(con, "class_frequency", _scope(opts))["count_key"].drop_duplicates()
    for key in sorted(keys):
        df = _load(con, opts, count_key=key)
        df = df[df["model"].isin(declared)]
        per_model = {m: source_relation(mixes[mixes["mix"] == m], key, basis.get(m, "raw"))
                     for m in df["model"].unique()}
        relation = df["model"].map(per_model)
        frames.append(df.assign(source_relation=relation)[relation != "the mix itself"])
    return pd.concat(frames, ignore_index=True) if frames else primary.iloc[:0]


def source_relation(components: pd.DataFrame, count_key: str, basis: str) -> str:
    """How one count source relates to a model's declared mix (its rows of mix_coverage):
    'the mix itself' (the mix is exactly this source, either basis: already analysed), OTHER_COUNTER
    (another published count of a corpus the mix counts), 'alternative' (a component of the mix,
    counted or not, or its relevance-judged variant) — these two belong to the test family — or
    'exploratory' (outside the family)."""
    counted = sorted(set(components.loc[components["counted"], "source"].dropna()))
    own = count_key.removesuffix(":relevant")
    if counted in ([own], [count_key]):  # on the primary's basis it is the primary; on the other, the mix's
        return "the mix itself"          # raw counts (a mix naming a ':relevant' key has only those)
    if own in {s.removesuffix(":relevant") for s in components["source"].dropna()}:
        return "alternative"
    counted_corpora = {_corpus(k) for k in counted} - {None}
    if _corpus(count_key) in counted_corpora:
        return OTHER_COUNTER
    corpora = {_corpus(k) for k in components["source"].dropna()} - {None}
    return "alternative" if _corpus(count_key) in corpora else "exploratory"


def _corpus(count_key: str) -> str | None:
    """The corpus a published count measures: imported:<origin>:<corpus>:<method> -> corpus."""
    parts = str(count_key).split(":")
    return parts[2] if parts[0] == "imported" and len(parts) >= 4 else None


def _analysis_data(con, primary: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    frames = [primary.assign(role="primary")]
    if opts.secondary_sources:
        frames.append(_load_secondary(con, primary, opts).assign(role="secondary"))
    data = pd.concat(frames, ignore_index=True)
    return data[data["docs"].notna() & data["accuracy"].notna()]


def _levels_table(data: pd.DataFrame, opts: AnalysisOptions) -> pd.DataFrame:
    """Per primary group and WordNet depth: clusters, the slope within them, the share of variance between."""
    rows = []
    for info, df in _groups(data[data["role"] == "primary"]):
        if not df["hypernyms"].notna().any():
            continue
        x, y = log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy()
        levels = superclass_levels(df["hypernyms"], df["class_index"])
        chosen = opts.superclass_depth or default_depth(levels)
        for lv in levels.itertuples(index=False):
            g = superclasses_at_depth(df["hypernyms"], df["class_index"], lv.depth)
            rows.append({"model": info["model"], "dataset": info["dataset"], "method": info["method"],
                         "mix": info["mix"], **lv._asdict(), "used": lv.depth == chosen and not opts.superclass_level,
                         **within_cluster(x, y, g, opts.level)})
    return pd.DataFrame(rows)


def count_ranges(data: pd.DataFrame) -> pd.DataFrame:
    """Per set of accuracies and class: the lowest and highest count of the mix's documents over its
    own interval (sampling, relevance), its raw and relevant bases and other counters of its corpora."""
    same = data[data["source_relation"].isin(SAME_DOCUMENTS)]
    low = np.fmin(same["docs"], same["docs_lo"].fillna(same["docs"]))
    high = np.fmax(same["docs"], same["docs_hi"].fillna(same["docs"]))
    ranges = same[FAMILY_KEYS + ["class_index"]].assign(count_low=low, count_high=high, count_sources=1)
    return ranges.groupby(FAMILY_KEYS + ["class_index"], dropna=False).agg(
        count_low=("count_low", "min"), count_high=("count_high", "max"),
        count_sources=("count_sources", "sum")).reset_index()


SOURCE_COLUMNS = GROUP_KEYS + ["count_source", "role", "source_relation", "class_index", "name", "docs", "n", "correct",
                                "accuracy", "count_low", "count_high"]


def mix_sources(data: pd.DataFrame) -> pd.DataFrame:
    """Per set of accuracies and class, every count source of its declared mix: the primary counts,
    the mix's raw counts, its alternative sources and the other counters of its corpora (not the
    exploratory, unrelated ones), each named count_source = '<mix> (<basis>)', with the class's count
    range over the counters of the same documents."""
    df = data[data["source_relation"] != "exploratory"]
    if not len(df):
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    df = df.assign(count_source=df["mix"].astype(str) + " (" + df["count_basis"].astype(str) + ")")
    df = df.merge(count_ranges(data), on=FAMILY_KEYS + ["class_index"], how="left")
    return df.reindex(columns=SOURCE_COLUMNS).reset_index(drop=True)


def _multi_version_models(primary: pd.DataFrame) -> list[str]:
    versions = primary.groupby(["model", "labelset"])["version"].nunique()
    return sorted(versions[versions > 1].index.get_level_values("model").unique())


def _groups(data: pd.DataFrame) -> Iterator[tuple[dict, pd.DataFrame]]:
    """(key columns + role, the group's rows by class) for every analysis group, in key order."""
    for key, df in data.groupby(GROUP_KEYS + ["role"], sort=True, dropna=False):
        info = {**AnalysisKey(*key[:-1])._asdict(), "role": key[-1],
                "source_relation": df["source_relation"].iloc[0]}
        yield info, df.sort_values("class_index").reset_index(drop=True)


# -- one group ---------------------------------------------------------------------------------

@dataclass
class _GroupResult:
    tests: list[dict]
    summary: dict
    sensitivity: list[dict]
    classes: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None
    binned: pd.DataFrame | None = None


def _analyse_group(info: dict, df: pd.DataFrame, opts: AnalysisOptions) -> _GroupResult:
    groups = cluster_labels(df, opts)[0] if opts.bootstrap_unit == "superclass" else None
    glmm = _glmm(df)
    result = _GroupResult(tests=[{**info, **row} for row in _group_stats(df, opts, groups)],
                          summary=_summary_row(info, df, opts, glmm),
                          sensitivity=_sensitivity_rows(info, df))
    if info["role"] == "primary":
        result.classes, result.curves, result.binned = _primary_details(info, df, opts, glmm)
    return result


def _summary_row(info: dict, df: pd.DataFrame, opts: AnalysisOptions, glmm: GLMMFit | None) -> dict:
    coverage = {"components_counted": int(df["components_counted"].max()),
                "components_found": int(df["components_found"].max()),
                "components_uncounted": int(df["components_uncounted"].max())}
    return {**info, **coverage, **_superclass_interval(info, df, opts), "n_classes": len(df),
            "share_zero": float((df["docs"] == 0).mean()),
            "mean_accuracy": float(df["accuracy"].mean()),
            "median_docs": float(df["docs"].median()), **_fit_summary(df, opts, glmm)}


def _superclass_interval(info: dict, df: pd.DataFrame, opts: AnalysisOptions) -> dict:
    """For a primary group resampled by class, the same interval resampling WordNet superclasses:
    classes under one parent are not independent. With it: the slope within superclasses and the
    share of the variance of accuracy between them."""
    if info["role"] != "primary" or not df["hypernyms"].notna().any():
        return {}
    g, how = cluster_labels(df, opts)
    x, y = log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy()
    out = {"superclasses": int(len(set(g))), "superclass_rule": how, **within_cluster(x, y, g, opts.level)}
    if opts.bootstrap_unit == "class":
        iv = bootstrap_intervals(x, y, n_boot=opts.n_boot, seed=opts.seed, groups=g, level=opts.level,
                                 which=("spearman",))["spearman"]
        out.update(spearman_superclass_lo=iv.lo, spearman_superclass_hi=iv.hi)
    return out


def _sensitivity_rows(info: dict, df: pd.DataFrame) -> list[dict]:
    """Pearson r and the slopes with other offsets than the +1 in log10(docs + 1)."""
    y = df["accuracy"].to_numpy()
    rows = []
    for off in SENSITIVITY_OFFSETS:
        xo = log_docs(df["docs"].to_numpy(), off)
        row = {**info, "offset": off, "pearson": correlations(xo, y)["pearson"]}
        try:
            row["ols_b"] = ols_fit(xo, y).b
            row["logit_b"] = logit_fit(xo, df["correct"], df["n"]).b
        except ValueError:
            pass
        rows.append(row)
    return rows


def _primary_details(info: dict, df: pd.DataFrame, opts: AnalysisOptions, glmm: GLMMFit | None):
    """Per-class rows, fitted curves and the descriptive binned means of one primary group."""
    cls, cur = _class_rows(df, opts, glmm)
    curves = cur.assign(**info) if len(cur) else None
    x, y = log_docs(df["docs"].to_numpy()), df["accuracy"].to_numpy()
    binned = None
    if len(x) >= 3 and np.ptp(x) > 0:
        binned = pd.DataFrame(binned_means(x, y, opts.bins)).assign(**info)
        binned["r_binned"] = correlations(binned["x_mid"], binned["mean_accuracy"])["pearson"] \
            if len(binned) >= 3 else np.nan
    return cls.assign(role="primary"), curves, binned


# -- across groups -----------------------------------------------------------------------------

def _declare_tests(tests: pd.DataFrame) -> pd.DataFrame:
    """Mark the one pre-declared primary test per group (p unadjusted). The other tests of one set of
    accuracies (FAMILY_KEYS) against its mix and the mix's alternative sources form a fixed family,
    Holm-corrected within it; tests against unrelated sources are 'exploratory' (p unadjusted, no
    family). family_size is the number of tests Holm adjusted over."""
    if len(tests):
        is_primary = (tests["role"] == "primary") & (tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)
        exploratory = tests["source_relation"] == "exploratory"
        tests["test_role"] = np.select([is_primary, exploratory], ["primary", "exploratory"], "secondary")
        tests["p_holm"] = np.nan
        tests["family_size"] = np.nan
        family = tests["test_role"] == "secondary"
        for _, idx in tests[family].groupby(FAMILY_KEYS, dropna=False).groups.items():
            p = tests.loc[idx, "p"].to_numpy()
            tests.loc[idx, "p_holm"] = holm(p)
            tests.loc[idx, "family_size"] = int(np.isfinite(p).sum())
        tests.loc[is_primary, "p_holm"] = tests.loc[is_primary, "p"]  # pre-declared: not adjusted
        tests.loc[is_primary, "family_size"] = 1
    return tests


def _with_primary_statistic(summary: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """The summary rows with the primary statistic's estimate, interval and p beside them."""
    if not (len(summary) and len(tests)):
        return summary
    prim = tests[(tests["subset"] == "all") & (tests["statistic"] == PRIMARY_STAT)]
    return summary.merge(
        prim[GROUP_KEYS + ["role", "estimate", "ci_lo", "ci_hi", "p", "p_holm"]].rename(
            columns={"estimate": "spearman", "ci_lo": "spearman_lo", "ci_hi": "spearman_hi",
                     "p": "spearman_p", "p_holm": "spearman_p_adj"}),
        on=GROUP_KEYS + ["role"], how="left")


def _concat(frames: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
