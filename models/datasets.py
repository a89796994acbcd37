"""Labelled image sets: an ImageFolder tree or a JSONL manifest, resolved against a label set.

Labels that do not resolve are counted and listed (the run stops only when most do not, which
means the wrong label set); images that cannot be decoded are counted and skipped with their
paths when they are read (`load_images`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from classfreq.errors import UserError, require
from classfreq.models.jsonl import json_lines
from classfreq.models.labels import LabelResolver

Image = require("PIL.Image", extra="models", package="pillow", purpose="reading images")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".jpe"}


@dataclass
class Sample:
    path: str
    class_index: int


@dataclass
class LabelledImages:
    """A dataset resolved against a label set, with what could not be resolved."""

    name: str
    samples: list[Sample]
    records: int = 0                                          # labelled records read
    unmatched: Counter = field(default_factory=Counter)       # label -> records (unknown or ambiguous)
    unmatched_reason: dict = field(default_factory=dict)      # label -> "unknown" | "ambiguous"
    bad_records: list = field(default_factory=list)           # (line number, reason) of malformed manifest lines

    def class_sizes(self, n_classes: int) -> list[int]:
        sizes = [0] * n_classes
        for s in self.samples:
            sizes[s.class_index] += 1
        return sizes

    def summary(self) -> dict:
        return {
            "dataset": self.name, "records": self.records, "samples": len(self.samples),
            "unmatched_records": sum(self.unmatched.values()),
            "unmatched_labels": [{"label": k, "records": v, "reason": self.unmatched_reason[k]}
                                 for k, v in self.unmatched.most_common()],
            "bad_records": [{"line": ln, "reason": why} for ln, why in self.bad_records],
        }


def _check_match(data: LabelledImages, labelset_name: str) -> LabelledImages:
    unmatched = sum(data.unmatched.values())
    if data.records == 0:
        raise UserError(f"dataset {data.name} has no labelled images; check the path")
    if unmatched * 2 > data.records:
        examples = ", ".join(repr(k) for k, _ in data.unmatched.most_common(5))
        raise UserError(
            f"{unmatched} of {data.records} labels of dataset {data.name} are not classes of label set "
            f"{labelset_name} (e.g. {examples}); pass the label set the dataset was labelled with")
    return data


def image_folder(root: str | Path, labelset, name: str | None = None) -> LabelledImages:
    """root/<label>/<image>: <label> is a class id (wnid), class index, display name or form."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist or is not a folder; pass --images ROOT")
    resolver = LabelResolver(labelset)
    data = LabelledImages(name=name or root.name, samples=[])
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            continue
        data.records += len(files)
        idx, why = resolver.resolve(folder.name)
        if idx is None:
            data.unmatched[folder.name] += len(files)
            data.unmatched_reason[folder.name] = why
            continue
        data.samples += [Sample(str(p), idx) for p in files]
    return _check_match(data, labelset.name)


def jsonl_manifest(path: str | Path, labelset, name: str | None = None,
                   image_root: str | Path | None = None) -> LabelledImages:
    """One JSON object a line: {"image": path, "label": name or index}; relative paths are taken
    from the manifest's folder (or image_root)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"manifest {path} does not exist; pass --manifest FILE (JSON lines with image and label)")
    base = Path(image_root) if image_root else path.parent
    resolver = LabelResolver(labelset)
    data = LabelledImages(name=name or path.stem, samples=[])
    for line_no, record, error in json_lines(path):
        error = error or _manifest_record_problem(record)
        if error:
            data.bad_records.append((line_no, error))
            continue
        image, label = record["image"], record["label"]
        data.records += 1
        idx, why = resolver.resolve(label)
        if idx is None:
            data.unmatched[str(label)] += 1
            data.unmatched_reason[str(label)] = why
            continue
        image = Path(str(image))
        data.samples.append(Sample(str(image if image.is_absolute() else base / image), idx))
    return _check_match(data, labelset.name)


def _manifest_record_problem(record) -> str | None:
    """Why a parsed manifest line is not {"image": ..., "label": ...}, or None when it is."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    missing = [key for key in ("image", "label") if key not in record]
    return f"missing {' and '.join(missing)}" if missing else None


def open_rgb(path: str) -> Image.Image:
    """Decode fully (a truncated file fails here, not later inside a batch)."""
    with Image.open(path) as img:
        img.load()
        return img.convert("RGB")
