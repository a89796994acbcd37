"""Warehouse fixtures for the reports/queries tests: real bethgelab data plus small counts inserted here.

The label set rows come from the real CLIP names and wnids in ../shared/data/labelsets (written
directly, so these tests do not depend on the synsets area); hypernyms are a coarse synthetic
grouping (index // 10) used only to exercise the superclass bootstrap.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from classfreq.queries.imports import import_bethgelab_counts
from classfreq.queries.mixes import read_mix_file, write_mixes
from classfreq.queries.warehouse import connect, record_run, replace_rows, utcnow

LABELSET, VERSION = "imagenet1k", "test-v1"
LAION_MODELS = ["ViT-B-32_laion400m", "ViT-B-16_laion400m", "ViT-L-14_laion400m"]
XSS = "<script>window.__xss = 1</script> a tench & a <b>goldfish</b>"


def write_classes(con, shared: Path) -> pd.DataFrame:
    names = json.loads((shared / "labelsets" / "imagenet1k_clip_names.json").read_text())
    wnids = (shared / "labelsets" / "imagenet1k_wnids.txt").read_text().split()
    classes = pd.DataFrame({"labelset": LABELSET, "version": VERSION, "class_index": range(len(names)),
                            "class_id": wnids, "name": names, "gloss": None,
                            "hypernyms": [f"group{i // 10} > entity" for i in range(len(names))]})
    replace_rows(con, "classes", classes, {"labelset": LABELSET, "version": VERSION})
    replace_rows(con, "labelsets", pd.DataFrame([{"labelset": LABELSET, "version": VERSION, "source": "test",
                                                  "n_classes": len(names), "built_from": str(shared)}]),
                 {"labelset": LABELSET, "version": VERSION})
    forms = pd.DataFrame({"labelset": LABELSET, "version": VERSION, "class_index": range(len(names)),
                          "form": [n.lower() for n in names], "origins": [["clip_name"]] * len(names),
                          "lemma_group": [n.lower() for n in names],
                          "flags": [[] for _ in names]})
    extra = pd.DataFrame([
        # tench (0) is also written "tinca tinca"; that group is more frequent in the counts below
        {"class_index": 0, "form": "tinca tinca", "origins": ["lemma"], "lemma_group": "tinca tinca", "flags": []},
        # 'missile' names two classes (657, 744): shared
        {"class_index": 744, "form": "rocket", "origins": ["lemma"], "lemma_group": "rocket",
         "flags": [{"flag": "polysemous", "reason": "also the vegetable"}]},
    ]).assign(labelset=LABELSET, version=VERSION)
    forms = pd.concat([forms, extra], ignore_index=True)
    shared_flag = [{"flag": "shared", "reason": "missile names classes 657 and 744"}]
    missile = forms["class_index"].isin([657, 744]) & (forms["form"] == "missile")
    forms.loc[missile, "flags"] = pd.Series([shared_flag, shared_flag], index=forms.index[missile])
    replace_rows(con, "surface_forms", forms, {"labelset": LABELSET, "version": VERSION})
    return classes


def write_accuracies(con, shared: Path, models=LAION_MODELS, n: int = 50) -> pd.DataFrame:
    """The published per-class accuracies of `models`, joined by position (names checked)."""
    data = json.loads((shared / "reference" / "bethgelab" / "imagenet_ensemble_results.json").read_text())
    names = json.loads((shared / "labelsets" / "imagenet1k_clip_names.json").read_text())
    rows = []
    for model in models:
        arch, corpus = model.rsplit("_", 1)
        cw = data[f"backbone{arch}_pretrained{corpus}"]["classwise"]
        keys = list(cw)
        assert len(keys) == len(names)
        for i, (k, nm) in enumerate(zip(keys, names)):
            assert k == nm or (i, k) in ((744, "projectile"), (836, "sunglass"))
            correct = round(cw[k] / 100 * n)
            rows.append({"model": model, "dataset": "imagenet-val", "method": "zero-shot", "prompt": "ensemble",
                         "scoring": "top1", "labelset": LABELSET, "version": VERSION, "class_index": i,
                         "n": n, "correct": correct, "accuracy": correct / n, "origin": "imported",
                         "run_id": "import-accuracy-test"})
    df = pd.DataFrame(rows)
    for model in models:
        replace_rows(con, "accuracy", df[df["model"] == model], {"model": model})
    return df


def write_small_counts(con) -> None:
    """A tiny 'ours' source: a few classes counted, per-form rows, doc_matches with hostile text."""
    run_id = "count-test-1"
    record_run(con, run_id, "count", utcnow(), inputs={"paths": ["tiny"]}, options={"mode": "default"},
               labelset=LABELSET, labelset_version=VERSION)
    base = {"run_id": run_id, "source": "tiny_web", "mode": "default", "role": "all",
            "labelset": LABELSET, "version": VERSION}
    cc = pd.DataFrame([{**base, "class_index": 0, "docs": 7, "docs_clean": 7, "mentions": 9},
                       {**base, "class_index": 1, "docs": 3, "docs_clean": 3, "mentions": 3},
                       {**base, "class_index": 744, "docs": 5, "docs_clean": 1, "mentions": 6}])
    replace_rows(con, "class_counts", cc, {"run_id": run_id})
    counts = pd.DataFrame([{**base, "class_index": 0, "form": "tench", "ambiguous": False, "docs": 2, "mentions": 2},
                           {**base, "class_index": 0, "form": "tinca tinca", "ambiguous": False, "docs": 5, "mentions": 7},
                           {**base, "class_index": 1, "form": "goldfish", "ambiguous": False, "docs": 3, "mentions": 3},
                           {**base, "class_index": 744, "form": "missile", "ambiguous": True, "docs": 4, "mentions": 5},
                           {**base, "class_index": 744, "form": "projectile", "ambiguous": False, "docs": 1, "mentions": 1}])
    replace_rows(con, "counts", counts, {"run_id": run_id})
    replace_rows(con, "source_stats", pd.DataFrame([{"run_id": run_id, "source": "tiny_web", "mode": "default",
                                                     "labelset": LABELSET, "version": VERSION, "docs_read": 100,
                                                     "docs_matched": 14, "docs_unmatched": 86,
                                                     "docs_quarantined": 0, "duplicates_dropped": 0,
                                                     "files_failed": 0}]), {"run_id": run_id})
    dm = [{"doc_id": f"d{i}", "class_index": 0, "form": "tench", "url": f"http://example.org/{i}.jpg",
           "text": f"a tench number {i}", "nsfw": "UNLIKELY", "punsafe": 0.01} for i in range(6)]
    dm += [{"doc_id": "x1", "class_index": 0, "form": "tench", "url": "http://example.org/x.jpg", "text": XSS,
            "nsfw": "UNLIKELY", "punsafe": 0.0},
           {"doc_id": "bad1", "class_index": 0, "form": "tench", "url": "http://example.org/n.jpg",
            "text": "unsafe tench", "nsfw": "NSFW", "punsafe": 0.99},
           {"doc_id": "nourl", "class_index": 0, "form": "tench", "url": None, "text": "no url tench",
            "nsfw": None, "punsafe": None}]
    dm += [{"doc_id": f"g{i}", "class_index": 1, "form": "goldfish", "url": f"http://example.org/g{i}.jpg",
            "text": "goldfish", "nsfw": None, "punsafe": None} for i in range(3)]
    replace_rows(con, "doc_matches", pd.DataFrame(dm).assign(**{k: base[k] for k in
                                                                 ("run_id", "source", "mode", "labelset", "version")}),
                 {"run_id": run_id})


MIX_YAML = """
models: [ViT-B-32_laion400m, ViT-B-16_laion400m, ViT-L-14_laion400m]
components:
  - component: LAION-400M
    source: {kind: imported, origin: bethgelab, corpus: laion400m, method: lemmatized}
    weight: 1
  - component: undisclosed filtering data
    counted: false
    note: "<script>window.__xss_note = 1</script> & <img src=x onerror=window.__xss_img=1>"
