"""WordNet facts about a class: its synset from a wnid or from a name, lemmas, gloss, hypernym path."""
from __future__ import annotations

from classfreq.synsets.forms import remove_qualifier, spelling_variants
from classfreq.text import normalize_form


def synset_from_wnid(wordnet, wnid: str):
    return wordnet.synset_from_pos_and_offset(wnid[0], int(wnid[1:]))


def wnid(synset) -> str:
    return f"{synset.pos()}{synset.offset():08d}"


def lemmas(synset) -> list[str]:
    """The synset's lemmas as people write them: underscores to spaces, lowercase ("tinca tinca")."""
    out = []
    for name in synset.lemma_names():
        form = normalize_form(name.replace("_", " "))
        if form not in out:
            out.append(form)
    return out


def hypernym_path(synset) -> str:
    """Root-to-parent path of first lemmas, e.g. 'entity > physical entity > ... > cyprinid'.

    NLTK keeps a synset's pointers in a set, so the order of several paths depends on the hash
    seed; the longest path (then the alphabetically first) keeps the table byte-identical.
    """
    paths = synset.hypernym_paths()
    if not paths:
        return ""
    path = min(paths, key=lambda p: (-len(p), [s.name() for s in p]))
    return " > ".join(s.lemma_names()[0].replace("_", " ") for s in path[:-1])


def class_facts(synset) -> dict:
    return {"class_id": wnid(synset), "gloss": synset.definition(), "hypernyms": hypernym_path(synset) or None}


def unambiguous_synset(wordnet, morphology, name: str, under=None):
    """The one common-noun synset a class name denotes, or None when there are none or several.

    Tries the name, its spelling variants and its singular/plural ("binocular" -> binoculars.n.01).
    `under` (a synset) keeps only senses below it, e.g. plant.n.02 for a flower data set.
    """
    form = normalize_form(name)
    qualified = remove_qualifier(form)
    form = qualified[0] if qualified else form
    candidates = [form] + spelling_variants(form, morphology.is_noun)
    for c in list(candidates):
        candidates += [x for x in (morphology.engine.plural_noun(c), morphology.engine.singular_noun(c)) if x]
    found = set()
    for candidate in candidates:
        key = candidate.replace(" ", "_")
        if key.replace("_", "").replace("-", "").replace("'", "").isalnum():
            found.update(wordnet.synsets(key, "n"))
    # a named instance is a different thing with the same name: Caltech's "garfield" is the cat,
    # WordNet's only garfield.n.01 is the 20th US president
    found = {s for s in found if not s.instance_hypernyms()}
    if under is not None:
        within = {s for s in found if under in s.closure(lambda x: x.hypernyms() + x.instance_hypernyms())}
        found = within or found   # a single sense outside the domain still names the class ("dollar bill")
    return found.pop() if len(found) == 1 else None
