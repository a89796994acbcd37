"""The task body of the RDD job over pieces (``count_classes``): a piece source
(``parquet_tasks.PieceSource``, ``record_tasks.RecordSource``) hands out pieces, each task reads and
counts its own and returns its partial rows summed (``partials``).

A source has ``pieces``, ``partitions(parallelism)``, ``without(files)`` and
``documents(piece, keep_details, failure)``: the piece's batches as ``count_batches`` takes them;
a source that can tell a piece it cannot read puts the reason in ``failure`` and stops.
"""
from __future__ import annotations

import pyarrow as pa

from classfreq.pipelines.count_batches import PARTIAL_SCHEMA, count_batches
from classfreq.pipelines.documents import ALL_ROLE
from classfreq.pipelines.partials import task_partials

FAILED = "failed"  # a partial row's kind: a piece that did not decode (file, reason in example)
HELD_ROWS = 250_000  # partial rows a task holds before summing them (summing again is exact)


def count_pieces(indexes, source, spec, keep_details: bool, progress=None):
    """mapPartitions body over piece indexes -> one pyarrow Table per task: its PARTIAL_SCHEMA rows
    summed within the task (``partials.task_partials``, also whenever more than HELD_ROWS are held:
    summing sums again, and picking the first matches among those picked, is exact); a piece that
    does not decode gives its ``failed`` row instead of its counts."""
    cap = spec.max_matches_per_class if keep_details else 0
    tables: list[pa.Table] = []
    for i in indexes:
        piece = source.pieces[i]
        failure: list[str] = []
        held: list[pa.Table] = []
        for batch in count_batches(source.documents(piece, keep_details, failure), spec, progress):
            held.append(pa.Table.from_batches([batch]))
            if sum(t.num_rows for t in held) > HELD_ROWS:  # bounded memory (kept matches carry their text)
                held = [task_partials(held, cap, spec.sample_seed)]
        tables += [pa.Table.from_batches([failed_row(piece.path, failure[0])])] if failure else held
        if sum(t.num_rows for t in tables) > HELD_ROWS:
            tables = [task_partials(tables, cap, spec.sample_seed)]
    yield task_partials(tables, cap, spec.sample_seed)


def failed_row(path: str, reason: str) -> pa.RecordBatch:
    values = {"kind": FAILED, "role": ALL_ROLE, "file": path, "docs": 1, "example": reason}
    return pa.RecordBatch.from_arrays([pa.array([values.get(f.name)], f.type) for f in PARTIAL_SCHEMA],
                                      schema=PARTIAL_SCHEMA)
