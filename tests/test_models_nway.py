"""models/: label-space size (`--n-way N --seed S`): the draw, CLIP and the VLM (closed and
likelihood) end to end on tiny random models, rows in nway_accuracy keyed by N and seed."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from models_support import hf_generate, load_imagenet, save_tiny_llava, write_jpeg, write_manifest
from PIL import Image

from classfreq.cli import main
from classfreq.models.labels import prompt_names
from classfreq.models.nway import best_among, draw_choices
from classfreq.queries.warehouse import connect

WNIDS = ["n01440764", "n01443537", "n01484850"]   # tench, goldfish, great white shark


@pytest.fixture(scope="module")
def imagenet():
    return load_imagenet()


def test_draw_offers_the_true_class_and_distinct_others_uniformly():
    truth = np.array([0, 5, 9] * 4000)
    a = draw_choices(truth, 10, 3, seed=7)
    assert a.shape == (12000, 3)
    assert all(t in row for t, row in zip(truth, a)) and all(len(set(row)) == 3 for row in a)
    assert (a == draw_choices(truth, 10, 3, seed=7)).all() and not (a == draw_choices(truth, 10, 3, seed=8)).all()
    # the true class sits in each position about equally often, and each other class is drawn ~2/9 of the time
    position = (a == truth[:, None]).argmax(1)
    assert np.allclose(np.bincount(position) / len(a), 1 / 3, atol=0.02)
    others = np.array([np.isin(np.delete(np.arange(10), 0), row[row != 0]) for row in a[truth == 0]])
    assert np.allclose(others.mean(0), 2 / 9, atol=0.03)
    assert best_among(np.array([[0.1, 0.9, 0.5], [0.8, 0.2, 0.3]]), np.array([[0, 2], [1, 2]])).tolist() == [2, 2]
    with pytest.raises(ValueError):
        draw_choices(truth, 10, 11, seed=0)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory, imagenet):
    from classfreq.models.random_models import save_random_clip
    return save_random_clip(tmp_path_factory.mktemp("clip"), [f"a photo of a {n}." for n in imagenet.classes["name"]])


def test_clip_n_way(tiny_clip, tmp_path, imagenet, capsys):
    root = tmp_path / "val"
    for c, wnid in enumerate(WNIDS):
        (root / wnid).mkdir(parents=True)
        for k in range(3):
            write_jpeg(root / wnid / f"img{k}.JPEG", 10 * c + k)
    wh = tmp_path / "wh.duckdb"
    base = ["eval", "clip", "--model", str(tiny_clip), "--images", str(root), "--warehouse", str(wh), "--workers", "0",
            "--model-name", "clip:tiny"]
    assert main(base + ["--out", str(tmp_path / "all")]) == 0
    assert main(base + ["--out", str(tmp_path / "n1000"), "--n-way", "1000"]) == 0
    assert main(base + ["--out", str(tmp_path / "n2"), "--n-way", "2", "--seed", "5"]) == 0
    assert "N = 2 (seed 5)" in capsys.readouterr().out
    con = connect(wh)
    full = con.execute("SELECT class_index, n, correct FROM accuracy ORDER BY class_index").fetchall()
    assert sum(n for _, n, _ in full) == 9
    # offering every class is the ordinary top-1
    assert con.execute("SELECT class_index, n, correct FROM nway_accuracy WHERE n_way = 1000 ORDER BY class_index"
                       ).fetchall() == full
    two = con.execute("SELECT class_index, n, correct, seed FROM nway_accuracy WHERE n_way = 2 ORDER BY class_index"
                      ).fetchdf()
    assert two["n"].tolist() == [3, 3, 3] and set(two["seed"]) == {5}
    options = json.loads(con.execute("SELECT options FROM runs WHERE options->>'$.n_way' = '2'").fetchone()[0])
    assert options["seed"] == 5

    # independent path: CLIPModel's logits through the HF processor, argmax among the drawn pair
    from transformers import AutoModel, AutoProcessor
    model, proc = AutoModel.from_pretrained(tiny_clip), AutoProcessor.from_pretrained(tiny_clip)
    pred = pd.read_parquet(tmp_path / "n2" / "predictions.parquet")
    names = prompt_names(imagenet).names
    choices = draw_choices(pred["class_index"].to_numpy(), 1000, 2, seed=5)   # same image order as the run
    with torch.no_grad():
        logits = model(**proc(text=[f"a photo of a {n}." for n in names], padding=True, return_tensors="pt",
                              images=[Image.open(p).convert("RGB") for p in pred["image"]])).logits_per_image
    assert pred["predicted"].tolist() == best_among(logits.numpy(), choices).tolist()
    assert pred.groupby("class_index")["correct"].sum().tolist() == two["correct"].tolist()
    assert (pred["predicted"].to_numpy() == pred["class_index"].to_numpy()).sum() > \
        sum(c for _, _, c in full)  # 2-way is easier than 1000-way even for random weights


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory, imagenet):
    return save_tiny_llava(tmp_path_factory.mktemp("llava"), imagenet)


def test_vlm_closed_n_way_lists_the_drawn_names_in_the_study_prompt(tiny_llava, tmp_path, imagenet):
    manifest = write_manifest(tmp_path, ["tench", "goldfish"])
    wh = tmp_path / "wh.duckdb"
    assert main(["eval", "vlm", "--model", str(tiny_llava), "--manifest", manifest, "--method", "closed",
                 "--n-way", "3", "--seed", "11", "--warehouse", str(wh), "--out", str(tmp_path / "o"),
                 "--workers", "0", "--max-new-tokens", "4"]) == 0
    names = prompt_names(imagenet).names
    choices = draw_choices([0, 1], 1000, 3, seed=11)
    prompts = [f'USER: <image>\nWhat type of object is in this photo? Choose one from '
               f'"{", ".join(names[c] for c in row)}".\nASSISTANT:' for row in choices]
    con = connect(wh)
    assert json.loads(con.execute("SELECT options FROM runs").fetchone()[0])["prompt_example"] == prompts[0]
    pred = pd.read_parquet(tmp_path / "o" / "predictions.parquet")
    assert pred["answer"].tolist() == hf_generate(tiny_llava, prompts, list(pred["image"]), 4)
    got = con.execute("SELECT method, scoring, n_way, seed, sum(n) FROM nway_accuracy GROUP BY ALL ORDER BY ALL"
                      ).fetchall()
    assert got == [("closed-world", "published", 3, 11, 2), ("closed-world", "synonyms", 3, 11, 2)]
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 0


def test_vlm_likelihood_n_way(tiny_llava, tmp_path, imagenet):
    from classfreq.models.prompts import OPEN_QUESTION
    from classfreq.models.vlm import build_prompt, load_vlm, model_inputs
    from classfreq.models.vlm_likelihood import answer_token_ids, score_packed
    manifest = write_manifest(tmp_path, ["tench", "great white shark"])
    wh = tmp_path / "wh.duckdb"
    base = ["eval", "vlm", "--model", str(tiny_llava), "--manifest", manifest, "--method", "likelihood",
            "--warehouse", str(wh), "--workers", "0"]
    assert main(base + ["--out", str(tmp_path / "n4"), "--n-way", "4", "--seed", "2"]) == 0
    pred = pd.read_parquet(tmp_path / "n4" / "predictions.parquet")
    choices = draw_choices(pred["class_index"].to_numpy(), 1000, 4, seed=2)
    model, processor = load_vlm(str(tiny_llava), torch.device("cpu"), torch.float32)
    prompt = build_prompt(processor, OPEN_QUESTION)
    ids, _ = answer_token_ids(processor.tokenizer, prompt, prompt_names(imagenet).names)
    for k, path in enumerate(pred["image"]):
        prefix = model_inputs(processor, [prompt], [Image.open(path).convert("RGB")], torch.device("cpu"), torch.float32)
        dense = score_packed(model, prefix, ids).numpy()
        assert pred["predicted"][k] == best_among(dense[None], choices[k][None])[0]
        assert pred["predicted"][k] in choices[k]
    con = connect(wh)
    assert con.execute("SELECT n_way, seed, sum(n) FROM nway_accuracy GROUP BY ALL").fetchall() == [(4, 2, 2)]
