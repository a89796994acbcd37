"""`classfreq eval imagewikiqa`: the study's real questions, images written as JPEG files, a tiny random
LLaVA; both conditions (image, class name given) scored by the answer letter, per class, into the warehouse."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from models_support import hf_generate, load_imagenet, save_tiny_llava, write_jpeg

from classfreq.cli import main
from classfreq.models.answers import answer_letter
from classfreq.models.imagewikiqa import read_questions, score_answers
from classfreq.queries.warehouse import connect

COT = "Let's think step by step."


@pytest.fixture(scope="module")
def imagenet():
    return load_imagenet()


@pytest.fixture(scope="module")
def questions_file(shared):
    return shared / "reference" / "vlmclassifier" / "imagewikiqa.jsonl"


def test_all_2000_questions_join_the_label_set(questions_file, imagenet):
    qs = read_questions(questions_file, imagenet, None)
    assert len(qs.items) == 2000 and not qs.rejected
    assert len({q.class_index for q in qs.items}) == 527
    by_name = {q.classname: q.class_index for q in qs.items}
    assert by_name["sunglasses"] == 837 and by_name["stretcher"] == 830 and by_name["Giant Schnauzer"] == 197


def test_answer_letter_scoring(questions_file, imagenet):
    qs = read_questions(questions_file, imagenet, None, limit=4).items
    right = [q.label for q in qs]
    answers = [f"The answer is {right[0]}.", f"({right[1]}) because ...", "I am not sure.",
               "Let's think step by step. So the answer is " + ("A" if right[3] != "A" else "B")]
    scored = score_answers(qs, answers)
    assert scored["correct"].tolist() == [True, True, False, False]
    assert scored["letter"].tolist()[:3] == [right[0], right[1], None]


def test_eval_imagewikiqa_both_conditions_end_to_end(questions_file, imagenet, tmp_path, capsys):
    lines = questions_file.read_text().splitlines()[:6]
    records = [json.loads(x) for x in lines]
    val = tmp_path / "val"
    (val / "images").mkdir(parents=True)
    for k, r in enumerate(records):
        name = r["image"].split("/")[-1]
        # half under val/images/ as the question file says, half directly in val/ (a plain ImageNet val folder)
        write_jpeg((val / "images" / name) if k % 2 else (val / name), 40 + k, size=(64, 48))
    broken = val / "images" / records[5]["image"].split("/")[-1]
    broken.write_bytes(broken.read_bytes()[:200])          # a truncated JPEG: unreadable, reported
    bad = [json.dumps({**records[0], "label": "E"}), json.dumps({**records[0], "classname": "not a class at all"}),
           "{oops"]
    qfile = tmp_path / "imagewikiqa.jsonl"
    qfile.write_text("\n".join(lines + bad) + "\n")
    model_dir = save_tiny_llava(tmp_path / "llava", imagenet, [r["text"] for r in records])
    wh, out = tmp_path / "wh.duckdb", tmp_path / "out"
    assert main(["eval", "imagewikiqa", "--model", str(model_dir), "--questions", str(qfile), "--images", str(val),
                 "--condition", "both", "--max-new-tokens", "6", "--batch-size", "4", "--workers", "0",
                 "--warehouse", str(wh), "--out", str(out), "--model-name", "llava:tiny"]) == 0
    printed = capsys.readouterr().out
    assert "1 unreadable images" in printed and "left out 3 malformed records" in printed

    pred = pd.read_parquet(out / "predictions.parquet")
    image, name = pred[pred["condition"] == "image"], pred[pred["condition"] == "name"]
    assert len(image) == 5 and len(name) == 6
    by_line = {k + 1: r for k, r in enumerate(records)}
    # independent path: transformers on the study's prompt (imagewikiqa/main.py), and the name-given variant
    want_image = hf_generate(model_dir, [f"USER: <image>\n{by_line[ln]['text']}\nASSISTANT: {COT}"
                                         for ln in image["line"]], list(image["image"]), 6)
    want_name = hf_generate(model_dir, [f"USER: The object in question is: {by_line[ln]['classname']}.\n"
                                        f"{by_line[ln]['text']}\nASSISTANT: {COT}" for ln in name["line"]], None, 6)
    assert image["answer"].tolist() == want_image and name["answer"].tolist() == want_name
    assert (pred["correct"] == [answer_letter(a) == lab for a, lab in zip(pred["answer"], pred["label"])]).all()

    con = connect(wh)
    acc = con.execute("SELECT method, class_index, n, correct, prompt, scoring, dataset FROM accuracy "
                      "ORDER BY method, class_index").fetchdf()
    assert set(acc["dataset"]) == {"imagewikiqa"} and set(acc["scoring"]) == {"letter"}
    assert set(acc["prompt"]) == {f"imagewikiqa question [{COT}]"}
    for method, part in (("qa-image", image), ("qa-name-given", name)):
        rows = acc[acc["method"] == method]
        assert rows["n"].sum() == len(part)
        assert rows.set_index("class_index")["correct"].to_dict() == \
            part.groupby("class_index")["correct"].sum().astype(int).to_dict()
    options = json.loads(con.execute("SELECT options FROM runs WHERE kind = 'eval-imagewikiqa'").fetchone()[0])
    assert options["conditions"] == ["image", "name"] and options["chain_of_thought"] is True
    assert options["unreadable_images"] == 1


def test_image_condition_needs_images(questions_file, capsys):
    assert main(["eval", "imagewikiqa", "--model", "m", "--questions", str(questions_file)]) == 2
    assert "needs --images" in capsys.readouterr().err
