"""The attribute ruler as a table look-up (relevance/attribute_rules.py) annotates exactly as
en_core_web_sm's stock attribute ruler: on real captions, on rule precedence and multi-token
patterns, and by falling back to the ruler for patterns the table cannot express."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import spacy
from spacy.tokens import Doc

from classfreq.relevance.attribute_rules import FACTORY, STOCK, AttributeRules
from classfreq.relevance.features import PairBatch, locate_all, syntax_matrix
from classfreq.relevance.judge import load_judge
from classfreq.relevance.labels import read_labels
from classfreq.relevance.syntax import load_spacy

# the ruler's multi-token, whitespace and dependency-label rules, which captions rarely reach
EDGE_TEXTS = ["we're gonna need a bigger boat", "y'all got ta see this , let's go", "it ain't a dog",
              "c'm on , there is a cat and there are two dogs", "a  dog\n\nand a cat \t on a mat",
              "I told you it was mine and you gave it to me", "that is the one which I said I did have"]


@pytest.fixture(scope="module")
def stock():
    return load_spacy(table_rules=False)


@pytest.fixture(scope="module")
def table():
    return load_spacy()


def _annotations(doc):
    return [(t.text, t.tag_, t.pos_, t.dep_, str(t.morph), t.lemma_, t.head.i) for t in doc]


def _real_captions(shared, n: int = 150) -> list[str]:
    cc3m = (shared / "captions" / "cc3m_val" / "Validation_GCC-1.1.0-Validation.tsv").read_text(encoding="utf-8")
    laion = pq.read_table(shared / "captions" / "laion400m_sample_img2dataset" / "test_10000.parquet", columns=["TEXT"])
    coco = json.loads((shared / "captions" / "coco_val2017" / "captions_val2017.json").read_text(encoding="utf-8"))
    return ([line.split("\t")[0] for line in cc3m.splitlines()[:n]]
            + [t for t in laion.column("TEXT").to_pylist()[:n] if t]
            + [a["caption"] for a in coco["annotations"][:n]])


def test_pipeline_has_the_table_in_place_of_the_ruler(stock, table):
    assert table.pipe_names == [FACTORY if name == STOCK else name for name in stock.pipe_names]
    assert table.get_pipe(FACTORY).fallback_reason is None


def test_same_annotations_as_the_stock_ruler_on_real_captions(shared, stock, table):
    texts = _real_captions(shared) + EDGE_TEXTS
    assert len(texts) > 400
    for text, a, b in zip(texts, stock.pipe(texts), table.pipe(texts)):
        assert _annotations(b) == _annotations(a), text
    # the edge texts do reach the multi-token, whitespace and label rules
    edge = list(table.pipe(EDGE_TEXTS))
    assert [t.lemma_ for t in edge[0][2:4]] == ["go", "to"] and edge[1][0].lemma_ == "you"
    assert any(t.pos_ == "SPACE" for t in edge[4]) and str(edge[5][0].morph).startswith("Case=Nom")


def test_same_judge_features_as_the_stock_pipeline(shared, stock, table):
    pairs = read_labels(shared / "relevance" / "imagenet1k_dev_labels.jsonl")
    n = 300
    batch = PairBatch(pairs.texts[:n], pairs.class_indexes[:n], pairs.forms[:n])
    located = locate_all(load_judge("imagenet1k", "fast").extractor.locator, batch)
    x_stock, phrases_stock = syntax_matrix(stock, located)
    x_table, phrases_table = syntax_matrix(table, located)
    assert (x_table == x_stock).all() and phrases_table == phrases_stock


def _tagged(nlp, words, tags, deps=None):
    heads = list(range(len(words))) if deps else None
    return Doc(nlp.vocab, words=words, tags=tags, deps=deps, heads=heads)


def _both(patterns):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add_patterns(patterns)
    return ruler, AttributeRules(ruler)


def test_later_rules_win_and_sequences_set_their_index():
    ruler, rules = _both([
        {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN", "MORPH": "Number=Sing"}},
        {"patterns": [[{"LOWER": "dog", "TAG": "NN"}]], "attrs": {"POS": "PROPN"}},
        {"patterns": [[{"LOWER": {"IN": ["the", "a"]}}, {"TAG": "NN"}]], "attrs": {"LEMMA": "x"}, "index": -1},
        {"patterns": [[{"LOWER": {"REGEX": "^d"}}]], "attrs": {"POS": "VERB"}},
        {"patterns": [[{"TAG": {"NOT_IN": ["NN", ""]}}]], "attrs": {"POS": "DET"}},
    ])
    assert rules.fallback_reason is None
    words, tags = ["The", "dog", "sees", "a", "cat", "dog"], ["DT", "NN", "VBZ", "DT", "NN", "NN"]
    a, b = ruler(_tagged(ruler, words, tags)), rules(_tagged(ruler, words, tags))
    assert _annotations(b) == _annotations(a)
    assert [t.pos_ for t in b] == ["DET", "VERB", "DET", "DET", "NOUN", "VERB"]
    assert [t.lemma_ for t in b] == ["", "x", "", "", "x", ""]


@pytest.mark.parametrize("pattern", [
    [{"LOWER": "big", "OP": "+"}],
    [{"LENGTH": {">=": 3}}],
])
def test_inexpressible_patterns_fall_back_to_the_ruler(pattern):
    ruler, rules = _both([{"patterns": [pattern], "attrs": {"POS": "ADJ"}},
                          {"patterns": [[{"TAG": "JJ"}]], "attrs": {"MORPH": "Degree=Pos"}}])
    assert rules.table is None and rules.fallback_reason
    words, tags = ["big", "big", "dog"], ["JJ", "JJ", "NN"]
    a, b = ruler(_tagged(ruler, words, tags)), rules(_tagged(ruler, words, tags))
    assert _annotations(b) == _annotations(a) and b[0].pos_ == "ADJ"


def test_a_rule_setting_a_lexical_attribute_falls_back():
    ruler, rules = _both([{"patterns": [[{"LOWER": "dog"}]], "attrs": {"NORM": "hound"}}])
    assert rules.table is None and "NORM" in rules.fallback_reason
