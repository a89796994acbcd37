"""The multi-pattern engines that ``matching.FormMatcher`` scans its canonical bytes with.

An engine is built from a list of distinct, non-empty byte patterns without NUL (the matcher's are
" tok tok " in UTF-8) and has ``find(haystack)``: for a uint8 array, every occurrence of every
pattern, overlapping ones included, as int64 arrays (pattern index, start, end) with
``end - start == len(pattern)``, in no particular order. Every engine returns the same set
(for duplicate patterns hyperscan and ahocorasick_rs report each copy, pyahocorasick only the last;
the matcher's patterns are distinct).

* ``hyperscan``: Intel's Hyperscan (python-hyperscan, its wheels bundle the library), a
  pure-literal block-mode database; the fastest (about 1.7x ahocorasick_rs's bytes per second on
  captions, though its build costs ~0.1 s more), and the default where it is installed.
* ``ahocorasick_rs``: the Rust aho-corasick crate's DFA.
* ``pyahocorasick``: the C automaton of pyahocorasick.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import threading
import time
from itertools import chain

import numpy as np

from classfreq.cache import cache_folder
from classfreq.errors import MissingDependency, require

__all__ = ["ENGINES", "default_engine", "make_engine"]

# In order of preference: default_engine() picks the first one installed. ahocorasick_rs and
# pyahocorasick are dependencies everywhere; hyperscan where PyPI has wheels for the platform.
ENGINES = ("hyperscan", "ahocorasick_rs", "pyahocorasick")
_ENGINE_MODULES = {"hyperscan": "hyperscan", "ahocorasick_rs": "ahocorasick_rs", "pyahocorasick": "ahocorasick"}


def _installed(name: str) -> bool:
    module = _ENGINE_MODULES[name]
    if importlib.util.find_spec(module) is None:
        return False
    if name != "hyperscan":
        return True
    try:  # a wheel whose bundled library cannot load on this machine falls back to the next engine
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def default_engine() -> str:
    """The first engine of ``ENGINES`` that is installed (MissingDependency names them if none is)."""
    for name in ENGINES:
        if _installed(name):
            return name
    raise MissingDependency("the caption matcher needs the Python package hyperscan, ahocorasick-rs or pyahocorasick, "
                            "and none is installed: pip install 'ahocorasick-rs' (or pip install -e . in a classfreq checkout)")


def make_engine(patterns: list[bytes], name: str | None = None):
    """The engine ``name`` (one of ``ENGINES``; None: ``default_engine()``) for ``patterns``."""
    if name is None:
        return _first_that_builds(patterns)
    if name not in _CLASSES:
        raise ValueError(f"unknown engine {name!r}: use one of {', '.join(map(repr, ENGINES))}")
    return _CLASSES[name](patterns)


def _first_that_builds(patterns: list[bytes]):
    """``default_engine()``'s engine, or the next installed one where Hyperscan cannot build its
    database on this machine (it needs SSSE3 on x86, and says so only when compiling): the
    engines give the same occurrences, so an executor's choice does not change the counts."""
    name = default_engine()
    if name == "hyperscan":
        hyperscan = importlib.import_module("hyperscan")
        try:
            return _HyperscanEngine(patterns)
        except hyperscan.error:
            name = next((n for n in ENGINES[1:] if _installed(n)), None)
            if name is None:
                raise
    return _CLASSES[name](patterns)


