"""Records lost or invented (issue 11), each case on a file written exactly in the failing shape,
through the real reader (``readers.read_documents`` in Spark) and, for a representative subset,
through the whole counting job: LLaVA arrays with broken records, arrays back to back, BOMs; CSV
with quoted newlines, BOM, 1 MB fields; white-space records; corrupt or mixed-type Parquet."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline_support import assert_invariant, class_docs, count, spark_session, stats
from pyspark.errors.exceptions.captured import CapturedException
from test_pipeline import CAPTIONS, reference_class_docs

from classfreq.pipelines.format_csv import UNCLOSED_QUOTE
from classfreq.pipelines.json_array_splitter import SKIPPED_BROKEN, SKIPPED_OUTSIDE
from classfreq.pipelines.reader import ReadOptions
from classfreq.pipelines.readers import read_documents

BOM = b"\xef\xbb\xbf"


def sample(i: int, answer: str = "a goldfish") -> dict:
    return {"id": str(i), "image": f"{i}.jpg", "conversations": [
        {"from": "human", "value": f"<image>\nWhat is in picture {i}?"}, {"from": "gpt", "value": answer}]}


def array(records: list[str], sep: str = ", ") -> bytes:
    return ("[" + sep.join(records) + "]").encode()


def read(tmp_path, name: str, data: bytes, fmt: str, **options):
    """(valid documents, {reason: n} of quarantined records, failed files) of one file."""
    path = tmp_path / name
    path.write_bytes(data)
    return read_files(tmp_path, [path], fmt, **options)


def read_files(tmp_path, paths, fmt: str, **options):
    opts = ReadOptions(staging=str(tmp_path / "staging"), **options)
    res = read_documents(spark_session(), [str(p) for p in paths], fmt, opts)
    docs = res.docs.toPandas()
    valid = docs[docs.reason.isna()]
    reasons = docs[docs.reason.notna()].reason.value_counts().to_dict()
    return valid, reasons, res.failed


# --- LLaVA JSON arrays ----------------------------------------------------------------------------

@pytest.mark.parametrize("sep", [", ", ",\n  "])
def test_llava_record_whose_brackets_close_early_costs_only_itself(tmp_path, sep):
    records = [json.dumps(sample(i)) for i in range(3)]
    records[0] = records[0].replace('goldfish"}]}', 'goldfish"}]]}')  # `…"value":"a goldfish"}]]},`
    valid, reasons, failed = read(tmp_path, "early.json", array(records, sep), "llava")
    assert sorted(valid.doc_id) == ["1", "2"] and reasons == {SKIPPED_BROKEN: 1} and not failed


@pytest.mark.parametrize("damage", [
    lambda r: r[:-1],                                                     # the sample's `}` missing
    lambda r: r.replace('"a goldfish"}', '"a goldfish"'),                  # a turn's `}` missing
    lambda r: r.replace('"a goldfish"}]}', '"a goldfish"'),                # nothing closed
])
def test_llava_unclosed_brace_in_record_3_of_95_costs_only_that_record(tmp_path, damage):
    records = [json.dumps(sample(i)) for i in range(95)]
    records[2] = damage(records[2])
    valid, reasons, _ = read(tmp_path, "unclosed.json", array(records), "llava")
    assert len(valid) == 94 and "2" not in set(valid.doc_id) and reasons == {SKIPPED_BROKEN: 1}


def test_llava_arrays_back_to_back_and_boms_are_all_read(tmp_path):
    a = json.dumps([sample(1), sample(2)], indent=2).encode()
    b = json.dumps([sample(3)]).encode()
    valid, reasons, failed = read(tmp_path, "cat.json", BOM + a + b"\n" + BOM + b + b"\n", "llava")
    assert sorted(valid.doc_id) == ["1", "2", "3"] and not reasons and not failed
    valid, reasons, _ = read(tmp_path, "junk.json", a + b"\n-- the end --\n", "llava")
    assert len(valid) == 2 and reasons == {SKIPPED_OUTSIDE: 1}


def test_coco_objects_back_to_back_are_all_read(tmp_path):
    coco = {"info": {}, "images": [{"id": 1}], "annotations": [{"image_id": 1, "id": 2, "caption": "a goldfish"}]}
    data = BOM + json.dumps(coco).encode() + b"\n" + json.dumps({**coco, "annotations": [
        {"image_id": 1, "id": 3, "caption": "a tabby cat"}]}).encode()
    valid, reasons, _ = read(tmp_path, "captions_cat.json", data, "coco")
    assert sorted(valid.doc_id) == ["2", "3"] and not reasons


# --- CSV ------------------------------------------------------------------------------------------

def test_csv_quoted_newlines_are_one_record_and_invent_none(tmp_path):
    data = b'id,text\n1,"a goldfish\nin a bowl"\n2,"three\r\nline\ncaption"\n3,plain\n'
    valid, reasons, _ = read(tmp_path, "multi.csv", data, "csv")
    assert list(valid.doc_id) == ["1", "2", "3"] and not reasons
    assert list(valid.text) == ["a goldfish\nin a bowl", "three\r\nline\ncaption", "plain"]


def test_csv_bom_is_not_part_of_the_header(tmp_path):
    valid, reasons, _ = read(tmp_path, "bom.csv", BOM + b"text,id\na goldfish,1\n", "csv",
                             header=("text", "id"))
    assert list(valid.text) == ["a goldfish"] and not reasons
    from classfreq.pipelines.format_csv import read_header
    (tmp_path / "bom2.csv").write_bytes(BOM + b"text,id\nx,1\n")
    assert read_header(spark_session(), str(tmp_path / "bom2.csv")) == ("text", "id")


def test_csv_one_megabyte_field_is_a_document(tmp_path):
    big = "goldfish " + "x" * (1 << 20)
    valid, reasons, _ = read(tmp_path, "big.csv", f'id,text\n1,"{big}"\n2,b\n'.encode(), "csv", header=("id", "text"))
    assert list(valid.text) == [big, "b"] and not reasons


def test_csv_unclosed_quote_costs_only_its_line(tmp_path):
    data = b'id,text\n1,a\n2,"never closed\n3,b\n4,c\n'
    valid, reasons, _ = read(tmp_path, "open.csv", data, "csv", header=("id", "text"))
    assert list(valid.doc_id) == ["1", "3", "4"] and reasons == {UNCLOSED_QUOTE: 1}


# --- white space ----------------------------------------------------------------------------------

def test_white_space_records_are_documents(tmp_path):
    valid, reasons, _ = read(tmp_path, "ws.tsv", b"   \t   \n\t\na goldfish\thttp://a\n\n", "cc3m")
    assert list(valid.text) == ["   ", "", "a goldfish"] and not reasons
    valid, reasons, _ = read(tmp_path, "ws.csv", b"text\n   \n\t\na goldfish\n", "csv", header=("text",))
    assert list(valid.text) == ["   ", "\t", "a goldfish"] and not reasons


# --- Parquet --------------------------------------------------------------------------------------

def corrupt_pages(good: bytes) -> bytes:
    """The file with its first data page overwritten, footer intact."""
    data = bytearray(good)
    for i in range(100, min(4000, len(data) // 2)):
        data[i] = (data[i] * 7 + 13) % 256
    return bytes(data)


def corrupt_column(path, column: str) -> None:
    """Overwrite the first data page of ``column`` (its header and values) in place; the footer and
    the other columns stay intact."""
    meta = pq.read_metadata(path).row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
    start = chunk.data_page_offset
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(bytes((i * 131 + 7) % 256 for i in range(min(chunk.total_compressed_size, 4000))))


def laion_rows(n: int, first: int = 0) -> pa.Table:
    ids = pa.array(range(first, first + n), pa.int64())
    return pa.table({"SAMPLE_ID": ids, "URL": [f"http://x/{i}" for i in range(first, first + n)],
                     "TEXT": [f"a goldfish {i}" for i in range(first, first + n)]})


def test_parquet_corrupt_id_column_fails_its_file_when_pages_are_checked(tmp_path):
    """Corrupt pages in a column other than the text column (LAION's SAMPLE_ID, which becomes the
    doc id) crashed the Spark job: the page check decodes every column the job reads."""
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(3000), folder / "a.parquet", use_dictionary=False)
    pq.write_table(laion_rows(2000, 3000), folder / "b.parquet", use_dictionary=False)
    corrupt_column(folder / "b.parquet", "SAMPLE_ID")
    assert pq.read_table(folder / "b.parquet", columns=["TEXT"]).num_rows == 2000  # the text column is intact
    with pytest.raises(OSError, match="page header"):
        pq.read_table(folder / "b.parquet", columns=["SAMPLE_ID"])
    valid, reasons, failed = read_files(tmp_path, sorted(folder.iterdir()), "laion", check_pages=True)
    assert len(valid) == 3000 and not reasons and set(valid.doc_id) == {str(i) for i in range(3000)}
    assert [p.rsplit("/", 1)[1] for p, _ in failed] == ["b.parquet"]
    assert failed[0][1].startswith("unreadable Parquet file")


def test_parquet_corrupt_pages_and_mixed_types_fail_one_file_each(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.table({"TEXT": [f"a goldfish {i} " * 4 for i in range(5000)]}), folder / "a.parquet")
    pq.write_table(pa.table({"TEXT": ["a tabby cat"] * 10}), folder / "b.parquet")
    (folder / "c.parquet").write_bytes(corrupt_pages((folder / "a.parquet").read_bytes()))
    pq.write_table(pa.table({"TEXT": [1, 2, 3]}), folder / "d.parquet")
    valid, reasons, failed = read_files(tmp_path, sorted(folder.iterdir()), "laion", check_pages=True)
    assert len(valid) == 5010 and not reasons
    why = dict((p.rsplit("/", 1)[1], r) for p, r in failed)
    assert set(why) == {"c.parquet", "d.parquet"}
    assert why["c.parquet"].startswith("unreadable Parquet file") and "int64" in why["d.parquet"]


# --- through the whole job ------------------------------------------------------------------------

def test_count_llava_with_a_broken_record_and_arrays_back_to_back(tmp_path):
    records = [json.dumps(sample(i, "a goldfish" if i % 2 else "a tabby cat")) for i in range(95)]
    records[2] = records[2][:-1]
    path = tmp_path / "llava.json"
    path.write_bytes(BOM + array(records[:50]) + b"\n" + array(records[50:]) + b"\n")
    res = count(tmp_path, path, "llava_broken", format="llava")
    s = stats(res)
    assert (s["docs_read"], s["docs_quarantined"], s["files_failed"]) == (95, 1, 0)
    assert_invariant(res)
    assert res.tables["quarantine"].reason.tolist() == [SKIPPED_BROKEN]


def test_count_csv_of_real_captions_with_quoted_newlines_matches_the_reference(shared, tmp_path):
    """30,000-caption CSVs with quoted newlines were read as 30,097 records; here 25k real COCO
    captions, 97 of them with a newline inside quotes, a BOM and a 1 MB caption."""
    anns = json.loads((shared / CAPTIONS / "coco_val2017" / "captions_val2017.json").read_text())["annotations"]
    texts = {str(a["id"]): a["caption"].strip() for a in anns}
    for k in list(texts)[::len(texts) // 97][:97]:
        texts[k] = texts[k].replace(" ", "\n", 1)
    texts["big"] = "a goldfish " + "x" * (1 << 20)
    texts["blank"] = "   "
    rows = "".join(f'{k},"{v.replace(chr(34), chr(34) * 2)}"\r\n' for k, v in texts.items())
    path = tmp_path / "coco.csv"
    path.write_bytes(BOM + ("id,caption\r\n" + rows).encode())
    res = count(tmp_path, path, "coco_csv", text_column="caption")
    s = stats(res)
    assert (s["docs_read"], s["docs_quarantined"]) == (len(texts), 0)
    assert class_docs(res) == reference_class_docs({k: [v] for k, v in texts.items()})


@pytest.mark.parametrize("column", ["SAMPLE_ID", "TEXT"])
def test_count_parquet_with_a_corrupt_column_fails_one_file_and_recounts_the_rest(tmp_path, column, capfd):
    """Spark's JVM scan (--parquet-scan spark, and Hadoop URIs) reads optimistically (no page decoded
    before Spark counts); the Spark job fails on the corrupt file, the pages are checked, and the
    rest is counted again, exactly."""
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(3000), folder / "a.parquet", use_dictionary=False)
    pq.write_table(laion_rows(2000, 3000), folder / "b.parquet", use_dictionary=False)
    corrupt_column(folder / "b.parquet", column)
    res = count(tmp_path, folder, "pq_corrupt_" + column.lower(), max_matches_per_class=3, parquet_scan="spark")
    s = stats(res)
    assert (s["docs_read"], s["docs_matched"], s["files_failed"]) == (3000, 3000, 1)
    q = res.tables["quarantine"]
    assert q.file.str.rsplit("/", n=1).str[-1].tolist() == ["b.parquet"] and q.n.tolist() == [0]
    assert q.example.iloc[0].startswith("unreadable Parquet file")
    assert "checking pages" in res.timings
    assert_invariant(res)
    err = capfd.readouterr().err  # one sentence, not Spark's ERROR lines and Java stack trace
    assert "the Spark job failed" in err and "b.parquet" in err
    assert "Exception in task" not in err and "\tat org.apache" not in err


def test_count_parquet_folder_whose_id_columns_disagree_fails_the_odd_file(tmp_path):
    """SAMPLE_ID string in one file, int64 in the others: Spark reads every file as one file's
    type and fails; the odd file fails alone, from the footers checked after that failure."""
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(1000), folder / "a.parquet")
    pq.write_table(laion_rows(1000, 1000), folder / "b.parquet")
    odd = laion_rows(500, 2000)
    pq.write_table(odd.set_column(0, "SAMPLE_ID", odd.column(0).cast(pa.string())), folder / "c.parquet")
    res = count(tmp_path, folder, "pq_mixed_ids")
    s = stats(res)
    assert (s["docs_read"], s["docs_matched"], s["files_failed"]) == (2000, 2000, 1)
    q = res.tables["quarantine"]
    assert q.file.str.rsplit("/", n=1).str[-1].tolist() == ["c.parquet"]
    assert "id column 'SAMPLE_ID' is string, that of the other 2 file(s) is int64" in q.example.iloc[0]
    assert "checking pages" in res.timings  # found after the optimistic Spark job failed
    assert_invariant(res)


def test_count_parquet_reads_pages_once_when_nothing_is_corrupt(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(3000), folder / "a.parquet")
    res = count(tmp_path, folder, "pq_ok")
    assert stats(res)["docs_read"] == 3000 and stats(res)["files_failed"] == 0
    assert "checking pages" not in res.timings


def test_count_parquet_folder_with_a_corrupt_and_a_mixed_type_file_finishes(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.table({"TEXT": [f"a goldfish {i} " * 4 for i in range(5000)]}), folder / "a.parquet")
    (folder / "b.parquet").write_bytes(corrupt_pages((folder / "a.parquet").read_bytes()))
    pq.write_table(pa.table({"TEXT": [1, 2, 3]}), folder / "c.parquet")
    res = count(tmp_path, folder, "pq_bad")
    s = stats(res)
    assert (s["docs_read"], s["docs_matched"], s["files_failed"]) == (5000, 5000, 2)
    q = res.tables["quarantine"]
    assert sorted(q[q.n == 0].file.str.rsplit("/", n=1).str[-1]) == ["b.parquet", "c.parquet"]
    assert_invariant(res)


def test_count_parquet_whose_page_check_fails_too_raises_the_spark_jobs_error(tmp_path):
    """Spark cannot read a TIME column (the id), pyarrow can: the Spark job fails, and the page
    check run after it fails again in Spark. The error raised is the first one, the page check's
    attached (its note, and the context), not the page check's in its place."""
    folder = tmp_path / "pq"
    folder.mkdir()
    rows = laion_rows(100)
    pq.write_table(rows.set_column(0, "SAMPLE_ID", rows.column(0).cast(pa.time64("ns"))), folder / "a.parquet")
    with pytest.raises(CapturedException, match="TIME") as caught:
        count(tmp_path, folder, "pq_time")
    assert [n for n in getattr(caught.value, "__notes__", []) if "the page check run after this failure failed too"]
    assert isinstance(caught.value.__context__, CapturedException) and caught.value.__context__ is not caught.value


