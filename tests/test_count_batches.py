"""The task's class rows: the sort-free route for one text per document equals the general one."""
from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from matching_samples import all_captions

from classfreq.pipelines import count_batches as cb
from classfreq.pipelines.match_spec import build_spec, matcher_for
from classfreq.synsets import load_labelset


def class_rows_both_ways(spec, texts: list) -> tuple[pa.Table, pa.Table, int, int]:
    form_class = np.asarray(spec.form_class, np.int64)
    form_amb = np.asarray(spec.form_ambiguous, bool)
    form_pat = np.asarray(spec.form_pattern, np.int64)
    hits = matcher_for(spec).match_batch(pa.array(texts, pa.string()))
    d, f, m = (np.asarray(x, np.int64) for x in (hits.doc, hits.form, hits.mentions))
    r = np.zeros(len(d), np.int64)
    d, r, f, m, ordered = cb._per_doc_form(d, r, f, m, len(texts), len(form_class))
    assert ordered
    general = cb._class_rows(d, r, f, m, len(texts), form_class, form_amb, form_pat, ["all"])
    fast, n_matched = cb._class_rows_ordered(d, f, m, form_class, form_amb,
                                             cb._pattern_representatives(form_class, form_pat))
    return general, fast, len(np.unique(d)), n_matched


@pytest.mark.parametrize("mode", ["default", "paper"])
def test_sort_free_class_rows_equal_the_general_ones_on_real_captions(shared, mode):
    spec = build_spec(load_labelset("imagenet1k"), mode)
    texts = all_captions(shared)[:40_000]
    general, fast, matched, n_matched = class_rows_both_ways(spec, texts)
    assert general.num_rows > 300
    assert fast.equals(general)
    assert n_matched == matched


def test_forms_sharing_tokens_count_their_mentions_once_per_class():
    labelset_forms = [(0, "hot dog"), (0, "hot-dog"), (0, "frank"), (1, "hot dog"), (1, "bun"), (2, "Bun")]
    spec = cb.MatchSpec(mode="default", forms=tuple(f for _, f in labelset_forms),
                        form_class=tuple(c for c, _ in labelset_forms),
                        form_ambiguous=(True, True, False, True, False, False), form_pattern=(0, 0, 1, 0, 2, 2))
    texts = ["a hot dog and a hot-dog in a bun", "frank", "", None, "bun bun BUN hot dog frank", "nothing"]
    general, fast, matched, n_matched = class_rows_both_ways(spec, texts)
    assert fast.equals(general)
    assert n_matched == matched == 3
    rows = {r["idx"]: (r["docs"], r["docs_clean"], r["mentions"]) for r in fast.to_pylist()}
    assert rows == {0: (3, 2, 2 + 1 + 1 + 1), 1: (2, 2, 2 + 1 + 3 + 1), 2: (2, 2, 1 + 3)}


def test_sort_free_class_rows_equal_the_general_ones_on_random_label_sets():
    """Random label sets: several forms per class sharing token sequences, one sequence in several
    classes, forms without tokens, ambiguous forms, nested or not; texts with None, entities,
    non-ASCII and NUL."""
    from classfreq.text import form_tokens

    words = ["hot", "dog", "Hot-Dog", "bun", "é", "café", "tiger", "shark", "&amp;", "x\x00y", "ß", "STRASSE",
             "straße", "ﬁ", "1", "t_shirt", "t", "shirt", "!"]
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        pairs = sorted((c, " ".join(rng.choice(words) for _ in range(rng.randint(0, 3))))
                       for c in range(rng.randint(1, 6)) for _ in range(rng.randint(0, 5))) or [(0, "dog")]
        ids: dict = {}
        spec = cb.MatchSpec(mode="default", forms=tuple(f for _, f in pairs), form_class=tuple(c for c, _ in pairs),
                            form_ambiguous=tuple(rng.random() < 0.3 for _ in pairs),
                            form_pattern=tuple(ids.setdefault(form_tokens(f), len(ids)) for _, f in pairs),
                            nested=rng.random() < 0.5)
        texts = [None if rng.random() < 0.1 else " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
                 for _ in range(rng.randint(1, 20))]
        if not len(matcher_for(spec).match_batch(texts).doc):
            continue
        general, fast, matched, n_matched = class_rows_both_ways(spec, texts)
        assert fast.equals(general), (spec, texts)
        assert n_matched == matched
        checked += 1
    assert checked > 250
