"""What the caption's tokens around the match say without a parser: capitals, numbers and model
codes next to the match, the word after it (a content word suggests the match modifies it:
"orange shirt", "tiger print"), determiners and pronouns before it ("a jaguar", "it flies").

The "lexical" judge uses these instead of spaCy; they cost a regular expression per caption.
"""
from __future__ import annotations

import math
import re

from classfreq.relevance.locate import Located

# closed-class English words: their presence is syntax, not vocabulary about any class
DETERMINERS = frozenset("a an the this that these those my your his her its our their some any two three "
                        "several many few one each every no".split())
PRONOUNS_TO = frozenset("i you he she it we they who which that to will can may might would could "
                        "should must not".split())
FUNCTION_WORDS = DETERMINERS | PRONOUNS_TO | frozenset(
    "of in on at with by for from and or but as is are was were be been being has have had do does did "
    "into onto over under near next behind above below between through during after before while up "
    "down out off about against along around across beside inside outside than then there here".split())
WORD_RE = re.compile(r"[^\W_]+|[^\w\s]")

SURFACE_FEATURES = ["found", "log_tokens", "at_start", "title_case", "all_caps", "caption_title_share",
                    "capital_unexpected", "next_has_digit", "prev_number", "next_capitalised", "prev_capitalised",
                    "next_content", "next_of", "next_end", "prev_determiner", "prev_pronoun_to", "suffix_ing_ed_s",
                    "repeated"]


def surface_features(loc: Located) -> list[float]:
    """SURFACE_FEATURES of one located match, in that order (all zero but log_tokens when absent)."""
    words = [(m.start(), m.group()) for m in WORD_RE.finditer(loc.text)]
    alpha = [w for _, w in words if w.isalpha()]
    out = dict.fromkeys(SURFACE_FEATURES, 0.0)
    out["log_tokens"] = math.log1p(len(alpha))
    out["caption_title_share"] = title_share(alpha)
    if not loc.found:
        return [out[name] for name in SURFACE_FEATURES]
    inside = [w for s, w in words if loc.start <= s < loc.end and w.isalpha()]
    before = [w for s, w in words if s < loc.start]
    after = [w for s, w in words if s >= loc.end]
    prev, nxt = (before[-1] if before else ""), (after[0] if after else "")
    out["found"] = 1.0
    out["at_start"] = float(not any(w.isalnum() for w in before))
    out["title_case"] = float(bool(inside) and all(w[:1].isupper() for w in inside))
    out["all_caps"] = float(bool(inside) and all(w.isupper() and len(w) > 1 for w in inside))
    out["capital_unexpected"] = float(out["title_case"] and out["caption_title_share"] < 0.5 and not out["at_start"])
    out["next_has_digit"] = float(any(c.isdigit() for c in nxt))
    out["prev_number"] = float(prev.isdigit())
    out["next_capitalised"] = float(nxt[:1].isupper())
    out["prev_capitalised"] = float(prev[:1].isupper() and not out["at_start"])
    low = nxt.lower()
    out["next_content"] = float(nxt.isalpha() and low not in FUNCTION_WORDS and not low.endswith(("ing", "ed")))
    out["next_of"] = float(low == "of")
    out["next_end"] = float(not nxt or not nxt.isalnum())
    out["prev_determiner"] = float(prev.lower() in DETERMINERS)
    out["prev_pronoun_to"] = float(prev.lower() in PRONOUNS_TO)
    last = inside[-1].lower() if inside else ""
    out["suffix_ing_ed_s"] = float(last.endswith(("ing", "ed", "s")))
    out["repeated"] = float(loc.n_occurrences > 1)
    return [out[name] for name in SURFACE_FEATURES]


def alpha_words(text: str) -> list[str]:
    return [w for w in WORD_RE.findall(text) if w.isalpha()]


def title_share(words: list[str]) -> float:
    """Share of the caption's longer words that are capitalised (title-case captions say less)."""
    long = [w for w in words if len(w) > 3]
    return sum(w[:1].isupper() for w in long) / len(long) if long else 0.0
