"""User label sets from a CSV or JSON list of class names with optional synonyms and WordNet ids.

CSV: a header line with `name`, optionally `synonyms` (separated by ';'), `class_id` (a WordNet
noun id such as n01440764) and `definition` (what the class means, the text the relevance judge
reads instead of the WordNet gloss); one class per line, in class-index order.
JSON: a list of names, or of objects {"name": ..., "synonyms": [...], "class_id": ..., "definition": ...},
or one object {name: [synonyms]}. Every mistake is reported with its line number.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from classfreq.errors import UserError
from classfreq.synsets.assemble import ClassSpec
from classfreq.synsets.labelset import BUILTIN
from classfreq.text import normalize_form

COLUMNS = ("name", "synonyms", "class_id", "definition")
_WNID = re.compile(r"^n\d{8}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class UserClass:
    name: str
    synonyms: list[str] = field(default_factory=list)
    class_id: str | None = None
    line: int = 0
    definition: str | None = None


def read_user_classes(path: Path) -> list[UserClass]:
    if not path.is_file():
        raise UserError(f"{path} not found; pass --from with a CSV or JSON file of class names")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path} line {line}: not UTF-8 text; save the file as UTF-8") from None
    if path.suffix.lower() == ".json":
        classes = _read_json(path, text)
    elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
        classes = _read_csv(path, text)
    else:
        raise UserError(f"{path}: use a .csv or .json file of class names")
    if not classes:
        raise UserError(f"{path} holds no class names; add one class per line")
    seen: dict[str, int] = {}
    for c in classes:
        key = normalize_form(c.name)
        if key in seen:
            raise UserError(f"{path} line {c.line}: class name {c.name!r} repeats the class on line {seen[key]}; "
                            f"merge them (extra names go in synonyms)")
        seen[key] = c.line
    return classes


def _read_csv(path: Path, text: str) -> list[UserClass]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(rows)]
    except StopIteration:
        raise UserError(f"{path} is empty; write a header line 'name,synonyms' and one class per line") from None
    except csv.Error as exc:
        raise UserError(f"{path} line 1: {exc}") from None
    if "name" not in header:
        raise UserError(f"{path} line 1: the header must name a 'name' column (optionally 'synonyms', "
                        f"'class_id' and 'definition'), found {','.join(header)!r}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise UserError(f"{path} line 1: unknown column(s) {', '.join(unknown)}; use {', '.join(COLUMNS)}")
    classes = []
    line = 1
    try:
        while True:
            line = rows.line_num + 1             # where this record starts (a quoted name may span lines)
            cells = next(rows, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise UserError(f"{path} line {line}: {len(cells)} fields where the header has {len(header)}; "
                                f"quote names that contain '{delimiter}'")
            record = dict(zip(header, cells))
            synonyms = [s for s in (x.strip() for x in record.get("synonyms", "").split(";")) if s]
            classes.append(_user_class(path, line, record["name"], synonyms, record.get("class_id") or None,
                                       record.get("definition")))
    except csv.Error as exc:
        raise UserError(f"{path} line {line}: {exc}; close the quote or remove the stray '\"'") from None
    return classes


def _read_json(path: Path, text: str) -> list[UserClass]:
    decoder = json.JSONDecoder()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(document, dict):
        items = [(line, {"name": k, "synonyms": v}) for line, (k, v) in zip(_value_lines(text, decoder, "{"),
                                                                             document.items())]
    elif isinstance(document, list):
        items = list(zip(_value_lines(text, decoder, "["), document))
    else:
        raise UserError(f"{path} line 1: expected a JSON list of class names or an object {{name: [synonyms]}}")
    classes = []
    for line, item in items:
        if isinstance(item, str):
            classes.append(_user_class(path, line, item, [], None))
        elif isinstance(item, dict):
            extra = set(item) - set(COLUMNS)
            if extra or not isinstance(item.get("name"), str):
                raise UserError(f"{path} line {line}: a class object needs a string 'name' and may have 'synonyms', "
                                f"'class_id' and 'definition' (found keys {', '.join(sorted(item)) or 'none'})")
            synonyms = item.get("synonyms") or []
            if isinstance(synonyms, str):
                synonyms = [s.strip() for s in synonyms.split(";") if s.strip()]
            if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
                raise UserError(f"{path} line {line}: 'synonyms' must be a list of strings")
            class_id = item.get("class_id")
            if class_id is not None and not isinstance(class_id, str):
                raise UserError(f"{path} line {line}: 'class_id' must be a WordNet id string such as n01440764")
            definition = item.get("definition")
            if definition is not None and not isinstance(definition, str):
                raise UserError(f"{path} line {line}: 'definition' must be a string")
            classes.append(_user_class(path, line, item["name"], synonyms, class_id, definition))
        else:
            raise UserError(f"{path} line {line}: expected a class name (string) or an object with 'name', "
                            f"found {type(item).__name__}")
    return classes


def _value_lines(text: str, decoder: json.JSONDecoder, opener: str) -> list[int]:
    """The line on which each element of the top-level list (or each key of the object) starts."""
    lines, pos = [], text.index(opener) + 1
    while True:
        pos = _skip(text, pos, " \t\r\n,")
        if pos >= len(text) or text[pos] in "]}":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)
        if opener == "{":                       # skip ': value'
            pos = _skip(text, pos, " \t\r\n:")
            _, pos = decoder.raw_decode(text, pos)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _user_class(path: Path, line: int, name, synonyms: list[str], class_id: str | None,
                definition: str | None = None) -> UserClass:
    name = (name or "").strip()
    if not name or not normalize_form(name):
        raise UserError(f"{path} line {line}: the class name is empty; every line needs a name")
    if "\t" in name or any("\t" in s for s in synonyms):
        raise UserError(f"{path} line {line}: names may not contain tab characters")
    definition = " ".join((definition or "").split()) or None  # one line: definitions.tsv holds one per line
    if class_id is not None:
        class_id = class_id.strip() or None
    if class_id is not None and not _WNID.match(class_id):
        raise UserError(f"{path} line {line}: class_id {class_id!r} is not a WordNet noun id like n01440764")
    return UserClass(name, synonyms, class_id, line, definition)


def check_labelset_name(name: str) -> None:
    """A user label set's name: letters, digits, '_' and '-', and not a built-in one."""
    if not _NAME.match(name):
        raise UserError(f"label-set name {name!r} may only hold letters, digits, '_' and '-'")
    if name in BUILTIN:
        raise UserError(f"{name} is a built-in label set; choose another name")


