"""Class names for prompts and dataset labels resolved to class indices, both from one label set.

The label set (classfreq.synsets.load_labelset) fixes class order and names. Two jobs here:
`prompt_names` turns display names into the names a model is prompted with (colliding display
names disambiguated or merged, and says which), `LabelResolver` maps a dataset's label (index,
class id, display name or an unambiguous surface form) to a class index.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from classfreq.errors import UserError
from classfreq.text import normalize_form

COLLISION_POLICIES = ("disambiguate", "merge", "keep")


@dataclass
class PromptNames:
    """The name each class is prompted with, and which classes count as one for scoring."""

    names: list[str]        # per class_index
    groups: np.ndarray      # per class_index: a prediction of any class in the same group is correct
    notes: pd.DataFrame     # class_index, display_name, prompt_name, action, detail (colliding classes only)

    def correct(self, true_index: np.ndarray, predicted_index: np.ndarray) -> np.ndarray:
        return self.groups[np.asarray(true_index)] == self.groups[np.asarray(predicted_index)]


def _direct_hypernym(value) -> str | None:
    """The closest hypernym: the last step of a root-to-class path ("entity > ... > rocket"), else
    the first of a list; synset names ("rocket.n.01") are reduced to their word."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    value = str(value)
    if ">" in value:
        value = value.split(">")[-1]
    else:
        for sep in (";", "|", ","):
            if sep in value:
                value = value.split(sep)[0]
                break
    value = value.strip()
    if value.count(".") >= 2:
        value = value.split(".")[0]
    value = value.replace("_", " ").strip()
    return value or None


def _lemma_forms(forms: pd.DataFrame | None, class_index: int) -> list[tuple[str, bool]]:
    """(form, flagged shared) for the class's lemma forms, in label-set order."""
    if forms is None or forms.empty:
        return []
    out = []
    for _, row in forms[forms["class_index"] == class_index].iterrows():
        origins = row.get("origins")
        origins = [origins] if isinstance(origins, str) or origins is None else list(origins)
        flags = row.get("flags")
        flagged = set() if isinstance(flags, str) or flags is None else {f.get("flag") for f in flags}
        if "lemma" in origins:
            out.append((str(row["form"]), "shared" in flagged))
    return out


def _alternative(forms, class_index: int, taken: set[str]) -> str | None:
    """A lemma of the class that no colliding class is prompted with; unshared lemmas first."""
    candidates = [(shared, i, f) for i, (f, shared) in enumerate(_lemma_forms(forms, class_index))
                  if normalize_form(f) not in taken]
    return min(candidates)[2] if candidates else None


def prompt_names(labelset, collisions: str = "disambiguate") -> PromptNames:
    """Names to prompt with; classes whose display names collide get another lemma or the hypernym.

    collisions="disambiguate": one class of a colliding group keeps the name (the one it is a lemma
    of, else the lowest index), each other one takes a lemma no class is prompted with, else
    "name (hypernym)"; when neither exists the group is merged.
    collisions="merge": colliding classes are one class for scoring (same prompt, either counts).
    collisions="keep": names as they are (the published study's behaviour; ties go to the lower index).
    """
    if collisions not in COLLISION_POLICIES:
        raise UserError(f"unknown collision policy {collisions!r}; use one of {', '.join(COLLISION_POLICIES)}")
    classes = _classes_in_index_order(labelset)
    names = [str(x) for x in classes["name"]]
    groups = np.arange(len(names))
    forms = getattr(labelset, "forms", None)
    notes: list[tuple] = []
    by_key = _classes_by_name(names)
    used = set(by_key)     # every name some class is prompted with, normalised
    for key, members in by_key.items():
        if len(members) < 2:
            continue
        display = names[members[0]]
        if collisions == "keep":
            notes += _kept_as_ties(members, display)
            continue
        renames = None
        if collisions == "disambiguate":
            members = _keeper_first(key, members, forms)
            renames = _disambiguated(key, members, display, classes, forms, used)
        if renames is None:
            notes += _merged(members, display, groups)
            continue
        notes.append((members[0], display, display, "kept", "other colliding classes renamed"))
        for i, (name, action, detail) in renames.items():
            names[i] = name
            used.add(normalize_form(name))
            notes.append((i, display, name, action, detail))
    note_df = pd.DataFrame(notes, columns=["class_index", "display_name", "prompt_name", "action", "detail"])
    return PromptNames(names=names, groups=groups, notes=note_df.sort_values("class_index").reset_index(drop=True))


def _classes_in_index_order(labelset) -> pd.DataFrame:
    classes = labelset.classes.sort_values("class_index").reset_index(drop=True)
    n = len(classes)
    if not np.array_equal(classes["class_index"].to_numpy(), np.arange(n)):
        raise UserError(f"label set {labelset.name} has class indices that are not 0..{n - 1}; rebuild it")
    return classes


