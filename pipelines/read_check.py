"""After counting, before writing: a run in which no record could be read is refused.

When every record of the input is quarantined, or every file fails, the ``--format`` is almost
always wrong (Parquet asked of a JSONL file, LLaVA of a CSV). Writing such a run would replace the
source's good counts with zeros, so it ends with one sentence instead, unless ``--allow-all-bad``.
"""
from __future__ import annotations

import os

import pandas as pd

from classfreq.errors import UserError


def refuse_if_nothing_read(tables: dict[str, pd.DataFrame], fmt: str, files: list[str], allow: bool) -> None:
    """Raise UserError when the run read records or files, yet none of them as a valid document."""
    stats = tables["source_stats"].iloc[0]
    valid = int(stats.docs_matched + stats.docs_unmatched)
    quarantined, failed = int(stats.docs_quarantined), int(stats.files_failed)
    if allow or valid or not (quarantined or failed):
        return
    what = os.path.basename(files[0]) if len(files) == 1 else f"the {len(files)} input files"
    lost = ", ".join([f"{_n(quarantined, 'record')} quarantined"] * bool(quarantined)
                     + [f"{_n(failed, 'file')} failed"] * bool(failed))
    raise UserError(f"no record of {what} could be read as --format {fmt} ({lost}; first reason: "
                    f"{_first_reason(tables['quarantine'])}), so the format is probably wrong; pass the right "
                    "--format, or --allow-all-bad to write the run anyway")


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _first_reason(quarantine: pd.DataFrame) -> str:
    """The example of the most frequent quarantine reason (a failed file's row carries its error)."""
    top = quarantine.sort_values("n", ascending=False, kind="stable").iloc[0]
    text = str(top.example if top.n == 0 else top.reason)
    return text if len(text) <= 160 else text[:157] + "..."
