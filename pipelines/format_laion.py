"""Format ``laion``: LAION metadata Parquet (400M and 2B-en layouts). ``TEXT``; ``SAMPLE_ID`` (400M)
becomes the doc id, else ``file:row``; ``URL``, ``NSFW`` and ``punsafe`` are kept when present."""
from __future__ import annotations

from classfreq.pipelines.read_parquet import ParquetLayout, ParquetReader
from classfreq.pipelines.reader import Probe


class LaionReader(ParquetReader):
    name = "laion"
    layout = ParquetLayout(text=("TEXT", "caption", "text"), id=("SAMPLE_ID", "key", "id"), url=("URL", "url"))

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".parquet") and "TEXT" in probe.columns


READER = LaionReader()