def test_count_parquet_bug_in_python_is_raised_without_checking_pages(tmp_path, monkeypatch, capsys):
    """A driver-side Python error (a bug of ours, here injected where the count's Spark job has
    finished) is no Spark job failure: no page check, the error as it is."""
    from classfreq.pipelines import count_classes

    def bug(staging):
        raise TypeError("a bug of ours")

    monkeypatch.setattr(count_classes, "_remove_staging", bug)
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(100), folder / "a.parquet")
    with pytest.raises(TypeError, match="a bug of ours"):
        count(tmp_path, folder, "pq_bug")
    assert "decoding the pages" not in capsys.readouterr().err


# --- Parquet read by pyarrow in the Python tasks (parquet_tasks), against Spark's JVM scan ----------

TABLES = ("counts", "class_counts", "source_stats", "quarantine", "doc_matches")
ODD_TEXTS = [b"a goldfish", b"bad \xff\xfe goldfish", None, b"", "金魚 goldfish".encode(), b"\xed\xa0\x80 tench",
             b"a tench " + b"x" * 600 + b"\xc3", b"\xf0\x9f\x98 a tabby cat", b"   \t "]


def both_scans(tmp_path, inputs, source: str, **options) -> tuple:
    """The same run with Spark's JVM scan and with pyarrow in the tasks: (spark result, python result)."""
    spark = count(tmp_path, inputs, source, out=tmp_path / "out_spark", warehouse=tmp_path / "spark.duckdb",
                  parquet_scan="spark", **options)
    python = count(tmp_path, inputs, source, out=tmp_path / "out_python", warehouse=tmp_path / "python.duckdb",
                   parquet_scan="python", **options)
    return spark, python


