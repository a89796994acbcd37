"""Format ``img2dataset``: the Parquet that img2dataset writes, ``caption``, ``key``, ``url``."""
from __future__ import annotations

from classfreq.pipelines.read_parquet import ParquetLayout, ParquetReader
from classfreq.pipelines.reader import Probe


class Img2datasetReader(ParquetReader):
    name = "img2dataset"
    layout = ParquetLayout(text=("caption", "TEXT", "text"), id=("key", "SAMPLE_ID", "id"), url=("url", "URL"))

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".parquet") and "caption" in probe.columns and "TEXT" not in probe.columns


READER = Img2datasetReader()
