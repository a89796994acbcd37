"""Line files and staged records read in the Python tasks (``record_tasks``, ``--text-scan python``):
every table identical to Spark's readers' (``--text-scan spark``) for every non-Parquet format, on
the shared corpora and on odd files cut into pieces at every byte."""
from __future__ import annotations

import gzip
import json

import pytest
from pipeline_support import assert_invariant, count, spark_session, stats
from test_readers_robust import assert_same_tables

from classfreq.pipelines.reader import ReadOptions
from classfreq.pipelines.readers import read_documents
from classfreq.pipelines.record_tasks import GZIP, LINES, _range_lines, plan_lines


def both_text_scans(tmp_path, inputs, source: str, **options) -> tuple:
    spark = count(tmp_path, inputs, source, out=tmp_path / "out_spark", warehouse=tmp_path / "spark.duckdb",
                  text_scan="spark", staging=str(tmp_path / "staging_spark"), **options)
    python = count(tmp_path, inputs, source, out=tmp_path / "out_python", warehouse=tmp_path / "python.duckdb",
                   text_scan="python", staging=str(tmp_path / "staging_python"), **options)
    return spark, python


@pytest.mark.parametrize("path, fmt", [
    ("cc3m_val/Validation_GCC-1.1.0-Validation.tsv", "cc3m"),
    ("flickr8k/Flickr8k.token.txt", "flickr"),
    ("coco_val2017/captions_val2017.json", "coco"),
    ("llava_samples/qa90_gpt4_answer.jsonl", "jsonl"),
    ("llava_samples/caps_boxes_coco2014_val_80.jsonl", "jsonl"),  # lists of captions: documents with parts
])
def test_shared_corpora_count_as_with_sparks_readers(tmp_path, shared, path, fmt):
    column = {"caps_boxes_coco2014_val_80.jsonl": "captions"}.get(path.rsplit("/", 1)[-1])
    a, b = both_text_scans(tmp_path, f"{shared}/captions/{path}", "shared", format=fmt, max_matches_per_class=3,
                           text_column=column)
    assert_same_tables(a, b)
    assert stats(b)["docs_read"] >= 80
    assert "reading" in b.timings


ODD_LINES = [b'{"id": 1, "text": "a goldfish in a bowl"}', b"", b"\r", b"   ", b'{"id": 2, "text": "tiger shark"}\r',
             b"\xef\xbb\xbf" + b'{"id": 3, "text": "a BOM line"}', b'{"id": 4, "text": "bad \xff bytes"}',
             b"not json at all", b'{"id": 5, "text": ["two", "goldfish captions"]}', b'{"id": 6}',
             b'{"id": 7, "text": "' + b"tench " * 3000 + b'"}', b'{"id": 8, "text": "\xf0\x9f\x90\x9f emoji goldfish"}',
             b'["an array"]', b'{"id": 9, "text": "no newline at the end: a tench"}']


@pytest.mark.parametrize("piece_bytes", [1, 7, 64, 1 << 20])
def test_odd_jsonl_cut_into_pieces_anywhere_counts_as_with_sparks_reader(tmp_path, monkeypatch, piece_bytes):
    """Blank and white-space lines, CRLF, a BOM, invalid UTF-8, a huge line, no final newline, a
    list of captions, and pieces of 1 byte to 1 MiB: each record read once, as Spark reads it."""
    from classfreq.pipelines import record_tasks

    monkeypatch.setattr(record_tasks, "PIECE_BYTES", piece_bytes)
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b"\n".join(ODD_LINES))
    packed = tmp_path / "gz"
    packed.mkdir()
    with gzip.open(packed / "odd.jsonl.gz", "wb") as f:  # a gzip file of two members, as `cat a.gz b.gz` makes
        f.write(b"\n".join(ODD_LINES[:6]) + b"\n")
    with gzip.open(packed / "odd.jsonl.gz", "ab") as f:
        f.write(b"\n".join(ODD_LINES[6:]))
    for inputs in (path, packed / "odd.jsonl.gz"):
        a, b = both_text_scans(tmp_path, inputs, "odd", format="jsonl", max_matches_per_class=2)
        assert_same_tables(a, b)
        s = stats(b)
        assert (s["docs_read"], s["docs_quarantined"]) == (11, 4)
        assert_invariant(b)


