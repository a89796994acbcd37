"""Format ``flickr``: a Flickr8k/30k token file, ``image.jpg#k<TAB>caption`` per line (a few real
lines use one space instead of the tab). Captions carry their image: ``--doc-unit image`` works."""
from __future__ import annotations

from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.read_lines import LineReader
from classfreq.pipelines.reader import Probe, ReadOptions
from classfreq.pipelines.records import decode

MALFORMED_FLICKR = "malformed Flickr token line (expected image.jpg#k<TAB>caption)"


def parse_flickr(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    line = decode(raw, buf, file)
    if line is None:
        return
    line = line.rstrip("\r\n")
    key, sep, caption = line.partition("\t")
    if not sep:
        key, sep, caption = line.partition(" ")
    if not sep or "#" not in key:
        buf.quarantine(MALFORMED_FLICKR, line, file)
        return
    buf.add(doc_id=key, text=caption, group_id=key.rsplit("#", 1)[0], file=file)


class FlickrReader(LineReader):
    name = "flickr"
    has_urls = False
    has_images = True
    parse_record = staticmethod(parse_flickr)

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".txt") and b"#" in probe.first_line.split(b"\t", 1)[0]


READER = FlickrReader()
