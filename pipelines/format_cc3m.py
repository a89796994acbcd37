"""Format ``cc3m``: Conceptual Captions 3M, a TSV without header, ``caption<TAB>url`` (``.gz`` works)."""
from __future__ import annotations

from classfreq.pipelines.read_lines import CaptionUrlReader


class Cc3mReader(CaptionUrlReader):
    name = "cc3m"
    caption_first = True


READER = Cc3mReader()
