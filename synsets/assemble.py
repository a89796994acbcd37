"""From class specs (a name, a WordNet synset if any, base forms with their origins) to form rows.

Each base form (a WordNet lemma, a CLIP name, a user name or synonym, a car short form) yields
itself, its qualifier-free form, its singular or plural, its spelling variants and its possessive;
all of them share the base's lemma group. A form reached from several bases keeps every origin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from classfreq.synsets.forms import possessive, remove_qualifier, spelling_variants
from classfreq.text import normalize_form


@dataclass
class ClassSpec:
    class_index: int
    name: str
    class_id: str | None = None
    gloss: str | None = None
    hypernyms: str | None = None
    synset: object = None                      # nltk Synset, only while building
    bases: list[tuple[str, str]] = field(default_factory=list)   # (form as written, origin)
    qualified: list[tuple[str, str, str]] = field(default_factory=list)  # (form, qualifier removed, name)
    inflect: bool = True

    def class_row(self) -> dict:
        return {"class_index": self.class_index, "class_id": self.class_id, "name": self.name,
                "gloss": self.gloss, "hypernyms": self.hypernyms}


def _add_base(forms: _Forms, form: str, origin: str, flags: list[dict], spec: ClassSpec, morphology) -> None:
    """A base form with its inflections, spelling variants and possessive, all in its lemma group."""
    forms.add(form, origin, form, flags)
    inflect = spec.inflect and not any(c.isdigit() for c in form)
    derived = morphology.inflections(form) if inflect else []
    for inflected in derived:
        forms.add(inflected, "inflection", form, flags)
    for written in [form] + derived:
        for variant in spelling_variants(written, morphology.is_noun):
            forms.add(variant, "variant", form, flags)
    owned = possessive(form) if inflect and not morphology.is_binomial(form) else None
    if owned:
        forms.add(owned, "inflection", form, flags)


class _Forms:
    """The forms of one class while they are being collected."""

    def __init__(self):
        self.rows: dict[str, dict] = {}

    def add(self, form: str, origin: str, group: str, flags: list[dict] = ()) -> None:
        row = self.rows.setdefault(form, {"origins": set(), "groups": set(), "flags": []})
        row["origins"].add(origin)
        row["groups"].add(group)
        for flag in flags:
            if flag not in row["flags"]:
                row["flags"].append(flag)


def class_forms(spec: ClassSpec, morphology) -> list[dict]:
    """The form rows of one class: class_index, form, lemma_group, origins, flags (no ambiguity yet)."""
    forms = _Forms()
    for text, origin in spec.bases:
        form = normalize_form(text)
        if not form:
            continue
        qualified = remove_qualifier(form)
        if qualified:
            forms.add(form, origin, form)
            stripped, qualifier = qualified
            reason = f"'({qualifier})' removed from {origin} '{form}'"
            _add_base(forms, stripped, "variant", [{"flag": "qualifier_removed", "reason": reason}], spec, morphology)
        else:
            _add_base(forms, form, origin, [], spec, morphology)
    for stripped, qualifier, written in spec.qualified:
        reason = f"'{qualifier}' removed from '{normalize_form(written)}'"
        _add_base(forms, normalize_form(stripped), "variant", [{"flag": "qualifier_removed", "reason": reason}],
                  spec, morphology)
    rows = []
    for form, row in forms.rows.items():
        # a form that is itself a base heads its own group; else the (first) base it came from
        group = form if form in row["groups"] else min(row["groups"])
        rows.append({"class_index": spec.class_index, "form": form, "lemma_group": group,
                     "origins": sorted(row["origins"]), "flags": list(row["flags"])})
    return rows