"""


def add_hostile_candidate(con, class_index: int) -> None:
    """A document whose caption is a script tag, for a class the recommender allocates to."""
    base = {"run_id": "count-test-1", "source": "tiny_web", "mode": "default", "labelset": LABELSET,
            "version": VERSION}
    row = pd.DataFrame([{**base, "doc_id": f"xss{class_index}", "class_index": class_index, "form": "x",
                         "url": "http://example.org/xss.jpg", "text": XSS, "nsfw": "UNLIKELY", "punsafe": 0.0}])
    con.register("_x", row)
    con.execute("INSERT INTO doc_matches BY NAME SELECT * FROM _x")
    con.unregister("_x")


def build(path: Path, shared: Path, small_counts: bool = True, mix: bool = True):
    con = connect(path)
    write_classes(con, shared)
    bdir = shared / "reference" / "bethgelab"
    for f in ("imagenet_laion400m_lemmatized_search_counts.json", "imagenet_cc3m_lemmatized_search_counts.json"):
        import_bethgelab_counts(con, bdir / f)
    write_accuracies(con, shared)
    if small_counts:
        write_small_counts(con)
    if mix:
        mf = path.parent / "laion_mix.yaml"
        mf.write_text(MIX_YAML)
        write_mixes(con, read_mix_file(mf))
    return con
