"""The four built-in label sets, from the class lists in ../shared/data/labelsets and WordNet 3.0."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from classfreq.errors import UserError
from classfreq.synsets.assemble import ClassSpec
from classfreq.synsets.build import WordNetTools, build_from_specs
from classfreq.synsets.car_names import car_forms
from classfreq.synsets.labelset import DATA_DIR, LabelSet
from classfreq.synsets.wordnet_classes import class_facts, lemmas, synset_from_wnid, unambiguous_synset

# Caltech101 classes that show one view of an object: "crocodile head" is also "crocodile"
_CALTECH_VIEWS = ("head", "face", "body", "side")


def imagenet1k(tools: WordNetTools, labelsets: Path) -> tuple[list[ClassSpec], str, list[str]]:
    files = ["imagenet1k_wnids.txt", "imagenet1k_clip_names.json"]
    wnids = [w.strip() for w in _read(labelsets, files[0]).splitlines() if w.strip()]
    names = json.loads(_read(labelsets, files[1]))
    if len(wnids) != 1000 or len(names) != 1000:
        raise UserError(f"{labelsets} should hold 1,000 ImageNet ids and 1,000 CLIP names, found "
                        f"{len(wnids)} and {len(names)}; point --shared at the classfreq shared data folder")
    specs = []
    for index, (wnid, name) in enumerate(zip(wnids, names)):
        synset = synset_from_wnid(tools.wn, wnid)
        bases = [(lemma, "lemma") for lemma in lemmas(synset)] + [(name, "clip_name")]
        facts = class_facts(synset)
        if facts["class_id"] != wnid:
            raise UserError(f"WordNet gives {facts['class_id']} for ImageNet id {wnid}; install WordNet 3.0")
        specs.append(ClassSpec(index, name, synset=synset, bases=bases, **facts))
    return specs, "ImageNet-1k (ILSVRC-2012) ids, WordNet 3.0 lemmas via NLTK, CLIP curated names", files, None


def flowers102(tools, labelsets):
    plant = tools.wn.synset("plant.n.02")
    specs, source, files = _named_set(tools, labelsets, "flowers_classes.json", 102, under=plant,
                                      source="Oxford Flowers102 class names (CLIP), mapped to WordNet 3.0 plant senses")
    return specs, source, files, plant


def caltech101(tools, labelsets):
    physical = tools.wn.synset("physical_entity.n.01")
    specs, source, files = _named_set(tools, labelsets, "caltech_classes.json", 100, under=physical,
                                      source="Caltech101 class names (CLIP), mapped to WordNet 3.0 physical senses")
    for spec in specs:
        words = spec.name.split(" ")
        if len(words) == 2 and words[1] in _CALTECH_VIEWS:
            spec.qualified.append((words[0], f"{words[1]} (the view)", spec.name))
    return specs, source, files, physical


def stanford_cars(tools, labelsets):
    file = "cars_classes.json"
    names = _names(labelsets, file, 196)
    specs = [ClassSpec(i, name, bases=car_forms(name, tools.is_common_word)) for i, name in enumerate(names)]
    return specs, "Stanford Cars class names (CLIP) with make/model short forms", [file], \
        tools.wn.synset("motor_vehicle.n.01")


BUILDERS = {"imagenet1k": imagenet1k, "flowers102": flowers102, "stanford_cars": stanford_cars,
            "caltech101": caltech101}


def build_builtin(name: str, shared: Path, tools: WordNetTools, out: Path = DATA_DIR) -> LabelSet:
    labelsets = Path(shared) / "labelsets"
    if not labelsets.is_dir():
        raise UserError(f"{labelsets} not found; pass --shared pointing at the shared data folder (../shared/data)")
    specs, source, files, domain = BUILDERS[name](tools, labelsets)
    built_from = "; ".join(f"{f} sha256:{hashlib.sha256((labelsets / f).read_bytes()).hexdigest()[:16]}"
                           for f in files) + "; WordNet 3.0"
    return build_from_specs(Path(out) / name, name, specs, tools, source, built_from, domain)


def _named_set(tools, labelsets, file, expected, under, source):
    names = _names(labelsets, file, expected)
    specs = []
    for index, name in enumerate(names):
        synset = unambiguous_synset(tools.wn, tools.morphology, name, under=under)
        bases = [(name, "clip_name")]
        facts = {}
        if synset is not None:
            bases += [(lemma, "lemma") for lemma in lemmas(synset)]
            facts = class_facts(synset)
        specs.append(ClassSpec(index, name, synset=synset, bases=bases, **facts))
    return specs, source, [file]


def _names(labelsets: Path, file: str, expected: int) -> list[str]:
    names = json.loads(_read(labelsets, file))
    if not isinstance(names, list) or len(names) != expected or not all(isinstance(n, str) for n in names):
        raise UserError(f"{labelsets / file} should be a JSON list of {expected} class names")
    return names


def _read(labelsets: Path, file: str) -> str:
    path = labelsets / file
    if not path.is_file():
        raise UserError(f"{path} not found; pass --shared pointing at the shared data folder (../shared/data)")
    return path.read_text(encoding="utf-8")
