"""Format ``cc12m``: Conceptual 12M, a TSV without header, ``url<TAB>caption`` (``.gz`` works)."""
from __future__ import annotations

from classfreq.pipelines.read_lines import CaptionUrlReader


class Cc12mReader(CaptionUrlReader):
    name = "cc12m"
    caption_first = False


READER = Cc12mReader()
