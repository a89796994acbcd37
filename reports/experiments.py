"""The report section on the study's other experiments (`classfreq eval ... --n-way`, `--prompt`,
`classfreq probe`, `classfreq eval imagewikiqa`), each result joined with class frequency.

Four parts, each shown only when the warehouse has its results: accuracy against the label-space
size N (CLIP and the VLM side by side), the prompt variants, the probe against generation, and
ImageWikiQA. Frequency is the class_sources view (count_key, docs_est, docs_per_million), as in
the rest of the report; each correlation is Spearman's rho of per-class accuracy on docs_est, per
count source (descriptive: these are not the declared primary test).
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from classfreq.reports.html import Figure, Section, Table

GENERATION = ("open-world", "closed-world", "likelihood")
QA_CONDITIONS = {"qa-image": "image shown", "qa-name-given": "class name given"}
INTRO = ("The study's other hypotheses, each joined with class frequency: does the label-space size, the prompt, "
         "what the model encodes (probe) or what it knows about an object (ImageWikiQA) follow how often a class "
         "appears? Correlations: Spearman rho of per-class accuracy on documents (docs_est), per count source; "
         "descriptive, not the declared primary test.")


def _has_table(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])
                .fetchone()[0])


def _df(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).fetchdf()


# -- label-space size ------------------------------------------------------------------------------

NWAY_SQL = """
WITH runs_n AS (
  SELECT model, dataset, method, scoring, labelset, version, n_way, seed,
         sum(correct)::DOUBLE / sum(n) AS accuracy, sum(n) AS images
  FROM nway_accuracy GROUP BY ALL),
by_n AS (
  SELECT model, dataset, method, scoring, labelset, version, n_way, avg(accuracy) AS accuracy,
         min(accuracy) AS accuracy_min, max(accuracy) AS accuracy_max, count(*) AS seeds, max(images) AS images
  FROM runs_n GROUP BY ALL),
every_class AS (  -- the same model offered every class (the ordinary accuracy), as the N = all point
  SELECT a.model, a.dataset, a.method, a.scoring, a.labelset, a.version, l.n_classes AS n_way,
         sum(a.correct)::DOUBLE / sum(a.n) AS accuracy, NULL::DOUBLE AS accuracy_min, NULL::DOUBLE AS accuracy_max,
         0 AS seeds, sum(a.n) AS images
  FROM accuracy a JOIN labelsets l USING (labelset, version)
  WHERE EXISTS (SELECT 1 FROM by_n b WHERE b.model = a.model AND b.dataset = a.dataset AND b.method = a.method
                AND b.scoring = a.scoring AND b.labelset = a.labelset AND b.version = a.version)
  GROUP BY ALL)
SELECT * FROM by_n UNION ALL BY NAME SELECT * FROM every_class
ORDER BY model, method, scoring, n_way
"""


def label_space_table(con) -> pd.DataFrame:
    if not _has_table(con, "nway_accuracy"):
        return pd.DataFrame()
    df = _df(con, NWAY_SQL)
    if len(df):
        df.insert(0, "family", np.where(df["method"] == "zero-shot", "CLIP", "VLM"))
    return df


def label_space_chart(df: pd.DataFrame) -> alt.TopLevelMixin:
    data = df.assign(series=df["model"] + " | " + df["method"] + " | " + df["scoring"])[
        ["family", "series", "n_way", "accuracy", "seeds", "images"]]
    base = alt.Chart(data).encode(
        x=alt.X("n_way:Q", scale=alt.Scale(type="log"), title="classes offered (N, log scale)"),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="top-1 accuracy"),
        color=alt.Color("series:N", title="model | method | scoring"),
        tooltip=["series:N", "n_way:Q", alt.Tooltip("accuracy:Q", format=".3f"), "seeds:Q", "images:Q"])
    return alt.layer(base.mark_line(), base.mark_point(filled=True)).properties(width=330, height=260).facet(
        column=alt.Column("family:N", title=None)).properties(
        title={"text": "Accuracy against the number of classes offered",
               "subtitle": ["Each image: its true class and N-1 others drawn with a seed (mean over seeds); "
                            "the rightmost point is every class."]})


# -- prompts ---------------------------------------------------------------------------------------

def prompts_table(con) -> pd.DataFrame:
    df = _df(con, f"""
        SELECT model, dataset, method, scoring, prompt, count(*) AS classes, sum(n) AS images,
               sum(correct)::DOUBLE / sum(n) AS accuracy
        FROM accuracy WHERE method IN {GENERATION} AND dataset <> 'imagewikiqa'
        GROUP BY ALL ORDER BY model, dataset, method, scoring, accuracy DESC""")
    if not len(df):
        return df
    variants = df.groupby(["model", "dataset", "method", "scoring"])["prompt"].transform("nunique")
    return df[variants > 1].reset_index(drop=True)


# -- frequency joins -------------------------------------------------------------------------------

def with_frequency(con, where: str) -> pd.DataFrame:
    """Per-class accuracy rows (`where` on accuracy a) joined with every count source of their label set."""
    return _df(con, f"""
        SELECT a.model, a.dataset, a.method, a.prompt, a.scoring, a.class_index, c.name, a.n, a.correct,
               a.accuracy, s.count_key, s.docs_est, s.docs_per_million
        FROM accuracy a
        JOIN class_sources s ON s.labelset = a.labelset AND s.version = a.version AND s.class_index = a.class_index
        LEFT JOIN classes c ON c.labelset = a.labelset AND c.version = a.version AND c.class_index = a.class_index
        WHERE {where}""")


def frequency_correlations(df: pd.DataFrame, what: str) -> pd.DataFrame:
    """Spearman rho of accuracy on docs_est per (model, dataset, `what`, count_key)."""
    rows = []
    for key, g in df.groupby(["model", "dataset", what, "count_key"], sort=True):
        rho, p = spearmanr(g["accuracy"], g["docs_est"]) if g["docs_est"].nunique() > 1 and \
            g["accuracy"].nunique() > 1 else (np.nan, np.nan)
        rows.append(dict(zip(["model", "dataset", what, "count_key"], key), classes=len(g),
                         mean_accuracy=g["accuracy"].mean(), spearman_rho=rho, p=p))
    return pd.DataFrame(rows)


def probe_vs_generation(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(correlations of probe and generation accuracy with frequency, per-class side by side)."""
    df = with_frequency(con, f"""a.dataset <> 'imagewikiqa' AND (a.method = 'probe' OR (a.method IN {GENERATION}
        AND EXISTS (SELECT 1 FROM accuracy p WHERE p.method = 'probe' AND p.model = a.model
                    AND p.dataset = a.dataset)))""")
    if not len(df) or not (df["method"] == "probe").any():
        return pd.DataFrame(), pd.DataFrame()
    df["readout"] = np.where(df["method"] == "probe", "probe: " + df["scoring"], df["method"] + ": " + df["scoring"])
    corr = frequency_correlations(df, "readout")
    wide = df.pivot_table(index=["model", "dataset", "count_key", "class_index", "name", "docs_est",
                                 "docs_per_million"], columns="readout", values="accuracy").reset_index()
    return corr, wide


