"""Paper mode: CLIP names, raw text lowercased, NLTK word_tokenize, nested contiguous matches."""
import nltk
import pytest
from matching_samples import all_captions

from classfreq.pipelines.paper_mode import PaperMatcher, paper_tokenize
from classfreq.synsets import load_labelset


def counts(hits):
    return {(d, f): m for d, f, m in zip(hits.doc.tolist(), hits.form.tolist(), hits.mentions.tolist())}


def test_needs_no_punkt_data(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # nothing to find anywhere
    with pytest.raises(LookupError):
        nltk.data.find("tokenizers/punkt")
    assert paper_tokenize('A Hot-Dog, "Tiger Shark". Cannot!') == [
        "a", "hot-dog", ",", "``", "tiger", "shark", "''", ".", "can", "not", "!"]
    assert counts(PaperMatcher(["tiger shark"]).match_batch(["The TIGER SHARK."])) == {(0, 0): 1}


def test_paper_semantics():
    m = PaperMatcher(["tiger shark", "tiger", "missile", "missile", "hot dog", "café"])
    assert m.mode == "paper" and m.nested and m.form_pattern.tolist() == [0, 1, 2, 2, 3, 4]
    # "hot-dog" stays one token; "&nbsp;" is not decoded; "&amp;" splits into "&" "amp" ";";
    # no NFKC, so "cafe" + combining accent is not "café"; no plurals.
    texts = ["a tiger shark and a tiger", "missile!", "hot-dog", "hot dog", "hot&nbsp;dog",
             "tiger&amp;shark", None, "", "CAFÉ", "cafe\u0301", "tiger sharks"]
    assert counts(m.match_batch(texts)) == {
        (0, 0): 1, (0, 1): 2, (1, 2): 1, (1, 3): 1, (3, 4): 1, (5, 1): 1, (8, 5): 1, (10, 1): 1}


def test_paper_equals_plain_scan_on_real_captions(shared):
    names = [str(n) for n in load_labelset("imagenet1k").classes["name"]]
    texts = all_captions(shared)[::300]
    hits = counts(PaperMatcher(names).match_batch(texts))
    name_tokens = [paper_tokenize(n) for n in names]
    expected = {}
    for d, text in enumerate(texts):
        tokens = paper_tokenize(text) if text else []
        for f, pat in enumerate(name_tokens):
            n = sum(tokens[i:i + len(pat)] == pat for i in range(len(tokens)))
            if n:
                expected[d, f] = n
    assert hits == expected and len(expected) > 20
