"""models/: LLaVA-style evaluation on a tiny random LlavaConfig model (float32, CPU)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from classfreq.cli import main
from classfreq.models.answers import SynonymRule, published_rule
from classfreq.models.labels import prompt_names
from classfreq.models.prompts import OPEN_QUESTION
from classfreq.models.vlm import build_prompt, model_inputs
from classfreq.models.vlm_likelihood import CachedPlan, answer_token_ids, score_cached, score_naive, score_packed, trie_size
from classfreq.queries.warehouse import connect

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark", "great grey owl",
         "great egret", "grey whale", "killer whale", "ostrich", "tiger", "tiger cat", "a"]


@pytest.fixture(scope="session")
def imagenet():
    from classfreq.synsets import load_labelset
    return load_labelset("imagenet1k")


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory, imagenet):
    from classfreq.models.random_models import save_random_llava
    texts = list(imagenet.classes["name"]) + NAMES + ["USER: What type of object is in this photo? ASSISTANT:"] * 5
    return save_random_llava(tmp_path_factory.mktemp("llava"), texts)


@pytest.fixture(scope="module")
def loaded(tiny_llava):
    from classfreq.models.vlm import load_vlm
    return load_vlm(str(tiny_llava), torch.device("cpu"), torch.float32)


def _image(seed, size=(50, 40)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def test_packed_and_cached_scores_equal_naive(loaded):
    model, processor = loaded
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    prompt = build_prompt(processor, OPEN_QUESTION)
    ids, alone = answer_token_ids(processor.tokenizer, prompt, NAMES)
    assert not alone and all(len(t) >= 1 for t in ids) and max(len(t) for t in ids) >= 3
    assert trie_size(ids) < sum(len(t) for t in ids) - len(ids)    # "great ..." / "tiger ..." share nodes
    for seed in (0, 1):
        prefix = model_inputs(processor, [prompt], [_image(seed)], torch.device("cpu"), torch.float32)
        naive = score_naive(model, prefix, ids)
        assert naive.shape == (len(NAMES),) and naive.std() > 0.5      # far from uniform: a real check
        for scores in (score_packed(model, prefix, ids),
                       score_cached(model, prefix, ids),
                       score_cached(model, prefix, ids, chunk_tokens=3),
                       score_cached(model, prefix, ids, share_prefixes=False, chunk_tokens=5)):
            torch.testing.assert_close(scores, naive, atol=1e-4, rtol=0)
    # a plan built once serves every image, and an altered name changes only its own score
    plan = CachedPlan.build(ids, chunk_tokens=4)
    changed = [list(t) for t in ids]
    changed[2] = changed[2][:-1] + [ids[1][-1]]
    assert changed[2] != ids[2]
    a = score_cached(model, prefix, plan=plan)
    b = score_cached(model, prefix, changed)
    torch.testing.assert_close(a[[0, 1, 3]], b[[0, 1, 3]], atol=1e-5, rtol=0)
    assert abs(float(a[2] - b[2])) > 1e-3


def test_answer_rules(imagenet):
    assert published_rule("It is a Great White Shark.", "great white shark")
    assert not published_rule("a shark", "great white shark")
    rule = SynonymRule(imagenet)
    answers = ["This is a white shark, Carcharodon carcharias.", "A shark.", "hot dogs", "tiger shark"]
    truth = [2, 2, 934, 292]                      # great white shark, great white shark, hot dog, tiger
    assert rule.correct(answers, truth) == [True, False, True, False]


def _manifest(tmp_path, rows):
    for name, seed, _ in rows:
        _image(seed).save(tmp_path / name)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    lines = [{"image": n, "label": label} for n, _, label in rows] + [{"image": "broken.jpg", "label": "tench"},
                                                                      {"image": "a.jpg", "label": "not a class"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    return tmp_path / "m.jsonl"


def test_eval_vlm_likelihood_end_to_end(tiny_llava, loaded, imagenet, tmp_path, capsys):
    manifest = _manifest(tmp_path, [("a.jpg", 1, "tench"), ("b.jpg", 2, "tench"), ("c.jpg", 3, 744)])
    wh, out = tmp_path / "wh.duckdb", tmp_path / "out"
    argv = ["eval", "vlm", "--model", str(tiny_llava), "--manifest", str(manifest), "--method", "likelihood",
            "--length-normalized", "--warehouse", str(wh), "--out", str(out), "--workers", "0",
            "--model-name", "llava:tiny", "--chunk-tokens", "700"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 unreadable images" in printed and "'not a class'" in printed
    con = connect(wh)
    acc = con.execute("SELECT * FROM accuracy ORDER BY scoring, class_index").fetchdf()
    assert acc["scoring"].tolist() == ["mean", "mean", "sum", "sum"]
    assert acc["class_index"].tolist() == [0, 744, 0, 744] and acc["n"].tolist() == [2, 1, 2, 1]
    assert set(acc["method"]) == {"likelihood"} and set(acc["prompt"]) == {OPEN_QUESTION}
    options = json.loads(con.execute("SELECT options FROM runs WHERE kind = 'eval-vlm'").fetchone()[0])
    assert options["likelihood_method"] == "cached" and options["dtype"] == "float32" and options["trie"]

    # the 1,000-class argmax equals the dense packed method's on the same image
    model, processor = loaded
    names = prompt_names(imagenet).names
    prompt = build_prompt(processor, OPEN_QUESTION)
    ids, _ = answer_token_ids(processor.tokenizer, prompt, names)
    pred = pd.read_parquet(out / "predictions.parquet")
    first = pred.iloc[0]
    prefix = model_inputs(processor, [prompt], [Image.open(first["image"]).convert("RGB")],
                          torch.device("cpu"), torch.float32)
    packed = score_packed(model, prefix, ids)
    assert int(packed.argmax()) == first["predicted"]
    assert abs(float(packed.max()) - first["score"]) < 1e-4
    lengths = torch.tensor([len(t) for t in ids], dtype=torch.float32)
    assert int((packed / lengths).argmax()) == first["predicted_mean"]
    assert (pred.groupby("class_index")["correct"].sum().tolist()
            == acc[acc["scoring"] == "sum"]["correct"].tolist())


def test_eval_vlm_generation_open_and_closed(tiny_llava, tmp_path):
    manifest = _manifest(tmp_path, [("a.jpg", 1, "tench"), ("b.jpg", 2, "goldfish"), ("c.jpg", 3, 2)])
    wh = tmp_path / "wh.duckdb"
    for method in ("open", "closed"):
        out = tmp_path / method
        assert main(["eval", "vlm", "--model", str(tiny_llava), "--manifest", str(manifest), "--method", method,
                     "--warehouse", str(wh), "--out", str(out), "--workers", "0", "--batch-size", "2",
                     "--max-new-tokens", "4"]) == 0
        pred = pd.read_parquet(out / "predictions.parquet")
        assert len(pred) == 3 and pred["answer"].map(lambda a: isinstance(a, str)).all()
        assert pred["correct_published"].tolist() == [
            published_rule(a, n) for a, n in zip(pred["answer"], ["tench", "goldfish", "great white shark"])]
    con = connect(wh)
    got = con.execute("SELECT method, scoring, sum(n) FROM accuracy GROUP BY ALL ORDER BY ALL").fetchall()
    assert got == [("closed-world", "published", 3), ("closed-world", "synonyms", 3),
                   ("open-world", "published", 3), ("open-world", "synonyms", 3)]
