"""models/imports.py: the real bethgelab per-class results, and CSV/JSON per-class files."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from classfreq.cli import main
from classfreq.errors import UserError
from classfreq.models.imports import import_accuracy_file, import_bethgelab_accuracies, parse_bethgelab_key, pretraining_dataset
from classfreq.queries.warehouse import connect


@pytest.fixture(scope="session")
def imagenet():
    from classfreq.synsets import load_labelset
    return load_labelset("imagenet1k")


@pytest.fixture(scope="module")
def bethgelab(shared):
    return shared / "reference" / "bethgelab" / "imagenet_ensemble_results.json"


def test_import_bethgelab(bethgelab, imagenet, tmp_path):
    con = connect(tmp_path / "wh.duckdb")
    names = import_bethgelab_accuracies(con, bethgelab, imagenet)
    assert len(names) == 21 and len(set(names)) == 21
    assert [n for n in names if pretraining_dataset(n) == "laion400m"] == [
        "clip:ViT-B-32:laion400m", "clip:ViT-B-16:laion400m", "clip:ViT-L-14:laion400m"]
    df = con.execute("SELECT * FROM accuracy").fetchdf()
    assert len(df) == 21 * 1000 and (df["n"] == 50).all() and set(df["origin"]) == {"imported"}
    assert df.groupby("model")["class_index"].nunique().eq(1000).all()
    raw = json.loads(bethgelab.read_text())
    b32 = df[df["model"] == "clip:ViT-B-32:laion400m"].sort_values("class_index")
    published = list(raw["backboneViT-B-32_pretrainedlaion400m"]["classwise"].values())
    assert (b32["correct"].to_numpy() == [round(p / 2) for p in published]).all()
    assert abs(b32["accuracy"].mean() * 100 - raw["backboneViT-B-32_pretrainedlaion400m"]["full"]) < 1e-9
    # 744 is "projectile" and 836 "sunglass" in the file: joined by position, not by name
    assert b32.set_index("class_index").loc[744, "correct"] == round(raw["backboneViT-B-32_pretrainedlaion400m"]
                                                                     ["classwise"]["projectile"] / 2)
    options = json.loads(con.execute("SELECT options FROM runs WHERE kind = 'import-accuracy'").fetchone()[0])
    renamed = options["models"]["clip:ViT-B-32:laion400m"]["renamed_classes"]
    assert {r["class_index"] for r in renamed} == {744, 836}
    # importing again replaces the rows; a filter keeps only the asked-for models
    assert import_bethgelab_accuracies(con, bethgelab, imagenet, models=["laion400m"]) == [
        "clip:ViT-B-32:laion400m", "clip:ViT-B-16:laion400m", "clip:ViT-L-14:laion400m"]
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 21 * 1000
    assert parse_bethgelab_key("backboneViT-B-32_pretrainedlaion200m_train_test_sim_normalized") == (
        "ViT-B-32", "laion200m_train_test_sim_normalized")


def test_bethgelab_refuses_files_it_cannot_join_safely(bethgelab, imagenet, tmp_path):
    con = connect(tmp_path / "wh.duckdb")
    raw = json.loads(bethgelab.read_text())
    entry = raw["backboneRN50_pretrainedcc3m"]
    items = list(entry["classwise"].items())
    shifted = {"backboneRN50_pretrainedcc3m": {"full": 1, "classwise": dict(items[1:] + items[:1])}}
    (tmp_path / "shifted.json").write_text(json.dumps(shifted))
    with pytest.raises(UserError, match="do not match label set imagenet1k by position"):
        import_bethgelab_accuracies(con, tmp_path / "shifted.json", imagenet)
    # a duplicated name (CLIP's own list repeats "missile") is refused, never silently collapsed
    text = json.dumps({"backboneRN50_pretrainedcc3m": entry}).replace('"projectile"', '"missile"')
    (tmp_path / "dup.json").write_text(text)
    with pytest.raises(UserError, match="repeats the key 'missile'"):
        import_bethgelab_accuracies(con, tmp_path / "dup.json", imagenet)
    with pytest.raises(UserError, match="whole numbers"):
        import_bethgelab_accuracies(con, bethgelab, imagenet, n_per_class=30, models=["cc3m"])
    assert con.execute("SELECT count(*) FROM accuracy").fetchone()[0] == 0


def test_import_csv_and_json(imagenet, tmp_path):
    con = connect(tmp_path / "wh.duckdb")
    pd.DataFrame({"class_id": ["n01440764", "n01443537"], "correct": [3, 4], "n": [4, 4]}).to_csv(
        tmp_path / "a.csv", index=False)
    assert import_accuracy_file(con, tmp_path / "a.csv", imagenet, model="m1", dataset="d") == ["m1"]
    got = con.execute("SELECT class_index, n, correct, accuracy FROM accuracy ORDER BY 1").fetchall()
    assert got == [(0, 4, 3, 0.75), (1, 4, 4, 1.0)]
    pd.DataFrame({"name": ["tench", "missile"], "accuracy": [50.0, 100.0]}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(UserError, match="'missile' \\(ambiguous\\)"):
        import_accuracy_file(con, tmp_path / "b.csv", imagenet, model="m2", n_per_class=2)
    # 474's display name "cardigan" is also a lemma of the Cardigan Welsh corgi (264): not joined by name
    pd.DataFrame({"name": ["tench", "cardigan"], "accuracy": [50.0, 100.0]}).to_csv(tmp_path / "b2.csv", index=False)
    with pytest.raises(UserError, match="'cardigan' \\(ambiguous\\)"):
        import_accuracy_file(con, tmp_path / "b2.csv", imagenet, model="m2", n_per_class=2)
    (tmp_path / "c.json").write_text(json.dumps([{"model": "m3", "class_index": 5, "accuracy": 0.5, "n": 10}]))
    assert import_accuracy_file(con, tmp_path / "c.json", imagenet) == ["m3"]
    assert con.execute("SELECT correct FROM accuracy WHERE model = 'm3'").fetchone() == (5,)


def test_import_accuracy_cli(bethgelab, tmp_path, capsys):
    wh = tmp_path / "wh.duckdb"
    assert main(["import-accuracy", "--bethgelab", str(bethgelab), "--models", "clip:ViT-L-14:laion400m",
                 "--warehouse", str(wh)]) == 0
    assert "clip:ViT-L-14:laion400m" in capsys.readouterr().out
    con = connect(wh)
    assert con.execute("SELECT count(*), sum(correct) FROM accuracy").fetchone()[0] == 1000
    assert con.execute("SELECT count(*) FROM accuracy a JOIN classes c USING (labelset, version, class_index)"
                       ).fetchone()[0] == 1000
    con.close()
    assert main(["import-accuracy", "--csv", str(tmp_path / "missing.csv"), "--warehouse", str(wh)]) == 2
