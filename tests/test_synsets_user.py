"""User label sets from CSV/JSON: forms from names and synonyms, and one clear error naming the line."""
import json

import pytest

from classfreq.cli import main
from classfreq.errors import UserError
from classfreq.queries.labelsets import write_labelset_tables
from classfreq.synsets import load_labelset
from classfreq.synsets.user_labelsets import build_user_labelset, read_user_classes
from classfreq.synsets.wordnet_setup import WORDNET_SYSTEM_DIR

HAVE_WORDNET = (WORDNET_SYSTEM_DIR / "index.sense").is_file()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def forms_of(ls, class_index):
    rows = ls.forms[ls.forms["class_index"] == class_index]
    return dict(zip(rows["form"], zip(rows["lemma_group"], rows["origins"], rows["flags"])))


def test_csv_with_synonyms_without_wordnet(tmp_path):
    src = write(tmp_path, "pets.csv", 'name,synonyms\nHot Dog,frankfurter; wiener\n"Kite (toy)",\nkitten,kitty\ncat,kitty\n')
    ls = build_user_labelset("pets", src, tmp_path / "pets", use_wordnet=False)
    again = load_labelset(tmp_path / "pets")
    assert again.version == ls.version and again.name == "pets"
    assert list(again.classes["name"]) == ["Hot Dog", "Kite (toy)", "kitten", "cat"]
    assert again.classes["class_id"].isna().all()
    hot_dog = forms_of(again, 0)
    assert {"hot dog", "frankfurter", "wiener"} <= set(hot_dog) and hot_dog["wiener"][1] == ["user"]
    kite = forms_of(again, 1)
    assert kite["kite"][2][0]["flag"] == "qualifier_removed"
    shared = [f for f in forms_of(again, 2)["kitty"][2] if f["flag"] == "shared"]
    assert shared and "3 cat" in shared[0]["reason"]
    assert (2, "kitty") in again.ambiguous_forms() and (3, "cat") not in again.ambiguous_forms()


@pytest.mark.skipif(not HAVE_WORDNET, reason="WordNet 3.0 not installed: run `make setup`")
def test_json_with_wordnet_ids_gets_lemmas_inflections_and_polysemy(tmp_path):
    src = write(tmp_path, "n.json", json.dumps([
        {"name": "computer mouse", "class_id": "n03793489"},
        {"name": "goose", "synonyms": ["honker"]},
        "tench"], indent=1))
    ls = build_user_labelset("mine", src, tmp_path / "mine")
    mouse, goose = forms_of(ls, 0), forms_of(ls, 1)
    assert ls.classes.loc[0, "class_id"] == "n03793489" and "lemma" in mouse["mouse"][1]
    assert "polysemous" in {f["flag"] for f in mouse["mouse"][2]}
    assert goose["geese"][0] == "goose" and "honkers" in goose
    assert ls.classes.loc[2, "class_id"] == "n01440764"            # one noun sense: mapped
    assert "tinca tinca" in forms_of(ls, 2)


@pytest.mark.parametrize("name,text,line,message", [
    ("a.csv", "name,synonyms\ngoose,\n,geese\n", 3, "class name is empty"),
    ("b.csv", "name,synonyms\ngoose,geese\nduck,a,b\n", 3, "3 fields where the header has 2"),
    ("c.csv", "goose\nduck\n", 1, "'name' column"),
    ("d.csv", "name\ngoose\nduck\nGoose\n", 4, "repeats the class on line 2"),
    ("e.csv", "name,class_id\ngoose,n123\n", 2, "not a WordNet noun id"),
    ("f.csv", 'name,synonyms\n"goose,\n', 2, "unexpected end of data"),
    ("g.json", '[\n  "goose",\n  "duck",\n  42\n]\n', 4, "found int"),
    ("h.json", '[\n  "goose",\n  "duck"\n  "swan"\n]\n', 4, "invalid JSON"),
    ("i.json", '[\n  "goose",\n  {"name": "duck",\n   "synonym": ["drake"]}\n]\n', 3, "found keys name, synonym"),
    ("j.json", '{\n  "goose": ["geese"],\n  "duck": "drake",\n  "swan": 7\n}\n', 4, "list of strings"),
])
def test_malformed_files_name_the_line(tmp_path, name, text, line, message):
    src = write(tmp_path, name, text)
    with pytest.raises(UserError) as err:
        read_user_classes(src)
    assert f"line {line}:" in str(err.value) and message in str(err.value)


def test_cli_add_and_show(tmp_path, capsys):
    src = write(tmp_path, "birds.csv", "name,synonyms\ngoose,\nduck,\n,\nswan,\n")
    assert main(["synsets", "add", "birds", "--from", str(src), "--out", str(tmp_path / "b"), "--no-wordnet"]) == 0
    birds = load_labelset(tmp_path / "b")
    assert birds.classes["name"].tolist() == ["goose", "duck", "swan"]      # the blank line is skipped
    from classfreq.queries.warehouse import connect
    con = connect(tmp_path / "w.duckdb")
    write_labelset_tables(con, birds)                                         # no flags at all: still typed
    assert con.execute("SELECT count(*), sum(len(flags)) FROM surface_forms").fetchone() == (len(birds.forms), 0)
    bad = write(tmp_path, "bad.csv", "name,synonyms\ngoose,\n,geese\n")
    assert main(["synsets", "add", "bad", "--from", str(bad), "--out", str(tmp_path / "x"), "--no-wordnet"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv line 3: the class name is empty" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
    assert main(["synsets", "show", "imagenet1k"]) == 0
    out = capsys.readouterr().out
    assert "1000 classes (1000 with a WordNet id)" in out and "polysemous" in out
    assert main(["synsets", "show", str(tmp_path / "nowhere")]) == 2
