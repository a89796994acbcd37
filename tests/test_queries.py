"""Queries, imports and mixes on a real-data warehouse (bethgelab counts and accuracies + tiny counts)."""
from __future__ import annotations

import json

import _reports_warehouse as W
import numpy as np
import pandas as pd
import pytest

from classfreq.cli import main as cli_main
from classfreq.errors import UserError
from classfreq.queries.imports import import_bethgelab_counts, import_csv_counts
from classfreq.queries.mixes import read_mix_file, write_mixes
from classfreq.queries.runner import get_query, list_queries, run_query
from classfreq.queries.warehouse import connect

LAION_KEY = "imported:bethgelab:laion400m:lemmatized"


@pytest.fixture(scope="module")
def wh(tmp_path_factory, shared):
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    con = W.build(path, shared)
    yield con, path
    con.close()


def bethgelab(shared, corpus="laion400m", method="lemmatized"):
    return json.loads((shared / "reference" / "bethgelab" /
                       f"imagenet_{corpus}_{method}_search_counts.json").read_text())


def test_bethgelab_import_joins_by_position_without_losing_duplicates(wh, shared):
    con, _ = wh
    got = run_query(con, "class_frequency", {"count_key": LAION_KEY})
    published = list(bethgelab(shared).values())
    assert len(got) == 1000 and got["class_index"].tolist() == list(range(1000))
    assert got["docs"].tolist() == published
    # CLIP's duplicate names: both 'missile' classes and both 'sunglasses' classes present once each
    names = got.set_index("class_index")["name"]
    assert names[657] == names[744] == "missile" and names[836] == names[837] == "sunglasses"
    d = bethgelab(shared)
    assert got.loc[got.class_index == 744, "docs"].item() == d["projectile"]
    assert got.loc[got.class_index == 657, "docs"].item() == d["missile"]
    assert got.loc[got.class_index == 836, "docs"].item() == d["sunglass"]
    # per million on the nominal corpus size
    np.testing.assert_allclose(got["docs_per_million"], np.array(published) / 413e6 * 1e6)


def test_bethgelab_import_refuses_a_file_out_of_class_order(wh, shared, tmp_path):
    con, _ = wh
    d = bethgelab(shared)
    items = list(d.items())
    items[0], items[1] = items[1], items[0]
    bad = tmp_path / "imagenet_laion400m_lowercased_search_counts.json"
    bad.write_text(json.dumps(dict(items)))
    with pytest.raises(UserError, match="differ from the label set"):
        import_bethgelab_counts(con, bad)
    short = tmp_path / "imagenet_cc12m_lowercased_search_counts.json"
    short.write_text(json.dumps(dict(items[:999])))
    with pytest.raises(UserError, match="999 classes"):
        import_bethgelab_counts(con, short)


def test_csv_import_by_class_id_and_index(wh, tmp_path):
    con, _ = wh
    f = tmp_path / "c.csv"
    f.write_text("class_id,docs\nn01440764,12\nn01443537,0\n")
    r = import_csv_counts(con, f, origin="me", corpus="tiny", method="manual", labelset=W.LABELSET)
    assert r["rows"] == 1000 and r["filled_zero"] == 998
    got = run_query(con, "class_frequency", {"count_key": "imported:me:tiny:manual"})
    assert got.loc[got.class_index == 0, "docs"].item() == 12 and got["docs"].sum() == 12
    f.write_text("class_index,docs\n0,1\n0,2\n")
    with pytest.raises(UserError, match="more than once"):
        import_csv_counts(con, f, origin="me", corpus="tiny2", method="m", labelset=W.LABELSET)
    f.write_text("class_index,docs\n5000,1\n")
    with pytest.raises(UserError, match="not in label set"):
        import_csv_counts(con, f, origin="me", corpus="tiny3", method="m", labelset=W.LABELSET)
    f.write_text("class_index,docs\n1,-4\n")
    with pytest.raises(UserError, match="non-negative"):
        import_csv_counts(con, f, origin="me", corpus="tiny4", method="m", labelset=W.LABELSET)
    with pytest.raises(UserError, match="missing ones"):
        f.write_text("class_index,docs\n1,4\n")
        import_csv_counts(con, f, origin="me", corpus="tiny5", method="m", labelset=W.LABELSET, missing="error")
    con.execute("DELETE FROM imported_counts WHERE origin = 'me'")
    con.execute("DELETE FROM runs WHERE run_id LIKE 'import-counts:me:%'")


