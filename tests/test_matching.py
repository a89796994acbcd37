"""The matching semantics, and the fast matcher equal to the reference on crafted and random text."""
import html
import importlib.util
import os
import pickle
import platform
import random
import re
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

from classfreq.pipelines import match_engines
from classfreq.pipelines.match_engines import default_engine, make_engine
from classfreq.pipelines.matcher import Hits
from classfreq.pipelines.matching import FormMatcher, _may_hold_entity, match_reference
from classfreq.text import normalize_text, tokenize

ENGINES = ["hyperscan", "ahocorasick_rs", "pyahocorasick"]


def counts(hits: Hits) -> dict:
    return {(d, f): m for d, f, m in zip(hits.doc.tolist(), hits.form.tolist(), hits.mentions.tolist())}


def assert_same(a: Hits, b: Hits):
    assert counts(a) == counts(b)
    for x, y in zip((a.doc, a.form, a.mentions), (b.doc, b.form, b.mentions)):
        assert x.dtype == np.int64 and np.array_equal(x, y)


def check(forms, texts, nested=False):
    """Fast matcher (every engine) == reference; returns the reference's counts."""
    expected = match_reference(forms, texts, nested=nested)
    for engine in ENGINES:
        matcher = FormMatcher(forms, nested=nested, engine=engine)
        assert_same(matcher.match_batch(texts), expected)
        assert_same(matcher.match_batch(pa.array(texts, pa.string())), expected)  # the Arrow path
        assert_same(matcher.match_batch(pa.array(["x dog", *texts], pa.string())[1:]), expected)  # a slice
    assert_same(matcher.match_batch(pa.chunked_array([pa.array(texts[:1], pa.string()),
                                                      pa.array(texts[1:], pa.string())])), expected)
    return counts(expected)


def test_token_characters_are_exactly_isalnum():
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert "".join(re.findall(r"[^\W_]+", every)) == "".join(c for c in every if c.isalnum())


def test_normalize_and_tokenize():
    assert normalize_text("Tiger&nbsp;SHARK &amp; ﬁsh") == "tiger shark & fish"
    assert tokenize("Hot-Dogs! t_shirt ｈｏｔ ｄｏｇ") == ["hot", "dogs", "t", "shirt", "hot", "dog"]
    assert tokenize("hot🌭dog <b>x²</b> café CAFÉ") == ["hot", "dog", "b", "x2", "b", "café", "café"]
    assert tokenize("") == [] and tokenize("--- !!") == []


def test_fast_path_entity_check_is_safe():
    # a text the fast path keeps (no "&" + letter or "#") must be one html.unescape leaves alone
    for c in map(chr, range(128)):
        for rest in ("", "amp;", "amp", "lt", "#38;", "x26;", "38;", "nbsp;", "ampx"):
            text = f"a&{c}{rest} b"
            if not _may_hold_entity(text):
                assert html.unescape(text) == text
    assert _may_hold_entity("x &amp; y") and _may_hold_entity("&#38;") and not _may_hold_entity("a & b")


def test_hyphens_and_punctuation_separate_tokens():
    forms = ["hot dogs", "hot dog", "hotdog"]
    assert check(forms, ["Hot-Dogs!", "a hot--dog.", "HOTDOG", "hotdogs", "hot dogsled"]) == {
        (0, 0): 1, (1, 1): 1, (2, 2): 1}
    assert check(["hot dog"], ["hotdog"]) == {}


def test_leftmost_longest_and_nested():
    forms = ["tiger", "tiger shark", "shark", "great white shark", "white"]
    texts = ["a tiger shark", "great white shark!", "Tiger, shark", "tiger tiger shark shark"]
    assert check(forms, texts) == {(0, 1): 1, (1, 3): 1, (2, 1): 1, (3, 0): 1, (3, 1): 1, (3, 2): 1}
    assert check(forms, texts, nested=True) == {
        (0, 0): 1, (0, 1): 1, (0, 2): 1, (1, 2): 1, (1, 3): 1, (1, 4): 1,
        (2, 0): 1, (2, 1): 1, (2, 2): 1, (3, 0): 2, (3, 1): 1, (3, 2): 2}


