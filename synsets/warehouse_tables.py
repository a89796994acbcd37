"""Copy a label set into the warehouse tables labelsets, classes and surface_forms."""
from __future__ import annotations

import pandas as pd

from classfreq.queries.warehouse import replace_rows


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
