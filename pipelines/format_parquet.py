"""Format ``parquet``: any Parquet, the text under ``--text-column`` (default ``text``, else
``caption`` or ``TEXT``; a list of strings is several captions of one document), the id under
``--id-column`` (default ``id``, else ``key`` or ``SAMPLE_ID``)."""
from __future__ import annotations

from classfreq.pipelines.read_parquet import ParquetLayout, ParquetReader
from classfreq.pipelines.reader import Probe


class ParquetFormatReader(ParquetReader):
    name = "parquet"
    layout = ParquetLayout(text=("text", "caption", "TEXT"), id=("id", "key", "SAMPLE_ID"), url=("url", "URL"))

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".parquet")  # after laion and img2dataset, which are Parquet too


READER = ParquetFormatReader()
