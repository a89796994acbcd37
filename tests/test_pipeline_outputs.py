"""What the counting job writes: warehouse rows replaced per source/mode/label set, Parquet
folders, identical counts whatever the partitioning, --dedup, --sample, errors and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pipeline_support import ROOT, assert_invariant, class_docs, comparable, count, stats

from classfreq.errors import UserError

CC3M = ("captions", "cc3m_val", "Validation_GCC-1.1.0-Validation.tsv")
LAION = ("captions", "laion400m_sample_img2dataset", "test_10000.parquet")


def _small_cc3m(shared, tmp_path, n=4000, name="cc3m_small.tsv"):
    lines = shared.joinpath(*CC3M).read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def test_rerun_replaces_only_that_source_mode_and_labelset(shared, tmp_path):
    wh = tmp_path / "wh.duckdb"
    cc3m, _ = _small_cc3m(shared, tmp_path)
    first = count(tmp_path, cc3m, "cc3m", warehouse=wh)
    laion = count(tmp_path, shared.joinpath(*LAION), "laion", warehouse=wh)
    paper = count(tmp_path, cc3m, "cc3m", mode="paper", warehouse=wh)
    again = count(tmp_path, cc3m, "cc3m", sample=0.5, warehouse=wh)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        runs = dict(con.execute("SELECT source || '/' || mode, list(DISTINCT run_id) FROM class_counts GROUP BY 1").fetchall())
        assert runs == {"cc3m/default": [again.run_id], "laion/default": [laion.run_id], "cc3m/paper": [paper.run_id]}
        for table in ("counts", "source_stats", "quarantine"):
            ids = {r[0] for r in con.execute(f"SELECT DISTINCT run_id FROM {table}").fetchall()}
            assert first.run_id not in ids
        n = con.execute("SELECT count(*) FROM class_counts WHERE run_id = ?", [laion.run_id]).fetchone()[0]
        assert n == len(laion.tables["class_counts"])
        stats_rows = con.execute("SELECT docs_read, docs_matched + docs_unmatched + docs_quarantined, sample_fraction"
                                 " FROM source_stats WHERE source = 'cc3m' AND mode = 'default'").fetchall()
        assert len(stats_rows) == 1 and stats_rows[0][0] == stats_rows[0][1] and stats_rows[0][2] == 0.5
        assert con.execute("SELECT count(*) FROM runs WHERE kind = 'count'").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM class_counts WHERE docs_clean > docs").fetchone()[0] == 0
    finally:
        con.close()
    # the Parquet folder of cc3m/default holds the latest run only; the others are untouched
    latest = pq.read_table(tmp_path / "out" / "class_counts" / "source=cc3m" / "mode=default").to_pandas()
    assert set(latest.run_id) == {again.run_id}
    paper_rows = pq.read_table(tmp_path / "out" / "class_counts" / "source=cc3m" / "mode=paper").to_pandas()
    assert set(paper_rows.run_id) == {paper.run_id}
    hive = duckdb.sql(f"SELECT DISTINCT source, mode FROM read_parquet('{tmp_path}/out/counts/**/*.parquet', "
                      "hive_partitioning = true) ORDER BY 1, 2").fetchall()
    assert hive == [("cc3m", "default"), ("cc3m", "paper"), ("laion", "default")]


def test_counts_identical_for_1_and_4_partitions(shared, tmp_path):
    one = count(tmp_path, shared.joinpath(*LAION), "laion", partitions=1, max_matches_per_class=2)
    four = count(tmp_path, shared.joinpath(*LAION), "laion", partitions=4, max_matches_per_class=2)
    for table in ("counts", "class_counts"):
        pd.testing.assert_frame_equal(comparable(one.tables[table], table), comparable(four.tables[table], table))
    pd.testing.assert_frame_equal(one.tables["doc_matches"].drop(columns="run_id"),
                                  four.tables["doc_matches"].drop(columns="run_id"))


def test_dedup_counts_each_document_once(shared, tmp_path):
    path, lines = _small_cc3m(shared, tmp_path, 2000)
    copy, _ = _small_cc3m(shared, tmp_path, 1000, "copy.tsv")
    single = count(tmp_path, path, "one", dedup="url")
    both = count(tmp_path, [path, copy], "both")
    dedup = count(tmp_path, [path, copy], "dedup", dedup="url")
    by_text = count(tmp_path, [path, copy], "dedup_text", dedup="text")
    assert stats(both)["docs_read"] == 3000
    distinct_urls = len({ln.split("\t")[1] for ln in lines})
    assert stats(single)["duplicates_dropped"] == 2000 - distinct_urls
    assert stats(dedup)["duplicates_dropped"] == 3000 - distinct_urls
    assert stats(dedup)["docs_read"] == distinct_urls
    assert class_docs(dedup) == class_docs(single)
    assert stats(by_text)["duplicates_dropped"] == 3000 - len({ln.split("\t")[0] for ln in lines}) >= 1000
    assert_invariant(dedup)


def test_sample_scales_counts_with_intervals(shared, tmp_path):
    path = shared.joinpath(*CC3M)
    full = count(tmp_path, path, "full")
    half = count(tmp_path, path, "half", sample=0.5, seed=7)
    again = count(tmp_path, path, "half2", sample=0.5, seed=7, partitions=3)
    pd.testing.assert_frame_equal(comparable(half.tables["class_counts"], "class_counts").drop(columns="source"),
                                  comparable(again.tables["class_counts"], "class_counts").drop(columns="source"))
    s = stats(half)
    assert 0.45 * 15833 < s["docs_read"] < 0.55 * 15833 and s["sample_fraction"] == 0.5
    c = half.tables["class_counts"].query("role == 'all'").set_index("class_index")
    assert (c.docs_est == c.docs * 2).all() and (c.docs_est_lo <= c.docs_est).all() and (c.docs_est <= c.docs_est_hi).all()
    truth = pd.Series(class_docs(full))
    frequent = truth[truth >= 20].index
    inside = ((c.docs_est_lo[frequent] <= truth[frequent]) & (truth[frequent] <= c.docs_est_hi[frequent])).mean()
    assert inside >= 0.85, inside


def _cli(*argv, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "classfreq.cli", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize("argv,needle", [
    (["--input", "/nonexistent/captions-*.tsv"], "matches no file"),
    (["--input", "{cc3m}", "--format", "yaml"], "unknown --format 'yaml'"),
    (["--input", "{laion}", "--format", "parquet", "--text-column", "caption_text"], "no text column caption_text"),
    (["--input", "{cc3m}", "--roles", "human,gtp"], "--roles 'gtp' is not a LLaVA turn role"),
    (["--input", "{flickr}", "--dedup", "url"], "--dedup url needs URLs, and flickr files have none"),
])
def test_user_errors_are_one_sentence(shared, tmp_path, argv, needle):
    from classfreq.cli import main
    flickr = shared / "captions" / "flickr8k" / "Flickr8k.token.txt"
    argv = [a.format(cc3m=shared.joinpath(*CC3M), laion=shared.joinpath(*LAION), flickr=flickr) for a in argv]
    import io
    from contextlib import redirect_stderr
    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["count", *argv, "--source", "x", "--out", str(tmp_path / "o"),
                     "--warehouse", str(tmp_path / "w.duckdb"), "--master", "local[2]"])
    assert code == 2
    text = err.getvalue().strip()
    assert needle in text and "Traceback" not in text and len(text.splitlines()) == 1, text


def test_classfreq_count_cli_and_progress_line(shared, tmp_path, capsys):
    from classfreq.cli import main
    path, _ = _small_cc3m(shared, tmp_path, 3000)
    code = main(["count", "--input", str(path), "--source", "cli_cc3m", "--out", str(tmp_path / "o"),
                 "--warehouse", str(tmp_path / "w.duckdb"), "--master", "local[2]", "--partitions", "2",
                 "--progress-interval", "0.05"])
    out = capsys.readouterr()
    assert code == 0 and "counted source cli_cc3m" in out.out and "3,000 documents read" in out.out
    assert "[classfreq count] source=cli_cc3m rows=" in out.err and "rows/s" in out.err
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT docs_read FROM source_stats").fetchone()[0] == 3000
    con.close()


def test_pyfiles_zip_has_the_package_layout(tmp_path):
    import zipfile

    from classfreq.pipelines.pyfiles import build_zip
    names = build_zip(str(tmp_path / "classfreq.zip"))
    assert "classfreq/pipelines/count_classes.py" in names and "classfreq/queries/schema.sql" in names
    assert not any(n.startswith("pipelines/") for n in names)
    assert zipfile.ZipFile(tmp_path / "classfreq.zip").testzip() is None


def test_rerun_without_doc_matches_removes_the_previous_runs_matches(shared, tmp_path):
    wh = tmp_path / "wh.duckdb"
    cc3m, _ = _small_cc3m(shared, tmp_path, 500)
    count(tmp_path, cc3m, "cc3m", max_matches_per_class=2, warehouse=wh)
    folder = tmp_path / "out" / "doc_matches" / "source=cc3m" / "mode=default" / "labelset=imagenet1k"
    con = duckdb.connect(str(wh), read_only=True)
    assert con.execute("SELECT count(*) FROM doc_matches").fetchone()[0] > 0 and folder.is_dir()
    con.close()
    again = count(tmp_path, cc3m, "cc3m", warehouse=wh)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM doc_matches WHERE source = 'cc3m'").fetchone()[0] == 0
        assert con.execute("SELECT list(DISTINCT run_id) FROM class_counts").fetchone()[0] == [again.run_id]
    finally:
        con.close()
    assert not folder.exists()


def test_out_as_a_hadoop_uri_writes_the_same_parquet(shared, tmp_path):
    """--out s3a://, hdfs:// goes through Hadoop's FileSystem (file:// takes the same path here);
    a clean source has an empty quarantine table, which must not stop the job."""
    cc3m, _ = _small_cc3m(shared, tmp_path, 300)
    res = count(tmp_path, cc3m, "cc3m_uri", out=f"file://{tmp_path}/uri_out")
    assert stats(res)["docs_quarantined"] == 0
    part = tmp_path / "uri_out" / "{}" / "source=cc3m_uri" / "mode=default" / "labelset=imagenet1k"
    for table in ("counts", "class_counts", "source_stats", "quarantine"):
        got = pq.read_table(str(part).format(table)).to_pandas()
        want = res.tables[table].drop(columns=["source", "mode", "labelset"])
        assert list(got.columns) == list(want.columns) and len(got) == len(want), table

    # JSON arrays are split on the driver into a local staging folder: a URI there is refused
    llava = tmp_path / "llava.json"
    llava.write_text(json.dumps([{"id": "1", "conversations": [{"from": "human", "value": "a goldfish"}]}]))
    with pytest.raises(UserError, match="--staging"):
        count(tmp_path, llava, "llava_uri", out=f"file://{tmp_path}/uri_out")
    res = count(tmp_path, llava, "llava_uri", staging=tmp_path / "staging", out=f"file://{tmp_path}/uri_out")
    assert stats(res)["docs_matched"] == 1 and stats(res)["files_failed"] == 0
