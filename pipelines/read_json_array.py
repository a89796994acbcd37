"""Input that is one big JSON document, shared by format_llava (a top-level array of samples) and
format_coco (the `annotations` array): split by `json_array_splitter` on the driver into staged
Parquet chunks (`staging`), parsed in Spark by the format's record parser."""
from __future__ import annotations

from functools import partial

from classfreq.pipelines.reader import Documents, ReadOptions
from classfreq.pipelines.records import Parser
from classfreq.pipelines.staging import FileLayoutError, read_split


def split_json(stream, member: str | None = None):
    """The pieces of one JSON file, in lists; a file that is not the layout fails as a whole."""
    # imported here: only the driver splits, so executors (which import the formats to parse) need no msgspec
    from classfreq.pipelines.json_array_splitter import JsonLayoutError, split_batches
    try:
        yield from split_batches(stream, member=member)
    except JsonLayoutError as exc:
        raise FileLayoutError(f"unreadable JSON file: {exc}") from exc


def read_json_array(spark, files: list[str], member: str | None, parse: Parser, options: ReadOptions,
                    has_parts: bool) -> Documents:
    """The records of the array (``member``: the array under that key of a top-level object),
    each parsed by ``parse``; files that are not that JSON layout fail with their reason."""
    return read_split(spark, files, partial(split_json, member=member), parse, options, has_parts)