def assert_same_tables(a, b, tables=TABLES) -> None:
    assert set(a.tables) == set(b.tables)
    for table in (t for t in tables if t in a.tables):
        x, y = (r.tables[table].drop(columns=["run_id"], errors="ignore") for r in (a, b))
        x, y = (t.sort_values(list(t.columns), ignore_index=True) for t in (x, y))
        assert x.equals(y), (table, x.compare(y) if x.shape == y.shape else (x.shape, y.shape))


def odd_file(path, n_reps: int, ids=None, string_column: bool = False, **extra) -> None:
    texts = pa.array(ODD_TEXTS * n_reps, pa.binary())
    columns = {"TEXT": texts.view(pa.string()) if string_column else texts, **extra}  # a string column, bytes unchecked
    if ids is not None:
        columns["SAMPLE_ID"] = ids
    pq.write_table(pa.table(columns), path, row_group_size=40, use_dictionary=False)


@pytest.mark.parametrize("layout", ["int ids", "string ids with nulls", "no ids", "string column"])
@pytest.mark.parametrize("cap", [0, 3])
def test_parquet_in_tasks_quarantines_and_counts_as_the_jvm_scan(tmp_path, monkeypatch, layout, cap):
    """Every quarantine case (invalid UTF-8 of several kinds, surrogates, truncated sequences, null
    text, long examples cut), ids from the id column or ``file:row``, file names Spark escapes, and
    files cut into several pieces: every table identical to the JVM scan's."""
    from classfreq.pipelines import parquet_tasks

    monkeypatch.setattr(parquet_tasks, "ROWS_PER_PIECE", 100)  # 40-row groups: several pieces per file
    folder = tmp_path / "pq"
    folder.mkdir()
    n = len(ODD_TEXTS) * 30
    for k, name in enumerate(["a b#ü%.parquet", "plain.parquet"]):
        first = k * n
        ids = {"int ids": pa.array(range(first, first + n), pa.int64()),
               "string ids with nulls": pa.array([None if i % 7 == 0 else f"s{i}" for i in range(first, first + n)]),
               }.get(layout)
        extra = {"URL": [f"http://x/{i}" for i in range(n)], "NSFW": ["UNLIKELY"] * n,
                 "punsafe": pa.array([i / n for i in range(n)], pa.float32())}
        odd_file(folder / name, 30, ids=ids, string_column=layout == "string column", **extra)
    files = sorted(str(p) for p in folder.iterdir())
    assert read_documents(spark_session(), files, "laion", ReadOptions()).pieces is not None  # read in the tasks
    a, b = both_scans(tmp_path, folder, "odd", max_matches_per_class=cap)
    assert_same_tables(a, b)
    s = stats(b)
    assert (s["docs_read"], s["files_failed"]) == (2 * n, 0)
    q = b.tables["quarantine"]
    assert set(q.reason) == {"invalid UTF-8 bytes", "record without a text field ('TEXT')"}
    assert q.file.str.startswith("file:").all() and q.file.str.contains("a%20b%23ü%25.parquet").any()
    assert_invariant(b)


