"""`classfreq import-accuracy --vlmclassifier`: the study's own output files, in exactly the shape its
main_results/main.py writes (manifest fields + output + pred), scored by both rules, into the warehouse."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from classfreq.cli import main
from classfreq.queries.warehouse import connect

OPEN_PROMPT = "USER: \nWhat type of object is in this photo?\nASSISTANT:"


@pytest.fixture(scope="module")
def manifest_lines(shared):
    """The study's 10 example manifest lines (all tench) and copies relabelled as goldfish and great
    white shark (classes 1 and 2), as its ImageNet manifest has them."""
    base = [json.loads(x) for x in
            (shared / "reference" / "vlmclassifier" / "imagenet_small.jsonl").read_text().splitlines()]
    assert len(base) == 10 and {b["label"] for b in base} == {"tench"}
    relabelled = []
    for idx, wnid, label in ((1, "n01443537", "goldfish"), (2, "n01484850", "great white shark")):
        relabelled += [{**b, "label": label, "label_idx": idx, "imagenet_label": wnid,
                        "image": b["image"].replace("n01440764", wnid)} for b in base[:4]]
    return base + relabelled


def _study_open_record(item: dict, answer: str) -> dict:
    # main.py: item["output"] = the whole decoded sequence, item["pred"] = the text after "ASSISTANT:"
    return {**item, "output": f"{OPEN_PROMPT} {answer}", "pred": answer}


def _study_closed_record(item: dict, choices: list[str], answer: str) -> dict:
    question = f"What type of object is in this photo? Choose one from \"{', '.join(choices)}\"."
    return {**item, "output": f"USER: \n{question}\nASSISTANT: {answer}", "pred": answer}


def _write(path, records, extra_lines=()):
    path.write_text("\n".join([json.dumps(r) for r in records] + list(extra_lines)) + "\n")
    return path


def test_open_world_outputs_scored_by_both_rules(manifest_lines, tmp_path, capsys):
    tench, goldfish, shark = manifest_lines[:10], manifest_lines[10:14], manifest_lines[14:18]
    answers = (["A tench, a freshwater fish."] * 6 + ["A fish held by a man."] * 4          # 6 / 10 published
               + ["goldfish"] * 1 + ["Carassius auratus in a bowl"] * 1 + ["a koi"] * 2    # 1 / 4, synonyms 2 / 4
               + ["a white shark, Carcharodon carcharias"] * 2 + ["Great White Shark"] * 2)  # 2 / 4, synonyms 4 / 4
    records = [_study_open_record(item, a) for item, a in zip(tench + goldfish + shark, answers)]
    bad = ["{not json", json.dumps({**tench[0], "pred": None}),
           json.dumps(_study_open_record({**tench[0], "label": "zebra crossing xyz", "imagenet_label": None},
                                         "zebra"))]
    path = _write(tmp_path / "outputs_open.jsonl", records, bad)
    wh = tmp_path / "wh.duckdb"
    assert main(["import-accuracy", "--vlmclassifier", str(path), "--model", "llava-1.5-7b", "--method", "open",
                 "--warehouse", str(wh)]) == 0
    printed = capsys.readouterr().out
    assert "imported 18 records of llava-1.5-7b (open-world) into accuracy" in printed
    assert "left out 3 lines" in printed and "not JSON (1)" in printed

    con = connect(wh)
    got = con.execute("SELECT scoring, class_index, n, correct FROM accuracy ORDER BY scoring, class_index").fetchall()
    # the synonym rule knows "carassius auratus" (goldfish) and "white shark" (great white shark)
    assert got == [("published", 0, 10, 6), ("published", 1, 4, 1), ("published", 2, 4, 2),
                   ("synonyms", 0, 10, 6), ("synonyms", 1, 4, 2), ("synonyms", 2, 4, 4)]
    assert set(con.execute("SELECT DISTINCT method || '|' || origin || '|' || dataset FROM accuracy").fetchall()) \
        == {("open-world|imported|imagenet1k-val",)}
    options = json.loads(con.execute("SELECT options FROM runs WHERE kind = 'import-accuracy'").fetchone()[0])
    assert options["lines_rejected"] == 3 and options["records"] == 18
    assert {r["line"] for r in options["rejected_examples"]} == {19, 20, 21}
    assert abs(options["top1_published"] - 9 / 18) < 1e-12
    assert con.execute("SELECT count(*) FROM nway_accuracy").fetchone()[0] == 0


def test_closed_world_with_two_choices_goes_to_the_label_space_table(manifest_lines, tmp_path, capsys):
    items = manifest_lines[:10] + manifest_lines[10:14]
    records = []
    for k, item in enumerate(items):
        other = "hammerhead shark" if k % 2 else "goldfish" if item["label"] != "goldfish" else "tench"
        choices = [item["label"], other] if k % 3 else [other, item["label"]]
        records.append(_study_closed_record(item, choices, item["label"] if k < 7 else other))
    # the study's CLIP runs store the offered names in a `choices` field instead
    clip_like = {**manifest_lines[0], "choices": ["tench", "tiger"], "pred": "tench"}
    not_offered = _study_closed_record(manifest_lines[1], ["goldfish", "tiger"], "tiger")
    path = _write(tmp_path / "outputs_n2.jsonl", records + [clip_like, not_offered])
    wh = tmp_path / "wh.duckdb"
    assert main(["import-accuracy", "--vlmclassifier", str(path), "--model", "llava-1.5-7b", "--method", "closed",
                 "--warehouse", str(wh)]) == 0
    assert "(closed-world, N = 2) into nway_accuracy" in capsys.readouterr().out
    con = connect(wh)
    got = con.execute("SELECT scoring, n_way, seed, class_index, n, correct FROM nway_accuracy "
                      "ORDER BY scoring, class_index").fetchall()
    assert got == [("published", 2, 1234, 0, 11, 8), ("published", 2, 1234, 1, 4, 0),
                   ("synonyms", 2, 1234, 0, 11, 8), ("synonyms", 2, 1234, 1, 4, 0)]
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 0

    # mixed N in one file is refused; --method is required
    mixed = records[:2] + [_study_closed_record(items[2], ["tench", "goldfish", "tiger"], "tench")]
    assert main(["import-accuracy", "--vlmclassifier", str(_write(tmp_path / "mixed.jsonl", mixed)), "--model", "m",
                 "--method", "closed", "--warehouse", str(wh)]) == 2
    assert "different numbers of choices" in capsys.readouterr().err
    assert main(["import-accuracy", "--vlmclassifier", str(path), "--model", "m", "--warehouse", str(wh)]) == 2
    assert "--method open or --method closed" in capsys.readouterr().err


def test_study_outputs_import_without_the_models_extra(manifest_lines, tmp_path):
    path = _write(tmp_path / "o.jsonl", [_study_open_record(i, "a tench") for i in manifest_lines[:3]])
    blocked = ("import sys\nfor m in ('torch', 'transformers', 'PIL', 'tokenizers'):\n    sys.modules[m] = None\n"
               "from classfreq.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    run = subprocess.run([sys.executable, "-c", blocked, "import-accuracy", "--vlmclassifier", str(path), "--model",
                          "m", "--method", "open", "--warehouse", str(tmp_path / "wh.duckdb")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "top-1 1.0000 by the published rule" in run.stdout
