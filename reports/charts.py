"""The report's altair charts (each returns an alt.Chart / LayerChart; data travels inside the spec)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

OUTLIER_COLORS = {"": "#9aa5b1", "frequent but inaccurate": "#d62728", "rare but accurate": "#2ca02c",
                  "below fit": "#ff7f0e", "above fit": "#17becf"}


def _group_label(df: pd.DataFrame) -> pd.Series:
    return df["model"].astype(str) + " | " + df["dataset"].astype(str) + " | " + df["method"].astype(str) + \
        " | mix " + df["mix"].astype(str)


def wrap_lines(texts: list[str], width: int = 120) -> list[str]:
    """Chart subtitles do not wrap by themselves."""
    import textwrap
    return [line for t in texts for line in textwrap.wrap(t, width)]


def scatter(classes: pd.DataFrame, curves: pd.DataFrame, coverage_notes: list[str]) -> alt.TopLevelMixin:
    """Accuracy vs log10(docs + 1) per class with both fits and their bands; pick the group in a menu."""
    pts = classes.assign(group=_group_label(classes))[
        ["group", "class_index", "name", "docs", "log10_docs1", "accuracy", "n", "correct", "outlier",
         "logit_fitted", "ambiguous"]].copy()
    pts["outlier"] = pts["outlier"].replace("", "within the GLMM's noise")
    cur = curves.assign(group=_group_label(curves))[
        ["group", "fit", "log10_docs1", "mean", "mean_lo", "mean_hi", "pred_lo", "pred_hi"]]
    groups = sorted(pts["group"].unique())
    pick = alt.param(name="group_pick", value=groups[0],
                     bind=alt.binding_select(options=groups, name="model / mix: "))
    zoom = alt.selection_interval(bind="scales", name="zoom")
    colors = dict(OUTLIER_COLORS)
    colors["within the GLMM's noise"] = colors.pop("")
    x = alt.X("log10_docs1:Q", title="log10(documents in the mix + 1)")
    points = alt.Chart(pts).mark_circle(size=28, opacity=0.7).encode(
        x=x, y=alt.Y("accuracy:Q", title="per-class accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("outlier:N", title="vs the GLMM (binomial + between-class)",
                        scale=alt.Scale(domain=list(colors), range=list(colors.values()))),
        tooltip=[alt.Tooltip("name:N", title="class"), "class_index:Q", alt.Tooltip("docs:Q", format=",.0f"),
                 alt.Tooltip("accuracy:Q", format=".2f"), "correct:Q", "n:Q",
                 alt.Tooltip("logit_fitted:Q", title="logit fit", format=".2f"), "outlier:N", "ambiguous:N"],
    ).transform_filter(alt.datum.group == pick).add_params(pick, zoom)
    base = alt.Chart(cur).transform_filter(alt.datum.group == pick)
    band = base.mark_area(opacity=0.15, clip=True).encode(x=x, y="mean_lo:Q", y2="mean_hi:Q",
                                               color=alt.Color("fit:N", legend=None))
    pband = base.mark_area(opacity=0.06, clip=True).encode(x=x, y="pred_lo:Q", y2="pred_hi:Q",
                                                color=alt.Color("fit:N", legend=None))
    line = base.mark_line(size=2.5, clip=True).encode(x=x, y="mean:Q", color="fit:N",
                                           strokeDash=alt.StrokeDash("fit:N", legend=None),
                                           tooltip=["fit:N", alt.Tooltip("mean:Q", format=".3f")])
    return alt.layer(pband, band, points, line).resolve_scale(color="independent").properties(
        width=680, height=420,
        title={"text": "Per-class accuracy vs frequency in the model's own mix",
               "subtitle": ["Bands: 95% interval of each fit (dark) and for one new class (light).",
                            *wrap_lines(coverage_notes)]})


def binned(binned_df: pd.DataFrame, r_class: dict) -> alt.TopLevelMixin:
    """The literature's binned figure, labelled descriptive: binning inflates r."""
    df = binned_df.assign(group=_group_label(binned_df))
    df["r_class"] = df["group"].map(r_class)
    groups = sorted(df["group"].unique())
    pick = alt.param(name="bin_pick", value=groups[0],
                     bind=alt.binding_select(options=groups, name="model / mix: "))
    base = alt.Chart(df).transform_filter(alt.datum.group == pick)
    bars = base.mark_bar(opacity=0.75).encode(
        x=alt.X("x_lo:Q", title="log10(documents + 1), equal-width bins"), x2="x_hi:Q",
        y=alt.Y("mean_accuracy:Q", title="mean accuracy in bin", scale=alt.Scale(domain=[0, 1])),
        y2=alt.datum(0),
        tooltip=[alt.Tooltip("x_lo:Q", format=".2f"), alt.Tooltip("x_hi:Q", format=".2f"), "classes:Q",
                 alt.Tooltip("mean_accuracy:Q", format=".3f"),
                 alt.Tooltip("r_binned:Q", title="r of bin means", format=".2f"),
                 alt.Tooltip("r_class:Q", title="r over classes", format=".2f")]).add_params(pick)
    text = base.mark_text(dy=-6, fontSize=10).encode(x="x_mid:Q", y="mean_accuracy:Q", text="classes:Q")
    return alt.layer(bars, text).properties(
        width=680, height=260,
        title={"text": "DESCRIPTIVE ONLY: mean accuracy in frequency bins (the literature's figure)",
               "subtitle": ["Binning averages away class-to-class spread, so r of bin means is far larger "
                            "than r over classes (hover a bar for both). Numbers above bars: classes per bin."]})


