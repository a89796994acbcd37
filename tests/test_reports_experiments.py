"""reports/experiments.py in a real report: label-space size, prompts, probe vs generation and
ImageWikiQA, each joined with class frequency (the real bethgelab LAION-400M counts), written by
the same writer the models commands use; and nothing at all when there are no such results."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from classfreq.models.accuracy import accuracy_rows, per_class, write_accuracy
from classfreq.queries.imports import import_bethgelab_counts
from classfreq.queries.labelsets import ensure_labelset_tables
from classfreq.queries.warehouse import connect
from classfreq.reports.configs import AnalysisOptions
from classfreq.reports.report import build_report

COUNTS = "imagenet_laion400m_lemmatized_search_counts.json"
KEY = "imported:bethgelab:laion400m:lemmatized"


@pytest.fixture(scope="module")
def labelset():
    from classfreq.synsets import load_labelset
    return load_labelset("imagenet1k")


def _write(con, ls, classes, correct, n, **key):
    table = per_class(np.repeat(classes, n), np.concatenate([[True] * c + [False] * (n - c) for c in correct]), 1000)
    write_accuracy(con, accuracy_rows(table, labelset=ls.name, version=ls.version, origin="evaluated",
                                      run_id="test", **key))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, shared, labelset):
    path = tmp_path_factory.mktemp("wh") / "wh.duckdb"
    con = connect(path)
    ensure_labelset_tables(con, labelset)
    import_bethgelab_counts(con, shared / "reference" / "bethgelab" / COUNTS, labelset.name, labelset.version)
    docs = con.execute("SELECT class_index, docs_est FROM class_sources WHERE count_key = ? ORDER BY class_index",
                       [KEY]).fetchdf().set_index("class_index")["docs_est"]
    # 10 classes with distinct counts, rarest first
    classes = docs[:40].drop_duplicates().sort_values().index[:10].to_numpy()
    ls, llava = labelset, dict(model="llava:7b", dataset="imagenet1k-val")
    clip = dict(model="clip:L14", dataset="imagenet1k-val", method="zero-shot", prompt="a photo of a {name}.",
                scoring="top1")
    _write(con, ls, classes, [15] * 10, 20, **clip)                                   # every class: 0.75
    _write(con, ls, classes, [19] * 10, 20, n_way=2, seed=0, **clip)                  # 0.95
    _write(con, ls, classes, [18] * 10, 20, n_way=5, seed=0, **clip)                  # 0.90
    closed = dict(method="closed-world", prompt="Q", scoring="published", **llava)
    _write(con, ls, classes, [16] * 10, 20, n_way=2, seed=0, **closed)                # 0.80
    _write(con, ls, classes, [14] * 10, 20, n_way=2, seed=1, **closed)                # 0.70
    open_world = dict(method="open-world", scoring="published", **llava)
    _write(con, ls, classes, [4] * 10, 20, prompt="What type of object is in this photo?", **open_world)
    _write(con, ls, classes, [6] * 10, 20, prompt="What is the main object depicted in this photograph?", **open_world)
    _write(con, ls, classes, list(range(10)), 10, method="probe", prompt="What type of object is in this photo?",
           scoring="image-mean", **llava)                                             # rises with frequency
    _write(con, ls, classes, [10, 9, 9, 7, 6, 5, 4, 3, 2, 1], 10, method="likelihood", prompt="Q", scoring="sum",
           **llava)                                                                    # falls with it
    qa = dict(model="llava:7b", dataset="imagewikiqa", prompt="imagewikiqa question [Let's think step by step.]",
              scoring="letter")
    _write(con, ls, classes, [0, 1, 1, 2, 2, 3, 3, 4, 4, 4], 4, method="qa-image", **qa)
    _write(con, ls, classes, [4] * 10, 4, method="qa-name-given", **qa)
    yield con, classes, docs
    con.close()


def test_the_section_in_a_real_report(warehouse, tmp_path):
    con, classes, docs = warehouse
    res = build_report(con, tmp_path / "rep", AnalysisOptions(n_boot=100))
    html = res["report"].read_text()
    assert '<section id="experiments">' in html and "The study&#39;s other experiments" in html
    tables = tmp_path / "rep" / "tables"

    nway = pd.read_csv(tables / "label_space.csv")
    got = {(r.family, r.method, r.n_way): round(r.accuracy, 6) for r in nway.itertuples()}
    assert got == {("CLIP", "zero-shot", 2): 0.95, ("CLIP", "zero-shot", 5): 0.9, ("CLIP", "zero-shot", 1000): 0.75,
                   ("VLM", "closed-world", 2): 0.75}          # the VLM's two seeds averaged
    vlm = nway[nway["family"] == "VLM"].iloc[0]
    assert (vlm["seeds"], vlm["accuracy_min"], vlm["accuracy_max"]) == (2, 0.7, 0.8)
    assert (tmp_path / "rep" / "charts" / "label_space.svg").stat().st_size > 0

    prompts = pd.read_csv(tables / "prompts.csv")
    assert prompts[["prompt", "accuracy"]].values.tolist() == [
        ["What is the main object depicted in this photograph?", 0.3], ["What type of object is in this photo?", 0.2]]

    probe = pd.read_csv(tables / "probe_frequency.csv")
    probe = probe[probe["count_key"] == KEY].set_index("readout")
    order = docs[classes].to_numpy()
    assert probe.loc["probe: image-mean", "spearman_rho"] == pytest.approx(1.0)
    want = spearmanr([1, .9, .9, .7, .6, .5, .4, .3, .2, .1], order)[0]
    assert probe.loc["likelihood: sum", "spearman_rho"] == pytest.approx(want) and want < -0.9
    wide = pd.read_csv(tables / "probe_classes.csv")
    assert {"probe: image-mean", "likelihood: sum", "docs_est", "docs_per_million", "name"} <= set(wide.columns)

    qa = pd.read_csv(tables / "imagewikiqa_frequency.csv")
    qa = qa[qa["count_key"] == KEY].set_index("condition")
    assert qa.loc["image shown", "spearman_rho"] == pytest.approx(
        spearmanr([0, 1, 1, 2, 2, 3, 3, 4, 4, 4], order)[0])
    assert np.isnan(qa.loc["class name given", "spearman_rho"])        # all right: no correlation to speak of
    qa_classes = pd.read_csv(tables / "imagewikiqa_classes.csv")
    assert len(qa_classes[qa_classes["count_key"] == KEY]) == 20 and qa_classes["n"].eq(4).all()


def test_no_experiment_results_no_section(tmp_path, labelset, shared):
    con = connect(tmp_path / "wh.duckdb")
    ensure_labelset_tables(con, labelset)
    import_bethgelab_counts(con, shared / "reference" / "bethgelab" / COUNTS, labelset.name, labelset.version)
    _write(con, labelset, np.array([0, 1]), [1, 2], 2, model="clip:x", dataset="d", method="zero-shot", prompt="p",
           scoring="top1")
    res = build_report(con, tmp_path / "rep", AnalysisOptions(n_boot=100))
    con.close()
    html = res["report"].read_text()
    assert "experiments" not in re.findall(r'<section id="([a-z]+)">', html)
    assert not (tmp_path / "rep" / "tables" / "label_space.csv").exists()
