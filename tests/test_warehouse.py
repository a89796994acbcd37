"""The warehouse writer: replacing a slice is atomic, across several tables too."""
import duckdb
import pandas as pd
import pytest

from classfreq.queries import warehouse as wh


def _counts(n, run):
    return pd.DataFrame({"run_id": run, "source": "s", "mode": "default", "role": "all",
                         "labelset": "l", "version": "v", "class_index": range(n),
                         "form": "f", "ambiguous": False, "docs": 1, "mentions": 1})


def test_replace_rows_replaces_only_its_slice(tmp_path):
    con = wh.connect(tmp_path / "w.duckdb")
    wh.replace_rows(con, "counts", _counts(3, "r1"), {"source": "s"})
    other = _counts(2, "r0").assign(source="other")
    wh.replace_rows(con, "counts", other, {"source": "other"})
    assert wh.replace_rows(con, "counts", _counts(5, "r2"), {"source": "s"}) == 5
    got = con.execute("SELECT source, count(*), min(run_id) FROM counts GROUP BY 1 ORDER BY 1").fetchall()
    assert got == [("other", 2, "r0"), ("s", 5, "r2")]


def test_replace_tables_rolls_back_every_table_when_one_fails(tmp_path):
    con = wh.connect(tmp_path / "w.duckdb")
    wh.replace_rows(con, "counts", _counts(3, "r1"), {"source": "s"})
    bad = pd.DataFrame({"run_id": ["r2"], "source": ["s"], "docs_read": ["not a number"]})
    # the real error surfaces (not "transaction is aborted" from cleaning up inside the failed transaction)
    with pytest.raises(duckdb.ConversionException, match="not a number"):
        wh.replace_tables(con, [("counts", _counts(7, "r2"), {"source": "s"}),
                                ("source_stats", bad, {"source": "s"})])
    # the first table's delete+insert was undone with the second's failure
    assert con.execute("SELECT count(*), min(run_id) FROM counts").fetchone() == (3, "r1")
    assert con.execute("SELECT count(*) FROM source_stats").fetchone()[0] == 0


def test_read_only_missing_warehouse_is_one_sentence(tmp_path):
    from classfreq.errors import UserError
    with pytest.raises(UserError, match="does not exist"):
        wh.connect(tmp_path / "nope.duckdb", read_only=True)


def test_rows_are_inserted_by_column_name(tmp_path):
    """Columns in any order land in the same-named columns; missing ones are NULL; extra ones are left out."""
    con = wh.connect(tmp_path / "w.duckdb")
    shuffled = _counts(2, "r1")[["docs", "class_index", "source", "run_id", "form", "mentions"]].assign(not_a_column=1)
    assert wh.replace_rows(con, "counts", shuffled, {"source": "s"}) == 2
    got = con.execute("SELECT run_id, source, class_index, form, docs, mentions, mode, ambiguous FROM counts "
                      "ORDER BY class_index").fetchall()
    assert got == [("r1", "s", 0, "f", 1, 1, None, None), ("r1", "s", 1, "f", 1, 1, None, None)]
    # the same from a Parquet file
    pq = tmp_path / "c.parquet"
    _counts(3, "r3")[["mentions", "source", "run_id", "class_index"]].to_parquet(pq)
    assert wh.replace_rows(con, "counts", None, {"source": "s"}, parquet=pq) == 3
    got = con.execute("SELECT run_id, class_index, mentions, docs FROM counts ORDER BY class_index").fetchall()
    assert got == [("r3", 0, 1, None), ("r3", 1, 1, None), ("r3", 2, 1, None)]
    with pytest.raises(ValueError, match="share no column"):
        wh.replace_rows(con, "counts", pd.DataFrame({"x": [1]}), {"source": "s"})
    # the failed replace left the slice as it was
    assert con.execute("SELECT count(*) FROM counts").fetchone()[0] == 3
