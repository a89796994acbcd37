"""The judge's variants: the feature blocks each one combines (``judge`` builds them). Apart from
``judge`` so that the commands' options (``--judge``, ``--relevance-judge``) name them without
importing the judge's modules (features, spaCy's and MiniLM's wrappers)."""
from __future__ import annotations

VARIANT_BLOCKS = {"full": ("syntax", "senses", "static", "embedding"),
                  "fast": ("syntax", "senses", "static"),
                  "lexical": ("surface", "senses", "static")}
VARIANTS = tuple(VARIANT_BLOCKS)
