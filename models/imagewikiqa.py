"""ImageWikiQA (the study's benchmark): multiple-choice questions about an ImageNet object shown as
an ImageNet validation image, scored by the answer letter, per class of the object.

Each JSON line has `image` (e.g. "images/ILSVRC2012_val_00039210.JPEG", relative to the user's
ImageNet val folder), `text` (the question, options A-D and "Choose A, B, C, or D."), `label`
(the right letter), `wiki` and `classname` (the class as CLIP names it). Two conditions:
"image" (the image stands for the object, as in the study) and "name" (the class name given in
words instead of the image: does the language model know the answer once it knows the object?).
The study prompts with chain of thought (imagewikiqa/main.py: "Let's think step by step.", up to
1,024 new tokens).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from classfreq.errors import UserError
from classfreq.models.accuracy import per_class
from classfreq.models.answers import answer_letter
from classfreq.models.jsonl import json_lines
from classfreq.models.labels import LabelResolver
from classfreq.text import normalize_form

DATASET = "imagewikiqa"
CONDITIONS = {"image": "qa-image", "name": "qa-name-given"}    # condition -> method in the accuracy table
LETTERS = ("A", "B", "C", "D")


@dataclass
class Question:
    line: int
    image: str          # resolved path under the images folder
    text: str
    label: str          # the right letter
    classname: str
    class_index: int


@dataclass
class Questions:
    items: list[Question]
    rejected: list = field(default_factory=list)        # (line, reason)


def class_index_of(classname: str, names, resolver: LabelResolver) -> int | None:
    """The class a question is about: its name among the prompt names (CLIP's names, collisions
    renamed, so 837 keeps "sunglasses"), else any unambiguous label."""
    idx = names.get(normalize_form(classname))
    return idx if idx is not None else resolver.resolve(classname)[0]


def _image_path(root: Path | None, image: str) -> str:
    """The question's image under the user's val folder: as written, else by file name alone."""
    if root is None:
        return ""
    path = root / image
    return str(path if path.exists() or not (root / Path(image).name).exists() else root / Path(image).name)


def read_questions(path: str | Path, labelset, images_root: str | Path | None, limit: int | None = None) -> Questions:
    from classfreq.models.labels import prompt_names
    path = Path(path)
    if not path.is_file():
        raise UserError(f"question file {path} does not exist; pass --questions imagewikiqa.jsonl")
    root = Path(images_root) if images_root else None
    if root is not None and not root.is_dir():
        raise UserError(f"image folder {root} does not exist; pass --images with your ImageNet val folder")
    names = {normalize_form(n): i for i, n in enumerate(prompt_names(labelset).names)}
    resolver = LabelResolver(labelset)
    out = Questions([])
    for line_no, record, error in json_lines(path):
        if limit is not None and len(out.items) >= limit:
            break
        why = error or _problem(record)
        idx = None if why else class_index_of(record["classname"], names, resolver)
        if not why and idx is None:
            why = f"class not in the label set: {record['classname']!r}"
        if why:
            out.rejected.append((line_no, why[:200]))
            continue
        out.items.append(Question(line_no, _image_path(root, str(record["image"])), record["text"], record["label"],
                                  record["classname"], idx))
    if not out.items:
        raise UserError(f"{path} has no usable questions ({len(out.rejected)} lines rejected); pass the ImageWikiQA "
                        "file (image, text, label, classname per line)")
    return out


def _problem(record) -> str:
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [k for k in ("image", "text", "label", "classname") if not isinstance(record.get(k), str)]
    if missing:
        return f"missing field: {', '.join(missing)}"
    if record["label"] not in LETTERS:
        return f"label is not a letter A-D: {record['label']!r}"
    return ""


def name_given_question(q: Question) -> str:
    """The "name" condition: the object's name stated in words where the image would be."""
    return f"The object in question is: {q.classname}.\n{q.text}"


def score_answers(questions: list[Question], answers: list[str]) -> pd.DataFrame:
    letters = [answer_letter(a) for a in answers]
    return pd.DataFrame({"line": [q.line for q in questions], "image": [q.image for q in questions],
                         "class_index": [q.class_index for q in questions],
                         "classname": [q.classname for q in questions], "label": [q.label for q in questions],
                         "answer": answers, "letter": letters,
                         "correct": [got == q.label for got, q in zip(letters, questions)]})


def qa_table(scored: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    return per_class(scored["class_index"].to_numpy(np.int64), scored["correct"].to_numpy(bool), n_classes)
