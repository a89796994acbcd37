"""JSON lines, line by line: each non-empty line as (line number, record, None), or (line number,
None, why) when it is not JSON, so callers count and keep bad lines instead of stopping."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def json_lines(path: str | Path) -> Iterator[tuple[int, object, str | None]]:
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield line_no, None, f"JSONDecodeError: {exc}"[:200]
