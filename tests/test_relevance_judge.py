"""The relevance judge on clear cases, the form locator's semantics, the shipped data and the
`classfreq relevance score` command end to end."""
from __future__ import annotations

import json

import pytest

from classfreq.cli import main
from classfreq.relevance.judge import Models, load_judge, read_params
from classfreq.relevance.locate import FormLocator
from classfreq.relevance.senses import load_sense_table, read_table, shipped_path
from classfreq.synsets import labelset_names, load_labelset


@pytest.fixture(scope="module")
def models():
    return Models()


@pytest.fixture(scope="module")
def imagenet():
    return load_labelset("imagenet1k")


def _class(labelset, name: str) -> int:
    return int(labelset.classes.class_index[labelset.classes.name == name].iloc[0])


CLEAR = [  # (caption, class name, form, relevant?)
    ("2015 Jaguar XJ for sale in Dallas", "jaguar", "jaguar", False),
    ("a jaguar resting on a branch", "jaguar", "jaguar", True),
    ("man wearing an orange shirt", "orange", "orange", False),
    ("a bowl of oranges on the kitchen table", "orange", "oranges", True),
]


def test_clear_cases_are_judged_right(models, imagenet):
    judge = load_judge("imagenet1k", "full", models)
    texts, classes, forms, expected = zip(*[(t, _class(imagenet, c), f, r) for t, c, f, r in CLEAR])
    p = judge.score(list(texts), list(classes), list(forms))
    assert [bool(v >= judge.threshold) for v in p] == list(expected), dict(zip(texts, p.round(3)))


def test_locator_follows_leftmost_longest_matching(imagenet):
    locator = FormLocator(imagenet.forms.form)
    # "tiger" inside "tiger shark" is not what the counter counts; the second "tiger" is
    loc = locator.locate("a tiger shark and a Tiger", "tiger")
    assert loc.text[loc.start:loc.end] == "Tiger" and loc.n_occurrences == 2
    loc = locator.locate("a tiger shark", "tiger")   # only nested: judged where it occurs
    assert loc.text[loc.start:loc.end] == "tiger" and loc.n_occurrences == 1
    loc = locator.locate("Jaguars &amp; Tigers", "jaguars")
    assert loc.text == "Jaguars & Tigers" and (loc.start, loc.end) == (0, 7)
    assert not locator.locate("no such word here", "jaguar").found


def test_shipped_sense_tables_match_their_label_sets():
    for name in labelset_names():
        labelset = load_labelset(name)
        table = read_table(shipped_path(name))
        assert table.version == labelset.version, f"re-run `make relevance` for {name}"
        assert load_sense_table(labelset).version == labelset.version
    table = read_table(shipped_path("imagenet1k"))
    assert {s.pos for s in table.senses("orange")} >= {"n", "s"}   # the colour adjective is another sense
    assert table.class_synset[_class(load_labelset("imagenet1k"), "jaguar")] == "jaguar.n.01"


def test_shipped_parameters_record_their_cross_validation():
    params = read_params()
    for variant in ("full", "fast"):
        cv = params["variants"][variant]["grouped_cv"]
        assert cv["folds"] == 5 and cv["tp"] + cv["fn"] > 0 and cv["tn"] + cv["fp"] > 0
        assert (cv["tp"] + cv["tn"]) / sum(cv[k] for k in ("tp", "tn", "fp", "fn")) > 0.7


def _write_pairs(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_score_command_end_to_end(tmp_path, imagenet, capsys):
    jaguar = _class(imagenet, "jaguar")
    pairs = tmp_path / "pairs.jsonl"
    _write_pairs(pairs, [json.dumps({"pair_id": "a", "text": "2015 Jaguar XJ for sale", "class_index": jaguar,
                                     "form": "jaguar"}),
                         json.dumps({"pair_id": "b", "text": "a jaguar resting on a branch", "class_index": jaguar,
                                     "form": "jaguar"})])
    out = tmp_path / "out.jsonl"
    assert main(["relevance", "score", "--pairs", str(pairs), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["pair_id"] for r in rows] == ["a", "b"]
    assert [r["relevant"] for r in rows] == [False, True]
    assert all(0 <= r["p_relevant"] <= 1 for r in rows)
    assert "scored 2 pairs" in capsys.readouterr().out


def test_score_command_reports_a_bad_line(tmp_path, imagenet, capsys):
    jaguar = _class(imagenet, "jaguar")
    pairs = tmp_path / "pairs.jsonl"
    _write_pairs(pairs, [json.dumps({"pair_id": "a", "text": "a jaguar", "class_index": jaguar, "form": "jaguar"}),
                         '{"pair_id": "b", "text": "broken',
                         json.dumps({"pair_id": "c", "text": "a jaguar", "class_index": 5000, "form": "jaguar"})])
    out = tmp_path / "out.jsonl"
    assert main(["relevance", "score", "--pairs", str(pairs), "--out", str(out), "--variant", "fast"]) == 1
    assert [json.loads(line)["pair_id"] for line in out.read_text().splitlines()] == ["a"]
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3]
    assert "not valid JSON" in rejects[0]["reason"] and "not a class" in rejects[1]["reason"]
    assert "line 2" in capsys.readouterr().err


def test_score_command_missing_file_is_one_sentence(tmp_path, capsys):
    assert main(["relevance", "score", "--pairs", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"),
                 "--variant", "fast"]) == 2
    assert "does not exist" in capsys.readouterr().err
