"""Singular and plural of a form's head noun: `inflect` proposes, WordNet's morphy confirms.

WordNet's morphy (its exception lists such as geese->goose, plus its detachment rules) is the
judge: a plural is kept only when WordNet lemmatises it back to the head noun, which catches
inflect's slips ("sunglasses" -> "sunglassess", "cactus" -> singular "cactu"). Heads that WordNet
does not know (brand names, model codes) get no inflections.
"""
from __future__ import annotations

from functools import lru_cache

import inflect

# a word before one of these is the head: "bird of paradise" -> birds of paradise
_PREPOSITIONS = {"of", "in", "on", "at", "de", "du", "del", "des", "di", "von", "for", "from", "with", "to", "by"}


class Morphology:
    def __init__(self, wordnet):
        self.wn = wordnet
        self.engine = inflect.engine()
        self._exception_plurals: dict[str, list[str]] = {}
        for plural, singulars in wordnet._exception_map["n"].items():
            for singular in singulars:
                self._exception_plurals.setdefault(singular, []).append(plural)
        # per-instance caches: a Morphology lives for one build, so they go with it
        self.base_forms = lru_cache(maxsize=None)(self._base_forms)
        self.is_genus = lru_cache(maxsize=None)(self._is_genus)

    def _base_forms(self, word: str) -> tuple[str, ...]:
        """WordNet's noun lemmas for `word` (spaces as underscores inside WordNet)."""
        return tuple(b.replace("_", " ") for b in self.wn._morphy(word.replace(" ", "_"), "n"))

    def is_noun(self, word: str) -> bool:
        return word in self.base_forms(word)

    def singular_of(self, word: str) -> str | None:
        """The singular when `word` is a plural WordNet confirms ("geese" -> "goose")."""
        bases = [b for b in self.base_forms(word) if b != word]
        if not bases:
            return None
        proposed = self.engine.singular_noun(word)
        if proposed and proposed in bases:
            return proposed
        exceptional = self.wn._exception_map["n"].get(word, [])
        return exceptional[0] if exceptional and exceptional[0] in bases else None

    def plurals_of(self, word: str) -> list[str]:
        """Plurals of a singular noun WordNet knows; [] for plurals, invariant nouns and unknown words."""
        if not self.is_noun(word) or self.singular_of(word):
            return []
        candidates = set(self._exception_plurals.get(word, []))
        proposed = self.engine.plural_noun(word)
        if proposed:
            candidates.add(proposed)
        plurals = sorted(c for c in candidates if c != word and self._plural_of(c, word))
        if not plurals and word.endswith("o") and self._plural_of(word + "s", word):
            plurals = [word + "s"]   # inflect's "juncoes", "burritoes" are rejected; "juncos" is the plural
        return plurals

    def _plural_of(self, plural: str, word: str) -> bool:
        # morphy answers only from the exception list when the word is in it ("syringes" -> syrinx),
        # so the regular plural of "syringe" needs its detachment rules too
        return word in self.base_forms(plural) or word in self.wn._morphy(plural, "n", check_exceptions=False)

    def _is_genus(self, word: str) -> bool:
        genus = self.wn.synset("genus.n.02")
        return any(genus in s.closure(lambda x: x.hypernyms()) for s in self.wn.synsets(word, "n"))

    def is_binomial(self, form: str) -> bool:
        """A two-word scientific name whose first word is a WordNet genus ("tinca tinca")."""
        words = form.split(" ")
        return len(words) == 2 and self.is_genus(words[0])

    def inflections(self, form: str) -> list[str]:
        """The form with its head noun made plural, or singular when it is plural.

        Binomial names ("tinca tinca", "panthera tigris") have no plural.
        """
        if self.is_binomial(form):
            return []
        words = form.split(" ")
        head = _head_index(words)
        parts = words[head].split("-")
        part = _head_index(parts) if len(parts) > 1 else 0
        word = parts[part]
        # "tl" (thallium) is a WordNet noun too: two-letter heads only through the exception lists
        if not word.isalpha() or (len(word) < 3 and word not in self._exception_plurals):
            return []
        singular = self.singular_of(word)
        replacements = [singular] if singular else self.plurals_of(word)
        out = []
        for replacement in replacements:
            new_parts = parts[:part] + [replacement] + parts[part + 1:]
            out.append(" ".join(words[:head] + ["-".join(new_parts)] + words[head + 1:]))
        return out


def _head_index(words: list[str]) -> int:
    for i, w in enumerate(words[1:], start=1):
        if w in _PREPOSITIONS:
            return i - 1
    return len(words) - 1
