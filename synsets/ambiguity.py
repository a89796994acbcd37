"""Ambiguity flags, each with a reason: shared, nested (by token sequence) and polysemous (by WordNet).

- shared: the form's token sequence is also a form of another class of the set (two "crane"s).
- nested: the form's tokens lie inside a longer form of another class ("tiger" in "tiger shark").
- polysemous: another WordNet noun sense of the form is more frequent, by WordNet's sense counts
  (Lemma.count()), than the class's own sense ("mouse" for the computer mouse: 14 vs 0). A class
  without a single WordNet sense (Caltech's "bass") is judged against its set's domain: flagged
  when a sense outside the domain (bass.n.01, the musical range) outnumbers every sense inside it.
  Ties and all-zero counts are not flagged: "several senses" alone is not ambiguity.
"""
from __future__ import annotations

from collections import defaultdict

from classfreq.text import form_tokens

MAX_LISTED = 3


def add_shared_and_nested(rows: list[dict], class_names: dict[int, str]) -> None:
    by_key: dict[tuple, set[int]] = defaultdict(set)
    longer: dict[tuple, set[tuple[int, tuple]]] = defaultdict(set)   # sub-span -> (class, longer form's group)
    for row in rows:
        tokens = form_tokens(row["form"])
        group = form_tokens(row["lemma_group"])
        row["_tokens"] = tokens
        by_key[tokens].add(row["class_index"])
        n = len(tokens)
        for i in range(n):
            for j in range(i + 1, n + 1):
                if j - i < n and tokens[i:j] != group:   # "crane" inside "crane's" is shared, not nested
                    longer[tokens[i:j]].add((row["class_index"], group))
    for row in rows:
        tokens, own = row.pop("_tokens"), row["class_index"]
        if not tokens:
            continue
        others = sorted(by_key[tokens] - {own})
        if others:
            listed = "; ".join(f"{c} {class_names[c]}" for c in others[:MAX_LISTED])
            more = f" and {len(others) - MAX_LISTED} more" if len(others) > MAX_LISTED else ""
            row["flags"].append({"flag": "shared", "reason": f"also a form of class {listed}{more}"})
        outer = sorted((c, g) for c, g in longer.get(tokens, ()) if c != own)
        if outer:
            listed = "; ".join(f"'{' '.join(g)}' ({c} {class_names[c]})" for c, g in outer[:MAX_LISTED])
            more = f" and {len(outer) - MAX_LISTED} more" if len(outer) > MAX_LISTED else ""
            row["flags"].append({"flag": "nested", "reason": f"inside forms of {listed}{more}"})


class PolysemyJudge:
    """Decides the polysemous flag from WordNet sense counts."""

    def __init__(self, wordnet, morphology):
        self.wn = wordnet
        self.morphology = morphology

    def senses(self, word: str) -> list[tuple[int, object, str]]:
        """(count, synset, lemma) for every noun sense of the WordNet lemmas of `word`."""
        out = []
        for base in self.morphology.base_forms(word):
            name = base.replace(" ", "_").lower()
            for synset in self.wn.synsets(base.replace(" ", "_"), "n"):
                for lemma in synset.lemmas():
                    if lemma.name().lower() == name:
                        out.append((lemma.count(), synset, base))
        return out

    def reason(self, form: str, lemma_group: str, synset, domain=None) -> str | None:
        senses = self.senses(form) or self.senses(lemma_group)
        if not senses:
            return None
        if synset is not None:
            own = [count for count, s, _ in senses if s == synset]
            if not own:   # not a lemma of the class (a CLIP name such as "rooster"): no sense to compare
                return None
            rivals = [x for x in senses if x[1] != synset and x[0] > max(own)]
            if not rivals:
                return None
            count, rival, base = max(rivals, key=lambda x: (x[0], x[1].name()))
            return (f"WordNet's noun sense {rival.name()} of '{base}' ({_short(rival.definition())}) is more "
                    f"frequent than this class's sense (sense count {count} vs {max(own)})")
        if domain is None:
            return None
        # no single sense for the class: its sense lies in the set's domain (plants, physical things),
        # so the form is polysemous when a sense outside the domain outnumbers every sense inside it
        inside = [x for x in senses if _within(x[1], domain)]
        outside = [x for x in senses if not _within(x[1], domain)]
        if not outside:
            return None
        count, top, base = max(outside, key=lambda x: (x[0], x[1].name()))
        if count <= max((x[0] for x in inside), default=0):
            return None
        return (f"the class has no single WordNet sense, and WordNet's most frequent noun sense of '{base}' is "
                f"{top.name()} ({_short(top.definition())}; sense count {count}), which is not a {domain.name()}")


def _within(synset, domain) -> bool:
    return synset == domain or domain in synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms())


def add_polysemous(rows: list[dict], synsets: dict[int, object], judge: PolysemyJudge, domain=None) -> None:
    cache: dict[tuple, str | None] = {}
    for row in rows:
        key = (row["form"], row["lemma_group"], row["class_index"])
        if key not in cache:
            cache[key] = judge.reason(row["form"], row["lemma_group"], synsets.get(row["class_index"]), domain)
        if cache[key]:
            row["flags"].append({"flag": "polysemous", "reason": cache[key]})


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."