def test_leftmost_wins_over_longer_later_overlap():
    # "a b" starts first, so "b c d" (longer, overlapping) is not counted; "c d" after it is.
    forms = ["a b", "b c d", "c d"]
    assert check(forms, ["a b c d"]) == {(0, 0): 1, (0, 2): 1}
    assert check(forms, ["a b c d"], nested=True) == {(0, 0): 1, (0, 1): 1, (0, 2): 1}


def test_entities_nfkc_html_emoji_and_other_scripts():
    forms = ["tiger shark", "hot dog", "t-shirt", "кошка", "寿司", "café", "a&w"]
    texts = ["Tiger&nbsp;Shark", "<p>hot&amp;dog</p>", "&lt;b&gt;T&#45;Shirt&lt;/b&gt;",
             "ＨＯＴ　ＤＯＧ", "🌭hot🌭dog🌭", "Кошка!", "我喜欢寿司", "寿司 bar", "CAFÉ au lait",
             "cafe\u0301", "A&amp;W root beer", "tiger&shark"]
    assert check(forms, texts) == {(0, 0): 1, (1, 1): 1, (2, 2): 1, (3, 1): 1, (4, 1): 1,
                                   (5, 3): 1, (7, 4): 1, (8, 5): 1, (9, 5): 1, (10, 6): 1,
                                   (11, 0): 1}


def test_marks_that_split_words_split_forms_alike():
    assert tokenize("नमस्ते") == ["नमस", "त"]  # the virama and vowel sign are not alphanumeric
    assert check(["नमस्ते", "त"], ["नमस्ते!", "नमस्ते दुनिया"]) == {(0, 0): 1, (1, 0): 1}
    assert check(["नमस्ते", "त"], ["नमस्ते!"], nested=True) == {(0, 0): 1, (0, 1): 1}


def test_empty_none_and_no_forms():
    m = FormMatcher(["dog"])
    for texts in ([], [None], [""], [None, "", "  "]):
        assert len(m.match_batch(texts)) == 0
    assert counts(m.match_batch([None, "dog", "", "dog dog"])) == {(1, 0): 1, (3, 0): 2}
    assert len(FormMatcher([]).match_batch(["dog"])) == 0
    assert check(["", "!!", "dog"], ["dog !!"]) == {(0, 2): 1}


def test_forms_with_identical_tokens_share_one_pattern():
    m = FormMatcher(["hot dog", "hot-dog", "Hot Dog", "dog"])
    assert m.form_pattern.tolist() == [0, 0, 0, 1]
    assert counts(m.match_batch(["a hot dog and a dog"])) == {(0, 0): 1, (0, 1): 1, (0, 2): 1, (0, 3): 1}


def test_no_match_across_documents_and_nul_inside_text():
    forms = ["hot dog", "dog"]
    assert check(forms, ["hot", "dog", "hot\x00dog", "x\x00", "\x00hot dog"]) == {
        (1, 1): 1, (2, 0): 1, (4, 0): 1}


def test_one_megabyte_caption():
    text = "A Tiger-Shark, " * 70_000 + "tiger"
    assert len(text) > 1_000_000
    assert check(["tiger", "tiger shark", "shark"], [text, "x"]) == {(0, 1): 70_000, (0, 0): 1}
    assert check(["tiger", "tiger shark", "shark"], [text + " é"]) == {(0, 1): 70_000, (0, 0): 1}


def test_inputs_types_and_pickling():
    m = FormMatcher(["dog"])
    assert counts(m.match_batch(pa.array(["dog", None]))) == {(0, 0): 1}
    assert counts(m.match_batch(("a dog",))) == {(0, 0): 1}
    assert m.match("Dog, dog") == {0: 2}
    with pytest.raises(TypeError, match="text 1 is int"):
        m.match_batch(["dog", 3])
    with pytest.raises(TypeError, match="form 0 is int"):
        FormMatcher([3])
    clone = pickle.loads(pickle.dumps(FormMatcher(["tiger", "tiger shark"], nested=True)))
    assert clone.nested and clone.match("tiger shark") == {0: 1, 1: 1}


