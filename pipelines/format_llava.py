"""Format ``llava``: LLaVA training data, one JSON array of ``{id, image, conversations: [{from,
value}]}`` (a ``.json`` file, split record by record by ``read_json_array``), or the same records
as JSON lines. A sample is one document, its turns are parts by role (``<image>`` removed)."""
from __future__ import annotations

from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.read_json_array import read_json_array
from classfreq.pipelines.read_lines import line_documents
from classfreq.pipelines.reader import JSON_SUFFIXES, Documents, Probe, Reader, ReadOptions, base_name
from classfreq.pipelines.records import MALFORMED_JSON, NON_STRING, as_id, load_json_object

NO_CONVERSATIONS = "LLaVA sample without conversations"
IMAGE_PLACEHOLDER = "<image>"
ROLES = ("human", "gpt", "system")  # the `from` values of conversation turns


def parse_llava(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    """{id, image, conversations: [{from, value}, ...]}: one document, its turns as parts by role."""
    rec = load_json_object(raw, buf, file)
    if rec is None:
        return
    doc_id = as_id(rec.get(opt.id_column or "id"))
    turns = rec.get("conversations")
    if not isinstance(turns, list) or not turns:
        buf.quarantine(NO_CONVERSATIONS, raw, file, doc_id)
        return
    parts = []
    for turn in turns:
        if not isinstance(turn, dict) or "value" not in turn:
            buf.quarantine(MALFORMED_JSON + " (a turn without 'value')", raw, file, doc_id)
            return
        if not isinstance(turn["value"], str):
            buf.quarantine(f"{NON_STRING} (a turn's 'value' is {type(turn['value']).__name__})", raw, file, doc_id)
            return
        role = str(turn.get("from"))
        if role in opt.roles:
            parts.append({"role": role, "text": turn["value"].replace(IMAGE_PLACEHOLDER, "")})
    image = rec.get("image")
    buf.add(doc_id=doc_id, parts=parts, url=image if isinstance(image, str) else None, file=file)


class LlavaReader(Reader):
    name = "llava"
    has_urls = False
    has_roles = True

    def detect(self, probe: Probe) -> bool:
        if probe.name.endswith(".json") and probe.head[:1] == b"[":
            return True
        return probe.name.endswith(JSON_SUFFIXES) and b'"conversations"' in probe.first_line

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        if base_name(files[0]).endswith(".json"):
            return read_json_array(spark, files, None, parse_llava, options, has_parts=True)
        return line_documents(spark, files, parse_llava, options, blank_is_record=False, has_parts=True)


READER = LlavaReader()
