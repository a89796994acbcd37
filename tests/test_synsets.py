"""The committed label sets hold the real facts (read without WordNet), and load into the warehouse."""
import hashlib
import json
import unicodedata

import pytest

from classfreq.errors import UserError
from classfreq.queries.labelsets import write_labelset_tables
from classfreq.synsets import labelset_names, load_labelset
from classfreq.synsets.labelset import DATA_DIR

EXPECTED_CLASSES = {"imagenet1k": 1000, "flowers102": 102, "stanford_cars": 196, "caltech101": 100}
NAME_FILES = {"flowers102": "flowers_classes.json", "stanford_cars": "cars_classes.json",
              "caltech101": "caltech_classes.json"}


@pytest.fixture(scope="module")
def imagenet():
    return load_labelset("imagenet1k")


@pytest.fixture(scope="module")
def cars():
    return load_labelset("stanford_cars")


def forms_of(ls, class_index):
    rows = ls.forms[ls.forms["class_index"] == class_index]
    return {f: (g, o, fl) for f, g, o, fl in zip(rows["form"], rows["lemma_group"], rows["origins"], rows["flags"])}


def index_of(ls, class_id):
    match = ls.classes.index[ls.classes["class_id"] == class_id]
    assert len(match) == 1, class_id
    return int(ls.classes.loc[match[0], "class_index"])


def flag_names(flags):
    return {f["flag"] for f in flags}


def test_builtin_names_and_class_counts():
    assert labelset_names() == ["imagenet1k", "flowers102", "stanford_cars", "caltech101"]
    for name, n in EXPECTED_CLASSES.items():
        ls = load_labelset(name)
        assert ls.name == name and len(ls.classes) == n
        assert list(ls.classes["class_index"]) == list(range(n))
        # every class has at least one form, and (class_index, form) is a key
        assert set(ls.forms["class_index"]) == set(range(n))
        assert not ls.forms.duplicated(["class_index", "form"]).any()


def test_forms_are_normalised_and_have_origins_and_groups():
    for name in EXPECTED_CLASSES:
        forms = load_labelset(name).forms
        for form, group, origins in zip(forms["form"], forms["lemma_group"], forms["origins"]):
            assert form == unicodedata.normalize("NFKC", form).lower() == form.strip()
            assert origins and set(origins) <= {"lemma", "clip_name", "inflection", "variant", "user"}
            assert group


def test_imagenet_ids_names_and_tench_lemmas(imagenet, shared):
    wnids = (shared / "labelsets" / "imagenet1k_wnids.txt").read_text().split()
    clip = json.loads((shared / "labelsets" / "imagenet1k_clip_names.json").read_text())
    assert list(imagenet.classes["class_id"]) == wnids and imagenet.classes["class_id"].is_unique
    assert list(imagenet.classes["name"]) == clip
    tench = forms_of(imagenet, index_of(imagenet, "n01440764"))
    assert "lemma" in tench["tench"][1] and "clip_name" in tench["tench"][1]
    assert "lemma" in tench["tinca tinca"][1]
    row = imagenet.classes.iloc[0]
    assert row["gloss"].startswith("freshwater dace-like game fish")
    assert row["hypernyms"].startswith("entity > ") and row["hypernyms"].endswith("> cyprinid")


def test_goose_inflects_to_geese_in_the_goose_group(imagenet):
    goose = forms_of(imagenet, index_of(imagenet, "n01855672"))
    group, origins, flags = goose["geese"]
    assert group == "goose" and origins == ["inflection"] and not flags
    assert goose["goose"][0] == "goose" and not goose["goose"][2]
    mouse = forms_of(imagenet, index_of(imagenet, "n03793489"))
    assert mouse["mice"][0] == "mouse"


def test_regular_plurals_hidden_by_exception_lists_or_bad_proposals(imagenet):
    # WordNet lists "syringes" only as syrinx's plural (pan pipe, 699): the syringe class keeps it
    # too, and the form that names two classes is shared
    syringe = forms_of(imagenet, index_of(imagenet, "n04376876"))
    assert syringe["syringes"][:2] == ("syringe", ["inflection"])
    assert "shared" in flag_names(syringe["syringes"][2])
    assert "shared" in flag_names(forms_of(imagenet, 699)["syringes"][2])
    assert "juncos" in forms_of(imagenet, index_of(imagenet, "n01534433"))
    assert "burritos" in forms_of(imagenet, index_of(imagenet, "n07880968"))