WORDS = ["tiger", "shark", "hot", "dog", "dogs", "a", "white", "great", "café", "кошка", "x1"]
GLUE = [" ", "  ", "-", ", ", "!", "&amp;", "&nbsp;", "\u3000", "🌭", "_", "\t", "<br/>", "&", "\x00", "é"]


def random_text(rng: random.Random, ascii_only: bool) -> str:
    words = [w for w in WORDS if w.isascii()] if ascii_only else WORDS
    glue = [g for g in GLUE if g.isascii() and "&" not in g and "\x00" not in g] if ascii_only else GLUE
    parts = []
    for _ in range(rng.randint(0, 12)):
        word = rng.choice(words)
        parts.append(word.upper() if rng.random() < 0.2 else word)
        parts.append(rng.choice(glue) if rng.random() < 0.3 else " ")
    return "".join(parts)


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("ascii_only", [False, True])  # True: only the batch fast path runs
def test_random_texts_equal_reference(nested, ascii_only):
    rng = random.Random(7)
    for _ in range(40):
        forms = [" ".join(rng.choices(WORDS, k=rng.randint(1, 3))) for _ in range(rng.randint(1, 12))]
        texts = [random_text(rng, ascii_only) if rng.random() > 0.1 else rng.choice([None, ""])
                 for _ in range(rng.randint(1, 30))]
        check(forms, texts, nested=nested)


def test_engines_and_the_default():
    assert match_engines.ENGINES == tuple(ENGINES)
    hyperscan = importlib.util.find_spec("hyperscan") is not None
    if platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64"):  # pyproject's marker
        assert hyperscan
    assert default_engine() == ("hyperscan" if hyperscan else "ahocorasick_rs")
    assert FormMatcher(["dog"]).engine == default_engine()
    assert FormMatcher(["dog"], engine="pyahocorasick").engine == "pyahocorasick"
    clone = pickle.loads(pickle.dumps(FormMatcher(["dog"], engine="ahocorasick_rs")))
    assert clone.engine == "ahocorasick_rs" and clone.match("a dog") == {0: 1}
    with pytest.raises(ValueError, match="unknown engine 'x'"):
        FormMatcher(["dog"], engine="x")


def test_default_engine_falls_back_in_order(monkeypatch):
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # what Python does for a package it cannot import
    assert default_engine() == "ahocorasick_rs"
    assert FormMatcher(["dog"]).engine == "ahocorasick_rs"
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)
    assert default_engine() == "pyahocorasick"
    monkeypatch.setitem(sys.modules, "ahocorasick", None)
    with pytest.raises(match_engines.MissingDependency, match="hyperscan, ahocorasick-rs or pyahocorasick"):
        default_engine()


def test_default_engine_falls_back_when_hyperscan_cannot_build(monkeypatch):
    hyperscan = pytest.importorskip("hyperscan")

    class Refused(match_engines._HyperscanEngine):
        def __init__(self, patterns):  # what a CPU without SSSE3 answers when the database compiles
            raise hyperscan.error("This system does not support Hyperscan")

    monkeypatch.setattr(match_engines, "_HyperscanEngine", Refused)
    monkeypatch.setitem(match_engines._CLASSES, "hyperscan", Refused)
    assert FormMatcher(["dog"]).engine == "ahocorasick_rs"
    assert FormMatcher(["hot dog"]).match("a hot-dog") == {0: 1}
    with pytest.raises(hyperscan.error):  # an engine asked for by name is not replaced
        FormMatcher(["dog"], engine="hyperscan")


