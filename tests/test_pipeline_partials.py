"""Partial rows summed without Spark (``partials``): however the rows are split among tasks, the
driver's sums and kept matches equal those of all rows at once, which equal the Spark route's."""
from __future__ import annotations

import random

import pandas as pd
import pyarrow as pa
import pytest

from classfreq.pipelines.count_batches import MATCH, PARTIAL_SCHEMA
from classfreq.pipelines.match_sample import first_per_class
from classfreq.pipelines.partials import driver_sums, task_partials


def partial_rows(seed: int, n: int = 400) -> list[dict]:
    """Partial rows of every kind, with null keys (role, idx, file), repeated keys and documents
    matched in several batches (the same doc_id twice for one class, with different texts)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        kind = rng.choice(["stat", "form", "class", "quar", MATCH, MATCH])
        row = {"kind": kind, "role": rng.choice(["all", "human", None]), "idx": rng.choice([0, 1, 2, None]),
               "name": rng.choice(["docs_read", "3", None]), "file": rng.choice(["f1", None]),
               "docs": rng.randint(0, 5), "docs_clean": rng.choice([None, rng.randint(0, 3)]),
               "mentions": rng.randint(0, 9), "example": rng.choice([None, "b", "a", "ü"])}
        if kind == MATCH:
            row.update(role="all", idx=rng.randint(0, 3), name=str(rng.randint(0, 2)), file=None, docs=1,
                       doc_id=f"d{rng.randint(0, 40)}", url=rng.choice([None, "http://u"]),
                       text=rng.choice(["x", "y"]), nsfw=rng.choice([None, "UNLIKELY"]),
                       punsafe=rng.choice([None, 0.25]))
        rows.append(row)
    return rows


def as_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PARTIAL_SCHEMA)


def least(values: pd.Series):
    present = values.dropna()
    return min(present) if len(present) else None


def expected(rows: list[dict], cap: int, seed: int):
    """The Spark route's result, written plainly in pandas."""
    frame = pd.DataFrame(rows, columns=PARTIAL_SCHEMA.names)
    other = frame[frame.kind != MATCH]
    sums = (other.groupby(["kind", "role", "idx", "name", "file"], dropna=False)
            .agg(docs=("docs", lambda s: s.sum(min_count=1)), docs_clean=("docs_clean", lambda s: s.sum(min_count=1)),
                 mentions=("mentions", lambda s: s.sum(min_count=1)), example=("example", least))
            .reset_index())
    m = frame[frame.kind == MATCH]
    keep = first_per_class(m[["idx", "doc_id"]].drop_duplicates(), cap, seed)
    matches = (m.merge(keep, on=["idx", "doc_id"]).groupby(["idx", "doc_id", "name"])
               .agg(url=("url", least), text=("text", least), nsfw=("nsfw", least), punsafe=("punsafe", least))
               .reset_index())
    return sums, matches


def canonical(frame: pd.DataFrame) -> list[tuple]:
    """The rows as sortable tuples: nulls as "<null>", whole floats as ints (nullable ints are floats in pandas)."""
    return sorted(tuple("<null>" if pd.isna(v) else repr(int(v) if isinstance(v, float) and v.is_integer() else v)
                        for v in row) for row in frame.itertuples(index=False))


@pytest.mark.parametrize("tasks", [1, 2, 7])
@pytest.mark.parametrize("cap", [0, 1, 3])
def test_sums_and_kept_matches_do_not_depend_on_how_rows_are_split_among_tasks(tasks, cap):
    rows = partial_rows(seed=tasks * 10 + cap)
    random.Random(cap).shuffle(rows)
    split = [as_table(rows[i::tasks]) for i in range(tasks)]
    sums, matches = driver_sums([task_partials([t], cap, seed=5) for t in split], cap, seed=5)
    want_sums, want_matches = expected(rows, cap, seed=5)
    assert canonical(sums) == canonical(want_sums[sums.columns])
    if cap == 0:
        assert matches is None
        return
    assert canonical(matches) == canonical(want_matches[matches.columns])
    assert matches.groupby("idx").doc_id.nunique().max() <= cap
    assert len(want_matches) > 0 and want_matches.groupby("idx").doc_id.nunique().max() == cap  # the cap bites


@pytest.mark.parametrize("cap", [0, 2])
def test_a_task_may_sum_what_it_holds_again_and_again(cap):
    """A task sums its held rows whenever they grow (piece_tasks.HELD_ROWS): folding the rows in
    chunk by chunk gives what summing them once does."""
    rows = partial_rows(seed=3, n=600)
    folded = task_partials([], cap, seed=5)
    for lo in range(0, len(rows), 37):
        folded = task_partials([folded, as_table(rows[lo:lo + 37])], cap, seed=5)
    got = driver_sums([folded], cap, seed=5)
    want = driver_sums([as_table(rows)], cap, seed=5)
    assert canonical(got[0]) == canonical(want[0])
    if cap:
        assert canonical(got[1]) == canonical(want[1])


def test_a_task_without_rows_and_a_run_without_tasks_sum_to_nothing():
    empty = task_partials([], 3, seed=1)
    assert empty.num_rows == 0 and empty.schema == PARTIAL_SCHEMA
    sums, matches = driver_sums([], 3, seed=1)
    assert sums.empty and matches.empty
    assert list(sums.columns) == ["kind", "role", "idx", "name", "file", "docs", "docs_clean", "mentions", "example"]
