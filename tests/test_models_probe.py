"""`classfreq probe`: hidden-state features of a tiny random LLaVA, a linear probe with the penalty
chosen on validation only, per-class test accuracy into the warehouse as method 'probe'."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from models_support import load_imagenet, save_tiny_llava
from PIL import Image

from classfreq.cli import main
from classfreq.models.probe import choose_and_test, stratified_split
from classfreq.queries.warehouse import connect

COLOURS = {"tench": (200, 40, 40), "goldfish": (40, 200, 40), "great white shark": (40, 40, 200)}


def test_split_is_stratified_and_seeded():
    labels = np.repeat([0, 1, 2, 3], [10, 5, 2, 1])
    split = stratified_split(labels, 0.2, 0.2, seed=3)
    for c, (test, val) in {0: (2, 2), 1: (1, 1), 2: (0, 0), 3: (0, 0)}.items():
        assert ((labels == c) & (split == "test")).sum() == test and ((labels == c) & (split == "val")).sum() == val
    assert (split == stratified_split(labels, 0.2, 0.2, seed=3)).all()
    assert not (split == stratified_split(labels, 0.2, 0.2, seed=4)).all()


def test_penalty_is_chosen_on_validation_never_on_test():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    x = rng.normal(size=(120, 8)) + np.eye(4, 8)[y] * 3.0
    split = stratified_split(y, 0.25, 0.25, seed=1)
    predicted, chosen = choose_and_test(x, y, split, [1e-3, 1e-1, 10.0])
    assert chosen["l2"] == max(sorted(map(float, chosen["val_accuracy"])),
                               key=lambda k: (chosen["val_accuracy"][str(k)], k))
    assert (predicted == y[split == "test"]).mean() > 0.8          # 4 well-separated classes
    # scrambling the test labels changes nothing about the choice or the predictions
    y2 = y.copy()
    y2[split == "test"] = rng.permutation(y2[split == "test"])
    predicted2, chosen2 = choose_and_test(x, y2, split, [1e-3, 1e-1, 10.0])
    assert chosen2 == chosen and (predicted2 == predicted).all()


@pytest.fixture(scope="module")
def imagenet():
    return load_imagenet()


def _coloured_images(folder, per_class=10):
    """Class = colour, plus noise: a signal the hidden states of even a random model carry."""
    rng = np.random.default_rng(0)
    lines = []
    for name, colour in COLOURS.items():
        for k in range(per_class):
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (40, 48, 3)), 0, 255).astype(np.uint8)
            path = folder / f"{name.replace(' ', '_')}_{k}.jpg"
            Image.fromarray(pixels).save(path, format="JPEG")
            lines.append(json.dumps({"image": path.name, "label": name}))
    (folder / "m.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "m.jsonl"


def test_probe_end_to_end(imagenet, tmp_path, capsys):
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from classfreq.models.probe import hidden_features
    model_dir = save_tiny_llava(tmp_path / "llava", imagenet)
    manifest = _coloured_images(tmp_path)
    wh, out = tmp_path / "wh.duckdb", tmp_path / "out"
    assert main(["probe", "--model", str(model_dir), "--manifest", str(manifest), "--warehouse", str(wh),
                 "--out", str(out), "--workers", "0", "--model-name", "llava:tiny", "--split-seed", "1",
                 "--l2", "0.001", "0.1", "10"]) == 0
    assert "probe on 18 train / 6 validation / 6 test images" in capsys.readouterr().out
    con = connect(wh)
    acc = con.execute("SELECT method, prompt, scoring, class_index, n, correct FROM accuracy ORDER BY scoring, "
                      "class_index").fetchdf()
    assert set(acc["method"]) == {"probe"} and set(acc["prompt"]) == {"What type of object is in this photo?"}
    assert set(acc["scoring"]) == {"last-token", "image-mean"}
    assert acc.groupby("scoring")["n"].sum().tolist() == [6, 6] and set(acc["class_index"]) == {0, 1, 2}
    options = json.loads(con.execute("SELECT options FROM runs WHERE kind = 'eval-probe'").fetchone()[0])
    assert options["split_sizes"] == {"train": 18, "val": 6, "test": 6}
    mean = options["chosen"]["image-mean"]
    assert mean["l2"] in (0.001, 0.1, 10.0) and set(mean["val_accuracy"]) == {"0.001", "0.1", "10.0"}
    assert mean["test_accuracy"] > 1 / 3          # colour is in the image tokens: better than chance
    pred = pd.read_parquet(out / "predictions.parquet")
    assert len(pred) == 6 and (pred.groupby("class_index")["predicted_image-mean"]
                               .apply(lambda p: (p == p.name).sum()).tolist()
                               == acc[acc["scoring"] == "image-mean"]["correct"].tolist())

    # the features equal transformers' own last hidden layer (independent path)
    model = LlavaForConditionalGeneration.from_pretrained(model_dir).eval()
    proc = AutoProcessor.from_pretrained(model_dir)
    prompt = "USER: <image>\nWhat type of object is in this photo?\nASSISTANT:"
    image = Image.open(pred["image"][0]).convert("RGB")
    with torch.no_grad():
        inputs = proc(text=[prompt], images=[image], return_tensors="pt")
        hidden = model(**inputs, output_hidden_states=True).hidden_states[-1][0]
    at_image = inputs["input_ids"][0] == model.config.image_token_id
    ours = hidden_features(model, proc, prompt, [image])
    assert np.allclose(ours["last-token"][0], hidden[-1].numpy(), atol=1e-5)
    assert np.allclose(ours["image-mean"][0], hidden[at_image].mean(0).numpy(), atol=1e-5)
