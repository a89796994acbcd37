"""Turn one raw record (a line of a TSV/JSONL/CSV file, or one element of a JSON array) into a
document or a quarantine entry. Pure Python, run inside Spark tasks by `parse_batches`.

Reasons are fixed strings (the quarantine table groups by them), with a detail in brackets.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field

from classfreq.pipelines.documents import ALL_ROLE, DocBuffer

INVALID_UTF8 = "invalid UTF-8 bytes"
MALFORMED_JSON = "malformed JSON record"
MALFORMED_TSV = "malformed TSV record (no tab between fields)"
MALFORMED_CSV = "malformed CSV record"
NO_TEXT = "record without a text field"
NON_STRING = "non-string text"
NO_CONVERSATIONS = "LLaVA sample without conversations"
IMAGE_PLACEHOLDER = "<image>"


@dataclass(frozen=True)
class ParseOptions:
    text_column: str | None = None
    id_column: str | None = None
    roles: tuple = ("human", "gpt")
    csv_header: tuple = field(default=())


def _decode(raw: bytes, buf: DocBuffer, file: str) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        buf.quarantine(INVALID_UTF8, raw, file)
        return None


def _id(value) -> str | None:
    return None if value is None else str(value)


def parse_cc3m(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """`caption<TAB>url`, no header."""
    _parse_caption_url_tsv(raw, buf, file, caption_first=True)


def parse_cc12m(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """`url<TAB>caption`, no header."""
    _parse_caption_url_tsv(raw, buf, file, caption_first=False)


def _parse_caption_url_tsv(raw: bytes, buf: DocBuffer, file: str, caption_first: bool) -> None:
    line = _decode(raw, buf, file)
    if line is None:
        return
    first, tab, second = line.rstrip("\r\n").partition("\t")
    if not tab:
        buf.quarantine(MALFORMED_TSV, line, file)
        return
    caption, url = (first, second) if caption_first else (second, first)
    buf.add(doc_id=url, text=caption, url=url, file=file)


def parse_flickr(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """`image.jpg#k<TAB>caption`; a few real lines use one space instead of the tab."""
    line = _decode(raw, buf, file)
    if line is None:
        return
    line = line.rstrip("\r\n")
    key, sep, caption = line.partition("\t")
    if not sep:
        key, sep, caption = line.partition(" ")
    if not sep or "#" not in key:
        buf.quarantine("malformed Flickr token line (expected image.jpg#k<TAB>caption)", line, file)
        return
    buf.add(doc_id=key, text=caption, group_id=key.rsplit("#", 1)[0], file=file)


def _load_json(raw: bytes, buf: DocBuffer, file: str):
    text = _decode(raw, buf, file)
    if text is None:
        return None
    try:
        rec = json.loads(text)
    except ValueError as exc:
        buf.quarantine(MALFORMED_JSON, f"{exc}: {text}", file)
        return None
    if not isinstance(rec, dict):
        buf.quarantine(MALFORMED_JSON + " (not an object)", text, file)
        return None
    return rec


def _url(rec: dict):
    for key in ("url", "URL"):
        if isinstance(rec.get(key), str):
            return rec[key]
    return None


def add_generic(rec: dict, raw, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """A flat record with the text under --text-column (a string, or a list of strings)."""
    col = opt.text_column or "text"
    if col not in rec or rec[col] is None:
        buf.quarantine(f"{NO_TEXT} ({col!r})", raw, file, _id(rec.get(opt.id_column or "id")))
        return
    value = rec[col]
    doc_id = _id(rec.get(opt.id_column or "id"))
    nsfw = rec.get("NSFW")
    punsafe = rec.get("punsafe")
    extras = dict(url=_url(rec), nsfw=nsfw if isinstance(nsfw, str) else None,
                  punsafe=float(punsafe) if isinstance(punsafe, (int, float)) else None, file=file)
    if isinstance(value, str):
        buf.add(doc_id=doc_id, text=value, **extras)
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        buf.add(doc_id=doc_id, parts=[{"role": ALL_ROLE, "text": v} for v in value], **extras)
    else:
        buf.quarantine(f"{NON_STRING} ({col!r} is {type(value).__name__})", raw, file, doc_id)


def parse_jsonl(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    rec = _load_json(raw, buf, file)
    if rec is not None:
        add_generic(rec, raw, buf, file, opt)


def parse_llava(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """{id, image, conversations: [{from, value}, ...]}: one document, its turns as parts by role."""
    rec = _load_json(raw, buf, file)
    if rec is None:
        return
    doc_id = _id(rec.get(opt.id_column or "id"))
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


def parse_coco_annotation(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """One element of COCO's `annotations`: {image_id, id, caption}."""
    rec = _load_json(raw, buf, file)
    if rec is None:
        return
    doc_id = _id(rec.get("id"))
    caption = rec.get("caption")
    if caption is None:
        buf.quarantine(f"{NO_TEXT} ('caption')", raw, file, doc_id)
    elif not isinstance(caption, str):
        buf.quarantine(f"{NON_STRING} ('caption' is {type(caption).__name__})", raw, file, doc_id)
    else:
        buf.add(doc_id=doc_id, text=caption, group_id=_id(rec.get("image_id")), file=file)


def parse_csv(raw: bytes, buf: DocBuffer, file: str, opt: ParseOptions) -> None:
    """One CSV line (records must not span lines); the header line of each file is skipped."""
    line = _decode(raw, buf, file)
    if line is None:
        return
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        buf.quarantine(f"{MALFORMED_CSV} ({exc})", line, file)
        return
    if not rows:
        return
    row = rows[0]
    if tuple(row) == opt.csv_header:
        return
    if len(row) != len(opt.csv_header):
        buf.quarantine(f"{MALFORMED_CSV} ({len(row)} fields, the header has {len(opt.csv_header)})", line, file)
        return
    add_generic(dict(zip(opt.csv_header, row)), line, buf, file, opt)


PARSERS = {
    "cc3m": parse_cc3m, "cc12m": parse_cc12m, "flickr": parse_flickr, "jsonl": parse_jsonl,
    "llava": parse_llava, "coco": parse_coco_annotation, "csv": parse_csv,
}


def parse_batches(batches, parser_name: str, opt: ParseOptions, column: str = "line"):
    """mapInArrow body: batches of (raw binary `column`, file) -> batches of DOC_SCHEMA."""
    parse = PARSERS[parser_name]
    for batch in batches:
        buf = DocBuffer()
        raws = batch.column(column).to_pylist()
        files = batch.column("file").to_pylist()
        for raw, file in zip(raws, files):
            if raw is None or not raw.strip():
                continue  # a blank line is not a record
            parse(raw, buf, file, opt)
        yield buf.to_batch()

