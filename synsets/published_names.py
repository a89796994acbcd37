"""Published per-class results keyed by class name, checked against a label set by position.

Files published by others (bethgelab's counts and accuracies) map class *name* to a number in
class-index order. Names repeat in the lists they were made from (CLIP's ImageNet names have
"missile" and "sunglasses" twice) and were renamed to tell them apart, so rows are joined by
position, never by name alone, after this one check that the name at each position names that
class: its display name, one of its surface forms, or a known rename. Names are compared through
classfreq.text.normalize_form.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from classfreq.errors import UserError
from classfreq.text import normalize_form

# bethgelab's renames of CLIP's duplicate ImageNet names: class_index -> their key
BETHGELAB_RENAMES = {744: "projectile", 836: "sunglass"}


def check_names_by_position(names: Sequence[str], expected: Sequence[str], source: str, labelset: str,
                            also: Mapping[int, Iterable[str]] | None = None) -> list[dict]:
    """Raise UserError unless ``names[i]`` names class i for every i.

    ``expected`` holds the label set's display names in class-index order; ``also`` maps a class
    index to other names accepted for it (its surface forms, known renames). Returns the accepted
    names that are not the display name, as {class_index, name, display_name}.
    """
    if len(names) != len(expected):
        raise UserError(f"{source} lists {len(names)} classes but label set {labelset} has {len(expected)}; "
                        "pass the label set the results were computed on (--labelset)")
    accepted = {int(i): {normalize_form(n) for n in other} for i, other in (also or {}).items()}
    renames, wrong = [], []
    for i, (given, display) in enumerate(zip(names, expected)):
        key = normalize_form(given)
        if key == normalize_form(display):
            continue
        if key in accepted.get(i, ()):
            renames.append({"class_index": i, "name": given, "display_name": str(display)})
        else:
            wrong.append(f"{i}: {given!r} (label set: {display!r})")
    if wrong:
        raise UserError(f"{len(wrong)} class names in {source} do not match label set {labelset} by position "
                        f"(first: {'; '.join(wrong[:3])}): they differ from the label set at the same position, "
                        "so the file is in another class order or for another label set")
    return renames


def check_labelset_names(names: Sequence[str], labelset, source: str) -> list[dict]:
    """``check_names_by_position`` against a LabelSet: its display names, and its forms as the
    other accepted names (bethgelab's "projectile" is a form of 744 "missile")."""
    classes = labelset.classes.sort_values("class_index")
    forms: dict[int, set[str]] = {}
    if getattr(labelset, "forms", None) is not None:
        for idx, form in zip(labelset.forms["class_index"], labelset.forms["form"]):
            forms.setdefault(int(idx), set()).add(form)
    return check_names_by_position(names, [str(n) for n in classes["name"]], source, labelset.name, also=forms)


def refuse_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    """``json.loads`` object_pairs_hook: a JSON object keyed by class name that repeats a name
    would silently keep only its last value, so it is refused."""
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise UserError(f"the JSON file repeats the key {k!r}; per-class results keyed by a repeated name "
                            "cannot be joined, fix the file")
        seen.add(k)
    return dict(pairs)
