"""A label set on disk and in memory: labelset.json + classes.tsv + forms.tsv, read without WordNet.

The tables are plain tab-separated text (no quoting: values never hold tabs or newlines), sorted,
so a change to a label set is a readable diff. The version is a hash of the two tables, so it
changes exactly when the content does.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from classfreq.errors import UserError

DATA_DIR = Path(__file__).with_name("data")
BUILTIN = ("imagenet1k", "flowers102", "stanford_cars", "caltech101")
CLASS_COLUMNS = ["class_index", "class_id", "name", "gloss", "hypernyms"]
FORM_COLUMNS = ["class_index", "form", "lemma_group", "origins", "flags"]
# a label set's own class definitions (class_index<TAB>definition), read by the relevance judge
# in place of the WordNet gloss
DEFINITIONS_FILE = "definitions.tsv"
DEFINITION_COLUMNS = ["class_index", "definition"]
FLAGS = ("shared", "polysemous", "nested", "qualifier_removed")
AMBIGUOUS = frozenset({"shared", "polysemous"})


@dataclass
class LabelSet:
    name: str
    version: str
    classes: pd.DataFrame
    forms: pd.DataFrame
    source: str = ""
    built_from: str = ""
    path: Path | None = field(default=None, repr=False)

    def ambiguous_forms(self) -> set[tuple[int, str]]:
        """(class_index, form) pairs flagged shared or polysemous."""
        return {(int(ci), f) for ci, f, flags in zip(self.forms.class_index, self.forms.form, self.forms["flags"])
                if any(x["flag"] in AMBIGUOUS for x in flags)}

    def flag_counts(self) -> dict[str, int]:
        """How many forms carry each flag."""
        counts = dict.fromkeys(FLAGS, 0)
        for flags in self.forms["flags"]:
            for name in {x["flag"] for x in flags}:
                counts[name] = counts.get(name, 0) + 1
        return counts


def labelset_names() -> list[str]:
    """The built-in label sets shipped with classfreq."""
    return [n for n in BUILTIN if (DATA_DIR / n / "labelset.json").is_file()]


def load_labelset(name_or_path: str | Path) -> LabelSet:
    """A built-in label set by name, or a label-set folder (from `classfreq synsets add`) by path."""
    if str(name_or_path) in BUILTIN:
        folder = DATA_DIR / str(name_or_path)
        if not (folder / "labelset.json").is_file():
            raise UserError(f"the built-in label set {name_or_path} has not been generated; run "
                            f"`classfreq synsets build --shared ../shared/data --labelset {name_or_path}`")
    else:
        folder = Path(name_or_path)
        if not (folder / "labelset.json").is_file():
            raise UserError(f"unknown label set {str(name_or_path)!r}: use one of {', '.join(BUILTIN)} or a folder "
                            f"with labelset.json made by `classfreq synsets add NAME --from names.csv`")
    return read_labelset(folder)


def read_labelset(folder: Path) -> LabelSet:
    meta = json.loads((folder / "labelset.json").read_text(encoding="utf-8"))
    classes = _read_tsv(folder / "classes.tsv", CLASS_COLUMNS)
    forms = _read_tsv(folder / "forms.tsv", FORM_COLUMNS)
    classes["class_index"] = classes["class_index"].astype("int64")
    for col in ("class_id", "gloss", "hypernyms"):
        classes[col] = classes[col].map(lambda v: v or None).astype(object)
    forms["class_index"] = forms["class_index"].astype("int64")
    forms["origins"] = forms["origins"].map(lambda v: v.split(",") if v else [])
    forms["flags"] = forms["flags"].map(lambda v: json.loads(v) if v else [])
    return LabelSet(name=meta["name"], version=meta["version"], classes=classes, forms=forms,
                    source=meta.get("source", ""), built_from=meta.get("built_from", ""), path=folder)


def read_definitions(folder: Path | None) -> dict[int, str]:
    """A label-set folder's own class definitions (DEFINITIONS_FILE), {} when it has none."""
    if folder is None or not (folder / DEFINITIONS_FILE).is_file():
        return {}
    table = _read_tsv(folder / DEFINITIONS_FILE, DEFINITION_COLUMNS)
    bad = [i for i in table.class_index if not i.strip().isdigit()]
    if bad:
        raise UserError(f"{folder / DEFINITIONS_FILE} has class_index {bad[0]!r}, not a number; regenerate the label set")
    return {int(i): d.strip() for i, d in zip(table.class_index, table.definition) if d.strip()}


def write_labelset(folder: Path, name: str, classes: list[dict], forms: list[dict], source: str,
                   built_from: str, definitions: dict[int, str] | None = None) -> LabelSet:
    """Write the three files (sorted, deterministic), and DEFINITIONS_FILE when the label set
    carries its own class definitions (they enter the version then); return the label set as
    read back."""
    classes = sorted(classes, key=lambda r: r["class_index"])
    forms = sorted(forms, key=lambda r: (r["class_index"], r["form"]))
    classes_text = _tsv(CLASS_COLUMNS, [[r["class_index"], r["class_id"], r["name"], r["gloss"], r["hypernyms"]]
                                        for r in classes])
    forms_text = _tsv(FORM_COLUMNS, [[r["class_index"], r["form"], r["lemma_group"], ",".join(sorted(r["origins"])),
                                      _flags_text(r["flags"])] for r in forms])
    definitions_text = _tsv(DEFINITION_COLUMNS, sorted(definitions.items())) if definitions else ""
    # without definitions the version is the hash of the two tables alone, as it always was
    version = hashlib.sha256((classes_text + "\0" + forms_text + (f"\0{definitions_text}" if definitions_text else ""))
                             .encode("utf-8")).hexdigest()[:12]
    counts = dict.fromkeys(FLAGS, 0)
    for r in forms:
        for flag in {x["flag"] for x in r["flags"]}:
            counts[flag] += 1
    meta = {"name": name, "version": version, "source": source, "built_from": built_from,
            "n_classes": len(classes), "n_forms": len(forms), "forms_per_flag": counts,
            "classes_with_wordnet_id": sum(1 for r in classes if r["class_id"])}
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "classes.tsv", classes_text)
    _write(folder / "forms.tsv", forms_text)
    if definitions_text:
        _write(folder / DEFINITIONS_FILE, definitions_text)
    elif (folder / DEFINITIONS_FILE).exists():
        (folder / DEFINITIONS_FILE).unlink()
    _write(folder / "labelset.json", json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return read_labelset(folder)


def _flags_text(flags: list[dict]) -> str:
    if not flags:
        return ""
    flags = sorted(flags, key=lambda x: (x["flag"], x["reason"]))
    return json.dumps([{"flag": x["flag"], "reason": x["reason"]} for x in flags], ensure_ascii=False,
                      separators=(",", ":"))


def _tsv(columns: list[str], rows: list[list]) -> str:
    lines = ["\t".join(columns)]
    for row in rows:
        cells = ["" if v is None else str(v) for v in row]
        for cell in cells:
            if "\t" in cell or "\n" in cell or "\r" in cell:
                raise ValueError(f"label-set value holds a tab or newline: {cell!r}")
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _read_tsv(path: Path, columns: list[str]) -> pd.DataFrame:
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[0].split("\t") != columns:
        raise UserError(f"{path} does not start with the header {'<TAB>'.join(columns)}; regenerate the label set")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise UserError(f"{path} line {number} has {len(cells)} fields, expected {len(columns)}; "
                            f"regenerate the label set")
        rows.append(cells)
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(path)