@pytest.mark.parametrize("column", ["TEXT", "SAMPLE_ID"])
@pytest.mark.parametrize("pieces", [1, 3])
def test_parquet_in_tasks_a_corrupt_piece_fails_its_file_and_the_job_finishes(tmp_path, monkeypatch, column, pieces):
    """A page that does not decode, in a file read as one piece or as several (its other pieces
    counted, then the count done again without the file): one files_failed row, the other files
    counted exactly, no Spark job failure and no page check; as the JVM scan's tables."""
    from classfreq.pipelines import parquet_tasks

    monkeypatch.setattr(parquet_tasks, "ROWS_PER_PIECE", 10_000 if pieces == 1 else 700)
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(laion_rows(3000), folder / "a.parquet", use_dictionary=False)
    pq.write_table(laion_rows(2000, 3000), folder / "b.parquet", use_dictionary=False, row_group_size=700)
    meta = pq.read_metadata(folder / "b.parquet").row_group(pieces - 1)  # the last piece's first group
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
    with open(folder / "b.parquet", "r+b") as f:
        f.seek(chunk.data_page_offset)
        f.write(bytes((i * 131 + 7) % 256 for i in range(min(chunk.total_compressed_size, 4000))))
    a, b = both_scans(tmp_path, folder, "pq_corrupt", max_matches_per_class=3)
    s = stats(b)
    assert (s["docs_read"], s["docs_matched"], s["files_failed"]) == (3000, 3000, 1)
    assert "checking pages" not in b.timings and "checking pages" in a.timings
    q = b.tables["quarantine"]
    assert q.file.str.rsplit("/", n=1).str[-1].tolist() == ["b.parquet"] and q.n.tolist() == [0]
    assert q.example.iloc[0].startswith("unreadable Parquet file")
    assert_same_tables(a, b, ("counts", "class_counts", "doc_matches"))
    assert_invariant(b)


