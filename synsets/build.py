"""Build label-set tables: class specs -> forms -> ambiguity flags -> labelset folder."""
from __future__ import annotations

from pathlib import Path

from classfreq.synsets.ambiguity import PolysemyJudge, add_polysemous, add_shared_and_nested
from classfreq.synsets.assemble import ClassSpec, class_forms
from classfreq.synsets.labelset import LabelSet, write_labelset
from classfreq.synsets.morphology import Morphology


class WordNetTools:
    """WordNet with the helpers built on it, opened once per build."""

    def __init__(self, wordnet):
        self.wn = wordnet
        self.morphology = Morphology(wordnet)
        self.judge = PolysemyJudge(wordnet, self.morphology)

    def is_common_word(self, word: str) -> bool:
        """A word WordNet has seen in text (any part of speech, sense count > 0) or a named place/person."""
        for synset in self.wn.synsets(word):
            if synset.pos() == "n" and synset.instance_hypernyms():
                return True
            if any(lemma.count() > 0 for lemma in synset.lemmas() if lemma.name().lower() == word):
                return True
        return False


class NoWordNet:
    """Stands in for WordNet when a user label set is built on a machine without it."""

    class _NoMorphology:
        def inflections(self, form):
            return []

        def is_noun(self, word):
            return False

        def is_binomial(self, form):
            return False

    morphology = _NoMorphology()
    judge = None


def build_from_specs(folder: Path, name: str, specs: list[ClassSpec], tools, source: str,
                     built_from: str, domain=None, definitions: dict[int, str] | None = None) -> LabelSet:
    """`domain` (a synset such as plant.n.02) judges polysemy for classes without a single sense;
    `definitions` (class index -> text) are the label set's own class definitions."""
    rows = [row for spec in specs for row in class_forms(spec, tools.morphology)]
    add_shared_and_nested(rows, {s.class_index: s.name for s in specs})
    if tools.judge is not None:
        add_polysemous(rows, {s.class_index: s.synset for s in specs}, tools.judge, domain)
    return write_labelset(folder, name, [s.class_row() for s in specs], rows, source, built_from, definitions)
