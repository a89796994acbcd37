"""Turn a label set into the MatchSpec the Spark tasks use: which strings the matcher looks for
and how each maps back to (class_index, form, ambiguous)."""
from __future__ import annotations

from collections import Counter

from classfreq.pipelines.count_batches import MatchSpec

MODES = ("default", "paper")


def build_spec(ls, mode: str, nested: bool = False, max_matches_per_class: int = 0,
               roles=("human", "gpt")) -> tuple[MatchSpec, list[tuple[int, str]]]:
    """Returns the spec and, per form index, its (class_index, form) for the output tables."""
    if mode == "paper":
        classes = ls.classes.sort_values("class_index")
        names = [str(n) for n in classes["name"]]
        idx = [int(i) for i in classes["class_index"]]
        lowered = Counter(n.lower() for n in names)
        # a name used by two classes (CLIP's "missile", "sunglasses") is shared between them
        ambiguous = tuple(lowered[n.lower()] > 1 for n in names)
        pattern_ids = {n.lower(): i for i, n in enumerate(dict.fromkeys(n.lower() for n in names))}
        spec = MatchSpec(mode="paper", forms=tuple(names), form_class=tuple(idx), form_ambiguous=ambiguous,
                         form_pattern=tuple(pattern_ids[n.lower()] for n in names), nested=True,
                         max_matches_per_class=max_matches_per_class, roles=tuple(roles))
        return spec, list(zip(idx, names))
    from classfreq.pipelines.matching import tokenize

    forms = ls.forms.sort_values(["class_index", "form"])
    pairs = [(int(c), str(f)) for c, f in zip(forms["class_index"], forms["form"])]
    amb = set((int(c), str(f)) for c, f in ls.ambiguous_forms())
    token_ids: dict = {}
    patterns = tuple(token_ids.setdefault(tuple(tokenize(f)), len(token_ids)) for _, f in pairs)
    spec = MatchSpec(mode="default", forms=tuple(f for _, f in pairs), form_class=tuple(c for c, _ in pairs),
                     form_ambiguous=tuple(p in amb for p in pairs), form_pattern=patterns, nested=nested,
                     max_matches_per_class=max_matches_per_class, roles=tuple(roles))
    return spec, pairs
