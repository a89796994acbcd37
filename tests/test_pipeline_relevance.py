"""The relevance stage of the counter (`count --relevance`), `judge-run` on an existing run, and the
queries that use the verdicts, on a real CC3M slice with four clear captions added, with the real
judge in Spark local mode."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pipeline_support import comparable, count, labelset, spark_session

from classfreq.errors import UserError
from classfreq.pipelines.match_text import MATCH_TEXT_CHARS, form_span, match_text
from classfreq.pipelines.relevance_run import JudgeRunConfig, judge_run
from classfreq.queries.runner import run_query
from classfreq.queries.warehouse import connect, replace_rows
from classfreq.relevance.estimate import RELEVANCE_COLUMNS, sample_doc_ids, sample_key

CC3M = ("captions", "cc3m_val", "Validation_GCC-1.1.0-Validation.tsv")
CLEAR = [("2015 Jaguar XJ for sale in Dallas", "jaguar", False),
         ("a jaguar resting on a branch", "jaguar", True),
         ("man wearing an orange shirt", "orange", False),
         ("a bowl of oranges on the kitchen table", "orange", True)]
SAMPLE, SEED = 3, 11
LONG_END = "and at last a jaguar resting on a branch above the river"  # the class word ~1,200 characters in


def _long_caption(lines: list[str]) -> str:
    """Real CC3M captions run together into one caption of over 1,000 characters, ending with LONG_END."""
    head = " ".join(line.split("\t")[0] for line in lines[:60])
    head = head[:1200].rsplit(" ", 1)[0]
    assert "jaguar" not in head.lower()
    return f"{head} {LONG_END}"


def _class(name: str) -> int:
    classes = labelset().classes
    return int(classes.class_index[classes.name == name].iloc[0])


def _first_in_sample_order(prefix: str) -> str:
    """A URL (the document's id) that comes first in the seeded order, so the clear captions are judged."""
    return min((f"{prefix}{n}" for n in range(20000)), key=lambda url: sample_key(url, SEED))


@pytest.fixture(scope="module")
def runs(shared, tmp_path_factory):
    """One judged run, the same input counted without --relevance keeping every match, and one
    keeping the judged run's sample size on other partitions (its own warehouse, for judge-run)."""
    tmp = tmp_path_factory.mktemp("relevance")
    lines = shared.joinpath(*CC3M).read_text(encoding="utf-8").splitlines()[:800]
    lines += [f"{text}\t{_first_in_sample_order(f'http://clear.example/{i}/')}" for i, (text, _, _) in enumerate(CLEAR)]
    lines.append(f"{_long_caption(lines)}\t{_first_in_sample_order('http://long.example/')}")
    path = tmp / "cc3m.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = {"format": "cc3m", "out": tmp / "out"}
    judged = count(tmp, path, "cc3m", warehouse=tmp / "judged.duckdb", relevance=True, relevance_sample=SAMPLE,
                   relevance_seed=SEED, partitions=1, **common)
    every = count(tmp, path, "cc3m", warehouse=tmp / "plain.duckdb", max_matches_per_class=10 ** 6, **common)
    kept = count(tmp, path, "cc3m", warehouse=tmp / "kept.duckdb", max_matches_per_class=SAMPLE,
                 relevance_seed=SEED, partitions=3, **common)
    return {"judged": judged, "every": every, "kept": kept, "tmp": tmp}


def test_clear_cases_are_judged_right_in_the_count(runs):
    m = runs["judged"].tables["doc_matches"]
    for text, name, relevant in CLEAR:
        row = m[(m.text == text) & (m.class_index == _class(name))]
        assert len(row) == 1 and bool(row.relevant.iloc[0]) is relevant, (text, row.p_relevant.tolist())


def test_a_long_caption_is_judged_on_the_words_around_its_match(runs):
    m = runs["judged"].tables["doc_matches"]
    row = m[m.text.str.contains(LONG_END, regex=False) & (m.class_index == _class("jaguar"))]
    assert len(row) == 1, m[m.class_index == _class("jaguar")].text.tolist()
    text = row.text.iloc[0]
    assert text.startswith("…") and len(text) <= MATCH_TEXT_CHARS + 1
    assert bool(row.relevant.iloc[0]), row.p_relevant.tolist()


def test_match_text_centres_long_captions_on_the_form():
    words = " ".join(f"word{i}" for i in range(400))
    long = f"{words} Two JAGUARS, and a Jaguar resting {words}"
    window = match_text(long, "jaguar")
    assert "a Jaguar resting" in window and window.startswith("…") and window.endswith("…")
    assert len(window) <= MATCH_TEXT_CHARS + 2
    centre = window.index("Jaguar") + 3
    assert abs(centre - len(window) / 2) < 20  # centred, give or take the words cut at each side
    assert all(part.startswith("word") or part in ("Two", "JAGUARS,", "and", "a", "Jaguar", "resting")
               for part in window.strip("…").split())  # no word cut in half
    assert match_text("a jaguar", "jaguar") == "a jaguar"
    assert form_span("the jaguars and a Polar-Bear", "polar bear") == (18, 28)  # tokens as the matcher reads them
    assert form_span("ａ ｊａｇｕａｒ here", "jaguar") == (2, 8)  # found after NFKC
    assert form_span("jaguarundi", "jaguar") is None
    assert match_text(words, "jaguar") == words[:words.rfind(" ", 0, MATCH_TEXT_CHARS)] + "…"  # absent: the head


def test_a_run_without_relevance_counts_the_same_and_has_no_relevance_columns(runs):
    judged, every = runs["judged"].tables, runs["every"].tables
    assert not set(RELEVANCE_COLUMNS) & set(every["class_counts"].columns)
    assert not {"p_relevant", "relevant"} & set(every["doc_matches"].columns)
    pd.testing.assert_frame_equal(comparable(every["counts"], "counts"), comparable(judged["counts"], "counts"))
    pd.testing.assert_frame_equal(comparable(every["class_counts"], "class_counts"),
                                  comparable(judged["class_counts"].drop(columns=list(RELEVANCE_COLUMNS)),
                                             "class_counts"))
    pd.testing.assert_frame_equal(every["source_stats"].drop(columns="run_id"),
                                  judged["source_stats"].drop(columns="run_id"))


def test_doc_matches_is_the_seeded_hash_order_sample_whatever_the_partitioning(runs):
    every = runs["every"].tables["doc_matches"]
    want = {int(c): sorted(sample_doc_ids(g.doc_id, SAMPLE, SEED)) for c, g in every.groupby("class_index")}
    assert any(every.groupby("class_index").doc_id.nunique() > SAMPLE)  # some class really is sampled
    for name in ("judged", "kept"):
        m = runs[name].tables["doc_matches"]
        got = {int(c): sorted(g.doc_id.unique()) for c, g in m.groupby("class_index")}
        assert got == want, name
    columns = ["class_index", "doc_id", "form", "text", "url"]
    pd.testing.assert_frame_equal(runs["judged"].tables["doc_matches"][columns],
                                  runs["kept"].tables["doc_matches"][columns])
    other_seed = {int(c): sorted(sample_doc_ids(g.doc_id, SAMPLE, SEED + 1)) for c, g in every.groupby("class_index")}
    assert other_seed != want


def test_relevance_columns_are_filled_and_bounded(runs):
    c = runs["judged"].tables["class_counts"]
    seen = c[c.docs > 0]
    assert seen.relevance_judged.tolist() == [min(d, SAMPLE) for d in seen.docs]
    assert (seen.relevance_judge == "full").all()
    assert (seen.docs_relevant_lo <= seen.docs_relevant_est + 1e-9).all()
    assert (seen.docs_relevant_est <= seen.docs_relevant_hi + 1e-9).all()
    assert (seen.docs_relevant_hi <= seen.docs + 1e-9).all() and (seen.docs_relevant_lo >= 0).all()
    assert seen.relevant_share.between(seen.relevant_share_lo, seen.relevant_share_hi).all()
    assert c[c.docs == 0][list(RELEVANCE_COLUMNS)].isna().all().all()
    m = runs["judged"].tables["doc_matches"]
    assert m.p_relevant.notna().all() and (m.relevant == (m.p_relevant >= 0.5)).all()
    per_doc = m.groupby(["class_index", "doc_id"]).p_relevant.max().groupby(level=0).mean()
    judged_means = seen.set_index("class_index").relevance_p_mean
    pd.testing.assert_series_equal(judged_means.sort_index(), per_doc.rename("relevance_p_mean").sort_index(),
                                   check_index_type=False, check_names=False)
    con = duckdb.connect(str(runs["tmp"] / "judged.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(relevant_share), count(*) FILTER (docs > 0 AND role = 'all') "
                           "FROM class_counts").fetchone() == (len(seen), len(seen))
    finally:
        con.close()


def test_judge_run_judges_an_existing_run_in_the_warehouse(runs):
    warehouse = runs["tmp"] / "kept.duckdb"
    res = judge_run(JudgeRunConfig(run=runs["kept"].run_id, judge="fast", sample=2, seed=SEED,
                                   warehouse=str(warehouse)), spark_session())
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        c = con.execute("SELECT * FROM class_counts WHERE run_id = ? ORDER BY role, class_index",
                        [res.run_id]).fetchdf()
        m = con.execute("SELECT * FROM doc_matches WHERE run_id = ?", [res.run_id]).fetchdf()
    finally:
        con.close()
    before = runs["kept"].tables["class_counts"].sort_values(["role", "class_index"], ignore_index=True)
    assert c.docs.tolist() == before.docs.tolist()
    seen = c[c.docs > 0]
    assert res.classes_judged == len(seen) and (seen.relevance_judge == "fast").all()
    assert seen.relevance_judged.tolist() == [min(d, 2) for d in seen.docs]
    assert c[c.docs == 0].relevant_share.isna().all()
    judged_docs = m[m.p_relevant.notna()].groupby("class_index").doc_id.nunique()
    assert judged_docs.sort_index().tolist() == seen.sort_values("class_index").relevance_judged.tolist()
    assert_parquet_equals_warehouse(res, {"class_counts": c, "doc_matches": m})


def assert_parquet_equals_warehouse(res, rows: dict[str, pd.DataFrame]) -> None:
    """The judge-run's rewritten Parquet holds the run's warehouse rows, relevance columns included."""
    keys = {"class_counts": ["role", "class_index"], "doc_matches": ["class_index", "doc_id", "form"]}
    for table, key in keys.items():
        parquet = pq.read_table(res.parquet[table]).to_pandas().sort_values(key, ignore_index=True)
        want = rows[table].drop(columns=["source", "mode", "labelset"]).sort_values(key, ignore_index=True)
        assert set(parquet.run_id) == {res.run_id}
        assert set(parquet.columns) == set(want.columns), table
        pd.testing.assert_frame_equal(parquet, want[parquet.columns], check_dtype=False)
    assert rows["doc_matches"].relevant.notna().any()


def test_judge_run_refuses_a_run_whose_parquet_another_run_replaced(runs):
    """The 'every' run's Parquet folders were replaced by the 'kept' run (same --out and source)."""
    with pytest.raises(UserError, match=f"holds run {runs['kept'].run_id}, not {runs['every'].run_id}"):
        judge_run(JudgeRunConfig(run=runs["every"].run_id, judge="lexical", warehouse=str(runs["tmp"] / "plain.duckdb")),
                  spark_session())


def test_judge_run_says_when_the_run_kept_no_matches(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    try:
        replace_rows(con, "class_counts", pd.DataFrame([{"run_id": "count-x", "source": "s", "mode": "default",
                                                         "role": "all", "labelset": "imagenet1k", "class_index": 1,
                                                         "docs": 3}]), {"run_id": "count-x"})
    finally:
        con.close()
    with pytest.raises(UserError, match="kept no matched documents"):
        judge_run(JudgeRunConfig(run="count-x", warehouse=str(warehouse)), spark_session())


def test_doc_candidates_keep_only_judged_relevant_documents(runs):
    con = duckdb.connect(str(runs["tmp"] / "judged.duckdb"))
    try:
        got = run_query(con, "doc_candidates", {"classes": f"{_class('jaguar')},{_class('orange')}"})
        every = run_query(con, "doc_candidates")
        con.execute("BEGIN TRANSACTION")  # the same warehouse, never judged
        con.execute("UPDATE doc_matches SET p_relevant = NULL, relevant = NULL")
        unjudged = run_query(con, "doc_candidates")
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert "a jaguar resting on a branch" in set(got.caption) and "2015 Jaguar XJ for sale in Dallas" not in set(got.caption)
    assert (every.p_relevant >= 0.5).all() and unjudged.p_relevant.isna().all()
    assert len(unjudged) > len(every) and set(every.doc_id) < set(unjudged.doc_id)


def test_prompt_names_rank_lemma_groups_by_relevant_documents(runs):
    con = duckdb.connect(str(runs["tmp"] / "judged.duckdb"))
    try:
        judged = run_query(con, "prompt_names").set_index("class_index")
        forms = con.execute(
            "SELECT f.class_index, f.form, f.lemma_group, k.docs, j.s AS form_share, c.relevant_share AS class_share "
            "FROM surface_forms f JOIN counts k ON k.class_index = f.class_index AND k.form = f.form "
            "AND k.role = 'all' JOIN class_counts c ON c.class_index = f.class_index AND c.role = 'all' "
            "LEFT JOIN (SELECT class_index, form, avg(CAST(relevant AS DOUBLE)) AS s FROM doc_matches GROUP BY ALL) j "
            "ON j.class_index = f.class_index AND j.form = f.form "
            "WHERE len(list_filter(f.flags, lambda x: x.flag IN ('shared', 'polysemous'))) = 0").fetchdf()
        con.execute("BEGIN TRANSACTION")  # the same warehouse, never judged
        con.execute("UPDATE doc_matches SET p_relevant = NULL, relevant = NULL")
        con.execute("UPDATE class_counts SET relevant_share = NULL")
        raw = run_query(con, "prompt_names").set_index("class_index")
        con.execute("ROLLBACK")
    finally:
        con.close()
    share = forms.form_share.fillna(forms.class_share)
    forms["relevant_docs"] = np.floor(forms.docs * share + 0.5).astype(int)
    best = forms.groupby(["class_index", "lemma_group"]).relevant_docs.sum().groupby(level=0).max()
    assert (forms.form_share < 1).any()  # some judged form really lost documents
    assert judged.loc[best.index, "best_docs"].astype(int).tolist() == best.tolist()
    raw_best = forms.groupby(["class_index", "lemma_group"]).docs.sum().groupby(level=0).max()
    assert raw.loc[raw_best.index, "best_docs"].astype(int).tolist() == raw_best.tolist()


def test_relevance_options_are_checked_and_keep_the_judged_sample():
    from classfreq.pipelines.config import CountConfig

    base = {"inputs": ("x.tsv",), "source": "s"}
    with pytest.raises(UserError, match="--relevance-sample must be at least 1"):
        CountConfig(**base, relevance=True, relevance_sample=0).validate()
    with pytest.raises(UserError, match="--relevance-judge must be one of full, fast, lexical"):
        CountConfig(**base, relevance=True, relevance_judge="slow").validate()
    keep = CountConfig(**base, relevance=True, relevance_sample=50, relevance_seed=4, max_matches_per_class=10)
    assert keep.matches_to_keep == 50
    assert int(CountConfig(**base, max_matches_per_class=10, relevance_sample=50).matches_to_keep) == 10


def test_the_stage_scores_each_pair_as_the_judge_does_alone(runs):
    """The Spark stage (pairs grouped into frames by caption, one task per frame) gives each pair
    the probability the judge gives it on the driver, pair by pair."""
    from classfreq.relevance.judge import load_judge

    m = runs["judged"].tables["doc_matches"]
    assert len(m) > 20
    judge = load_judge("imagenet1k", "full")
    alone = [judge.score([t], [int(c)], [f])[0] for t, c, f in zip(m.text, m.class_index, m.form)]
    np.testing.assert_allclose(m.p_relevant.to_numpy(), alone, rtol=0, atol=1e-6)
