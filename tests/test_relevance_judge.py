"""The relevance judge on clear cases, the form locator's semantics, the shipped data and the
`classfreq relevance score` command end to end."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from classfreq.cli import main
from classfreq.relevance.features import PARSE_WORDS, parse_window, static_window
from classfreq.relevance.judge import VARIANTS, Models, load_judge, read_params
from classfreq.relevance.locate import FormLocator
from classfreq.relevance.senses import load_sense_table, read_table, shipped_path
from classfreq.relevance.surface import SURFACE_FEATURES, surface_features
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


@pytest.mark.parametrize("variant", ["fast", "lexical"])
def test_faster_variants_rank_the_car_well_below_the_animal(models, imagenet, variant):
    # weaker than the full judge: the car lands near the threshold (0.51 today), far below the animal
    judge = load_judge("imagenet1k", variant, models)
    jaguar = _class(imagenet, "jaguar")
    p = judge.score(["2015 Jaguar XJ for sale in Dallas", "a jaguar resting on a branch"], [jaguar] * 2,
                    ["jaguar"] * 2)
    assert p[1] >= judge.threshold and p[0] < p[1] - 0.3, p


def _surface(imagenet, text: str, form: str) -> dict[str, float]:
    return dict(zip(SURFACE_FEATURES, surface_features(FormLocator(imagenet.forms.form).locate(text, form))))


def test_surface_features_read_the_words_around_the_match(imagenet):
    car = _surface(imagenet, "2015 Jaguar XJ for sale in Dallas", "jaguar")
    assert car["title_case"] == car["prev_number"] == car["next_capitalised"] == 1.0
    assert car["at_start"] == car["prev_determiner"] == 0.0
    assert _surface(imagenet, "my new Jaguar parked outside the house", "jaguar")["capital_unexpected"] == 1.0
    shirt = _surface(imagenet, "man wearing an orange shirt", "orange")
    assert shirt["next_content"] == shirt["prev_determiner"] == 1.0 and shirt["title_case"] == 0.0
    fly = _surface(imagenet, "the plane flies across the sky", "flies")
    assert fly["next_content"] == 0.0 and fly["suffix_ing_ed_s"] == 1.0
    assert _surface(imagenet, "a Nikon D750 camera", "camera")["next_end"] == 1.0
    absent = _surface(imagenet, "nothing here", "jaguar")
    assert absent["found"] == 0.0 and absent["log_tokens"] > 0


def test_windows_around_the_match(imagenet):
    locator = FormLocator(imagenet.forms.form)
    words = [f"w{i}" for i in range(40)]
    loc = locator.locate(" ".join(words[:20] + ["jaguar"] + words[20:]), "jaguar")
    start, end = parse_window(loc)
    window = loc.text[start:end].split()
    assert "jaguar" in window and len(window) == 2 * PARSE_WORDS + 1
    assert window[0] == f"w{20 - PARSE_WORDS}" and window[-1] == f"w{19 + PARSE_WORDS}"
    assert "jaguar" not in static_window(loc).split() and "w19" in static_window(loc).split()
    short = locator.locate("a jaguar", "jaguar")
    assert parse_window(short) == (0, len("a jaguar"))


def test_static_vectors_are_unit_length_and_cached(models):
    static = models.static
    vectors = static.encode(["a large spotted feline", "a car", ""])
    assert vectors.shape == (3, static.dim)
    assert abs(float(vectors[0] @ vectors[0]) - 1) < 1e-5 and not vectors[2].any()
    cached = static.cached.encode(["a large spotted feline"])
    assert (cached[0] == vectors[0]).all() and "a large spotted feline" in static.cached.cache


def test_static_table_is_the_word_embeddings_of_the_installed_weights(models):
    from safetensors.numpy import load_file

    from classfreq.relevance.embed import model_dir

    full = load_file(str(model_dir() / "model.safetensors"))[models.static.TABLE]
    assert models.static.table.dtype == np.float32 and np.array_equal(models.static.table, full)


def test_the_fast_judge_loads_and_scores_without_torch():
    # a fresh interpreter, as a Spark Python worker: spaCy's thinc must not import torch (1.4 s of a
    # worker's load), and the full judge's MiniLM still imports it afterwards in the same process
    code = ("import sys\n"
            "from classfreq.relevance.judge import load_judge\n"
            "judge = load_judge('imagenet1k', 'fast')\n"
            "idx = int(judge.extractor.labelset.classes.class_index[judge.extractor.labelset.classes.name == 'jaguar'].iloc[0])\n"
            "p = judge.score(['a jaguar resting on a branch'], [idx], ['jaguar'])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "full = load_judge('imagenet1k', 'full')\n"
            "q = full.score(['a jaguar resting on a branch'], [idx], ['jaguar'])\n"
            "assert 'torch' in sys.modules and p[0] >= 0.5 and q[0] >= 0.5, (p, q)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_spacy_runs_without_the_entity_recogniser(models):
    assert "ner" not in models.nlp.pipe_names and "parser" in models.nlp.pipe_names


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
    assert set(params["variants"]) == set(VARIANTS) == {"full", "fast", "lexical"}
    for variant in VARIANTS:
        cv = params["variants"][variant]["grouped_cv"]
        assert cv["folds"] == 5 and cv["tp"] + cv["fn"] > 0 and cv["tn"] + cv["fp"] > 0
        assert (cv["tp"] + cv["tn"]) / sum(cv[k] for k in ("tp", "tn", "fp", "fn")) > 0.7
        # tau^2 by cross-products within held-out classes (2026-12-03: full 0.197, fast 0.246, lexical 0.249;
        # class bootstrap of the full judge's 0.147-0.240): the class-level error is large
        assert cv["class_calibration_estimator"] == "cross-product" and 0.15 < cv["class_calibration_var"] ** 0.5 < 0.3


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