def test_both_cranes_share_crane(imagenet):
    bird, machine = index_of(imagenet, "n02012849"), index_of(imagenet, "n03126707")
    for own, other in ((bird, machine), (machine, bird)):
        flags = forms_of(imagenet, own)["crane"][2]
        shared = [f for f in flags if f["flag"] == "shared"]
        assert shared and str(other) in shared[0]["reason"]
    for own in (638, 639):                          # the two "maillot" synsets
        assert "shared" in flag_names(forms_of(imagenet, own)["maillot"][2])


def test_clip_duplicate_names_are_shared(imagenet):
    for a, b, form in ((657, 744, "missile"), (836, 837, "sunglasses")):
        assert imagenet.classes.loc[a, "name"] == imagenet.classes.loc[b, "name"] == form
        for own in (a, b):
            assert "shared" in flag_names(forms_of(imagenet, own)[form][2])


def test_polysemous_by_sense_counts_not_every_noun(imagenet):
    computer_mouse = index_of(imagenet, "n03793489")
    mouse = forms_of(imagenet, computer_mouse)
    reason = [f["reason"] for f in mouse["mouse"][2] if f["flag"] == "polysemous"][0]
    assert "mouse.n.01" in reason and "14 vs 0" in reason
    assert "polysemous" in flag_names(mouse["mice"][2])
    assert "polysemous" not in flag_names(mouse["computer mouse"][2])
    # the animal senses are the most frequent: no flag for goose, tench, tiger (a 1-1 tie)
    for wnid, form in (("n01855672", "goose"), ("n01440764", "tench"), ("n02129604", "tiger")):
        assert "polysemous" not in flag_names(forms_of(imagenet, index_of(imagenet, wnid))[form][2])
    flagged = imagenet.flag_counts()["polysemous"]
    assert 0 < flagged < len(imagenet.forms) / 5


def test_tiger_is_nested_in_tiger_shark(imagenet):
    tiger = forms_of(imagenet, index_of(imagenet, "n02129604"))
    nested = [f["reason"] for f in tiger["tiger"][2] if f["flag"] == "nested"]
    assert nested and "'tiger shark' (3 tiger shark)" in nested[0]
    assert "nested" not in flag_names(forms_of(imagenet, 3)["tiger shark"][2])


def test_qualifiers_variants_and_possessives(imagenet):
    kite = forms_of(imagenet, 21)
    assert imagenet.classes.loc[21, "name"] == "kite (bird of prey)"
    assert "qualifier_removed" in flag_names(kite["kite"][2]) and "kite (bird of prey)" in kite
    tshirt = forms_of(imagenet, index_of(imagenet, "n03595614"))
    assert {"t-shirt", "t shirt", "tshirt", "t-shirts"} <= set(tshirt)
    assert tshirt["tshirt"][:2] == ("t-shirt", ["variant"])
    assert "tiger's" in forms_of(imagenet, index_of(imagenet, "n02129604"))


def test_ambiguous_forms_are_shared_or_polysemous_only(imagenet):
    amb = imagenet.ambiguous_forms()
    assert (673, "mouse") in amb and (134, "crane") in amb and (517, "crane") in amb
    assert (99, "goose") not in amb
    assert (292, "tiger") not in amb      # nested only: the matcher resolves it