def occurrences(engine, haystack: bytes) -> list:
    pid, start, end = engine.find(np.frombuffer(haystack, np.uint8))
    assert pid.dtype == start.dtype == end.dtype == np.int64
    return sorted(zip(pid.tolist(), start.tolist(), end.tolist()))


def test_engines_agree_on_edge_cases():
    cases = [  # (patterns, haystack, occurrences as (pattern, start, end))
        ([b" a ", b" a a "], b" a a a ", [(0, 0, 3), (0, 2, 5), (0, 4, 7), (1, 0, 5), (1, 2, 7)]),  # overlapping, self too
        ([b" b ", b" a b "], b" a b ", [(0, 2, 5), (1, 0, 5)]),  # a suffix of another, same end
        ([b"a+b", b".", b"(x)", b"\\d", b"[", b"$", b"^"], b"aab.(x)\\d[$^", [  # regex syntax is literal
            (1, 3, 4), (2, 4, 7), (3, 7, 9), (4, 9, 10), (5, 10, 11), (6, 11, 12)]),
        ([" é ".encode(), b"\xa9", b"\xff\xfe"], " é \xff\xfe ".encode() + b"\xff\xfe", [  # bytes, not characters
            (0, 0, 4), (1, 2, 3), (2, 9, 11)]),
        ([b" dog "], b" DOG \x00 dog \x00\x00 dog", [(0, 6, 11)]),  # no case folding; NUL is a byte
        ([b" x "], b"", []),
    ]
    for patterns, haystack, expected in cases:
        for name in ENGINES:
            assert occurrences(make_engine(patterns, name), haystack) == expected, (name, patterns)
    assert occurrences(make_engine([], "hyperscan"), b" a ") == []
    assert occurrences(make_engine([], "ahocorasick_rs"), b" a ") == []
    for bad in (b"", b"a\x00b"):
        with pytest.raises(ValueError, match="non-empty patterns without NUL"):
            make_engine([b" a ", bad], "hyperscan")


def random_bytes(rng: random.Random, alphabet: list[bytes], n: int) -> bytes:
    return b"".join(rng.choices(alphabet, k=n))


def test_engines_agree_on_random_bytes():
    rng = random.Random(11)
    alphabet = [b" ", b"a", b"b", b"\xc3", b"\xa9", b"+", b"."]
    for _ in range(200):
        patterns = list(dict.fromkeys(random_bytes(rng, alphabet, rng.randint(1, 6)) for _ in range(rng.randint(1, 30))))
        haystack = random_bytes(rng, alphabet + [b"\x00"], rng.randint(0, 400))
        expected = sorted((p, i, i + len(pattern)) for p, pattern in enumerate(patterns)
                          for i in range(len(haystack)) if haystack.startswith(pattern, i))
        for name in ENGINES:
            assert occurrences(make_engine(patterns, name), haystack) == expected, name


def test_hyperscan_scans_long_haystacks_in_overlapping_windows():
    rng = random.Random(5)
    alphabet = [b" ", b"a", b"b"]
    for _ in range(100):
        patterns = list(dict.fromkeys(random_bytes(rng, alphabet, rng.randint(1, 7)) for _ in range(rng.randint(1, 12))))
        haystack = random_bytes(rng, alphabet, rng.randint(0, 300))
        engine = make_engine(patterns, "hyperscan")
        expected = occurrences(engine, haystack)
        longest = max(map(len, patterns))
        for block in (2 * longest - 1, 2 * longest, 2 * longest + 3, 50, len(haystack) - 1):
            if block >= 2 * longest - 1:
                engine.max_block = block
                assert occurrences(engine, haystack) == expected, block
    engine.max_block = 2 * longest - 2
    with pytest.raises(ValueError, match="too small"):
        engine.find(np.frombuffer(b" " * (4 * longest), np.uint8))


