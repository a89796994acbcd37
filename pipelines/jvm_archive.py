"""A class-data-sharing (CDS) archive of the driver JVM, kept on disk across runs.

A short run's driver JVM spends most of its life loading and verifying Spark's classes (some
20,000, for the session, the first query plan and the first Python task). The JVM can record the
classes it loaded into an archive when it exits (``-XX:ArchiveClassesAtExit``) and map that
archive at the next start (``-XX:SharedArchiveFile``): measured on a 3-caption run, the session,
reading and count phases took about half as long with it.

The first run that starts a JVM records the archive under a temporary name; a later run promotes
it once the JVM that wrote it has exited (its dump is then complete) and uses it from then on.
The archive's name carries a hash of the Java binary and of pyspark's jars, so an upgrade of
either starts a new archive (and removes the old one: they are about 170 MB). The JVM checks the
archive itself and ignores one that does not fit (the run is then as slow as without it).

The folder is ``$CLASSFREQ_JVM_ARCHIVE`` (``off``: no archive), else ``$XDG_CACHE_HOME/classfreq``,
else ``~/.cache/classfreq``.
"""
from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import shutil
import time
import uuid

from classfreq.cache import cache_folder

ARCHIVE_ENV = "CLASSFREQ_JVM_ARCHIVE"
QUIET = "-Xlog:cds*=off"  # a stale or foreign archive is ignored silently, and the dump lists no skipped classes
ABANDONED_S = 600  # a recording without a readable pid file is removed after this


def archive_folder() -> str | None:
    """Where archives live (None: switched off)."""
    return cache_folder(ARCHIVE_ENV)


def java_binary() -> str | None:
    """The java that spark-submit runs: $JAVA_HOME/bin/java, else the first on PATH."""
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else shutil.which("java")


def archive_key(java: str, jars: str) -> str:
    """``INSTALL-CONTENT``: a hash of the jars folder's path (each installation keeps its own
    archive), then of what the classes come from (the Java binary and the jar files)."""
    h = hashlib.sha1()
    for path in [os.path.realpath(java)] + sorted(glob.glob(os.path.join(jars, "*.jar"))):
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    install = hashlib.sha1(os.path.realpath(jars).encode()).hexdigest()[:8]
    return f"{install}-{h.hexdigest()[:12]}"


class Archive:
    """The archive of one (Java, jars) key in ``folder``: ``java_options()`` before the JVM
    starts, ``started(pid)`` once it runs."""

    def __init__(self, folder: str, key: str):
        self.folder, self.key = folder, key
        self.path = os.path.join(folder, f"driver-{key}.jsa")
        self.recording: str | None = None  # the temporary archive this run's JVM writes at exit

    def java_options(self) -> str:
        """Use the archive; or record it, when none exists and no other JVM is recording one
        (nothing when the folder cannot be written: the archive is only a cache)."""
        try:
            return self._options()
        except OSError:
            return ""

    def _options(self) -> str:
        self._promote_finished()
        if os.path.exists(self.path):
            return f"-XX:SharedArchiveFile={self.path} {QUIET}"
        if self._pending():
            return ""
        os.makedirs(self.folder, exist_ok=True)
        self.recording = os.path.join(self.folder, f"driver-{self.key}.{uuid.uuid4().hex[:8]}.tmp")
        self.started(os.getpid())  # until the JVM runs, this process stands for it
        return f"-XX:ArchiveClassesAtExit={self.recording} {QUIET}"

    def started(self, jvm_pid: int) -> None:
        """Note which JVM writes the recording (it is complete once that process has exited)."""
        if self.recording:
            tmp = f"{self.recording}.pid.{os.getpid()}"
            with open(tmp, "w") as f:
                f.write(str(jvm_pid))
            os.replace(tmp, self.recording + ".pid")  # readers see the whole pid or no file

    def abandon(self) -> None:
        """The JVM these options were for is not started after all: no recording is pending."""
        if self.recording:
            _remove(self.recording + ".pid")
            _remove(self.recording)
            self.recording = None

    def _recordings(self) -> list[str]:
        names = glob.glob(os.path.join(self.folder, f"driver-{self.key}.*.tmp"))
        names += [p[:-len(".pid")] for p in glob.glob(os.path.join(self.folder, f"driver-{self.key}.*.tmp.pid"))]
        return sorted(set(names))

    def _pending(self) -> list[str]:
        """Recordings whose JVM (or the process starting it) still runs."""
        return [p for p in self._recordings() if _writer_alive(p) is not False]

    def _promote_finished(self) -> None:
        """Finished recordings become the archive (a JVM killed before its dump leaves none)."""
        for tmp in self._recordings():
            alive = _writer_alive(tmp)
            abandoned = alive is None and _age(tmp) > ABANDONED_S
            if alive is False and _complete(tmp) and not os.path.exists(self.path):
                os.replace(tmp, self.path)
                install = self.key.split("-")[0]
                for other in glob.glob(os.path.join(self.folder, f"driver-{install}-*.jsa")):
                    if other != self.path:
                        _remove(other)
            if alive is False or abandoned:
                _remove(tmp)
                _remove(tmp + ".pid")


def _writer_alive(tmp: str) -> bool | None:
    """Whether the JVM that writes ``tmp`` still runs (None: unknown yet). A process with its pid
    that started after the pid file was written is another one (pids are reused): the writer is
    gone, and its recording would otherwise block every later run's archive while that one lives."""
    try:
        with open(tmp + ".pid") as f:
            pid = int(f.read().strip())
        written = os.path.getmtime(tmp + ".pid")
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_start(pid)
    return started is None or started <= written + 1.0  # (/proc's boot time is whole seconds)


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (None where /proc does not tell)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


# HotSpot writes a dynamic archive's header, which starts with this magic number, after all its
# regions: a dump cut short (the JVM killed while writing, or a writer taken for dead too early)
# has none, and is discarded instead of being promoted and then silently ignored for good.
DYNAMIC_ARCHIVE_MAGIC = 0xF00BABA8  # a native-order u4


def _complete(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return len(head) == 4 and DYNAMIC_ARCHIVE_MAGIC in (int.from_bytes(head, "little"), int.from_bytes(head, "big"))


def _age(path: str) -> float:
    try:
        return time.time() - os.path.getmtime(path)
    except OSError:
        return 0.0


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def pyspark_folder() -> str | None:
    """The installed pyspark's folder (pip's pyspark is its own SPARK_HOME: jars/, conf/), found,
    not imported: a session may be starting early."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def driver_archive() -> Archive | None:
    """The archive for the JVM that pyspark would start now (None: switched off, or no java)."""
    folder, java = archive_folder(), java_binary()
    if folder is None or java is None or not os.path.exists(java):
        return None
    home = pyspark_folder()
    if home is None:
        return None
    jars = os.path.join(home, "jars")
    try:
        return Archive(folder, archive_key(java, jars))
    except OSError:
        return None
