"""synsets/published_names.py: the one by-position check of published class names, used by the
count import (queries/imports.py) and the accuracy import (models/imports.py) alike."""
from __future__ import annotations

import json

import pytest

from classfreq.errors import UserError
from classfreq.models.imports import import_bethgelab_accuracies
from classfreq.queries.imports import import_bethgelab_counts
from classfreq.queries.labelsets import write_labelset_tables
from classfreq.queries.warehouse import connect
from classfreq.synsets import load_labelset
from classfreq.synsets.published_names import BETHGELAB_RENAMES, check_labelset_names, check_names_by_position

RENAMES = {i: [name] for i, name in BETHGELAB_RENAMES.items()}


@pytest.fixture(scope="module")
def imagenet():
    return load_labelset("imagenet1k")


@pytest.fixture(scope="module")
def clip_names(shared):
    return json.loads((shared / "labelsets" / "imagenet1k_clip_names.json").read_text())


@pytest.fixture(scope="module")
def laion_counts(shared):
    path = shared / "reference" / "bethgelab" / "imagenet_laion400m_lemmatized_search_counts.json"
    return path, json.loads(path.read_text())


def test_known_renames_accepted_and_reported(laion_counts, clip_names):
    _, counts = laion_counts
    keys = list(counts)
    assert keys[744] == "projectile" and keys[836] == "sunglass"
    renames = check_names_by_position(keys, clip_names, "laion", "imagenet1k", also=RENAMES)
    assert renames == [{"class_index": 744, "name": "projectile", "display_name": "missile"},
                       {"class_index": 836, "name": "sunglass", "display_name": "sunglasses"}]
    # without the renames, exactly those two positions are refused
    with pytest.raises(UserError, match=r"^2 class names in laion do not match label set imagenet1k by position "
                                        r"\(first: 744: 'projectile' \(label set: 'missile'\); 836: 'sunglass'"):
        check_names_by_position(keys, clip_names, "laion", "imagenet1k")


def test_names_compare_through_the_project_text_semantics(clip_names):
    written = [name.upper() for name in clip_names]
    written[0] = "  Ｔench "                      # full-width letter and stray spaces: NFKC, stripped
    written[2] = "great  white\tshark"           # white space folded
    assert check_names_by_position(written, clip_names, "f", "imagenet1k") == []
    written[0] = "tinca"
    with pytest.raises(UserError, match="1 class names in f do not match"):
        check_names_by_position(written, clip_names, "f", "imagenet1k")


def test_shifted_short_and_renamed_elsewhere_are_refused_with_one_sentence(laion_counts, clip_names):
    _, counts = laion_counts
    keys = list(counts)
    for bad, pattern in [(keys[1:] + keys[:1], "differ from the label set at the same position"),
                         (keys[:999], "lists 999 classes but label set imagenet1k has 1000"),
                         (keys[:657] + ["projectile"] + keys[658:], "657: 'projectile'")]:
        with pytest.raises(UserError, match=pattern) as err:
            check_names_by_position(bad, clip_names, "f", "imagenet1k", also=RENAMES)
        assert str(err.value).count(". ") == 0 and "\n" not in str(err.value)


def test_labelset_forms_are_the_accepted_names(laion_counts, imagenet):
    _, counts = laion_counts
    renames = check_labelset_names(list(counts), imagenet, "laion")
    assert {r["class_index"] for r in renames} == {744, 836}
    # a form of another class is not accepted at this position: "cardigan" is a lemma of 264 (corgi)
    names = list(imagenet.classes.sort_values("class_index")["name"])
    names[263] = "cardigan"
    with pytest.raises(UserError, match="263: 'cardigan'"):
        check_labelset_names(names, imagenet, "f")


@pytest.fixture()
def warehouse(tmp_path, imagenet):
    con = connect(tmp_path / "wh.duckdb")
    write_labelset_tables(con, imagenet)
    yield con
    con.close()


def test_count_import_refuses_a_repeated_name(warehouse, laion_counts, tmp_path):
    """A repeated key used to collapse silently in json.loads: 1001 entries with one repeat
    became 1000 and were joined, the repeat's first count lost."""
    path, counts = laion_counts
    items = list(counts.items())
    text = json.dumps(dict(items)).rstrip("}") + ', "tench": 5}'
    bad = tmp_path / path.name
    bad.write_text(text)
    assert len(json.loads(text)) == 1000
    with pytest.raises(UserError, match="repeats the key 'tench'"):
        import_bethgelab_counts(warehouse, bad)
    assert warehouse.execute("SELECT count(*) FROM imported_counts").fetchone()[0] == 0
    # the real file imports, joined by position through the same check
    result = import_bethgelab_counts(warehouse, path)
    assert result["rows"] == 1000


def test_accuracy_and_count_imports_share_the_check(warehouse, shared, tmp_path, imagenet):
    """The same shifted list is refused by both importers with the same sentence."""
    results = json.loads((shared / "reference" / "bethgelab" / "imagenet_ensemble_results.json").read_text())
    classwise = results["backboneRN50_pretrainedcc3m"]["classwise"]
    items = list(classwise.items())
    shifted = dict(items[1:] + items[:1])
    acc = tmp_path / "acc.json"
    acc.write_text(json.dumps({"backboneRN50_pretrainedcc3m": {"full": 1, "classwise": shifted}}))
    counts = tmp_path / "imagenet_cc3m_lemmatized_search_counts.json"
    counts.write_text(json.dumps({k: 1 for k in shifted}))
    for run in (lambda: import_bethgelab_accuracies(warehouse, acc, imagenet),
                lambda: import_bethgelab_counts(warehouse, counts)):
        with pytest.raises(UserError, match=r"^\d+ class names in .* do not match label set imagenet1k by position "
                                            r"\(first: 0: 'goldfish' \(label set: 'tench'\); 1: 'great white shark'"):
            run()
    assert warehouse.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 0