def build_user_labelset(name: str, source: Path, out: Path, use_wordnet: bool = True):
    """Read `source`, build forms and flags (with WordNet when installed), write the folder `out`."""
    from classfreq.synsets.build import NoWordNet, WordNetTools, build_from_specs
    from classfreq.synsets.wordnet_classes import class_facts, lemmas, synset_from_wnid, unambiguous_synset

    check_labelset_name(name)
    classes = read_user_classes(source)
    if use_wordnet:
        from classfreq.synsets.wordnet_setup import open_wordnet
        tools = WordNetTools(open_wordnet())
    else:
        tools = NoWordNet()
    specs = []
    for index, c in enumerate(classes):
        bases = [(c.name, "user")] + [(s, "user") for s in c.synonyms]
        spec = ClassSpec(index, c.name, bases=bases, class_id=c.class_id)
        if use_wordnet:
            synset = None
            if c.class_id:
                try:
                    synset = synset_from_wnid(tools.wn, c.class_id)
                except Exception:
                    raise UserError(f"{source} line {c.line}: {c.class_id} is not a WordNet 3.0 noun id") from None
            else:
                synset = unambiguous_synset(tools.wn, tools.morphology, c.name)
            if synset is not None:
                spec.synset = synset
                spec.bases += [(lemma, "lemma") for lemma in lemmas(synset)]
                facts = class_facts(synset)
                spec.class_id, spec.gloss, spec.hypernyms = facts["class_id"], facts["gloss"], facts["hypernyms"]
        specs.append(spec)
    how = "WordNet 3.0" if use_wordnet else "no WordNet"
    definitions = {index: c.definition for index, c in enumerate(classes) if c.definition}
    return build_from_specs(out, name, specs, tools, f"user label set from {source.name}",
                            f"{source.name}; {how}", definitions=definitions)