def _tail_size(docs: pd.Series) -> int:
    """Classes with at most 10 documents or in the rarest 5% (percent rank), as tail_classes.sql defines it."""
    pr = docs.rank(method="min").sub(1).div(len(docs) - 1)
    return int(((docs <= 10) | (pr <= 0.05)).sum())


def expected_default_rows(shared) -> dict[str, int]:
    """Rows each named query returns with its default parameters on the fixture warehouse, from the
    published files and the rows _reports_warehouse writes."""
    laion, cc3m = pd.Series(list(bethgelab(shared).values())), pd.Series(list(bethgelab(shared, "cc3m").values()))
    tiny = pd.Series([7, 3, 5] + [0] * 997)          # our tiny source: classes 0, 1 and 744 counted
    sources = (laion, cc3m, tiny)
    return {
        "class_frequency": 1000 * len(sources),
        "frequency_accuracy": 1000 * len(W.LAION_MODELS),
        "tail_classes": sum(_tail_size(d) for d in sources),
        "never_seen": sum(int((d == 0).sum()) for d in sources),
        "prompt_names": 1000,
        "ambiguous_classes": 2,                        # 657 and 744 ('missile' shared, 'rocket' polysemous)
        "run_provenance": 3,                           # two bethgelab imports and the tiny count run
        "mix_coverage": 2 * len(W.LAION_MODELS),       # LAION-400M + the uncounted component, per model
        "doc_candidates": 7 + 3,                       # tench: d0..d5 and x1 (bad1 unsafe, nourl no URL); goldfish g0..g2
    }


def test_every_query_is_documented_and_runs_as_is(wh, shared):
    con, _ = wh
    queries = list_queries()
    for name in ("class_frequency", "frequency_accuracy", "tail_classes", "prompt_names", "ambiguous_classes",
                 "never_seen", "run_provenance", "mix_coverage", "doc_candidates"):
        assert name in queries
    expected = expected_default_rows(shared)
    assert set(expected) == set(queries)  # a new query needs its expected row count here
    for q in queries.values():
        assert q.summary and "Returns" in q.description, q.name
        assert all(p.help for p in q.params.values()), q.name
        # the file itself, unchanged, with no variables set (as in the DuckDB CLI) == runner with defaults
        raw = con.execute(q.sql).fetchdf()
        via = run_query(con, q.name)
        pd.testing.assert_frame_equal(raw, via)
        assert len(via) == expected[q.name] > 0, q.name


