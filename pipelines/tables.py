"""The output tables of a run (counts, class_counts, source_stats, quarantine, doc_matches), from
the partial rows the Spark tasks emitted (`count_batches`), summed over ``count_batches.PARTIAL_KEY``.

Every row starts with the run's columns (``run_id``, the ``outputs.CountKey`` fields, the
label-set ``version``); ../shared/DESIGN.md describes the tables.
"""
from __future__ import annotations

import pandas as pd

from classfreq.pipelines.count_batches import CLASS, FORM, QUARANTINE, STAT
from classfreq.pipelines.match_spec import MatchSpec
from classfreq.pipelines.sampling import estimates
from classfreq.relevance.estimate import RELEVANCE_COLUMNS

DOC_STATS = ("docs_read", "docs_matched", "docs_unmatched", "docs_quarantined")
MATCH_RELEVANCE_COLUMNS = ("p_relevant", "relevant")  # doc_matches columns of a judged match


def build_tables(sums: pd.DataFrame, matches: pd.DataFrame | None, spec: MatchSpec, class_indexes,
                 common: dict, failed: list[tuple[str, str]], duplicates: int, fraction: float,
                 per_role: bool = False) -> dict[str, pd.DataFrame]:
    """``sums``: the summed partial rows; ``matches``: the capped doc matches (None: not kept);
    ``class_indexes``: every class of the label set (each gets a class_counts row)."""
    n = doc_stats(sums)
    tables = {"counts": counts_table(sums, spec, common),
              "class_counts": class_counts_table(sums, spec, class_indexes, n, common, fraction, per_role),
              "source_stats": source_stats_table(n, common, failed, duplicates, fraction),
              "quarantine": quarantine_table(sums, failed, common)}
    if matches is not None:
        tables["doc_matches"] = doc_matches_table(matches, spec, common)
    return tables


def doc_stats(sums: pd.DataFrame) -> dict[str, int]:
    """docs_read, docs_matched, docs_unmatched, docs_quarantined."""
    stat = sums[sums.kind == STAT].set_index("name")["docs"]
    return {k: int(stat.get(k, 0)) for k in DOC_STATS}


def counts_table(sums: pd.DataFrame, spec: MatchSpec, common: dict) -> pd.DataFrame:
    """Documents and mentions per (role, class, form)."""
    f = sums[sums.kind == FORM]
    return pd.DataFrame({
        **common, "role": f.role.values,
        "class_index": [spec.form_class[int(i)] for i in f.idx], "form": [spec.forms[int(i)] for i in f.idx],
        "ambiguous": [bool(spec.form_ambiguous[int(i)]) for i in f.idx],
        "docs": f.docs.astype("int64").values, "mentions": f.mentions.astype("int64").values,
    }).sort_values(["role", "class_index", "form"], ignore_index=True)


def class_counts_table(sums: pd.DataFrame, spec: MatchSpec, class_indexes, n: dict, common: dict,
                       fraction: float, per_role: bool) -> pd.DataFrame:
    """One row per role and class, zeros included: role 'all', plus each selected turn role for LLaVA."""
    c = sums[sums.kind == CLASS].astype({"idx": "int64"}).set_index(["role", "idx"])
    roles = ["all"] + ([r for r in spec.roles if r != "all"] if per_role else [])
    grid = pd.MultiIndex.from_product([roles, sorted(int(i) for i in class_indexes)], names=["role", "idx"])
    c = c.reindex(grid)
    docs = c.docs.fillna(0).astype("int64").values
    est, lo, hi = estimates(docs, n["docs_matched"] + n["docs_unmatched"], fraction)
    return pd.DataFrame({
        **common, "role": grid.get_level_values(0), "class_index": grid.get_level_values(1).astype("int32"),
        "docs": docs, "docs_clean": c.docs_clean.fillna(0).astype("int64").values,
        "mentions": c.mentions.fillna(0).astype("int64").values, "sample_fraction": float(fraction),
        "docs_est": est, "docs_est_lo": lo, "docs_est_hi": hi,
    })


def source_stats_table(n: dict, common: dict, failed: list, duplicates: int, fraction: float) -> pd.DataFrame:
    return pd.DataFrame([{**common, **n, "duplicates_dropped": int(duplicates),
                          "files_failed": len(failed), "sample_fraction": float(fraction)}])


def quarantine_table(sums: pd.DataFrame, failed: list[tuple[str, str]], common: dict) -> pd.DataFrame:
    """Quarantined records per reason and file (one example each), and one row (n = 0) per file
    that could not be read."""
    q = sums[sums.kind == QUARANTINE]
    quarantine = pd.DataFrame({**common, "reason": q.name.values, "n": q.docs.astype("int64").values,
                               "example": q.example.values, "file": q.file.values})
    if failed:
        quarantine = pd.concat([quarantine, pd.DataFrame(
            [{**common, "reason": why.split(":", 1)[0], "n": 0, "example": why, "file": path} for path, why in failed])],
            ignore_index=True)
    return quarantine.sort_values(["reason", "file"], ignore_index=True)


def doc_matches_table(matches: pd.DataFrame, spec: MatchSpec, common: dict) -> pd.DataFrame:
    """``matches``: idx (class), doc_id, name (form index), url, text, nsfw, punsafe."""
    return pd.DataFrame({
        **common, "doc_id": matches.doc_id.values, "class_index": matches.idx.astype("int32").values,
        "form": [spec.forms[int(i)] for i in matches.name], "url": matches.url.values,
        "text": matches.text.values, "nsfw": matches.nsfw.values, "punsafe": matches.punsafe.values,
    }).sort_values(["class_index", "doc_id", "form"], ignore_index=True)


def with_relevance(class_counts: pd.DataFrame, doc_matches: pd.DataFrame, per_class: pd.DataFrame,
                   per_match: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """class_counts and doc_matches with the relevance columns (replacing any there): ``per_class``
    (class_index + RELEVANCE_COLUMNS) fills role 'all' rows of judged classes; ``per_match``
    (class_index, doc_id, form, p_relevant, relevant) the judged matches. The rest stay NULL."""
    counts = class_counts.drop(columns=[c for c in RELEVANCE_COLUMNS if c in class_counts.columns])
    judged = per_class.assign(role="all").astype({"class_index": counts.class_index.dtype})
    counts = counts.merge(judged, on=["role", "class_index"], how="left", validate="many_to_one")
    counts["relevance_judged"] = counts.relevance_judged.astype("Int64")
    matches = doc_matches.drop(columns=[c for c in MATCH_RELEVANCE_COLUMNS if c in doc_matches.columns])
    verdicts = per_match[["class_index", "doc_id", "form", *MATCH_RELEVANCE_COLUMNS]].astype(
        {"class_index": matches.class_index.dtype})
    matches = matches.merge(verdicts, on=["class_index", "doc_id", "form"], how="left", validate="one_to_one")
    matches["relevant"] = matches.relevant.astype("boolean")
    return counts, matches
