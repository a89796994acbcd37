"""Format ``coco``: COCO caption annotations, one JSON object whose ``annotations`` array holds
``{image_id, id, caption}`` (split record by record by ``read_json_array``). Captions carry their
image: ``--doc-unit image`` works."""
from __future__ import annotations

from classfreq.errors import UserError
from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.read_json_array import read_json_array
from classfreq.pipelines.reader import Documents, Probe, Reader, ReadOptions, base_name
from classfreq.pipelines.records import NO_TEXT, NON_STRING, as_id, load_json_object


def parse_coco_annotation(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    """One element of COCO's `annotations`: {image_id, id, caption}."""
    rec = load_json_object(raw, buf, file)
    if rec is None:
        return
    doc_id = as_id(rec.get("id"))
    caption = rec.get("caption")
    if caption is None:
        buf.quarantine(f"{NO_TEXT} ('caption')", raw, file, doc_id)
    elif not isinstance(caption, str):
        buf.quarantine(f"{NON_STRING} ('caption' is {type(caption).__name__})", raw, file, doc_id)
    else:
        buf.add(doc_id=doc_id, text=caption, group_id=as_id(rec.get("image_id")), file=file)


class CocoReader(Reader):
    name = "coco"
    has_urls = False
    has_images = True

    def detect(self, probe: Probe) -> bool:
        if not probe.name.endswith(".json") or probe.head[:1] == b"[":  # an array is LLaVA's layout
            return False
        return (probe.head[:1] == b"{" and b'"annotations"' in probe.head[:1 << 16]) or probe.name.startswith("captions_")

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        if not base_name(files[0]).endswith(".json"):
            raise UserError(f"COCO input {files[0]} is not a .json annotation file")
        return options

    def read(self, spark, files: list[str], options: ReadOptions) -> Documents:
        return read_json_array(spark, files, "annotations", parse_coco_annotation, options, has_parts=False)


READER = CocoReader()
