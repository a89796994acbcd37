"""Format ``jsonl``: generic JSON lines, the text under ``--text-column`` (default ``text``; a list of
strings is several captions of one document), the id under ``--id-column`` (default ``id``)."""
from __future__ import annotations

import json

from classfreq.errors import UserError
from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.input_files import peek
from classfreq.pipelines.read_lines import LineReader
from classfreq.pipelines.reader import JSON_SUFFIXES, Probe, ReadOptions
from classfreq.pipelines.records import add_generic, load_json_object


def parse_jsonl(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    rec = load_json_object(raw, buf, file)
    if rec is not None:
        add_generic(rec, raw, buf, file, opt)


class JsonlReader(LineReader):
    name = "jsonl"
    parts = True
    blank_is_record = False
    parse_record = staticmethod(parse_jsonl)

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(JSON_SUFFIXES)  # after llava and coco, which are JSON too

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        """Refuse a file whose first records all lack the text column (a wrong --text-column),
        instead of quarantining every record."""
        column = options.text_column or "text"
        lines = [ln for ln in peek(spark, files[0]).split(b"\n")[:-1][:200] if ln.strip()]
        keys: set = set()
        for ln in lines:
            try:
                rec = json.loads(ln)
            except ValueError:
                continue
            if isinstance(rec, dict):
                if column in rec:
                    return options
                keys.update(rec)
        if keys:
            raise UserError(f"the JSONL records in {files[0]} have no field {column!r} (they have "
                            f"{', '.join(sorted(keys))}); pass --text-column NAME")
        return options


READER = JsonlReader()