def test_file_names_spark_escapes_or_keeps_are_named_as_spark_names_them(tmp_path, monkeypatch):
    """Spark keeps non-ASCII characters in a file's URI but ISO controls and space characters
    (java.net.URI's "other"): a zero-width space and a soft hyphen stay, a no-break space and an
    ideographic space are escaped, as are ASCII ones such as space, "#" and "%"; the piece path
    holds two pieces and several records per piece."""
    from classfreq.pipelines import record_tasks

    monkeypatch.setattr(record_tasks, "PIECE_BYTES", 64)
    folder = tmp_path / "names"
    folder.mkdir()
    name = "a\u200bb\u00adc\u00a0d\u3000e f#g%h\u00e9.jsonl"
    (folder / name).write_bytes(b"\n".join(ODD_LINES[:8]))
    a, b = both_text_scans(tmp_path, folder / name, "names", format="jsonl", max_matches_per_class=2)
    assert_same_tables(a, b)
    assert "\u200b" in b.tables["quarantine"].file.iloc[0] and "%C2%A0" in b.tables["quarantine"].file.iloc[0]


def test_every_line_lands_in_exactly_one_piece(tmp_path):
    data = b"a\n\nbb\r\nccc\n\n\ndddd"
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    for size in range(1, len(data) + 2):
        source = plan_lines([str(path)], None, None, True, False, piece_bytes=size)
        assert {p.kind for p in source.pieces} == {LINES}
        lines = [line for p in source.pieces for line in _range_lines(p)]
        assert lines == data.split(b"\n"), size


def test_plan_leaves_other_codecs_and_hadoop_uris_to_spark(tmp_path):
    for name in ("a.jsonl.bz2", "a.jsonl.zst"):
        (tmp_path / name).write_bytes(b"")
        assert plan_lines([str(tmp_path / name)], None, None, True, False) is None
    assert plan_lines(["hdfs://nn/x.jsonl"], None, None, True, False) is None
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b"{}\n"))
    assert [p.kind for p in plan_lines([str(tmp_path / "a.jsonl.gz")], None, None, True, False).pieces] == [GZIP]


def test_csv_with_quoted_newlines_and_a_json_array_count_as_with_sparks_readers(tmp_path):
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes(b'\xef\xbb\xbfid,text\n1,"a goldfish\nover two lines"\n2,tiger shark\n3,"unclosed\n')
    a, b = both_text_scans(tmp_path, csv_path, "csv", format="csv", max_matches_per_class=2, allow_all_bad=True)
    assert_same_tables(a, b)
    records = [{"id": str(i), "conversations": [{"from": "human", "value": f"is it a tench {i}?"},
                                                {"from": "gpt", "value": "a goldfish"}]} for i in range(40)]
    array = tmp_path / "llava.json"
    array.write_text(json.dumps(records)[:-3] + "]]},\n" + json.dumps(records)[1:])  # a record cut short
    a, b = both_text_scans(tmp_path, array, "llava", format="llava", max_matches_per_class=2)
    assert_same_tables(a, b)
    assert stats(b)["docs_quarantined"] >= 1


def test_the_python_tasks_read_what_they_can_and_spark_the_rest(tmp_path, shared):
    tsv = f"{shared}/captions/cc3m_val/Validation_GCC-1.1.0-Validation.tsv"
    on = read_documents(spark_session(), [tsv], "cc3m", ReadOptions(staging=str(tmp_path)))
    off = read_documents(spark_session(), [tsv], "cc3m", ReadOptions(staging=str(tmp_path), python_text=False))
    assert on.pieces is not None and off.pieces is None
    assert "docs" not in vars(on)  # Spark's reader not even planned
    assert on.docs.count() == off.docs.count() > 10_000  # the fallback, built on first use
