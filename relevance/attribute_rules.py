"""en_core_web_sm's attribute ruler (tag -> POS and morphology, a few lemmas and exceptions) as a
table look-up instead of spaCy's Matcher, which tries every one of its 179 patterns at every token
and took a large share of the judge's parse time.

The table is compiled from the loaded ruler's own patterns and normalised attributes, and applies
them exactly as spaCy does: every pattern is matched against the tokens as the parser left them,
then each matched rule's attributes are set on its target token in rule order (a later rule
overwrites an earlier one). Whether a token satisfies a pattern token depends only on its text,
tag and dependency label, so the rules a token gets are computed once per (text, tag, label) and
cached. A pattern the table cannot express (an operator such as "OP", an attribute or predicate
not listed below, a rule that changes a lexical attribute) makes the whole component run the real
attribute ruler instead, with the reason in `fallback_reason`: never a silently different result.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.attrs import DEP, ORTH, TAG
from spacy.language import Language
from spacy.tokens._retokenize import set_token_attrs

FACTORY = "classfreq_attribute_rules"
STOCK = "attribute_ruler"
# pattern attributes the table reads: each is a function of the token's text, tag or label
STRING_ATTRS = {"ORTH": "orth_", "TEXT": "orth_", "LOWER": "lower_", "TAG": "tag_", "DEP": "dep_"}
BOOL_ATTRS = {"IS_SPACE": "is_space"}
# attributes a rule may set: token-level ones, which no pattern's match can depend on through the lexeme
SETTABLE = {"POS", "TAG", "DEP", "MORPH", "LEMMA"}
CACHE_LIMIT = 500_000


class Inexpressible(ValueError):
    """A ruler pattern that the table cannot reproduce exactly."""


@dataclass(frozen=True)
class Sequence:
    """A fixed-length pattern of several tokens: rule `rule` sets its attributes on token `index`."""
    rule: int
    specs: tuple[int, ...]
    index: int


class TokenSpec:
    """One pattern token: all of its conditions must hold. `keys` are the (attribute, value) pairs
    of which the token must have one, from one of its equality or IN conditions (none if it has
    neither), to find the specs a token may satisfy without trying them all."""

    def __init__(self, spec: dict):
        self.checks = []
        self.keys: tuple[tuple[str, str], ...] | None = None
        for key, value in spec.items():
            if key in BOOL_ATTRS and isinstance(value, bool):
                self.checks.append((BOOL_ATTRS[key], value.__eq__))
            elif key in STRING_ATTRS and isinstance(value, str):
                self.checks.append((STRING_ATTRS[key], value.__eq__))
                self._index(STRING_ATTRS[key], [value])
            elif key in STRING_ATTRS and isinstance(value, dict) and value:
                for predicate, arg in value.items():
                    self.checks.append((STRING_ATTRS[key], _predicate(predicate, arg)))
                    if predicate == "IN":
                        self._index(STRING_ATTRS[key], arg)
            else:
                raise Inexpressible(f"pattern token {spec!r}: {key}={value!r} is not a table condition")

    def _index(self, attr: str, values: list[str]) -> None:
        if self.keys is None or len(values) < len(self.keys):
            self.keys = tuple((attr, v) for v in values)

    def holds(self, token) -> bool:
        return all(test(getattr(token, attr)) for attr, test in self.checks)


def _predicate(name: str, arg):
    if name in ("IN", "NOT_IN") and isinstance(arg, list) and all(isinstance(v, str) for v in arg):
        values = frozenset(arg)
        return values.__contains__ if name == "IN" else (lambda v: v not in values)
    if name == "REGEX" and isinstance(arg, str):
        pattern = re.compile(arg)
        return lambda v: pattern.search(v) is not None
    raise Inexpressible(f"predicate {name}={arg!r} is not a table condition")


class RuleTable:
    """The compiled patterns: single-token alternatives per rule, multi-token sequences, and per
    (orth, tag, dep) key the cached outcome."""

    def __init__(self, patterns: list[dict], attrs: list[dict]):
        self.attrs = attrs
        self.specs: list[TokenSpec] = []
        self.single: list[tuple[int, int]] = []         # (spec, rule)
        self.sequences: list[Sequence] = []
        for rule, pattern in enumerate(patterns):
            unsettable = set(pattern["attrs"]) - SETTABLE
            if unsettable:
                raise Inexpressible(f"rule {rule} sets {sorted(unsettable)}, which the table does not set")
            index = int(pattern.get("index", 0))
            for alternative in pattern["patterns"]:
                if not alternative or not -len(alternative) <= index < len(alternative):
                    raise Inexpressible(f"rule {rule}: index {index} outside its pattern {alternative!r}")
                ids = tuple(self._spec(tok) for tok in alternative)
                if len(ids) == 1:
                    self.single.append((ids[0], rule))
                else:
                    self.sequences.append(Sequence(rule, ids, index % len(ids)))
        self.unindexed = [i for i, spec in enumerate(self.specs) if spec.keys is None]
        self.index: dict[tuple[str, str], list[int]] = {}
        for i, spec in enumerate(self.specs):
            for key in spec.keys or ():
                self.index.setdefault(key, []).append(i)
        self.index_attrs = sorted({attr for attr, _ in self.index})
        self.rules_of: dict[int, list[int]] = {}
        for spec, rule in self.single:
            self.rules_of.setdefault(spec, []).append(rule)
        self.cache: dict[tuple[int, int, int], tuple] = {}

    def _spec(self, spec: dict) -> int:
        self.specs.append(TokenSpec(spec))
        return len(self.specs) - 1

    def outcome(self, token) -> tuple:
        """(merged attributes of its single-token rules, their rule ids, the specs it satisfies,
        the sequences whose first token it satisfies)."""
        candidates = set(self.unindexed)
        for attr in self.index_attrs:
            candidates.update(self.index.get((attr, getattr(token, attr)), ()))
        held = frozenset(i for i in candidates if self.specs[i].holds(token))
        rules = sorted({rule for spec in held for rule in self.rules_of.get(spec, ())})
        merged: dict = {}
        for rule in rules:
            merged.update(self.attrs[rule])
        starts = tuple(s for s in self.sequences if s.specs[0] in held)
        return merged, tuple(rules), held, starts

    def apply(self, doc) -> None:
        keys = doc.to_array([ORTH, TAG, DEP]).tolist()
        if len(self.cache) > CACHE_LIMIT:
            self.cache.clear()
        outcomes = []
        for i, key in enumerate(map(tuple, keys)):
            found = self.cache.get(key)
            if found is None:
                found = self.cache[key] = self.outcome(doc[i])
            outcomes.append(found)
        extra: dict[int, list[int]] = {}   # token -> rules of sequences that end up on it
        for i, (_, _, _, starts) in enumerate(outcomes):
            for seq in starts:
                n = len(seq.specs)
                if i + n <= len(outcomes) and all(seq.specs[j] in outcomes[i + j][2] for j in range(1, n)):
                    extra.setdefault(i + seq.index, []).append(seq.rule)
        for i, (merged, rules, _, _) in enumerate(outcomes):
            if i in extra:
                for rule in sorted(set(rules) | set(extra[i])):
                    set_token_attrs(doc[i], self.attrs[rule])
            elif merged:
                set_token_attrs(doc[i], merged)


class AttributeRules:
    """Pipeline component equivalent to the stock attribute ruler `ruler`: a RuleTable when every
    pattern is expressible, otherwise the ruler itself (`fallback_reason` says why)."""

    def __init__(self, ruler):
        self.ruler = ruler
        self.fallback_reason = None
        self.table = None
        try:
            self.table = RuleTable(ruler.patterns, list(ruler.attrs))
        except Inexpressible as exc:
            self.fallback_reason = str(exc)

    def __call__(self, doc):
        if self.table is None:
            return self.ruler(doc)
        self.table.apply(doc)
        return doc


@Language.factory(FACTORY)
def make_attribute_rules(nlp: Language, name: str) -> AttributeRules:
    """Built from the pipeline's stock attribute ruler, which the caller then removes."""
    return AttributeRules(nlp.get_pipe(STOCK))


def use_attribute_rules(nlp: Language) -> AttributeRules:
    """Replace `nlp`'s stock attribute ruler by the table look-up, in the same place."""
    component = nlp.add_pipe(FACTORY, after=STOCK)
    nlp.remove_pipe(STOCK)
    return component
