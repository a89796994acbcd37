"""What the judge knows about a label set's words, precomputed once with WordNet 3.0.

Per form: every WordNet sense of the form in every part of speech (synset, its sense count from
SemCor via ``Lemma.count()``); per class: its synset and the text that defines it. The judge reads
this table on Spark executors, where WordNet is not needed. Tables for the built-in label sets ship
under relevance/data/senses/; a user label set gets one built on demand when WordNet is available.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from classfreq.errors import UserError
from classfreq.text import normalize_form

SENSES_DIR = Path(__file__).with_name("data") / "senses"
HYPERNYMS_IN_DEFINITION = 2


@dataclass(frozen=True)
class Sense:
    synset: str
    pos: str
    count: int
    text: str          # "lemma: gloss (hypernym)" as embedded


@dataclass
class SenseTable:
    labelset: str
    version: str
    class_synset: dict[int, str | None]
    class_definition: dict[int, str]
    form_senses: dict[str, list[Sense]]
    glosses: dict[str, tuple[str, str]]      # synset -> (pos, text)

    def senses(self, form: str) -> list[Sense]:
        return self.form_senses.get(normalize_form(form), [])

    def to_json(self) -> dict:
        return {"labelset": self.labelset, "version": self.version, "wordnet": "3.0",
                "class_synset": {str(k): v for k, v in sorted(self.class_synset.items())},
                "class_definition": {str(k): v for k, v in sorted(self.class_definition.items())},
                "glosses": {k: list(v) for k, v in sorted(self.glosses.items())},
                "forms": {f: [[s.synset, s.count] for s in ss] for f, ss in sorted(self.form_senses.items())}}

    @classmethod
    def from_json(cls, data: dict) -> SenseTable:
        glosses = {k: (v[0], v[1]) for k, v in data["glosses"].items()}
        forms = {f: [Sense(name, glosses[name][0], int(count), glosses[name][1]) for name, count in ss]
                 for f, ss in data["forms"].items()}
        return cls(data["labelset"], data["version"], {int(k): v for k, v in data["class_synset"].items()},
                   {int(k): v for k, v in data["class_definition"].items()}, forms, glosses)


def shipped_path(labelset_name: str) -> Path:
    return SENSES_DIR / f"{labelset_name}.json.gz"


def write_table(table: SenseTable, path: Path) -> None:
    """Deterministic gzip (no timestamp, sorted keys): rebuilding gives the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(table.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with open(path, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)


def read_table(path: Path) -> SenseTable:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return SenseTable.from_json(json.load(handle))


def load_sense_table(labelset, wordnet=None) -> SenseTable:
    """The shipped table of a label set when its version matches, else one built with WordNet."""
    path = shipped_path(labelset.name)
    if path.is_file():
        table = read_table(path)
        if table.version == labelset.version:
            return table
    if labelset.path is not None and (labelset.path / "relevance_senses.json.gz").is_file():
        table = read_table(labelset.path / "relevance_senses.json.gz")
        if table.version == labelset.version:
            return table
    return build_sense_table(labelset, wordnet)


def build_sense_table(labelset, wordnet=None) -> SenseTable:
    """Look up every form and class of `labelset` in WordNet 3.0 (needs the WordNet files)."""
    if wordnet is None:
        wordnet = _open_wordnet(labelset.name)
    definitions = class_definitions(labelset)
    class_synset: dict[int, str | None] = {}
    glosses: dict[str, tuple[str, str]] = {}
    for row in labelset.classes.itertuples(index=False):
        synset = _synset_of_class_id(wordnet, row.class_id)
        class_synset[int(row.class_index)] = synset.name() if synset is not None else None
    form_senses: dict[str, list[Sense]] = {}
    for form in sorted({normalize_form(f) for f in labelset.forms.form}):
        senses = []
        for synset, count in _senses_of_form(wordnet, form):
            glosses[synset.name()] = (synset.pos(), sense_text(synset))
            senses.append(Sense(synset.name(), synset.pos(), count, glosses[synset.name()][1]))
        form_senses[form] = senses
    for name in class_synset.values():
        if name is not None and name not in glosses:
            synset = wordnet.synset(name)
            glosses[name] = (synset.pos(), sense_text(synset))
    return SenseTable(labelset.name, labelset.version, class_synset, definitions, form_senses, glosses)


def class_definitions(labelset) -> dict[int, str]:
    """The text a class is judged against: the label set's own `definition` when it carries one
    (a `definition` column, or definitions.tsv `class_index<TAB>definition` in its folder), else
    "name: gloss (hypernyms)", else "name (hypernyms)" for classes without a gloss."""
    own = _own_definitions(labelset)
    out = {}
    for row in labelset.classes.itertuples(index=False):
        index = int(row.class_index)
        hypernyms = [h.strip() for h in (row.hypernyms or "").split(">") if h.strip()]
        tail = f" ({', '.join(reversed(hypernyms[-HYPERNYMS_IN_DEFINITION:]))})" if hypernyms else ""
        if own.get(index):
            out[index] = f"{row.name}: {own[index]}"
        elif row.gloss:
            out[index] = f"{row.name}: {row.gloss}{tail}"
        else:
            out[index] = f"{row.name}{tail}"
    return out


def sense_text(synset) -> str:
    """How a WordNet sense is embedded: its first lemma, gloss and nearest hypernym."""
    lemma = synset.lemmas()[0].name().replace("_", " ")
    # NLTK keeps pointers in sets: sort, or a synset with two hypernyms differs between runs
    hypernyms = sorted(synset.hypernyms() or synset.instance_hypernyms(), key=lambda s: s.name())
    tail = f" ({hypernyms[0].lemmas()[0].name().replace('_', ' ')})" if hypernyms else ""
    return f"{lemma}: {synset.definition()}{tail}"


def _own_definitions(labelset) -> dict[int, str]:
    from classfreq.synsets.labelset import read_definitions

    if "definition" in labelset.classes.columns:
        return {int(i): str(d) for i, d in zip(labelset.classes.class_index, labelset.classes["definition"]) if d}
    return read_definitions(labelset.path)


def _senses_of_form(wordnet, form: str) -> list[tuple[object, int]]:
    """WordNet senses of the form (its base forms by morphy, every part of speech) with counts."""
    query = form.replace(" ", "_")
    out = []
    for synset in wordnet.synsets(query):
        bases = {b.lower() for b in (wordnet.morphy(query, synset.pos()) or query,) } | {query.lower()}
        count = sum(lemma.count() for lemma in synset.lemmas() if lemma.name().lower() in bases)
        out.append((synset, int(count)))
    return out


def _synset_of_class_id(wordnet, class_id):
    if not class_id or len(class_id) < 2 or not class_id[1:].isdigit():
        return None
    try:
        return wordnet.synset_from_pos_and_offset(class_id[0], int(class_id[1:]))
    except Exception:  # an id that is not a WordNet 3.0 offset: the class has no synset
        return None


def _open_wordnet(name: str):
    from classfreq.synsets.wordnet_setup import open_wordnet

    try:
        return open_wordnet()
    except UserError as exc:
        raise UserError(f"the label set {name} has no precomputed relevance sense table and WordNet is "
                        f"needed to build one: {exc}") from exc
