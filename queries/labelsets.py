"""A label set in the warehouse: write its tables (labelsets, classes, surface_forms), find its
version and classes (imports and queries key everything on its version)."""
from __future__ import annotations

import duckdb
import pandas as pd

from classfreq.errors import UserError
from classfreq.queries.warehouse import replace_rows


def resolve_version(con: duckdb.DuckDBPyConnection, labelset: str, version: str | None = None) -> str:
    """The version of `labelset` in the warehouse: `version` when given and present, else the only one."""
    versions = [r[0] for r in con.execute(
        "SELECT DISTINCT version FROM classes WHERE labelset = ? ORDER BY version", [labelset]).fetchall()]
    if not versions:
        raise UserError(f"label set {labelset!r} is not in the warehouse; write it first "
                        f"(classfreq demo does, or classfreq.queries.labelsets.write_labelset_tables)")
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


def write_labelset_tables(con, ls) -> None:
    """Replace the rows of this label set's version in labelsets, classes and surface_forms."""
    key = {"labelset": ls.name, "version": ls.version}
    meta = pd.DataFrame([{**key, "source": ls.source, "n_classes": len(ls.classes), "built_from": ls.built_from}])
    replace_rows(con, "labelsets", meta, key)
    classes = ls.classes.assign(**key)
    classes["class_index"] = classes["class_index"].astype("int32")
    replace_rows(con, "classes", classes, key)
    forms = ls.forms.assign(**key)
    forms["class_index"] = forms["class_index"].astype("int32")
    forms["origins"] = forms["origins"].map(list)
    forms["flags"] = forms["flags"].map(lambda flags: [{"flag": f["flag"], "reason": f["reason"]} for f in flags])
    replace_rows(con, "surface_forms", forms, key)


def ensure_labelset_tables(con, ls) -> bool:
    """Write this label-set version's tables unless the warehouse already has all its classes
    (counts and accuracies join to `classes`). Returns whether it wrote them."""
    have = con.execute("SELECT count(*) FROM classes WHERE labelset = ? AND version = ?",
                       [ls.name, ls.version]).fetchone()[0]
    if have == len(ls.classes):
        return False
    write_labelset_tables(con, ls)
    return True