def long_tail(freq: pd.DataFrame) -> alt.TopLevelMixin:
    """Rank-frequency curve of each count source (log scale) and the share of classes never seen."""
    df = freq[["count_key", "class_index", "name", "docs_est", "rank_in_source"]].copy()
    df["docs_plus_1"] = df["docs_est"].fillna(0) + 1
    df["rank"] = df.groupby("count_key")["docs_est"].rank(method="first", ascending=False)
    sel = alt.selection_point(fields=["count_key"], bind="legend", name="source_pick")
    return alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=10)).encode(
        x=alt.X("rank:Q", title="class rank in source (1 = most frequent)"),
        y=alt.Y("docs_plus_1:Q", scale=alt.Scale(type="log"), title="documents + 1 (log scale)"),
        color=alt.Color("count_key:N", title="count source"),
        opacity=alt.condition(sel, alt.value(1), alt.value(0.15)),
        tooltip=[alt.Tooltip("name:N", title="class"), "class_index:Q", alt.Tooltip("docs_est:Q", format=",.0f"),
                 "count_key:N", "rank:Q"],
    ).add_params(sel).properties(
        width=680, height=320,
        title={"text": "The long tail: documents per class in each count source",
               "subtitle": "Click a legend entry to highlight one source; classes at 1 on the y axis were never seen."})


def allocation(alloc: pd.DataFrame, top: int = 40) -> alt.TopLevelMixin:
    df = alloc.sort_values("allocated", ascending=False).groupby("model").head(top).copy()
    df["flag"] = df["flag"].replace("", "not flagged")
    models = sorted(df["model"].unique())
    pick = alt.param(name="alloc_pick", value=models[0], bind=alt.binding_select(options=models, name="model: "))
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("name:N", sort="-x", title=None),
        x=alt.X("allocated:Q", title="examples to add (greedy budget allocation)"),
        color=alt.Color("flag:N", title="flag", scale=alt.Scale(range=["#4c78a8", "#e45756"])),
        tooltip=["name:N", "class_index:Q", alt.Tooltip("docs:Q", format=",.0f"), "allocated:Q",
                 alt.Tooltip("accuracy:Q", format=".2f"), alt.Tooltip("pred_allocated:Q", format=".2f"),
                 alt.Tooltip("pred_allocated_lo:Q", format=".2f"), alt.Tooltip("pred_allocated_hi:Q", format=".2f")],
    ).transform_filter(alt.datum.model == pick).add_params(pick).properties(
        width=560, height=alt.Step(13),
        title={"text": f"Budget allocation: the {top} classes receiving most examples",
               "subtitle": "Hypotheses from a cross-class fit, not causal estimates."})


def headline(summary: pd.DataFrame) -> alt.TopLevelMixin:
    """Spearman rho with its bootstrap interval per model and count basis."""
    df = summary.copy()
    df["basis"] = np.where(df["role"] == "primary", "own mix: " + df["mix"].astype(str), df["mix"].astype(str))
    df["label"] = df["model"].astype(str) + " | " + df["dataset"].astype(str) + " | " + df["method"].astype(str)
    base = alt.Chart(df).encode(y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=400)),
                                yOffset=alt.YOffset("basis:N"),
                                color=alt.Color("basis:N", title="count basis", legend=alt.Legend(labelLimit=420)))
    rule = base.mark_rule(size=2).encode(x=alt.X("spearman_lo:Q", title="Spearman rho (95% bootstrap interval)"),
                                         x2="spearman_hi:Q")
    pt = base.mark_point(filled=True, size=60).encode(
        x="spearman:Q", shape=alt.Shape("role:N", title="analysis"),
        tooltip=["model:N", "basis:N", "role:N", alt.Tooltip("spearman:Q", format=".3f"),
                 alt.Tooltip("spearman_lo:Q", format=".3f"), alt.Tooltip("spearman_hi:Q", format=".3f"),
                 alt.Tooltip("spearman_p_adj:Q", title="p (primary: raw; secondary: Holm)", format=".2g"),
                 "n_classes:Q", alt.Tooltip("share_zero:Q", format=".1%")])
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x="x:Q")
    return alt.layer(rule, pt, zero).properties(
        width=560, title={"text": "Headline: rank correlation of accuracy with frequency",
                          "subtitle": "Filled circles: primary (each model vs its own declared mix)."})
