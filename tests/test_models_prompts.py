"""models/: named prompt variants (the study's default, alternative, chain of thought, a user file)
and the chat format per model family, end to end on a tiny random LLaVA (float32, CPU)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from models_support import hf_generate, load_imagenet, save_tiny_llava, write_manifest

from classfreq.cli import main
from classfreq.errors import UserError
from classfreq.models.prompts import ALTERNATIVE_QUESTION, CHAIN_OF_THOUGHT, OPEN_QUESTION, PROMPT_VARIANTS, read_prompt
from classfreq.queries.warehouse import connect

VICUNA = ("A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
          "detailed, and polite answers to the human's questions.")


@pytest.fixture(scope="module")
def imagenet():
    return load_imagenet()


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory, imagenet):
    return save_tiny_llava(tmp_path_factory.mktemp("llava"), imagenet)


def test_study_prompt_per_model_family_and_the_checkpoints_own_template(tiny_llava):
    from transformers import AutoProcessor

    from classfreq.models.vlm import build_prompt
    proc = AutoProcessor.from_pretrained(tiny_llava)
    assert not getattr(proc, "chat_template", None)
    q = "What type of object is in this photo?"
    # the study's strings, main_results/main.py and imagewikiqa/main.py
    assert build_prompt(proc, q) == f"USER: <image>\n{q}\nASSISTANT:"
    assert build_prompt(proc, q, "llava-1.5", CHAIN_OF_THOUGHT) == f"USER: <image>\n{q}\nASSISTANT: Let's think step by step."
    assert build_prompt(proc, q, "llava-1.6-mistral") == f"[INST] <image>\n{q}[/INST]"
    assert build_prompt(proc, q, "llava-1.6-vicuna") == f"{VICUNA} USER: <image>\n{q} ASSISTANT:"
    assert build_prompt(proc, q, "llava-1.5", image=False) == f"USER: {q}\nASSISTANT:"
    with pytest.raises(UserError, match="no chat template"):
        build_prompt(proc, q, "template")
    # a checkpoint with its own chat template: auto uses it, a family format overrides it
    proc.chat_template = ("{% for m in messages %}<|user|>{% for c in m['content'] %}{% if c['type'] == 'image' %}"
                          "<image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}<|assistant|>")
    assert build_prompt(proc, q) == f"<|user|><image>{q}<|assistant|>"
    assert build_prompt(proc, q, "template", CHAIN_OF_THOUGHT) == f"<|user|><image>{q}<|assistant|> {CHAIN_OF_THOUGHT}"
    assert build_prompt(proc, q, "llava-1.5") == f"USER: <image>\n{q}\nASSISTANT:"


def test_prompt_variants_and_files(tmp_path):
    assert read_prompt("default").question == OPEN_QUESTION == "What type of object is in this photo?"
    assert read_prompt("alternative").question == ALTERNATIVE_QUESTION == "What is the main object depicted in this photograph?"
    cot = read_prompt("cot")
    assert cot.answer_prefix == "Let's think step by step." and cot.min_new_tokens_limit == 512
    assert cot.label == "What type of object is in this photo? [Let's think step by step.]"
    assert read_prompt("default").for_method(True).question == \
        'What type of object is in this photo? Choose one from "{classes}".'
    (tmp_path / "q.txt").write_text("\nWhich animal or object\nis this?\n")
    assert read_prompt(str(tmp_path / "q.txt")).question == "Which animal or object is this?"
    assert read_prompt("cot", "Name it: {classes}").answer_prefix == CHAIN_OF_THOUGHT
    (tmp_path / "empty.txt").write_text("\n")
    for bad in (str(tmp_path / "empty.txt"), "nonexistent-variant"):
        with pytest.raises(UserError):
            read_prompt(bad)
    assert set(PROMPT_VARIANTS) == {"default", "alternative", "name-item", "identify", "cot"}
    assert read_prompt("identify").question == "Identify the object in this image."


def _eval(tiny_llava, manifest, wh, out, *extra):
    return main(["eval", "vlm", "--model", str(tiny_llava), "--manifest", manifest, "--warehouse", str(wh),
                 "--out", str(out), "--workers", "0", "--batch-size", "2", "--model-name", "llava:tiny", *extra])


def test_variants_end_to_end_answers_equal_transformers_on_the_study_prompt(tiny_llava, tmp_path):
    manifest = write_manifest(tmp_path, ["tench", "goldfish", "tench"])
    wh = tmp_path / "wh.duckdb"
    (tmp_path / "mine.txt").write_text("Name the object in this picture.\n")
    runs = {"alternative": (["--method", "open", "--prompt", "alternative", "--max-new-tokens", "6"],
                            f"USER: <image>\n{ALTERNATIVE_QUESTION}\nASSISTANT:", 6),
            "cot": (["--method", "open", "--prompt", "cot", "--max-new-tokens", "6"],
                    f"USER: <image>\n{OPEN_QUESTION}\nASSISTANT: Let's think step by step.", 512),
            "file": (["--method", "open", "--prompt", str(tmp_path / "mine.txt"), "--max-new-tokens", "6"],
                     "USER: <image>\nName the object in this picture.\nASSISTANT:", 6)}
    (tmp_path / "one").mkdir()
    one_image = write_manifest(tmp_path / "one", ["goldfish"])     # chain of thought runs 512 tokens: one image
    for name, (argv, study_prompt, limit) in runs.items():
        assert _eval(tiny_llava, one_image if name == "cot" else manifest, wh, tmp_path / name, *argv) == 0
        pred = pd.read_parquet(tmp_path / name / "predictions.parquet")
        want = hf_generate(tiny_llava, [study_prompt] * len(pred), list(pred["image"]), limit)
        assert pred["answer"].tolist() == want, name
    con = connect(wh)
    prompts = {r[0] for r in con.execute("SELECT DISTINCT prompt FROM accuracy").fetchall()}
    assert prompts == {ALTERNATIVE_QUESTION, f"{OPEN_QUESTION} [{CHAIN_OF_THOUGHT}]", "Name the object in this picture."}
    options = [json.loads(r[0]) for r in con.execute("SELECT options FROM runs WHERE kind = 'eval-vlm' ORDER BY started")
               .fetchall()]
    assert [o["prompt_variant"] for o in options] == ["alternative", "cot", "file:mine.txt"]
    assert [o["max_new_tokens"] for o in options] == [6, 512, 6]
    assert options[1]["prompt_example"] == runs["cot"][1] and options[1]["answer_prefix"] == CHAIN_OF_THOUGHT


def test_closed_world_lists_every_class_as_the_study_does(tiny_llava, tmp_path, imagenet):
    manifest = write_manifest(tmp_path, ["tench", "goldfish"])
    assert _eval(tiny_llava, manifest, tmp_path / "wh.duckdb", tmp_path / "o", "--method", "closed",
                 "--max-new-tokens", "3") == 0
    con = connect(tmp_path / "wh.duckdb")
    options = json.loads(con.execute("SELECT options FROM runs").fetchone()[0])
    example = options["prompt_example"]
    assert example.startswith('USER: <image>\nWhat type of object is in this photo? Choose one from "tench, goldfish, ')
    assert example.endswith('".\nASSISTANT:') and example.count(", ") == 999
    assert {r[0] for r in con.execute("SELECT DISTINCT prompt FROM accuracy").fetchall()} == {
        'What type of object is in this photo? Choose one from "{classes}".'}


def test_prompt_options_refused_where_they_do_not_apply(tmp_path, capsys):
    base = ["eval", "vlm", "--model", str(tmp_path / "m"), "--manifest", str(tmp_path / "m.jsonl")]
    assert main(base + ["--method", "likelihood", "--prompt", "cot"]) == 2
    assert "use it with --method open or closed" in capsys.readouterr().err
    assert main(base + ["--method", "open", "--prompt", str(tmp_path / "missing.txt")]) == 2
    assert "neither default, alternative, name-item, identify, cot nor a file" in capsys.readouterr().err
    assert main(base + ["--method", "open", "--n-way", "5"]) == 2
    assert "with --method closed or likelihood" in capsys.readouterr().err
    assert main(base + ["--method", "closed", "--n-way", "1"]) == 2
    assert "--n-way must be at least 2" in capsys.readouterr().err