def imagewikiqa_tables(con) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = with_frequency(con, "a.dataset = 'imagewikiqa'")
    if not len(df):
        return pd.DataFrame(), pd.DataFrame()
    df["condition"] = df["method"].map(QA_CONDITIONS).fillna(df["method"])
    per_class = df[["model", "condition", "count_key", "class_index", "name", "n", "correct", "accuracy", "docs_est",
                    "docs_per_million"]].sort_values(["model", "condition", "count_key", "docs_est"])
    return frequency_correlations(df, "condition"), per_class.reset_index(drop=True)


def imagewikiqa_chart(per_class: pd.DataFrame) -> alt.TopLevelMixin:
    key = sorted(per_class["count_key"].unique())[0]
    data = per_class[per_class["count_key"] == key].assign(log10_docs1=lambda d: np.log10(d["docs_est"] + 1))
    return alt.Chart(data[["model", "condition", "name", "n", "accuracy", "docs_est", "log10_docs1"]]).mark_circle(
        size=30, opacity=0.6).encode(
        x=alt.X("log10_docs1:Q", title=f"log10(documents + 1), {key}"),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), title="share of questions right"),
        color=alt.Color("condition:N"), column=alt.Column("model:N", title=None),
        tooltip=["name:N", "condition:N", "n:Q", alt.Tooltip("accuracy:Q", format=".2f"),
                 alt.Tooltip("docs_est:Q", format=",.0f")]).properties(
        width=330, height=260, title="ImageWikiQA: per-class accuracy against class frequency")


# -- the section ------------------------------------------------------------------------------------

def experiments_section(ctx) -> Section | None:
    """None when the warehouse holds none of these results (the report then shows nothing of them)."""
    con = ctx.con
    s = Section("experiments", "The study's other experiments", INTRO, ctx.coverage_text)
    nway = label_space_table(con)
    if len(nway):
        s.items.append(Figure("label_space", label_space_chart(nway),
                              "The study: the gap between CLIP and the VLM narrows as N falls but exists even at "
                              "N = 2."))
        s.items.append(Table("label_space", "Accuracy by label-space size", nway))
    prompts = prompts_table(con)
    if len(prompts):
        s.items.append(Table("prompts", "Prompt variants (same model, dataset and method)", prompts,
                             "Chain of thought is shown as the question with [Let's think step by step.]."))
    corr, wide = probe_vs_generation(con)
    if len(corr):
        s.items.append(Table("probe_frequency", "Does frequency predict what the model encodes (probe) or only what "
                                                "it says (generation)?", corr,
                             "Probe rows: per-class test accuracy of a linear probe on the hidden states "
                             "(last-token or image-mean); generation rows: the same model and dataset."))
        s.items.append(Table("probe_classes", "Probe and generation accuracy per class, with frequency", wide))
    qa_corr, qa_classes = imagewikiqa_tables(con)
    if len(qa_corr):
        s.items.append(Figure("imagewikiqa", imagewikiqa_chart(qa_classes)))
        s.items.append(Table("imagewikiqa_frequency", "ImageWikiQA: does knowledge about an object track its "
                                                      "frequency?", qa_corr,
                             "Per-class share of the multiple-choice questions answered right (527 classes in the "
                             "full set), with the image shown or the class name given instead."))
        s.items.append(Table("imagewikiqa_classes", "ImageWikiQA per class, with frequency", qa_classes))
    return s if s.items else None
