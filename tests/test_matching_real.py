"""The fast matcher equals the reference on the real shared captions with the full ImageNet-1k forms."""
import numpy as np
import pyarrow as pa
import pytest
from matching_samples import all_captions, load_shared_captions

from classfreq.pipelines.matching import FormMatcher, match_reference
from classfreq.synsets import load_labelset


@pytest.fixture(scope="module")
def captions(shared):
    return all_captions(shared)


@pytest.fixture(scope="module")
def forms():
    return [str(f) for f in load_labelset("imagenet1k").forms["form"]]


def test_shared_captions_load(shared):
    sources = load_shared_captions(shared)
    sizes = {k: len(v) for k, v in sources.items()}
    # llava_samples (PROVENANCE.txt): qa90 90 answers + 30x3 90 instructions and 90 outputs +
    # caps_boxes 80 images with 5 COCO captions each (one has 6) = 90 + 180 + 401
    assert sizes == {"cc3m_val": 15_833, "coco_val2017": 25_014, "flickr8k": 40_460,
                     "laion400m_sample": 10_000, "llava_samples": 671}
    assert sizes["llava_samples"] > 500
    # the real captions exercise both paths: non-ASCII and entity-bearing documents exist
    texts = [t for t in all_captions(shared) if t]
    assert sum(not t.isascii() for t in texts) > 100 and sum("&" in t for t in texts) > 100


@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("engine", ["hyperscan", "ahocorasick_rs", "pyahocorasick"])
def test_fast_equals_reference_on_real_captions(captions, forms, nested, engine):
    assert len(forms) > 5000
    expected = match_reference(forms, captions, nested=nested)
    matcher = FormMatcher(forms, nested=nested, engine=engine)
    assert len(expected) > 10_000
    for got in (matcher.match_batch(captions), matcher.match_batch(pa.array(captions, pa.string()))):
        for a, b in zip((got.doc, got.form, got.mentions), (expected.doc, expected.form, expected.mentions)):
            assert np.array_equal(a, b)


def test_batching_does_not_change_counts(captions, forms):
    m = FormMatcher(forms)
    whole = m.match_batch(captions)
    parts = []
    for size in (1, 7, 1000, 4096):
        rows = []
        for lo in range(0, len(captions) if size > 1 else 3000, size):
            h = m.match_batch(captions[lo:lo + size])
            rows.append(np.stack([h.doc + lo, h.form, h.mentions]))
        parts.append(np.concatenate(rows, axis=1))
    assert np.array_equal(parts[2], np.stack([whole.doc, whole.form, whole.mentions]))
    assert np.array_equal(parts[3], parts[2])
    first = whole.doc < 3000
    assert np.array_equal(parts[0], np.stack([whole.doc[first], whole.form[first], whole.mentions[first]]))