def test_parquet_in_tasks_plans_pieces_only_where_it_reads_as_spark_does():
    """The JVM scan stays for what only it reads the same way: a list or number text column, a
    double id (Spark's 1.0E10), files that disagree on a column's type, dictionary columns."""
    from classfreq.pipelines.parquet_tasks import PieceSource

    def plan(*kinds):
        files = [f"/x/{i}.parquet" for i in range(len(kinds))]
        return PieceSource.plan(files, dict(zip(files, kinds)), {f: [300, 300, 300] for f in files}, rows_per_piece=500)

    ok = {"text": ("TEXT", "string"), "id": ("SAMPLE_ID", "int64"), "punsafe": ("punsafe", "float")}
    source = plan(ok, ok)
    assert [(p.path, p.groups, p.first_row) for p in source.pieces] == [
        ("/x/0.parquet", (0, 1), 0), ("/x/0.parquet", (2,), 600), ("/x/1.parquet", (0, 1), 0), ("/x/1.parquet", (2,), 600)]
    assert plan({"text": ("TEXT", "binary")}) is not None
    for odd in ({"text": ("TEXT", "list<string>")}, {"text": ("TEXT", "int64")},
                {**ok, "id": ("SAMPLE_ID", "double")}, {"text": ("TEXT", "dictionary<values=string, indices=int32>")},
                {**ok, "url": ("URL", "int64")}):
        assert plan(odd) is None, odd
    assert plan(ok, {**ok, "id": ("SAMPLE_ID", "string")}) is None