def test_default_rows_of_provenance_coverage_and_names(wh):
    con, _ = wh
    runs = run_query(con, "run_provenance").set_index("run_id")
    assert set(runs["kind"]) == {"import-counts", "count"}
    tiny = runs.loc["count-test-1"]
    assert (tiny["docs_read"], tiny["docs_matched"], tiny["docs_quarantined"]) == (100, 14, 0)
    assert tiny["sources"] == ("tiny_web: read 100, matched 14, unmatched 86, quarantined 0, duplicates dropped 0, "
                               "files failed 0")
    assert json.loads(tiny["options"]) == {"mode": "default"}
    cov = run_query(con, "mix_coverage")
    assert sorted(set(cov["mix"])) == sorted(W.LAION_MODELS)
    assert (cov["components_total"] == 2).all() and (cov["components_with_counts"] == 1).all()
    assert (cov["uncovered"] == "undisclosed filtering data").all()
    laion = cov[cov["component"] == "LAION-400M"]
    assert (laion["source"] == LAION_KEY).all() and laion["has_counts"].all() and (laion["corpus_docs"] == 413e6).all()
    assert not cov.loc[cov["component"] != "LAION-400M", "has_counts"].any()
    p = run_query(con, "prompt_names")
    assert p.loc[p["differs"], "class_index"].tolist() == [0]   # only tench has a more frequent name
    assert p.loc[p.class_index == 0, ["runner_up", "runner_up_docs"]].iloc[0].tolist() == ["tench", 2]
    a = run_query(con, "ambiguous_classes").set_index("class_index")
    assert a.loc[657, "docs"] == 0 and pd.isna(a.loc[657, "ambiguous_share"])
    assert a.loc[744, "form_docs"] == 5 and a.loc[744, "docs_clean"] == 1


def test_parameters_are_bound_not_pasted(wh):
    con, _ = wh
    odd = "it's a \"model\"; DROP TABLE accuracy; --"

    acc = con.execute("SELECT * FROM accuracy WHERE model = ?", [W.LAION_MODELS[0]]).fetchdf().assign(model=odd)
    from classfreq.queries.warehouse import replace_rows
    replace_rows(con, "accuracy", acc, {"model": odd})
    got = run_query(con, "frequency_accuracy", {"model": odd})
    assert len(got) == 1000 and set(got["model"]) == {odd}
    assert run_query(con, "frequency_accuracy", {"model": "x' OR '1'='1"}).empty
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 4000
    replace_rows(con, "accuracy", None, {"model": odd})
    with pytest.raises(UserError, match="no parameter"):
        run_query(con, "frequency_accuracy", {"nope": 1})
    with pytest.raises(UserError, match="a number"):
        run_query(con, "tail_classes", {"max_docs": "ten"})
    with pytest.raises(UserError, match="no query named"):
        get_query("nope")
    # typed parameters: max_docs as a number changes the tail
    small = run_query(con, "tail_classes", {"count_key": LAION_KEY, "max_docs": "0", "quantile": "0"})
    assert (small["docs_est"] == 0).all() and len(small) == 108


def test_frequency_accuracy_join_counts(wh, shared):
    con, _ = wh
    df = run_query(con, "frequency_accuracy")
    assert len(df) == 3000
    assert not df.duplicated(["model", "class_index"]).any()
    published = list(bethgelab(shared).values())
    assert sorted(df["model"].unique()) == sorted(W.LAION_MODELS)
    for _, g in df.groupby("model"):
        g = g.sort_values("class_index")
        assert g["class_index"].tolist() == list(range(1000))
        assert g["docs"].tolist() == [float(v) for v in published]
        assert (g["components_counted"] == 1).all() and (g["components_found"] == 1).all()
    one = run_query(con, "frequency_accuracy", {"count_key": "imported:bethgelab:cc3m:lemmatized"})
    assert len(one) == 3000 and (one["mix"] == "source:imported:bethgelab:cc3m:lemmatized").all()
    assert one.sort_values(["model", "class_index"])["docs"].tolist()[:1000] == \
        [float(v) for v in bethgelab(shared, "cc3m").values()]
    assert df.loc[df.class_index == 744, "ambiguous"].all() and not df.loc[df.class_index == 1, "ambiguous"].any()