@pytest.mark.parametrize("engine", ENGINES[:2])
def test_one_matcher_in_several_threads(engine):
    """Hyperscan's scratch space serves one scan at a time: each thread has its own."""
    rng = random.Random(3)
    texts = [random_text(rng, ascii_only=rng.random() < 0.8) for _ in range(20_000)]
    matcher = FormMatcher(["tiger", "tiger shark", "shark", "hot dog", "dog", "café", "x1 a"], engine=engine)
    expected = counts(matcher.match_batch(texts))
    results, errors = [], []

    def run():
        try:
            results.extend(counts(matcher.match_batch(texts)) for _ in range(4))
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 16 and all(r == expected for r in results)


def test_hyperscan_databases_are_kept_and_reused_from_the_engine_cache(tmp_path, monkeypatch):
    hyperscan = pytest.importorskip("hyperscan")
    monkeypatch.setenv(match_engines.ENGINE_CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(match_engines, "CACHED_FROM_PATTERNS", 1)
    assert FormMatcher(["dog"], engine="hyperscan").match("a dog") == {0: 1}
    [kept] = list((tmp_path / "cache").iterdir())
    # a kept database is loaded, not compiled again: swapped for another one, it is what matches
    other = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    other.compile(expressions=[b" cat "], ids=[0], elements=1, flags=0, literal=True)
    kept.write_bytes(hyperscan.dumpb(other))
    assert FormMatcher(["dog"], engine="hyperscan").match("a cat, a dog") == {0: 1}
    assert FormMatcher(["dog"], engine="hyperscan").match("a dog") == {}
    # one that does not load is compiled again and replaced
    kept.write_bytes(b"not a database")
    assert FormMatcher(["dog"], engine="hyperscan").match("a dog") == {0: 1}
    assert FormMatcher(["dog"], engine="hyperscan").match("a dog, a dog") == {0: 2}
    assert list((tmp_path / "cache").iterdir()) == [kept]


@pytest.mark.parametrize("setting", ["off", "under a file"])
def test_the_engine_cache_can_be_off_or_unwritable(tmp_path, monkeypatch, setting):
    pytest.importorskip("hyperscan")
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(match_engines.ENGINE_CACHE_ENV, "off" if setting == "off" else str(tmp_path / "file" / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(match_engines, "CACHED_FROM_PATTERNS", 1)
    assert FormMatcher(["hot dog"], engine="hyperscan").match("hot-dogs, a hot dog") == {0: 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_engine_cache_keeps_large_pattern_sets_only_and_a_few_of_them(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    monkeypatch.setenv(match_engines.ENGINE_CACHE_ENV, str(tmp_path))
    FormMatcher([f"w{i}" for i in range(match_engines.CACHED_FROM_PATTERNS - 1)], engine="hyperscan")
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(match_engines, "CACHED_FROM_PATTERNS", 1)
    for i in range(match_engines.CACHE_KEEP + 5):
        FormMatcher([f"w{i}"], engine="hyperscan")
    assert len(list(tmp_path.iterdir())) == match_engines.CACHE_KEEP


def test_a_database_that_cannot_be_kept_leaves_no_temporary_file(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    monkeypatch.setenv(match_engines.ENGINE_CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(match_engines, "CACHED_FROM_PATTERNS", 1)
    FormMatcher(["dog"], engine="hyperscan")
    [kept] = list(tmp_path.iterdir())
    kept.unlink()
    kept.mkdir()  # its name taken by a folder: the database is compiled, and cannot replace it
    assert FormMatcher(["dog"], engine="hyperscan").match("a dog") == {0: 1}
    assert list(tmp_path.iterdir()) == [kept]


def test_temporary_files_of_workers_killed_while_writing_are_pruned(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    monkeypatch.setenv(match_engines.ENGINE_CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(match_engines, "CACHED_FROM_PATTERNS", 1)
    stale, fresh = tmp_path / "a.hsdb.1.2.tmp", tmp_path / "b.hsdb.3.4.tmp"  # fresh: being written now
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    old = time.time() - match_engines.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    FormMatcher(["dog"], engine="hyperscan")
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".hsdb", ".tmp"]
    assert fresh.exists() and not stale.exists()
