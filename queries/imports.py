"""Import per-class counts published by others into `imported_counts` (a count source of their own).

Published files are keyed by class *name*, and names repeat (CLIP's ImageNet list has "missile"
twice and "sunglasses" twice; bethgelab renamed one of each to "projectile" / "sunglass"), so
rows are joined by position after checking that every name agrees with the label set's name at
that position, allowing only the known renames (classfreq.synsets.published_names, the one check
of published names). Never by name alone.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from classfreq.errors import UserError
from classfreq.queries.labelsets import class_table, resolve_version
from classfreq.queries.warehouse import record_run, replace_rows, utcnow
from classfreq.synsets.published_names import BETHGELAB_RENAMES, check_names_by_position, refuse_repeated_keys

# Nominal corpus sizes (documents) for per-million rates; the counts themselves are as published.
NOMINAL_CORPUS_DOCS = {"laion400m": 413_000_000, "cc3m": 3_300_000, "cc12m": 12_400_000,
                       "yfcc15m": 15_000_000}
BETHGELAB_FILE = re.compile(r"^(?P<labelset>[a-z0-9]+)_(?P<corpus>[a-z0-9]+)_(?P<method>lowercased|lemmatized)"
                            r"_search_counts\.json$")
BETHGELAB_LABELSETS = {"imagenet": "imagenet1k"}


def parse_bethgelab_name(path: Path) -> tuple[str, str, str]:
    """(labelset, corpus, method) from a file name such as imagenet_laion400m_lemmatized_search_counts.json."""
    m = BETHGELAB_FILE.match(path.name)
    if not m:
        raise UserError(f"{path.name} is not named like a bethgelab count file "
                        f"(<dataset>_<corpus>_<lowercased|lemmatized>_search_counts.json); "
                        f"import it with --csv instead")
    return BETHGELAB_LABELSETS.get(m["labelset"], m["labelset"]), m["corpus"], m["method"]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(con, rows: pd.DataFrame, origin: str, corpus: str, method: str, labelset: str,
           version: str, path: Path, corpus_docs: float | None, started) -> int:
    n = replace_rows(con, "imported_counts", rows,
                     where={"origin": origin, "corpus": corpus, "method": method,
                            "labelset": labelset, "version": version})
    run_id = f"import-counts:{origin}:{corpus}:{method}:{labelset}:{version}"
    record_run(con, run_id, "import-counts", started,
               inputs={"file": str(path.resolve()), "sha256": _file_sha256(path)},
               options={"origin": origin, "corpus": corpus, "method": method,
                        "corpus_docs": corpus_docs},
               labelset=labelset, labelset_version=version)
    return n


def import_bethgelab_counts(con, path: str | Path, labelset: str | None = None,
                            version: str | None = None, corpus_docs: float | None = None) -> dict:
    """Import one bethgelab `*_search_counts.json` file; returns {origin, corpus, method, rows}."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"count file {path} does not exist; check the path "
                        f"(the published files are in ../shared/data/reference/bethgelab/)")
    started = utcnow()
    file_labelset, corpus, method = parse_bethgelab_name(path)
    labelset = labelset or file_labelset
    version = resolve_version(con, labelset, version)
    try:
        data = json.loads(path.read_text(), object_pairs_hook=refuse_repeated_keys)  # in the file's key order
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                        f"re-download the file") from exc
    if not isinstance(data, dict) or not all(isinstance(v, int) and v >= 0 for v in data.values()):
        raise UserError(f"{path} is not a {{class name: non-negative count}} object")
    classes = class_table(con, labelset, version)
    check_names_by_position(list(data), classes["name"].tolist(), path.name, labelset,
                            also={i: [name] for i, name in BETHGELAB_RENAMES.items()})
    rows = pd.DataFrame({"origin": "bethgelab", "corpus": corpus, "labelset": labelset,
                         "version": version, "class_index": classes["class_index"].astype("int32"),
                         "docs": list(data.values()), "method": method})
    docs_total = corpus_docs if corpus_docs is not None else NOMINAL_CORPUS_DOCS.get(corpus)
    n = _write(con, rows, "bethgelab", corpus, method, labelset, version, path, docs_total, started)
    return {"origin": "bethgelab", "corpus": corpus, "method": method, "rows": n,
            "count_key": f"imported:bethgelab:{corpus}:{method}"}


def import_csv_counts(con, path: str | Path, origin: str, corpus: str, method: str,
                      labelset: str, version: str | None = None, corpus_docs: float | None = None,
                      missing: str = "zero") -> dict:
    """Import a CSV with `class_index` or `class_id` and `docs`; classes it lacks are 0 (or an error)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"count file {path} does not exist; check the path")
    started = utcnow()
    version = resolve_version(con, labelset, version)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path} cannot be read as CSV ({exc}); save it as comma-separated UTF-8") from exc
    if "docs" not in df.columns or not ({"class_index", "class_id"} & set(df.columns)):
        raise UserError(f"{path} needs a 'docs' column and a 'class_index' or 'class_id' column; "
                        f"it has {', '.join(map(str, df.columns))}")
    docs = pd.to_numeric(df["docs"], errors="coerce")
    if docs.isna().any() or (docs < 0).any() or (docs % 1 != 0).any():
        bad = df.loc[docs.isna() | (docs < 0) | (docs % 1 != 0)].index[0] + 2
        raise UserError(f"{path} line {bad}: 'docs' must be a non-negative whole number")
    classes = class_table(con, labelset, version)
    if "class_index" in df.columns:
        key = pd.to_numeric(df["class_index"], errors="coerce")
        known = set(classes["class_index"])
        index = key
    else:
        key = df["class_id"].astype(str)
        ids = classes.dropna(subset=["class_id"])
        if ids["class_id"].duplicated().any():
            raise UserError(f"label set {labelset!r} has duplicate class_id values; import by class_index")
        known = set(ids["class_id"])
        index = key.map(dict(zip(ids["class_id"], ids["class_index"])))
    unknown = ~key.isin(known)
    if unknown.any():
        raise UserError(f"{path}: {int(unknown.sum())} row(s) name classes not in label set {labelset!r} "
                        f"(first: {key[unknown].iloc[0]!r}); check --labelset")
    if index.duplicated().any():
        raise UserError(f"{path}: class {key[index.duplicated()].iloc[0]!r} appears more than once; "
                        f"keep one row per class")
    got = pd.DataFrame({"class_index": index.astype("int64"), "docs": docs.astype("int64")})
    lacking = len(classes) - len(got)
    if lacking and missing == "error":
        raise UserError(f"{path} lists {len(got)} of {len(classes)} classes; add the missing ones "
                        f"or pass --missing zero")
    rows = classes[["class_index"]].merge(got, on="class_index", how="left").fillna({"docs": 0})
    rows = rows.assign(origin=origin, corpus=corpus, method=method, labelset=labelset,
                       version=version, docs=rows["docs"].astype("int64"))
    n = _write(con, rows, origin, corpus, method, labelset, version, path, corpus_docs, started)
    return {"origin": origin, "corpus": corpus, "method": method, "rows": n, "filled_zero": lacking,
            "count_key": f"imported:{origin}:{corpus}:{method}"}