def _classes_by_name(names: list[str]) -> dict[str, list[int]]:
    """Normalised display name -> the class indices that have it, in first-seen order."""
    by_key: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_key.setdefault(normalize_form(name), []).append(i)
    return by_key


def _kept_as_ties(members: list[int], display: str) -> list[tuple]:
    return [(i, display, display, "kept", "tie: same prompt as " + ", ".join(str(j) for j in members if j != i))
            for i in members]


def _merged(members: list[int], display: str, groups: np.ndarray) -> list[tuple]:
    """Score the colliding classes as one (the first member's group); updates `groups`."""
    for i in members:
        groups[i] = members[0]
    return [(i, display, display, "merged", "scored as one class with " + ", ".join(str(j) for j in members if j != i))
            for i in members]


def _keeper_first(key: str, members: list[int], forms) -> list[int]:
    """The colliding classes, the one that keeps the shared name first: the class whose own lemma
    the name is (CLIP's 836 "sunglasses" is WordNet's "sunglass", a burning glass, so 837 keeps
    "sunglasses"); ties: lower index."""
    return sorted(members, key=lambda i: (key not in {normalize_form(f) for f, _ in _lemma_forms(forms, i)}, i))


def _disambiguated(key: str, members: list[int], display: str, classes: pd.DataFrame, forms,
                   used: set[str]) -> dict[int, tuple[str, str, str]] | None:
    """{class index: (new name, action, detail)} for every colliding class after the first, which
    keeps the name; None when some class has neither a free lemma nor a free "name (hypernym)"."""
    taken = used | {key}
    renames = {}
    for i in members[1:]:
        renames[i] = _new_name(i, display, classes, forms, taken)
        if renames[i] is None:
            return None
        taken.add(normalize_form(renames[i][0]))
    return renames


def _new_name(class_index: int, display: str, classes: pd.DataFrame, forms,
              taken: set[str]) -> tuple[str, str, str] | None:
    """Another lemma of the class, else the display name with its direct hypernym, unless taken."""
    alternative = _alternative(forms, class_index, taken)
    if alternative:
        return alternative, "renamed", "another lemma of the class"
    hyper = _direct_hypernym(classes.loc[class_index, "hypernyms"]) if "hypernyms" in classes else None
    if hyper and normalize_form(f"{display} ({hyper})") not in taken:
        return f"{display} ({hyper})", "renamed", "display name with its hypernym"
    return None


class LabelResolver:
    """Map a dataset label (index, class id, display name, unambiguous form) to a class index."""

    def __init__(self, labelset):
        classes = labelset.classes
        self.n = len(classes)
        self._exact: dict[str, int | None] = {}
        for idx, cid in zip(classes["class_index"], classes.get("class_id", [None] * self.n)):
            if cid is not None and not (isinstance(cid, float) and np.isnan(cid)):
                self._add(self._exact, str(cid), int(idx))
        self._names: dict[str, int | None] = {}
        for idx, name in zip(classes["class_index"], classes["name"]):
            self._add(self._names, normalize_form(name), int(idx))
        self._forms: dict[str, int | None] = {}
        forms = getattr(labelset, "forms", None)
        if forms is not None and len(forms):
            for idx, form in zip(forms["class_index"], forms["form"]):
                self._add(self._forms, normalize_form(form), int(idx))

    @staticmethod
    def _add(table: dict, key: str, idx: int) -> None:
        if key in table and table[key] != idx:
            table[key] = None  # ambiguous: never resolve a label that names two classes
        else:
            table[key] = idx

    def resolve(self, label) -> tuple[int | None, str]:
        """(class_index, "") or (None, why): why is "unknown" or "ambiguous"."""
        if isinstance(label, bool) or label is None:
            return None, "unknown"
        if isinstance(label, (int, np.integer)) or (isinstance(label, float) and float(label).is_integer()):
            idx = int(label)
            return (idx, "") if 0 <= idx < self.n else (None, "unknown")
        text = str(label).strip()
        if text.isdigit():
            idx = int(text)
            return (idx, "") if idx < self.n else (None, "unknown")
        key = normalize_form(text)
        for table, k in ((self._exact, text), (self._names, key), (self._forms, key)):
            if k in table:
                return (table[k], "") if table[k] is not None else (None, "ambiguous")
        return None, "unknown"

    def resolve_name(self, name) -> tuple[int | None, str]:
        """Like `resolve`, but a display name that is also another class's form is "ambiguous"
        (474's "cardigan" is a lemma of the Cardigan Welsh corgi, 264): a name column joins a
        published table only where the name picks out exactly one class."""
        idx, why = self.resolve(name)
        if idx is not None and self._forms.get(normalize_form(str(name)), idx) != idx:
            return None, "ambiguous"
        return idx, why
