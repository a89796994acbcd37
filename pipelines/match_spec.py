"""What the Spark tasks match: a label set turned into a `MatchSpec` (which strings the matcher
looks for and how each maps back to a class), and the matcher a spec describes.

A new matcher (a `matcher.Matcher` subclass in its own module) is one line in ``MATCHERS``; if
it looks for other strings than the label set's forms, `build_spec` says which.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from classfreq.pipelines.matcher import Matcher
from classfreq.pipelines.matching import FormMatcher
from classfreq.pipelines.paper_mode import PaperMatcher
from classfreq.relevance.estimate import DEFAULT_SEED
from classfreq.text import form_tokens

# mode -> matcher class, constructed as cls(forms, nested=...)
MATCHERS: dict[str, type[Matcher]] = {"default": FormMatcher, "paper": PaperMatcher}


@dataclass(frozen=True)
class MatchSpec:
    """Everything a task needs to build its matcher and map hits to classes (pickled to executors).
    Form ``i`` is ``forms[i]`` of class ``form_class[i]``."""
    mode: str                      # a key of MATCHERS
    forms: tuple                   # the strings given to the matcher (paper: class names)
    form_class: tuple              # class_index of each form
    form_ambiguous: tuple          # bool per form (shared/polysemous)
    form_pattern: tuple            # id of each form's token sequence (forms sharing one count once per class)
    nested: bool = False
    max_matches_per_class: int = 0
    roles: tuple = ("human", "gpt")
    sample_seed: int = DEFAULT_SEED  # the kept matches are a sample in this seed's hash order (match_sample)

    @property
    def matcher_key(self) -> str:
        """Specs with equal keys build equal matchers."""
        return hashlib.sha1(repr((self.mode, self.forms, self.nested)).encode()).hexdigest()


def build_spec(ls, mode: str, nested: bool = False, max_matches_per_class: int = 0,
               roles=("human", "gpt"), sample_seed: int = DEFAULT_SEED) -> MatchSpec:
    """The spec of label set ``ls`` in ``mode``: its forms (default) or class names (paper)."""
    if mode == "paper":
        return _paper_spec(ls, max_matches_per_class, tuple(roles), sample_seed)
    forms = ls.forms.sort_values(["class_index", "form"])
    pairs = [(int(c), str(f)) for c, f in zip(forms["class_index"], forms["form"])]
    amb = {(int(c), str(f)) for c, f in ls.ambiguous_forms()}
    token_ids: dict = {}
    patterns = tuple(token_ids.setdefault(form_tokens(f), len(token_ids)) for _, f in pairs)
    return MatchSpec(mode="default", forms=tuple(f for _, f in pairs), form_class=tuple(c for c, _ in pairs),
                     form_ambiguous=tuple(p in amb for p in pairs), form_pattern=patterns, nested=nested,
                     max_matches_per_class=max_matches_per_class, roles=tuple(roles), sample_seed=sample_seed)


def _paper_spec(ls, max_matches_per_class: int, roles: tuple, sample_seed: int) -> MatchSpec:
    classes = ls.classes.sort_values("class_index")
    names = [str(n) for n in classes["name"]]
    idx = [int(i) for i in classes["class_index"]]
    lowered = Counter(n.lower() for n in names)
    # a name used by two classes (CLIP's "missile", "sunglasses") is shared between them
    ambiguous = tuple(lowered[n.lower()] > 1 for n in names)
    pattern_ids = {n.lower(): i for i, n in enumerate(dict.fromkeys(n.lower() for n in names))}
    return MatchSpec(mode="paper", forms=tuple(names), form_class=tuple(idx), form_ambiguous=ambiguous,
                     form_pattern=tuple(pattern_ids[n.lower()] for n in names), nested=True,
                     max_matches_per_class=max_matches_per_class, roles=roles, sample_seed=sample_seed)


def make_matcher(mode: str, forms, nested: bool = False) -> Matcher:
    """The matcher of ``mode`` for ``forms``."""
    return MATCHERS[mode](list(forms), nested=nested)


_BUILT: dict[str, Matcher] = {}


def matcher_for(spec: MatchSpec) -> Matcher:
    """One matcher per Python worker process and spec (workers are reused across tasks)."""
    matcher = _BUILT.get(spec.matcher_key)
    if matcher is None:
        matcher = _BUILT[spec.matcher_key] = make_matcher(spec.mode, spec.forms, spec.nested)
    return matcher
