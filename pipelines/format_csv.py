"""Format ``csv``: generic CSV with a header line and one record per line; the text under
``--text-column`` (default ``text``), the id under ``--id-column`` (default ``id``). Every file
must have the first file's header."""
from __future__ import annotations

import csv
import io
from dataclasses import replace

from classfreq.errors import UserError
from classfreq.pipelines.documents import DocBuffer
from classfreq.pipelines.input_files import peek
from classfreq.pipelines.reader import Probe, ReadOptions
from classfreq.pipelines.records import LineReader, add_generic, decode

MALFORMED_CSV = "malformed CSV record"


def parse_csv(raw: bytes, buf: DocBuffer, file: str, opt: ReadOptions) -> None:
    """One CSV line (records must not span lines); the header line of each file is skipped."""
    line = decode(raw, buf, file)
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
    if tuple(row) == opt.header:
        return
    if len(row) != len(opt.header):
        buf.quarantine(f"{MALFORMED_CSV} ({len(row)} fields, the header has {len(opt.header)})", line, file)
        return
    add_generic(dict(zip(opt.header, row)), line, buf, file, opt)


def read_header(spark, path: str) -> tuple[str, ...]:
    line = peek(spark, path).split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    return tuple(next(csv.reader(io.StringIO(line)), []))


class CsvReader(LineReader):
    name = "csv"
    parse_record = staticmethod(parse_csv)

    def detect(self, probe: Probe) -> bool:
        return probe.name.endswith(".csv")

    def validate(self, spark, files: list[str], options: ReadOptions) -> ReadOptions:
        """The first file's header must have the text column, and every file that header: lines are
        read with it, so a file whose columns are in another order would count ids as captions."""
        header = read_header(spark, files[0])
        wanted = options.text_column or "text"
        if wanted not in header:
            raise UserError(f"the CSV header of {files[0]} has no column {wanted!r} (it has {', '.join(header)}); "
                            "pass --text-column NAME")
        for path in files[1:]:
            other = read_header(spark, path)
            if other != header:
                raise UserError(f"the CSV header of {path} ({', '.join(other)}) differs from that of {files[0]} "
                                f"({', '.join(header)}); count files with different columns as separate runs")
        return replace(options, header=header)


READER = CsvReader()
