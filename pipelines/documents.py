"""The one row shape every reader produces: a document, or a quarantined record with its reason.

A document has either `text` (one caption, role 'all') or `parts` (several texts, each with a
role: LLaVA turns, or the captions of one image with `--doc-unit image`), stored as a JSON string
`[{"role": ..., "text": ...}, ...]`: Spark hands a null string column to Python ~20x faster than
a null array<struct> column, and most corpora have no parts. Each part is matched
on its own and the hits are united per document, so no match spans two turns or captions.
"""
from __future__ import annotations

import json

import pyarrow as pa

ALL_ROLE = "all"
EXAMPLE_CHARS = 500

DOC_SCHEMA = pa.schema([
    ("doc_id", pa.string()),
    ("text", pa.string()),
    ("parts", pa.string()),      # JSON list of {"role", "text"}
    ("url", pa.string()),
    ("nsfw", pa.string()),
    ("punsafe", pa.float64()),
    ("group_id", pa.string()),   # the image a caption belongs to (for --doc-unit image)
    ("file", pa.string()),
    ("reason", pa.string()),     # quarantine reason; null for a valid document
    ("example", pa.string()),    # the offending record, truncated
])
DOC_DDL = ("doc_id string, text string, parts string, url string, "
           "nsfw string, punsafe double, group_id string, file string, reason string, example string")
COLUMNS = [f.name for f in DOC_SCHEMA]


def truncate(value, limit: int = EXAMPLE_CHARS) -> str:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[:limit * 4]).decode("utf-8", errors="backslashreplace")
    value = str(value)
    return value if len(value) <= limit else value[:limit] + "…"


class DocBuffer:
    """Collects rows (one tuple each, in DOC_SCHEMA's order: a parser adds one per record, so the
    per-row cost is the parsers' main overhead) and turns them into one Arrow batch of DOC_SCHEMA."""

    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, doc_id=None, text=None, parts=None, url=None, nsfw=None, punsafe=None,
            group_id=None, file=None):
        self.rows.append((doc_id, text, None if parts is None else json.dumps(parts, ensure_ascii=False),
                          url, nsfw, punsafe, group_id, file, None, None))

    def quarantine(self, reason: str, example, file=None, doc_id=None):
        self.rows.append((doc_id, None, None, None, None, None, None, file, reason, truncate(example)))

    def __len__(self):
        return len(self.rows)

    def to_batch(self) -> pa.RecordBatch:
        columns = list(zip(*self.rows)) if self.rows else [()] * len(COLUMNS)
        self.rows = []
        return pa.RecordBatch.from_arrays([pa.array(c, f.type) for c, f in zip(columns, DOC_SCHEMA)], schema=DOC_SCHEMA)
