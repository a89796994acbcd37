"""Find a label set's classes in the warehouse (imports and queries key everything on its version)."""
from __future__ import annotations

import duckdb
import pandas as pd

from classfreq.errors import UserError


def resolve_version(con: duckdb.DuckDBPyConnection, labelset: str, version: str | None = None) -> str:
    """The version of `labelset` in the warehouse: `version` when given and present, else the only one."""
    versions = [r[0] for r in con.execute(
        "SELECT DISTINCT version FROM classes WHERE labelset = ? ORDER BY version", [labelset]).fetchall()]
    if not versions:
        raise UserError(f"label set {labelset!r} is not in the warehouse; write it first "
                        f"(classfreq demo does, or classfreq.synsets.write_labelset_tables)")
    if version is not None:
        if version not in versions:
            raise UserError(f"label set {labelset!r} has no version {version!r} in the warehouse; "
                            f"it has {', '.join(versions)}")
        return version
    if len(versions) > 1:
        raise UserError(f"label set {labelset!r} has {len(versions)} versions in the warehouse "
                        f"({', '.join(versions)}); pass the version to use")
    return versions[0]


def class_table(con: duckdb.DuckDBPyConnection, labelset: str, version: str) -> pd.DataFrame:
    """The classes of one label-set version, sorted by class_index."""
    return con.execute(
        "SELECT class_index, class_id, name, hypernyms FROM classes WHERE labelset = ? AND version = ? "
        "ORDER BY class_index", [labelset, version]).fetchdf()
