"""models/: datasets, class names, per-class bookkeeping, CLIP zero-shot end to end (tiny random CLIP)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from classfreq.cli import main
from classfreq.errors import UserError
from classfreq.models.accuracy import accuracy_rows, per_class
from classfreq.models.datasets import image_folder, jsonl_manifest
from classfreq.models.image_batches import ShortEdgeCropPixels
from classfreq.models.labels import LabelResolver, prompt_names
from classfreq.queries.warehouse import connect

WNIDS = ["n01440764", "n01443537", "n01484850"]   # tench, goldfish, great white shark (classes 0, 1, 2)


@pytest.fixture(scope="session")
def imagenet():
    from classfreq.synsets import load_labelset
    return load_labelset("imagenet1k")


def write_image(path, seed, size=(50, 40)):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def write_bad_images(folder):
    """A truncated JPEG, a text file named .jpg and an empty file: all unreadable."""
    write_image(folder / "whole.jpg", 99)
    data = (folder / "whole.jpg").read_bytes()
    (folder / "whole.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "not_an_image.jpg").write_text("<html>404</html>")
    (folder / "empty.jpg").write_bytes(b"")
    return {"truncated.jpg", "not_an_image.jpg", "empty.jpg"}


@pytest.fixture(scope="module")
def image_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet_val")
    for c, wnid in enumerate(WNIDS):
        (root / wnid).mkdir()
        for k in range(2 + c):
            write_image(root / wnid / f"img{k}.JPEG", 10 * c + k)
    bad = write_bad_images(root / WNIDS[0])
    (root / "n99999999").mkdir()                    # a class the label set does not have
    write_image(root / "n99999999" / "x.jpg", 7)
    return root, bad


def test_prompt_names_disambiguate_the_clip_collisions(imagenet):
    names = prompt_names(imagenet)
    assert names.names[744] == "projectile" and names.names[657] == "missile"
    assert names.names[836] == "sunglass" and names.names[837] == "sunglasses"
    assert len({n.lower() for n in names.names}) == 1000
    assert set(names.notes["class_index"]) == {657, 744, 836, 837}
    assert (names.groups == np.arange(1000)).all()


def test_prompt_names_merge_and_keep(imagenet):
    merged = prompt_names(imagenet, "merge")
    assert merged.groups[744] == merged.groups[657] == 657 and merged.names[744] == "missile"
    assert merged.correct(np.array([744, 836, 5]), np.array([657, 837, 6])).tolist() == [True, True, False]
    kept = prompt_names(imagenet, "keep")
    assert kept.names[744] == kept.names[657] and set(kept.notes["action"]) == {"kept"}
    with pytest.raises(UserError):
        prompt_names(imagenet, "whatever")


def test_label_resolver(imagenet):
    r = LabelResolver(imagenet)
    assert r.resolve("n01440764") == (0, "")
    assert r.resolve("tench") == (0, "") and r.resolve("Tench") == (0, "")
    assert r.resolve(3) == (3, "") and r.resolve("3") == (3, "")
    assert r.resolve("missile") == (None, "ambiguous")        # a duplicated name never resolves
    assert r.resolve(1000) == (None, "unknown") and r.resolve("zebra crossing xyz") == (None, "unknown")


def test_image_folder_counts_unmatched_labels(image_tree, imagenet):
    root, _ = image_tree
    data = image_folder(root, imagenet)
    assert data.records == 2 + 3 + 3 + 4 + 1            # 2+3 readable in class 0 (3 bad), 3, 4, 1 unknown
    assert data.unmatched == {"n99999999": 1}
    assert data.class_sizes(1000)[:3] == [5, 3, 4]


def test_manifest_labels_by_name_and_index(tmp_path, imagenet):
    write_image(tmp_path / "a.jpg", 1)
    lines = [{"image": "a.jpg", "label": "goldfish"}, {"image": "a.jpg", "label": 2},
             {"image": str(tmp_path / "a.jpg"), "label": "n01440764"}, {"image": "a.jpg", "label": "missile"},
             {"image": "a.jpg", "label": "tench"}]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n\n" + json.dumps({"img": "a.jpg"}) + "\n[1]\n"
    (tmp_path / "m.jsonl").write_text(text)
    data = jsonl_manifest(tmp_path / "m.jsonl", imagenet)
    assert [s.class_index for s in data.samples] == [1, 2, 0, 0]
    assert all(s.path == str(tmp_path / "a.jpg") for s in data.samples)
    assert data.unmatched == {"missile": 1} and data.unmatched_reason["missile"] == "ambiguous"
    assert [ln for ln, _ in data.bad_records] == [6, 8, 9]
    assert data.bad_records[0][1].startswith("JSONDecodeError")
    assert [why for _, why in data.bad_records[1:]] == ["missing image and label", "not a JSON object but list"]


def test_wrong_labelset_stops_with_one_sentence(tmp_path, imagenet):
    write_image(tmp_path / "a.jpg", 1)
    lines = [{"image": "a.jpg", "label": f"flower kind {i}"} for i in range(5)] + [{"image": "a.jpg", "label": 1}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    with pytest.raises(UserError, match="5 of 6 labels .* are not classes of label set imagenet1k"):
        jsonl_manifest(tmp_path / "m.jsonl", imagenet)
    with pytest.raises(UserError, match="does not exist"):
        jsonl_manifest(tmp_path / "missing.jsonl", imagenet)


def test_per_class_never_divides_by_zero():
    table = per_class([0, 0, 2, 2, 2], [True, False, True, True, False], 4)
    assert table["n"].tolist() == [2, 0, 3, 0] and table["correct"].tolist() == [1, 0, 2, 0]
    assert table["accuracy"].iloc[0] == 0.5 and np.isnan(table["accuracy"].iloc[1])
    rows = accuracy_rows(table, model="m", dataset="d", method="zero-shot", prompt="p", scoring="top1",
                         labelset="l", version="v", origin="evaluated", run_id="r")
    assert rows["class_index"].tolist() == [0, 2] and rows["accuracy"].notna().all()


def test_fast_preprocessing_equals_the_clip_image_processor():
    from transformers import CLIPImageProcessor
    rng = np.random.default_rng(0)
    for size, (h, w) in [(32, (40, 50)), (24, (61, 20)), (16, (16, 16))]:
        ip = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        assert ShortEdgeCropPixels.supports(ip)
        image = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        fast = ShortEdgeCropPixels(ip)
        ours = fast.normalize(fast(image)[None], "cpu", torch.float32)
        ref = ip(images=image, return_tensors="pt")["pixel_values"]
        assert ours.shape == ref.shape and torch.allclose(ours, ref, atol=1e-5)


# --- CLIP end to end -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory, imagenet):
    from classfreq.models.random_models import save_random_clip
    texts = [f"a photo of a {n}." for n in imagenet.classes["name"]] + ["itap of a", "art of the"]
    return save_random_clip(tmp_path_factory.mktemp("clip"), texts)


def test_eval_clip_end_to_end(tiny_clip, image_tree, imagenet, tmp_path, capsys):
    root, bad = image_tree
    wh, out = tmp_path / "wh.duckdb", tmp_path / "out"
    argv = ["eval", "clip", "--model", str(tiny_clip), "--images", str(root), "--labelset", "imagenet1k",
            "--warehouse", str(wh), "--out", str(out), "--workers", "0", "--batch-size", "3",
            "--model-name", "clip:tiny", "--dataset-name", "tiny-val"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "3 unreadable images" in printed and "'n99999999'" in printed and "744 'missile'" in printed

    summary = json.loads((out / "summary.json").read_text())
    assert sorted(p.rsplit("/", 1)[1] for p in (u["path"] for u in summary["unreadable"])) == sorted(bad)
    assert summary["images_scored"] == 2 + 3 + 4 and summary["empty_classes"] == 997
    assert {n["prompt_name"] for n in summary["name_collisions"]} >= {"projectile", "sunglass"}

    con = connect(wh)
    acc = con.execute("SELECT * FROM accuracy ORDER BY class_index").fetchdf()
    assert acc["class_index"].tolist() == [0, 1, 2] and acc["n"].tolist() == [2, 3, 4]
    assert set(acc["origin"]) == {"evaluated"} and set(acc["prompt"]) == {"a photo of a {name}."}
    assert (acc["accuracy"] == acc["correct"] / acc["n"]).all()
    run = con.execute("SELECT options FROM runs WHERE run_id = ?", [acc["run_id"][0]]).fetchone()
    options = json.loads(run[0])
    assert options["model_id"] == str(tiny_clip) and options["dtype"] == "float32"
    joined = con.execute("SELECT count(*) FROM accuracy a JOIN classes c USING (labelset, version, class_index)"
                         ).fetchone()[0]
    assert joined == 3

    # the predictions equal CLIPModel's own logits through the HF processor (independent path)
    from transformers import AutoModel, AutoProcessor
    model, proc = AutoModel.from_pretrained(tiny_clip), AutoProcessor.from_pretrained(tiny_clip)
    pred = pd.read_parquet(out / "predictions.parquet")
    names = prompt_names(imagenet).names
    images = [Image.open(p).convert("RGB") for p in pred["image"]]
    with torch.no_grad():
        logits = model(**proc(text=[f"a photo of a {n}." for n in names], images=images, return_tensors="pt",
                              padding=True)).logits_per_image
    assert pred["predicted"].tolist() == logits.argmax(1).tolist()
    per = pred.groupby("class_index")["correct"].sum()
    assert per.tolist() == acc["correct"].tolist()

    # re-running the same model and dataset replaces its rows
    assert main(argv + ["--no-predictions", "--templates", "single"]) == 0
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 3


def test_eval_clip_prompt_ensemble_and_errors(tiny_clip, image_tree, tmp_path, capsys):
    root, _ = image_tree
    templates = tmp_path / "t.txt"
    templates.write_text("itap of a {name}.\nart of the {name}.\n")
    argv = ["eval", "clip", "--model", str(tiny_clip), "--images", str(root), "--no-warehouse",
            "--out", str(tmp_path / "o"), "--workers", "0", "--templates", str(templates)]
    assert main(argv) == 0
    rows = pd.read_parquet(tmp_path / "o" / "accuracy.parquet")
    assert set(rows["prompt"]) == {"ensemble:t.txt"} and rows["n"].sum() == 9
    templates.write_text("no placeholder\n")
    assert main(argv) == 2
    assert main(["eval", "clip", "--model", str(tmp_path / "nope"), "--images", str(root), "--no-warehouse"]) == 2
    assert "cannot load model" in capsys.readouterr().err


def test_prompt_names_fall_back_to_hypernym_then_merge(imagenet):
    from classfreq.synsets import LabelSet
    picked = [657, 744, 836, 837]
    classes = imagenet.classes.loc[picked].reset_index(drop=True).assign(class_index=range(4))
    forms = imagenet.forms[imagenet.forms["class_index"].isin(picked)].copy()
    forms["class_index"] = forms["class_index"].map({c: i for i, c in enumerate(picked)})
    forms = forms[~forms["form"].isin(["projectile", "sunglass"])]      # no other lemma left
    classes.loc[2, "hypernyms"] = None                                 # 836: no hypernym either
    toy = LabelSet(name="toy", version="t", classes=classes, forms=forms)
    names = prompt_names(toy)
    assert names.names[:2] == ["missile", "missile (weapon)"]            # 744's direct hypernym
    assert names.names[2:] == ["sunglasses", "sunglasses"] and names.groups[2] == names.groups[3] == 3
    assert names.notes.set_index("class_index")["action"].to_dict() == {
        0: "kept", 1: "renamed", 2: "merged", 3: "merged"}
