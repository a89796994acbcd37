"""The checks of a count that need the file system, run before Spark starts or any data is read.

``CountConfig.validate()`` stays pure (it checks what needs nothing but the config);
``check_paths`` checks that ``--out`` and ``--staging`` are folders this process can write and that
``--warehouse`` names a file, not a folder; ``queries.warehouse.writer_lock`` then checks that the
warehouse is a DuckDB database no other process holds. Each failure is a ``UserError`` of one
sentence, so a bad path costs a second, not a whole count.
"""
from __future__ import annotations

import os
import tempfile

from classfreq.errors import UserError
from classfreq.pipelines.config import CountConfig


def check_paths(config: CountConfig) -> None:
    """--out (and --staging when given) must be, or be creatable as, writable local folders;
    --warehouse must be a file path."""
    check_writable_folder("--out", config.out)
    if config.staging is not None:
        check_writable_folder("--staging", config.staging)
    check_file_path("--warehouse", config.warehouse)


def check_file_path(flag: str, path: str) -> None:
    """``path`` is a file or can become one: not a folder, and not under a file."""
    if os.path.isdir(path):
        raise UserError(f"{flag} {path} is a folder; give a file in it, such as {os.path.join(path, 'classfreq.duckdb')}")
    blocker = file_in_the_way(os.path.dirname(os.path.abspath(path)))
    if blocker:
        raise UserError(f"{flag} {path} is under {blocker}, which is a file, not a folder")


def check_writable_folder(flag: str, path: str) -> None:
    """Create ``path`` if missing and write a probe file in it; URIs (s3a://, hdfs://) are left to Spark."""
    if "://" in path:
        return
    blocker = file_in_the_way(path)
    if blocker == os.path.abspath(path):
        raise UserError(f"{flag} {path} is a file, not a folder; give a folder")
    if blocker:
        raise UserError(f"{flag} {path} is under {blocker}, which is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".classfreq-write-check-", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise UserError(f"{flag} {path} is not a folder this process can write ({exc.strerror or exc})") from None


def file_in_the_way(path: str) -> str | None:
    """The first existing component of ``path`` (itself included) that is not a folder, if any."""
    current = os.path.abspath(path)
    chain = []
    while True:
        chain.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for p in reversed(chain):  # from the root down
        if os.path.exists(p) and not os.path.isdir(p):
            return p
    return None
