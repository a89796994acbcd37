"""The relevance judge: does a matched form, as used in a caption, mean the class?

    from classfreq.relevance import load_judge, relevant_share, sample_doc_ids
    judge = load_judge("imagenet1k", variant="full")     # once per process / Spark Python worker
    p = judge.score(texts, class_indexes, forms)          # p_relevant per pair (numpy)

Modules: locate (where the form matched), syntax (spaCy), surface (token rules, no parser), senses
(WordNet sense tables, shipped per label set), embed (MiniLM, and its word-piece vectors alone),
features, judge (combiner + API), train / evaluate / report (fitting and grouped cross-validation),
estimate (calibrated shares, Rogan–Gladen for comparison, seeded sampler), cli.
"""
from classfreq.relevance.estimate import (
    JudgeErrors,
    ShareEstimate,
    calibrated_share,
    relevant_share,
    sample_doc_ids,
    sample_key,
)

# the judge (and its features, spaCy's and MiniLM's wrappers) imported on first use: every count run's
# driver and worker daemon import estimate (the seeded sampler), which imports this package first
_JUDGE_NAMES = ("Judge", "Models", "load_judge")


def __getattr__(name: str):
    if name in _JUDGE_NAMES:
        from classfreq.relevance import judge

        return getattr(judge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Judge", "JudgeErrors", "Models", "ShareEstimate", "calibrated_share", "load_judge", "relevant_share",
           "sample_doc_ids", "sample_key"]
