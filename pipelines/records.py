"""Raw records to documents: the helpers every record parser shares and `parse_batches`, which
runs a format's parser over batches of raw records inside Spark tasks (``read_lines``,
``record_tasks``, ``staging``). Each format's parser lives in its ``format_<name>.py``.

A parser is ``parse(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None``: it adds
one document or one quarantine entry to ``buf`` (exactly one: ``parse_batches`` checks it; a
record of white space is a document with that text, an empty line is no record). Reasons are fixed
strings (the quarantine table groups by them), with a detail in brackets.
"""
from __future__ import annotations

import json
from collections.abc import Callable

from classfreq.pipelines.documents import ALL_ROLE, DocBuffer
from classfreq.pipelines.input_files import BOM, without_bom
from classfreq.pipelines.reader import ReadOptions

INVALID_UTF8 = "invalid UTF-8 bytes"
MALFORMED_JSON = "malformed JSON record"
MALFORMED_TSV = "malformed TSV record (no tab between fields)"
NO_TEXT = "record without a text field"
NON_STRING = "non-string text"

EMPTY_LINES = (b"", b"\r", BOM, BOM + b"\r")  # lines that are no record; white space is a document

Parser = Callable[[bytes, DocBuffer, str, ReadOptions], None]


def decode(raw: bytes, buf: DocBuffer, file: str) -> str | None:
    """The record as text, or None after quarantining it as invalid UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        buf.quarantine(INVALID_UTF8, raw, file)
        return None


def as_id(value) -> str | None:
    return None if value is None else str(value)


def parse_caption_url(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions, caption_first: bool = True) -> None:
    """A TSV line of two fields, a caption and its URL (the URL is also the document id)."""
    line = decode(raw, buf, file)
    if line is None:
        return
    first, tab, second = line.rstrip("\r\n").partition("\t")
    if not tab:
        buf.quarantine(MALFORMED_TSV, line, file)
        return
    caption, url = (first, second) if caption_first else (second, first)
    buf.add(doc_id=url, text=caption, url=url, file=file)


def load_json_object(raw: bytes, buf: DocBuffer, file: str) -> dict | None:
    """The record as a JSON object, or None after quarantining it (bad UTF-8, bad JSON, not an object)."""
    text = decode(raw, buf, file)
    if text is None:
        return None
    try:
        rec = json.loads(text)
    except (ValueError, RecursionError) as exc:  # (nesting deeper than the decoder goes is malformed here)
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


def add_generic(rec: dict, raw, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    """A flat record with the text under --text-column (a string, or a list of strings)."""
    col = opt.text_column or "text"
    if col not in rec or rec[col] is None:
        buf.quarantine(f"{NO_TEXT} ({col!r})", raw, file, as_id(rec.get(opt.id_column or "id")))
        return
    value = rec[col]
    doc_id = as_id(rec.get(opt.id_column or "id"))
    nsfw = rec.get("NSFW")
    punsafe = rec.get("punsafe")
    url = _url(rec) if ("url" in rec or "URL" in rec) else None
    nsfw = nsfw if isinstance(nsfw, str) else None
    punsafe = float(punsafe) if isinstance(punsafe, (int, float)) else None
    if isinstance(value, str):
        buf.add(doc_id, value, None, url, nsfw, punsafe, None, file)
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        buf.add(doc_id, None, [{"role": ALL_ROLE, "text": v} for v in value], url, nsfw, punsafe, None, file)
    else:
        buf.quarantine(f"{NON_STRING} ({col!r} is {type(value).__name__})", raw, file, doc_id)


def parse_batches(batches, parse: Parser, opt: ReadOptions, column: str = "line", blank_is_record: bool = True):
    """mapInArrow body: batches of (raw binary `column`, file, optional reason) -> batches of
    DOC_SCHEMA. Every record gives exactly one row, a document or a quarantine entry; only an
    empty line (nothing but its line end) is no record, nor, in JSON (``blank_is_record`` False),
    a line of white space. A record with a reason (a span the splitter could not split) is
    quarantined with it."""
    for batch in batches:
        buf = DocBuffer()
        rows = buf.rows
        raws = batch.column(column).to_pylist()
        files = batch.column("file").to_pylist()
        reasons = batch.column("reason").to_pylist() if "reason" in batch.schema.names else [None] * len(raws)
        for raw, file, reason in zip(raws, files, reasons):
            if raw is None or raw in EMPTY_LINES or (not blank_is_record and not raw.strip()):
                continue
            raw = without_bom(raw)  # a BOM starts a file (or a file glued to another): not text
            before = len(rows)
            if reason is not None:
                buf.quarantine(reason, raw, file)
            else:
                parse(raw, buf, file, opt)
            if len(rows) != before + 1:
                raise AssertionError(f"the parser made {len(rows) - before} rows of one record of {file}: {raw[:200]!r}")
        yield buf.to_batch()
