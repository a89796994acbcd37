"""A user label set's own class definitions (a `definition` column) reach the relevance judge in
place of the WordNet gloss, and enter the label set's version."""
import json

import pytest

from classfreq.errors import UserError
from classfreq.relevance import load_judge
from classfreq.synsets import load_labelset
from classfreq.synsets.user_labelsets import build_user_labelset, read_user_classes
from classfreq.synsets.wordnet_setup import WORDNET_SYSTEM_DIR

HAVE_WORDNET = (WORDNET_SYSTEM_DIR / "index.sense").is_file()
CSV = ("name,synonyms,definition\n"
       "jaguar,,\"a British make of luxury cars\"\n"
       "kite,,\n")


def test_definition_column_is_read_from_csv_and_json(tmp_path):
    csv_path = tmp_path / "cars.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    assert [c.definition for c in read_user_classes(csv_path)] == ["a British make of luxury cars", None]
    json_path = tmp_path / "cars.json"
    json_path.write_text(json.dumps([{"name": "jaguar", "definition": "a British\n make of cars"}, "kite"]))
    assert [c.definition for c in read_user_classes(json_path)] == ["a British make of cars", None]
    json_path.write_text(json.dumps([{"name": "jaguar", "definition": 3}]))
    with pytest.raises(UserError, match="line 1: 'definition' must be a string"):
        read_user_classes(json_path)


def test_definitions_are_written_and_change_the_version(tmp_path):
    src = tmp_path / "cars.csv"
    src.write_text(CSV, encoding="utf-8")
    own = build_user_labelset("cars", src, tmp_path / "cars", use_wordnet=False)
    assert (tmp_path / "cars" / "definitions.tsv").read_text(encoding="utf-8") == (
        "class_index\tdefinition\n0\ta British make of luxury cars\n")
    src.write_text("name,synonyms\njaguar,\nkite,\n", encoding="utf-8")
    plain = build_user_labelset("cars", src, tmp_path / "cars", use_wordnet=False)
    assert plain.version != own.version and not (tmp_path / "cars" / "definitions.tsv").exists()


@pytest.mark.skipif(not HAVE_WORDNET, reason="WordNet 3.0 files not installed (make setup installs them)")
def test_the_judge_reads_a_user_label_sets_own_definition(tmp_path):
    src = tmp_path / "cars.csv"
    src.write_text(CSV, encoding="utf-8")
    build_user_labelset("cars", src, tmp_path / "cars", use_wordnet=True)
    judge = load_judge(str(tmp_path / "cars"), "fast")
    definitions = judge.extractor.table.class_definition
    assert definitions[0] == "jaguar: a British make of luxury cars"
    assert definitions[1].startswith("kite") and "luxury" not in definitions[1]
    assert load_labelset(tmp_path / "cars").version == judge.extractor.table.version
