"""Find the input files and check each one can be opened before Spark reads it.

Local paths and globs are expanded in Python; any other URI (s3a://, hdfs://, file://, ...) goes
through Hadoop's FileSystem in Spark's JVM, so whatever Spark can read, the job can list, check
and stream. A file that cannot be read (a truncated Parquet, a broken gzip) is reported with its
reason instead of failing the whole job.
"""
from __future__ import annotations

import glob
import gzip
import os
import re
import zlib

import pyarrow.parquet as pq

from classfreq.errors import UserError

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+:")  # s3a://, hdfs://, file:/ (not C:\\)
_CHECK_BLOCK = 16 << 20
# inside a folder, only these are data files (README, PROVENANCE, _SUCCESS... are skipped)
DATA_SUFFIXES = (".parquet", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".csv")
_NOT_DATA = ("readme", "provenance", "license", "licence")

BOM = b"\xef\xbb\xbf"


def without_bom(data: bytes) -> bytes:
    """``data`` less a leading UTF-8 byte order mark (a file's first bytes, or a record's)."""
    return data[len(BOM):] if data.startswith(BOM) else data


def _is_data_name(name: str) -> bool:
    low = name.lower()
    base = low[:-3] if low.endswith(".gz") else low
    return (base.endswith(DATA_SUFFIXES) and not low.startswith((".", "_"))
            and not low.startswith(_NOT_DATA))


def is_local(path: str) -> bool:
    return not _SCHEME.match(path)


def to_spark_path(path: str) -> str:
    """Spark reads local files by absolute path; URIs are passed unchanged."""
    return os.path.abspath(path) if is_local(path) else path


def expand_inputs(spark, patterns: list[str]) -> list[str]:
    """Every file named by the --input paths, globs or folders (sorted); UserError when one matches nothing."""
    files: list[str] = []
    for pattern in patterns:
        found = _expand_local(pattern) if is_local(pattern) else _expand_hadoop(spark, pattern)
        if not found:
            raise UserError(f"input {pattern!r} matches no file; check the path or glob "
                            "(quote globs so the shell does not expand them)")
        files.extend(found)
    return sorted(dict.fromkeys(files))


def _expand_local(pattern: str) -> list[str]:
    paths = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    out = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(os.path.join(root, name) for root, _, names in os.walk(p)
                              for name in names if _is_data_name(name)))
        else:
            out.append(p)
    return [os.path.abspath(p) for p in out]


def hadoop_fs(spark, path: str):
    """The Hadoop FileSystem that holds ``path``, and ``path`` as a Hadoop Path (UserError when
    Spark has no file system for its scheme)."""
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    try:
        return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath
    except Exception as exc:  # py4j's error from the JVM
        missing = _missing_file_system(str(exc))
        if missing is None:
            raise
        scheme = path.split(":", 1)[0]
        raise UserError(f"Spark cannot open {path!r}: {missing}; put the {scheme}:// file system's jars on Spark's "
                        "classpath (for s3a://: hadoop-aws of Spark's Hadoop version and the AWS SDK bundle, through "
                        "spark.jars.packages in spark-defaults.conf or spark-submit --packages), or use a local "
                        "path") from None


_NO_SCHEME = re.compile(r'No FileSystem for scheme "?([\w.+-]+)"?')
_NO_CLASS = re.compile(r"Class ([\w.$]+) not found")


def _missing_file_system(message: str) -> str | None:
    """What a JVM error says is missing to open a URI's file system (None: something else)."""
    if m := _NO_SCHEME.search(message):
        return f"Hadoop has no file system for the scheme {m.group(1)!r}"
    if "ClassNotFoundException" in message and (m := _NO_CLASS.search(message)):
        return f"its file system class {m.group(1)} is not on Spark's classpath"
    return None


def _expand_hadoop(spark, pattern: str) -> list[str]:
    fs, jpath = hadoop_fs(spark, pattern)
    statuses = fs.globStatus(jpath) or []
    out = []
    for st in statuses:
        if st.isDirectory():
            it = fs.listFiles(st.getPath(), True)
            while it.hasNext():
                f = it.next().getPath()
                if _is_data_name(f.getName()):
                    out.append(f.toString())
        else:
            out.append(st.getPath().toString())
    return sorted(out)


class _JvmStream:
    """A read(n) file object over a Hadoop input stream (Python side of a remote file)."""

    def __init__(self, jstream):
        self.j = jstream

    def read(self, n: int = -1) -> bytes:
        data = bytes(self.j.readNBytes(n if n >= 0 else 1 << 30))
        return data

    def close(self):
        self.j.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_binary(spark, path: str, decompress: bool = True):
    """Open a file for streaming bytes, gunzipping *.gz when decompress is set."""
    if is_local(path):
        if decompress and path.endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")
    fs, jpath = hadoop_fs(spark, path)
    stream = fs.open(jpath)
    if decompress:
        jvm = spark.sparkContext._jvm
        codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(
            spark.sparkContext._jsc.hadoopConfiguration()).getCodec(jpath)
        if codec is not None:
            stream = codec.createInputStream(stream)
    return _JvmStream(stream)


def file_problem(spark, path: str, kind: str) -> str | None:
    """Why `path` cannot be read (None when it can): Parquet footer, or a full gzip decode."""
    try:
        if kind == "parquet":
            return _parquet_problem(spark, path)
        if path.endswith(".gz"):
            with open_binary(spark, path) as f:
                while f.read(_CHECK_BLOCK):
                    pass
            return None
        with open_binary(spark, path, decompress=False) as f:
            f.read(1)
        return None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        return f"unreadable file: {type(exc).__name__}: {exc}"
    except Exception as exc:  # py4j errors from the JVM side
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"unreadable file: {msg[:300]}"


def _parquet_problem(spark, path: str) -> str | None:
    if is_local(path):
        try:
            pq.read_metadata(path)
        except Exception as exc:
            return f"unreadable Parquet file: {type(exc).__name__}: {exc}"
        return None
    fs, jpath = hadoop_fs(spark, path)
    size = fs.getFileStatus(jpath).getLen()
    if size < 12:
        return "unreadable Parquet file: shorter than a Parquet header and footer"
    stream = fs.open(jpath)
    try:
        head = bytes(stream.readNBytes(4))
        stream.seek(size - 4)
        tail = bytes(stream.readNBytes(4))
    finally:
        stream.close()
    if head != b"PAR1" or tail != b"PAR1":
        return "unreadable Parquet file: missing PAR1 magic (truncated or not Parquet)"
    return None


def peek(spark, path: str, n: int = 65536) -> bytes:
    """The first n (decompressed) bytes of a file, to detect its format."""
    with open_binary(spark, path) as f:
        return f.read(n)