def test_counts_of_our_counter_and_rates(wh):
    con, _ = wh
    f = run_query(con, "class_frequency", {"count_key": "ours:tiny_web:default:all"})
    assert len(f) == 1000 and f["docs"].sum() == 15
    assert f.loc[f.class_index == 0, "docs_per_million"].item() == pytest.approx(7 / 100 * 1e6)
    never = run_query(con, "never_seen", {"count_key": "ours:tiny_web:default:all"})
    assert len(never) == 997
    seen_elsewhere = never.set_index("class_index")["seen_elsewhere"]
    laion = run_query(con, "class_frequency", {"count_key": LAION_KEY}).set_index("class_index")["docs"]
    cc3m = run_query(con, "class_frequency", {"count_key": "imported:bethgelab:cc3m:lemmatized"}).set_index("class_index")["docs"]
    expected = (laion > 0).astype(int) + (cc3m > 0).astype(int)
    assert (seen_elsewhere == expected[seen_elsewhere.index]).all()
    tail = run_query(con, "tail_classes", {"count_key": LAION_KEY})
    docs = laion.astype(float)
    pr = docs.rank(method="min").sub(1).div(len(docs) - 1)
    assert set(tail["class_index"]) == set(docs[(docs <= 10) | (pr <= 0.05)].index)


def test_prompt_names_and_ambiguous_classes(wh):
    con, _ = wh
    p = run_query(con, "prompt_names").set_index("class_index")
    assert p.loc[0, "best_lemma_group"] == "tinca tinca" and bool(p.loc[0, "differs"])
    assert p.loc[0, "best_docs"] == 5 and p.loc[0, "display_name_docs"] == 2
    assert not bool(p.loc[1, "differs"])
    # 744's only counted clean form is 'projectile'... which is not a surface form here, and 'missile' is shared
    assert p.loc[744, "best_lemma_group"] != "missile"
    a = run_query(con, "ambiguous_classes")
    row = a[(a.class_index == 744) & (a.count_key == "ours:tiny_web:default:all")].iloc[0]
    assert row["ambiguous_share"] == pytest.approx(1 - 1 / 5)
    assert row["ambiguous_form_docs"] == 4 and "shared" in row["flagged_forms"] and "polysemous" in row["flagged_forms"]
    assert set(a["class_index"]) == {657, 744}


def test_doc_candidates_filters_unsafe_and_in_mix_sources(wh):
    con, _ = wh
    c = run_query(con, "doc_candidates", {"classes": "0, 1"})
    assert set(c["class_index"]) == {0, 1}
    assert "bad1" not in set(c["doc_id"]) and "nourl" not in set(c["doc_id"])
    assert W.XSS in set(c["caption"])   # stored verbatim; the report escapes it
    top = c[c.class_index == 0].sort_values("rank_in_class")
    assert top["rank_in_class"].tolist() == list(range(1, 8))
    assert len(run_query(con, "doc_candidates", {"classes": "0", "per_class": "2"})) == 2
    # a mix that names the source excludes its documents (counted or not)
    from classfreq.queries.warehouse import replace_rows
    replace_rows(con, "mixes", pd.DataFrame([{"model": "tmp-mix", "component": "tiny", "source_kind": "ours",
                                              "source": "ours:tiny_web:default:all", "weight": 1.0,
                                              "counted": False}]), {"model": "tmp-mix"})
    assert run_query(con, "doc_candidates", {"mix": "tmp-mix"}).empty
    replace_rows(con, "mixes", None, {"model": "tmp-mix"})