class _HyperscanEngine:
    """All occurrences via a Hyperscan pure-literal database (``hs_compile_lit_multi``: bytes are
    matched exactly, no case folding, no regex syntax). Hyperscan reports each (pattern, end) once
    through a Python callback (the binding offers no other way), so the cost is the scan plus
    about 0.2 µs per occurrence. Scratch space is per thread: one engine may scan in several
    threads at once."""

    name = "hyperscan"
    # hs_scan takes an unsigned int length (the binding passes a larger buffer's length truncated),
    # so longer haystacks are scanned in overlapping windows of at most this many bytes
    max_block = 1 << 31

    def __init__(self, patterns: list[bytes]):
        hyperscan = require("hyperscan", package="hyperscan", purpose="engine 'hyperscan'")
        patterns = [bytes(p) for p in patterns]
        for p in patterns:
            if not p or b"\x00" in p:  # the binding measures a literal with strlen
                raise ValueError(f"engine 'hyperscan' takes non-empty patterns without NUL, not {p!r}")
        self._length = np.array([len(p) for p in patterns], np.int64)
        self._longest = int(self._length.max()) if patterns else 0
        self._db = None
        self._new_scratch = hyperscan.Scratch
        self._local = threading.local()
        self._buffers = True  # python-hyperscan >= 0.8 scans any buffer, older versions only bytes
        if patterns:
            self._db = _cached_database(hyperscan, patterns, self._ready)

    def _ready(self, db) -> None:
        """Scan one byte with ``db`` (a loaded database made for another CPU fails here)."""
        self._db = db
        self._local = threading.local()
        try:
            db.scan(np.zeros(1, np.uint8), scratch=self._scratch())
        except TypeError:
            self._buffers = False
            db.scan(b"\x00", scratch=self._scratch())

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._new_scratch(self._db)
        return scratch

    def _scan(self, block: np.ndarray, scratch) -> np.ndarray:
        """(id, end) pairs, one row per occurrence in ``block``."""
        found: list[int] = []
        add = found.append

        def on_match(pid, _start, end, _flags, _context):
            add(pid)
            add(end)

        self._db.scan(block if self._buffers else block.tobytes(), match_event_handler=on_match, scratch=scratch)
        return np.array(found, np.int64).reshape(-1, 2)

    def find(self, haystack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        haystack = np.ascontiguousarray(haystack, np.uint8)
        if self._db is None or haystack.size == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty.copy(), empty.copy()
        scratch = self._scratch()
        if haystack.size <= self.max_block:
            found = self._scan(haystack, scratch)
        else:
            found = self._scan_windows(haystack, scratch)
        pid, end = found[:, 0].copy(), found[:, 1].copy()
        return pid, end - self._length[pid], end

    def _scan_windows(self, haystack: np.ndarray, scratch) -> np.ndarray:
        """Windows of ``max_block`` bytes that overlap by ``longest - 1``: every occurrence lies
        whole in some window, and window k keeps those ending in (s_k + overlap, s_k+1 + overlap],
        so each is kept once."""
        overlap = self._longest - 1
        step = self.max_block - overlap
        if step < self._longest:
            raise ValueError(f"max_block {self.max_block} is too small for patterns of {self._longest} bytes")
        parts = []
        for s in range(0, haystack.size, step):
            found = self._scan(haystack[s:s + self.max_block], scratch)
            found[:, 1] += s
            if s:
                found = found[found[:, 1] > s + overlap]
            parts.append(found)
            if s + self.max_block >= haystack.size:
                break
        return np.concatenate(parts)


ENGINE_CACHE_ENV = "CLASSFREQ_ENGINE_CACHE"
CACHED_FROM_PATTERNS = 1000  # smaller pattern sets compile in under ~15 ms: not worth a file
CACHE_KEEP = 16
# part of a kept database's name: change it with how databases are compiled (mode, flags, literal)
CACHE_FORMAT = "block-literal-1"
STALE_TEMP_SECONDS = 3600  # a database is written in milliseconds: older temporary files are a killed worker's


def engine_cache_folder() -> str | None:
    """Where compiled Hyperscan databases are kept: ``$CLASSFREQ_ENGINE_CACHE`` (``off``: nowhere),
    else ``$XDG_CACHE_HOME/classfreq/hyperscan``, else ``~/.cache/classfreq/hyperscan``."""
    return cache_folder(ENGINE_CACHE_ENV, "hyperscan")


def _cached_database(hyperscan, patterns: list[bytes], ready):
    """The block-mode literal database of ``patterns``, loaded from the engine cache when a run
    compiled it before on this machine, for sets of ``CACHED_FROM_PATTERNS`` or more (compiling
    ImageNet-1k's patterns costs each Python worker 0.1-0.15 CPU-s, loading well under a
    millisecond). ``ready(db)`` is called with the database and must fail for one Hyperscan cannot
    use here (another version or CPU): it is then compiled again. A cache that cannot be read or
    written only costs the compile."""
    folder = engine_cache_folder() if len(patterns) >= CACHED_FROM_PATTERNS else None
    key = (CACHE_FORMAT, getattr(hyperscan, "__version__", ""), patterns)
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    path = os.path.join(folder, f"{digest}.hsdb") if folder else None
    if path and os.path.exists(path):
        try:
            with open(path, "rb") as f:
                db = hyperscan.loadb(f.read(), hyperscan.HS_MODE_BLOCK)
            ready(db)
            return db
        except (OSError, hyperscan.error, TypeError, ValueError):
            pass
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=patterns, ids=list(range(len(patterns))), elements=len(patterns), flags=0, literal=True)
    ready(db)
    if path:
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            os.makedirs(folder, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(hyperscan.dumpb(db))
            os.replace(tmp, path)  # whole or absent, whatever other workers do at the same time
            _prune(folder)
        except (OSError, hyperscan.error):
            with contextlib.suppress(OSError):  # a full disk's part-written file, one not renamed
                os.remove(tmp)
    return db


def _prune(folder: str) -> None:
    """Keep the ``CACHE_KEEP`` most recently written databases (a few label sets' worth), and remove
    the temporary files of workers killed while writing (older than ``STALE_TEMP_SECONDS``)."""
    databases, stale_before = [], time.time() - STALE_TEMP_SECONDS
    for entry in os.scandir(folder):
        try:  # another worker may remove an entry meanwhile
            mtime = entry.stat().st_mtime
            if entry.name.endswith(".hsdb"):
                databases.append((mtime, entry.path))
            elif entry.name.endswith(".tmp") and mtime < stale_before:
                os.remove(entry.path)
        except OSError:
            continue
    for _, path in sorted(databases)[:-CACHE_KEEP]:
        with contextlib.suppress(OSError):
            os.remove(path)


class _RustEngine:
    """All (overlapping) occurrences via the Rust aho-corasick crate."""

    name = "ahocorasick_rs"

    def __init__(self, patterns: list[bytes]):
        ac = require("ahocorasick_rs", package="ahocorasick-rs", purpose="engine 'ahocorasick_rs'")
        self._ac = ac.BytesAhoCorasick(patterns, matchkind=ac.MatchKind.Standard,
                                       implementation=ac.Implementation.DFA)

    def find(self, haystack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = self._ac.find_matches_as_indexes(haystack, overlapping=True)
        flat = np.fromiter(chain.from_iterable(found), np.int64, 3 * len(found)).reshape(-1, 3)
        return flat[:, 0], flat[:, 1], flat[:, 2]


class _PyEngine:
    """All occurrences via pyahocorasick; bytes are searched as latin-1 text so that string
    offsets are byte offsets."""

    name = "pyahocorasick"

    def __init__(self, patterns: list[bytes]):
        ahocorasick = require("ahocorasick", package="pyahocorasick", purpose="engine 'pyahocorasick'")
        self._automaton = ahocorasick.Automaton()
        for pid, pattern in enumerate(patterns):
            self._automaton.add_word(pattern.decode("latin-1"), pid)
        self._automaton.make_automaton()
        self._length = np.array([len(p) for p in patterns], np.int64)

    def find(self, haystack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = list(self._automaton.iter(haystack.tobytes().decode("latin-1")))
        flat = np.fromiter(chain.from_iterable(found), np.int64, 2 * len(found)).reshape(-1, 2)
        end = flat[:, 0] + 1
        pid = flat[:, 1]
        return pid, end - self._length[pid], end


_CLASSES = {"hyperscan": _HyperscanEngine, "ahocorasick_rs": _RustEngine, "pyahocorasick": _PyEngine}