def test_other_sets_names_and_wordnet_mapping(shared):
    for name, file in NAME_FILES.items():
        ls = load_labelset(name)
        assert list(ls.classes["name"]) == json.loads((shared / "labelsets" / file).read_text())
    flowers = load_labelset("flowers102").classes.set_index("name")
    assert flowers.loc["sunflower", "class_id"] == "n11978233"       # sunflower.n.01, the plant
    assert flowers.loc["lotus", "class_id"] is None                     # three lotus plants: ambiguous
    coltsfoot = forms_of(load_labelset("flowers102"), 11)
    assert {"colt's foot", "colts foot", "coltsfoot"} <= set(coltsfoot)  # closed up: a WordNet noun
    caltech = load_labelset("caltech101")
    bass = forms_of(caltech, 8)
    assert caltech.classes.loc[8, "class_id"] is None and "polysemous" in flag_names(bass["bass"][2])
    croc_head = forms_of(caltech, int(caltech.classes.index[caltech.classes["name"] == "crocodile head"][0]))
    assert "qualifier_removed" in flag_names(croc_head["crocodile"][2])
    assert "shared" in flag_names(croc_head["crocodile"][2])           # also the "crocodile" class


def test_car_short_forms(cars):
    names = list(cars.classes["name"])
    tl = forms_of(cars, names.index("2012 Acura TL Sedan"))
    assert {"2012 acura tl sedan", "acura tl sedan", "acura tl"} <= set(tl)
    hummer = forms_of(cars, names.index("2000 AM General Hummer SUV"))
    assert {"am general hummer", "hummer", "hummers"} <= set(hummer)
    for name in ("2012 Audi S4 Sedan", "2007 Audi S4 Sedan"):
        assert "shared" in flag_names(forms_of(cars, names.index(name))["audi s4"][2])
    assert "shared" not in flag_names(hummer["hummer"][2])
    golf = forms_of(cars, names.index("2012 Volkswagen Golf Hatchback"))
    assert "volkswagen golf" in golf and "golf" not in golf           # a common word is not a form alone
    # a model alone with a one-letter token would match possessives ("today's class" has tokens s, class)
    s_class = forms_of(cars, names.index("2012 Mercedes-Benz S-Class Sedan"))
    assert {"mercedes-benz s-class", "mercedes benz s class"} <= set(s_class)
    assert not {"s class", "s-class", "s classes", "sclass"} & set(s_class)
    assert "cts v" not in forms_of(cars, names.index("2012 Cadillac CTS-V Sedan"))


def test_version_is_the_hash_of_the_tables():
    for name in EXPECTED_CLASSES:
        folder = DATA_DIR / name
        text = (folder / "classes.tsv").read_text() + "\0" + (folder / "forms.tsv").read_text()
        meta = json.loads((folder / "labelset.json").read_text())
        assert meta["version"] == hashlib.sha256(text.encode()).hexdigest()[:12] == load_labelset(name).version
        assert meta["forms_per_flag"] == load_labelset(name).flag_counts()


def test_unknown_labelset_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="unknown label set"):
        load_labelset("imagenet21k")
    with pytest.raises(UserError, match="labelset.json"):
        load_labelset(tmp_path)


def test_write_labelset_tables_to_duckdb(tmp_path, imagenet):
    from classfreq.queries.warehouse import connect
    con = connect(tmp_path / "w.duckdb")
    for _ in range(2):                                   # rerunning replaces, never duplicates
        write_labelset_tables(con, imagenet)
    key = ["imagenet1k", imagenet.version]
    assert con.execute("SELECT n_classes FROM labelsets WHERE labelset=? AND version=?", key).fetchall() == [(1000,)]
    assert con.execute("SELECT count(*) FROM classes WHERE labelset=? AND version=?", key).fetchone()[0] == 1000
    assert con.execute("SELECT count(*) FROM surface_forms").fetchone()[0] == len(imagenet.forms)
    flags, origins, group = con.execute(
        "SELECT flags, origins, lemma_group FROM surface_forms WHERE class_index=673 AND form='mouse'").fetchone()
    assert flags[0]["flag"] == "polysemous" and origins == ["lemma"] and group == "mouse"
    assert con.execute("SELECT name FROM classes WHERE class_index=0").fetchone()[0] == "tench"


def test_loading_needs_neither_nltk_nor_wordnet():
    import subprocess
    import sys
    code = ("import sys; from classfreq.synsets import load_labelset; "
            "[load_labelset(n) for n in ('imagenet1k', 'flowers102', 'stanford_cars', 'caltech101')]; "
            "print(sorted(m for m in ('nltk', 'inflect') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