def test_mix_files_yaml_json_csv_and_coverage(wh, tmp_path):
    con, _ = wh
    y = tmp_path / "llava.yaml"
    y.write_text("""
models: [llava-test]
components:
  - component: LLaVA-1.5 instruction mix
    source: ours:tiny_web:default:all
    weight: 2
  - component: CLIP image-text pairs behind the vision tower
    counted: false
    note: never released
""")
    rows = read_mix_file(y)
    assert rows["counted"].tolist() == [True, False] and rows["weight"].tolist() == [2.0, 1.0]
    j = tmp_path / "m.json"
    j.write_text(json.dumps({"mixes": [{"models": ["a", "b"], "components": [
        {"component": "x", "kind": "imported", "origin": "bethgelab", "corpus": "cc3m", "method": "lemmatized"}]}]}))
    assert read_mix_file(j)["source"].tolist() == ["imported:bethgelab:cc3m:lemmatized"] * 2
    c = tmp_path / "m.csv"
    c.write_text("model,component,source,weight,counted,note\nm1,web,imported:bethgelab:cc3m:lemmatized,1,true,\n"
                 "m1,secret,,1,false,unknown data\n")
    assert read_mix_file(c)["counted"].tolist() == [True, False]
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [a]\ncomponents:\n  - component: x\n    source: laion\n")
    with pytest.raises(UserError, match="count key"):
        read_mix_file(bad)
    warnings = write_mixes(con, rows)
    assert warnings == []
    cov = run_query(con, "mix_coverage", {"mix": "llava-test"})
    assert cov["components_total"].tolist() == [2, 2] and cov["components_with_counts"].tolist() == [1, 1]
    assert cov["uncovered"].iloc[0] == "CLIP image-text pairs behind the vision tower"
    docs = con.execute("SELECT docs FROM mix_class_docs WHERE mix = 'llava-test' AND class_index = 0").fetchone()[0]
    assert docs == 14  # weight 2 x 7 documents
    con.execute("DELETE FROM mixes WHERE model = 'llava-test'")


def test_mix_files_accept_relevant_count_keys_and_name_the_valid_ones(tmp_path):
    y = tmp_path / "judged.yaml"
    y.write_text("models: [m]\ncomponents:\n  - component: web\n    source: ours:web:default:all:relevant\n"
                 "  - component: as fields\n    source: {kind: ours, source: web2, basis: relevant}\n")
    assert read_mix_file(y)["source"].tolist() == ["ours:web:default:all:relevant", "ours:web2:default:all:relevant"]
    for bad in ("ours:web:default:all:raw", "imported:bethgelab:cc3m:lemmatized:relevant", "ours:web:default"):
        y.write_text(f"models: [m]\ncomponents:\n  - component: web\n    source: {bad}\n")
        with pytest.raises(UserError, match="'ours:<source>:<mode>:<role>:relevant'"):
            read_mix_file(y)


def test_cli_query_import_and_mix(wh, shared, tmp_path, capsys):
    con, path = wh
    con.close()
    try:
        out = tmp_path / "freq.csv"
        assert cli_main(["query", "class_frequency", "--warehouse", str(path), "--param", f"count_key={LAION_KEY}",
                         "--csv", str(out)]) == 0
        assert len(pd.read_csv(out)) == 1000
        assert cli_main(["query"]) == 0
        assert "--param labelset" in capsys.readouterr().out
        assert cli_main(["query", "nope", "--warehouse", str(path)]) == 2
        assert cli_main(["import-counts", "--warehouse", str(path), "--bethgelab",
                         str(shared / "reference" / "bethgelab" / "imagenet_cc12m_lemmatized_search_counts.json")]) == 0
        assert "imported:bethgelab:cc12m:lemmatized" in capsys.readouterr().out
        mf = tmp_path / "mix.yaml"
        mf.write_text(W.MIX_YAML)
        assert cli_main(["mix", str(mf), "--warehouse", str(path)]) == 0
        assert "LAION-400M" in capsys.readouterr().out
    finally:
        new = connect(path)
        new.execute("DELETE FROM imported_counts WHERE corpus = 'cc12m'")
        new.close()


def test_example_mix_files_parse():
    from pathlib import Path
    d = Path(__file__).resolve().parents[1] / "queries" / "mixes"
    llava = read_mix_file(d / "llava_v1_5.yaml")
    assert llava["model"].nunique() == 2 and (~llava["counted"]).sum() == 4
    assert set(llava.loc[llava["counted"], "source"]) == {"ours:llava_pretrain_558k:default:all",
                                                          "ours:llava_mix665k:default:all"}
    clip = read_mix_file(d / "openclip_laion400m.yaml")
    assert set(clip["source"]) == {LAION_KEY}
