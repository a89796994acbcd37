"""WordNet 3.0 offline (installed by `make setup`), morphology, polysemy, and byte-identical regeneration."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classfreq.errors import UserError
from classfreq.synsets.labelset import BUILTIN, DATA_DIR
from classfreq.synsets.wordnet_setup import WORDNET_SYSTEM_DIR, assemble_nltk_data, open_wordnet

pytestmark = pytest.mark.skipif(not (WORDNET_SYSTEM_DIR / "index.sense").is_file(),
                                reason="WordNet 3.0 not installed: run `make setup` (wordnet-base, wordnet-sense-index)")


@pytest.fixture(scope="module")
def nltk_folder(tmp_path_factory):
    return assemble_nltk_data(tmp_path_factory.mktemp("nltk_data"))


@pytest.fixture(scope="module")
def tools(nltk_folder):
    from classfreq.synsets.build import WordNetTools
    return WordNetTools(open_wordnet(nltk_folder))


def test_assembles_nltk_data_from_the_debian_files(nltk_folder, tools):
    corpus = nltk_folder / "corpora" / "wordnet"
    assert (corpus / "lexnames").read_text().splitlines()[3].split()[1] == "noun.Tops"
    assert (corpus / "index.sense").stat().st_size == (WORDNET_SYSTEM_DIR / "index.sense").stat().st_size
    assert Path(tools.wn.root.path) == corpus
    assert tools.wn.synset_from_pos_and_offset("n", 1440764).name() == "tench.n.01"
    assert tools.wn.get_version() == "3.0"


def test_missing_wordnet_names_the_apt_command(tmp_path):
    with pytest.raises(UserError, match="apt-get install -y wordnet-base wordnet-sense-index"):
        assemble_nltk_data(tmp_path / "nd", wordnet_dir=tmp_path / "empty")
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "data.noun").write_text("")
    with pytest.raises(UserError, match="not installed.*lacks data.verb"):
        assemble_nltk_data(tmp_path / "nd2", wordnet_dir=tmp_path / "partial")


def test_morphology_from_wordnet_and_inflect(tools):
    m = tools.morphology
    assert m.inflections("goose") == ["geese"]
    assert m.inflections("mouse") == ["mice"]
    assert m.inflections("species") == []            # invariant
    assert m.inflections("sunglasses") == ["sunglass"]
    assert "cacti" in m.inflections("cactus") and "cactu" not in m.inflections("cacti")
    assert m.inflections("bird of paradise") == ["birds of paradise"]
    assert m.inflections("jack-in-the-pulpit") == ["jacks-in-the-pulpit"]
    assert m.inflections("tinca tinca") == []         # a binomial name
    assert m.inflections("acura tl") == []            # a model code, not a noun
    # "syringes" is in WordNet's exception list (-> syrinx), which must not hide syringe's own plural
    assert m.inflections("syringe") == ["syringes"] and m.inflections("axe") == ["axes"]
    # inflect proposes "juncoes" / "burritoes"; WordNet rejects them, the plural is "juncos"
    assert m.inflections("junco") == ["juncos"] and m.inflections("burrito") == ["burritos"]
    assert m.inflections("potato") == ["potatoes"] and m.inflections("crampfish") == []


def test_polysemy_judge(tools):
    wn, judge = tools.wn, tools.judge
    assert "14 vs 0" in judge.reason("mouse", "mouse", wn.synset("mouse.n.04"))
    assert judge.reason("mouse", "mouse", wn.synset("mouse.n.01")) is None
    assert judge.reason("tiger", "tiger", wn.synset("tiger.n.02")) is None          # 1 vs 1: a tie
    assert judge.reason("crane", "crane", wn.synset("crane.n.04")) is None          # all counts 0
    physical = wn.synset("physical_entity.n.01")
    assert "bass.n.01" in judge.reason("bass", "bass", None, physical)              # the musical range
    assert judge.reason("camera", "camera", None, physical) is None                 # top sense is physical


def test_regeneration_is_byte_identical(tmp_path, shared):
    """`classfreq synsets build` reproduces the committed tables, under another hash seed."""
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "classfreq.cli", "synsets", "build", "--shared", str(shared),
                             "--out", str(tmp_path)], env=env, capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr
    for name in BUILTIN:
        for file in ("labelset.json", "classes.tsv", "forms.tsv"):
            assert (tmp_path / name / file).read_bytes() == (DATA_DIR / name / file).read_bytes(), (name, file)
