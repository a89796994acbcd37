"""Plain-Python loaders of the shared sample captions and the ImageNet-1k forms, for the
matcher's tests and benchmark (the Spark job has its own readers; these give the caption strings
in file order)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from classfreq.errors import UserError


def load_shared_captions(shared: str | Path) -> dict[str, list[str | None]]:
    """{source: captions} for every corpus under ``shared/captions`` (the real ~91k captions)."""
    root = Path(shared) / "captions"
    if not root.is_dir():
        raise UserError(f"no captions folder at {root}; pass the shared data folder (../shared/data)")
    out: dict[str, list[str | None]] = {}
    with open(root / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv", encoding="utf-8") as f:
        out["cc3m_val"] = [line.rstrip("\n").split("\t", 1)[0] for line in f if line.strip()]
    with open(root / "coco_val2017" / "captions_val2017.json", encoding="utf-8") as f:
        out["coco_val2017"] = [a["caption"] for a in json.load(f)["annotations"]]
    flickr = []
    with open(root / "flickr8k" / "Flickr8k.token.txt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip():  # `img.jpg#k<TAB>caption`; three lines use a space instead of the tab
                flickr.append(line.split("\t" if "\t" in line else " ", 1)[1])
    out["flickr8k"] = flickr
    for path in sorted((root / "laion400m_sample_img2dataset").glob("*.parquet")):
        out.setdefault("laion400m_sample", []).extend(pq.read_table(path, columns=["TEXT"]).column(0).to_pylist())
    llava = []
    for path in sorted((root / "llava_samples").glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    llava.extend(rec.get("captions", []))
                    llava.extend(rec[k] for k in ("instruction", "output", "text") if k in rec)
    out["llava_samples"] = llava
    return out


def all_captions(shared: str | Path) -> list[str | None]:
    return [t for texts in load_shared_captions(shared).values() for t in texts]


def imagenet_forms() -> tuple[list[str], list[str], str]:
    """(forms, CLIP class names, label-set version) of the generated ImageNet-1k label set."""
    from classfreq.synsets import load_labelset

    ls = load_labelset("imagenet1k")
    return [str(f) for f in ls.forms["form"]], [str(n) for n in ls.classes["name"]], \
        f"imagenet1k label set {ls.version}"
