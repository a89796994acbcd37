"""The SparkSession of a counting run: whatever master spark-submit gave, else --master, else
local[*] (embedded Spark, no cluster needed)."""
from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import BinaryIO

from classfreq.pipelines.jvm_archive import driver_archive, pyspark_folder

DEFAULT_CONF = {
    "spark.ui.showConsoleProgress": "false",
    # the web UI's Jetty server costs about a second of a run's start; a local run ends before
    # anyone looks at it (under spark-submit the session, and its UI, already exist)
    "spark.ui.enabled": "false",
    # big Arrow batches: per-batch costs (JVM and Python) drop; measured 20k -> 100k rows: +13% on
    # local[1]. The byte cap (Spark 4) keeps batches of long documents (LLaVA) in memory bounds.
    "spark.sql.execution.arrow.maxRecordsPerBatch": "100000",
    "spark.sql.execution.arrow.maxBytesPerBatch": str(64 << 20),
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


SMALL_INPUT_BYTES = 64 << 20  # inputs up to this size get a JVM tuned for a short run (below)

# Local runs only (their workers run this interpreter, with classfreq installed):
LOCAL_CONF = {
    # workers forked with pandas, pyarrow and the matcher already imported (see worker_daemon)
    "spark.python.daemon.module": "classfreq.pipelines.worker_daemon",
}
# A small input's run is mostly the JVM starting and loading Spark's classes once: the C2 JIT
# compiler's threads then compete with the run for the cores and compile code that runs for
# seconds only. C1 and the UI off together halved a 3-record run on a busy 2-core machine; large
# inputs keep C2 (Parquet decoding and Arrow conversion run for minutes).
SMALL_INPUT_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
# and plans run interpreted: compiling generated Java (Janino, whose signed jar the class archive
# of jvm_archive cannot hold) took about 2.7 of a 3-record run's 9.7 s count phase on a cold JVM.
# factoryMode is an internal setting of Spark's (its tests' switch), read wherever a projection
# or predicate is built.
SMALL_INPUT_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
# spark-submit's launcher JVM (org.apache.spark.launcher.Main: it prints the driver's command and
# exits) runs for about a tenth of a second, whatever the input: C2 never pays there. Measured alone,
# eight alternated rounds: 0.145 CPU s by default, 0.109 with C1 only (the serial GC, -Xint: no better).
LAUNCHER_JAVA_OPTIONS = SMALL_INPUT_JAVA_OPTIONS
# A local run whose input is read by pyarrow in the Python tasks (parquet_tasks) leaves its JVM
# little to run for long: planning, handing tasks out, collecting the partial counts. There C2's
# compiling costs more CPU than it saves, of any input size: C1 only (SMALL_INPUT_JAVA_OPTIONS,
# not SMALL_INPUT_CONF) measured 23-37% fewer busy core-seconds and less wall time end to end at
# 2M-5M captions (README, "Benchmarks"). Spark's JVM Parquet scan, which runs long, keeps C2.
PARQUET_FORMATS = ("laion", "img2dataset", "parquet")  # readers.READERS' columnar formats (a test checks)


def light_jit(master: str | None, files: list[str] | None, fmt: str = "auto", parquet_scan: str = "python",
              sample: float | None = None, dedup: str | None = None, partitions: int = 0,
              doc_unit: str = "caption") -> bool:
    """Whether a run starts its driver JVM with C1 JIT only: a local master (or none) outside
    spark-submit, and ``files`` (the run's input, listed: local files; None when not all of them
    are local) all Parquet of a Parquet --format (auto: every name ends in .parquet), read on the
    pyarrow path: --parquet-scan python, no --sample, --dedup, --partitions or --doc-unit image
    (those need Spark's scan). A guess from the command line: a wrong one costs speed only,
    the same counts either way (the JVM's JIT does not change what it computes)."""
    if launched_by_spark_submit() or (master is not None and not LOCAL_MASTER.fullmatch(master)):
        return False
    if not files or parquet_scan != "python" or sample is not None or dedup or partitions or doc_unit != "caption":
        return False
    if fmt == "auto":
        return all(os.path.basename(f.rstrip("/")).endswith(".parquet") for f in files)
    return fmt in PARQUET_FORMATS


def get_spark(master: str | None = None, app_name: str = "classfreq-count", shuffle_partitions: int = 16,
              conf: dict | None = None, small_input: bool = False, light: bool = False):
    """The session (an existing one is returned as it is); ``small_input``: the run reads little
    (JVM options for a short life, when this call starts the JVM); ``light``: its JVM does little
    (``light_jit``: C1 only). A session that ``start_in_background`` began for the same master is
    waited for and returned."""
    global _BACKGROUND
    started, _BACKGROUND = _BACKGROUND, None
    if started is not None:
        return started.result(master, shuffle_partitions)
    return _Start(master, app_name, shuffle_partitions, conf, small_input, light).run()


def start_in_background(master: str | None, shuffle_partitions: int, small_input: bool, light: bool = False) -> bool:
    """Start a local run's session in a thread, so that its JVM starts while this process imports
    and checks the run's arguments; the next ``get_spark`` waits for it. Only where the JVM is this
    process's to end (``FastEnd``): a process that exits before then (a bad argument found
    later) kills it. Until ``get_spark`` the JVM's output is held (``_HeldOutput``): a bad
    argument's sentence comes alone. Returns whether it started."""
    global _BACKGROUND
    start = _Start(master, "classfreq-count", shuffle_partitions, None, small_input, light)
    start.output = _HeldOutput()
    if start.fast_end is None:
        start.abandon()
        return False
    start.fast_end.output = start.output  # its last lines written out before the process ends
    _BACKGROUND = start
    start.thread = threading.Thread(target=start.run_in_thread, name="classfreq-spark-start", daemon=True)
    atexit.register(start.end_if_unfinished)
    start.thread.start()
    return True


_BACKGROUND: _Start | None = None


class _Start:
    """One getOrCreate: its settings are decided where it is made (in the calling thread), and
    ``run`` starts the session."""

    def __init__(self, master, app_name, shuffle_partitions, conf, small_input, light=False):
        # executors must run the same interpreter (with pyarrow and classfreq) as the driver
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if not master and not launched_by_spark_submit():
            master = "local[*]"
        self.master, self.app_name, self.shuffle_partitions = master, app_name, shuffle_partitions
        settings = dict(DEFAULT_CONF, **{"spark.sql.shuffle.partitions": str(shuffle_partitions)})
        if master and master.startswith("local"):
            settings.update(LOCAL_CONF)
        if small_input:
            settings.update(SMALL_INPUT_CONF)
        starts_jvm = _starts_jvm()
        if starts_jvm:  # spark-submit first runs a short JVM (about 0.1 s) that only builds the driver's command
            os.environ.setdefault("SPARK_LAUNCHER_OPTS", LAUNCHER_JAVA_OPTIONS)
        self.archive = driver_archive() if starts_jvm else None
        archive_options = self.archive.java_options() if self.archive else ""
        settings.update(conf or {})
        self.fast_end = FastEnd.make(master, settings, archive_options) if starts_jvm else None
        java_options = driver_java_options(small_input or light, archive_options, conf)
        if self.fast_end:
            settings["spark.local.dir"] = self.fast_end.folder
            java_options = " ".join(o for o in (self.fast_end.java_options(), java_options) if o)
        if java_options:
            settings["spark.driver.extraJavaOptions"] = java_options
        self.settings = settings
        self.thread: threading.Thread | None = None
        self.output: _HeldOutput | None = None  # a background start's: the JVM's output held
        self.spark = None
        self.error: BaseException | None = None

    def run(self):
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName(self.app_name)
        if self.master:
            builder = builder.master(self.master)
        for key, value in self.settings.items():
            builder = builder.config(key, value)
        try:
            if self.output is not None:
                self.output.launch(self.master, self.app_name, self.settings)
            spark = _lazy_session(builder) if self.fast_end else builder.getOrCreate()
        except BaseException:
            self.abandon()
            raise
        if self.archive:
            self.archive.started(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
        if self.fast_end:
            self.fast_end.started(spark)
        spark.sparkContext.setLogLevel("ERROR")
        self.spark = spark
        return spark

    def run_in_thread(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 (handed to the thread that waits for the session)
            self.error = exc

    def result(self, master: str | None, shuffle_partitions: int):
        """The session started in the background, once it runs (its error, if it failed). The
        run's arguments are checked by now: the JVM's output, held so far, goes out."""
        self.output.release()
        self.thread.join()
        if self.error is not None:
            raise self.error
        wanted = master or ("local[*]" if not launched_by_spark_submit() else None)
        if (wanted, shuffle_partitions) != (self.master, self.shuffle_partitions):
            raise RuntimeError(f"the session started early for master {self.master} and {self.shuffle_partitions} "
                               f"shuffle partitions, and the run asks for {wanted} and {shuffle_partitions}")
        return self.spark

    def abandon(self) -> None:
        if self.fast_end:
            self.fast_end.remove_folder()
        if self.archive and self.spark is None:
            self.archive.abandon()

    def end_if_unfinished(self) -> None:
        """At exit, with the session still starting (the run failed before it needed it): kill
        the JVM being started (found by its temp folder) and remove the folder."""
        if self.thread is None or not self.thread.is_alive() or self.fast_end is None:
            return
        for pid in _processes_with(f"{TEMP_DIR_OPTION}{self.fast_end.folder}"):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.thread.join(timeout=10)
        self.abandon()


def _lazy_session(builder):
    """``builder.getOrCreate()`` for a run that starts its own JVM (``FastEnd``), but whose JVM
    SparkSession is made when first used, not now: making it (the first in a JVM) loads Spark SQL's
    configuration and function registry and, through the SparkSessionExtensionsProvider of
    spark-mllib (``InternalFunctionRegistration``), Scala's runtime reflection: about 1.2 CPU
    seconds of the JVM (with C1 only) and 1 s of a small run's wall time, which a run reading
    Parquet in its Python tasks (parquet_tasks: an RDD job, only the SparkContext) never needed.
    Any use of the session (a DataFrame, spark.conf, spark.version, ...) makes it, as getOrCreate
    would have. Only where no session or connect mode is set (else getOrCreate, as before)."""
    from pyspark.sql import SparkSession

    if (SparkSession._instantiatedSession is not None or os.environ.get("SPARK_CONNECT_MODE_ENABLED")
            or any(v in os.environ for v in ("SPARK_REMOTE", "SPARK_LOCAL_REMOTE"))
            or os.environ.get("SPARK_API_MODE", "").lower() == "connect"
            or any(k in builder._options for k in ("spark.remote", "spark.api.mode"))):
        return builder.getOrCreate()
    try:
        session_class = _lazy_session_class()
    except (ImportError, AttributeError):  # a pyspark whose internals differ from those it builds on: as before
        return builder.getOrCreate()
    return session_class(builder._options)


_LAZY_CLASS = None


def _lazy_session_class():
    """The class of ``_lazy_session``'s sessions (made once: pyspark imported only then)."""
    global _LAZY_CLASS
    if _LAZY_CLASS is not None:
        return _LAZY_CLASS
    from pyspark import SparkConf, SparkContext
    from pyspark.errors.exceptions.captured import install_exception_handler
    from pyspark.sql import SparkSession
    from pyspark.sql.profiler import AccumulatorProfilerCollector
    from pyspark.sql.session import _monkey_patch_RDD

    class LazyJvmSession(SparkSession):
        """A classic SparkSession whose JVM object (``_jsparkSession``) is made on first use: what
        ``SparkSession.__init__`` does without one, split into the Python side (now) and the JVM
        side (then). Until then ``SparkSession.getActiveSession()`` is None (the JVM has no session
        yet, as with a bare SparkContext); ``SparkSession.active()`` and the builder's getOrCreate
        return this session."""

        def __init__(self, options: dict):
            conf = SparkConf()
            for key, value in options.items():
                conf.set(key, value)
            with SparkSession.Builder._lock:
                self._sc = SparkContext.getOrCreate(conf)
                self._jsc, self._jvm = self._sc._jsc, self._sc._jvm
                self._lazy_options, self._lazy_jsession, self._lazy_lock = dict(options), None, threading.Lock()
                _monkey_patch_RDD(self)
                install_exception_handler()
                self._lazy_default = SparkSession._should_update_active_session()
                if self._lazy_default:
                    SparkSession._instantiatedSession = self
                    SparkSession._activeSession = self
                self._profiler_collector = AccumulatorProfilerCollector()

        @property
        def _jsparkSession(self):
            with self._lazy_lock:
                if self._lazy_jsession is None:
                    self._lazy_jsession = self._make_jvm_session()
                return self._lazy_jsession

        @_jsparkSession.setter
        def _jsparkSession(self, value):
            self._lazy_jsession = value

        def _make_jvm_session(self):
            jclass = SparkSession._get_j_spark_session_class(self._jvm)
            default = jclass.getDefaultSession()
            if default.isDefined() and not default.get().sparkContext().isStopped():
                jsession = default.get()
                SparkSession._get_j_spark_session_module(self._jvm).applyModifiableSettings(jsession,
                                                                                            self._lazy_options)
            else:
                jsession = jclass(self._jsc.sc(), self._lazy_options)
            if self._lazy_default and SparkSession._instantiatedSession is self:
                jclass.setDefaultSession(jsession)
                jclass.setActiveSession(jsession)
            return jsession

    _LAZY_CLASS = LazyJvmSession
    return _LAZY_CLASS


class _HeldOutput:
    """The stdout and stderr of a JVM started before the run's arguments are all checked: read
    from two pipes by two threads and held in memory until ``release`` writes them out (and, from
    then on, what comes as it comes), or never written, when the process exits before (a bad
    argument: its sentence alone, exit 2)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.held: list[tuple[int, bytes]] | None = []
        self.pumps: list[threading.Thread] = []

    def launch(self, master: str | None, app_name: str, settings: dict) -> None:
        """Start the JVM as getOrCreate would (pyspark's launch, the same settings), its output
        into the pipes; getOrCreate then finds its gateway."""
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway

        conf = SparkConf().setAppName(app_name).setAll(settings.items())
        if master:
            conf.setMaster(master)
        ends = [os.pipe(), os.pipe()]
        for (read, _), fd in zip(ends, (1, 2)):
            self.pumps.append(threading.Thread(target=self._pump, args=(read, fd), name=f"classfreq-jvm-output-{fd}",
                                               daemon=True))
            self.pumps[-1].start()
        try:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": ends[0][1], "stderr": ends[1][1]})
        finally:
            for _, write in ends:  # the JVM holds its own copies
                os.close(write)
        SparkContext._ensure_initialized(gateway=gateway)

    def _pump(self, read: int, fd: int) -> None:
        with open(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                with self.lock:
                    if self.held is not None:
                        self.held.append((fd, chunk))
                        continue
                _write(fd, chunk)

    def release(self) -> None:
        with self.lock:
            if self.held is None:
                return
            for stream in (sys.stdout, sys.stderr):  # this process's lines so far come first
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            for fd, chunk in self.held:
                _write(fd, chunk)
            self.held = None

    def drain(self, timeout: float = 2.0) -> None:
        """Once the JVM has ended (its pipes closed): wait for the pumps to write its last lines,
        which a process ending with os._exit would otherwise lose (a dying JVM's diagnostic)."""
        deadline = time.monotonic() + timeout
        for pump in self.pumps:
            pump.join(max(0.0, deadline - time.monotonic()))


def _write(fd: int, data: bytes) -> None:
    """All of ``data`` to ``fd``; a pipe whose reader left, or a full disk, loses it (the run's own
    output reports that)."""
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data):]


def _processes_with(text: str) -> list[int]:
    """This user's processes whose command line holds ``text`` (Linux; none elsewhere)."""
    found = []
    try:
        names = [n for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return found
    for name in names:
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


def driver_java_options(c1_only: bool, archive_options: str, conf: dict | None) -> str:
    """Ours first, then the user's (theirs win where flags clash): the run's conf, else
    spark-defaults.conf's, which the --conf this sets would otherwise silently replace."""
    key = "spark.driver.extraJavaOptions"
    user = (conf or {}).get(key) or spark_defaults().get(key, "")
    return " ".join(o for o in (SMALL_INPUT_JAVA_OPTIONS if c1_only else "", archive_options, user) if o)


def spark_defaults() -> dict[str, str]:
    """$SPARK_CONF_DIR/spark-defaults.conf (else $SPARK_HOME/conf/), as spark-submit reads it."""
    folder = os.environ.get("SPARK_CONF_DIR")
    if not folder and os.environ.get("SPARK_HOME"):
        folder = os.path.join(os.environ["SPARK_HOME"], "conf")
    try:
        with open(os.path.join(folder or "", "spark-defaults.conf"), encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        m = re.match(r"\s*([^#!\s=:]+)\s*[\s=:]\s*(.*?)\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _starts_jvm() -> bool:
    """Whether getOrCreate will start a driver JVM (not under spark-submit, no JVM yet)."""
    if launched_by_spark_submit():
        return False
    if "pyspark" not in sys.modules:  # no context without pyspark imported (and no import needed to know)
        return True
    from pyspark import SparkContext

    # after spark.stop() the gateway stays, and the next getOrCreate starts its context in that JVM
    return SparkContext._active_spark_context is None and SparkContext._gateway is None


@contextlib.contextmanager
def spark_logs_off(spark):
    """Spark's own log lines off within the block, its level restored after: where a failing task
    is expected and handled (a corrupt Parquet file found by the optimistic read), its ERROR lines
    and Java stack trace (about 90 lines) would only bury the one sentence the run prints."""
    sc = spark.sparkContext
    before = sc._jvm.org.apache.logging.log4j.LogManager.getRootLogger().getLevel().toString()
    sc.setLogLevel("OFF")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a JVM that died: the block's own error is the one to see
            sc.setLogLevel(before)


def launched_by_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands its gateway to Python; its --master is then
    already set. (A fresh SparkConf() cannot tell: before a SparkContext exists it is empty.)"""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


# The driver JVM's orderly exit (Python closes its stdin; the JVM runs Spark's shutdown hooks,
# stops the context a second time, closes Hadoop's file systems and log4j, deletes its temp
# files) takes about a second after a short run's last line, on every `classfreq count`. A local
# run's outputs are complete once run() returns, and nothing in its JVM is needed then: FastEnd
# stops the context from Python at exit, kills the JVM and removes the JVM's temp files itself,
# which it can because they all lie in one folder of this run's (spark.local.dir and
# java.io.tmpdir; -XX:-UsePerfData: no hsperfdata file in the system temp folder).
FAST_END_PREFIX = "classfreq-jvm-"
LOCAL_MASTER = re.compile(r"local(\[[^\]]*\])?")  # not local-cluster: its executors are other JVMs
TEMP_DIR_OPTION = "-Djava.io.tmpdir="
SITE_TEMP_ENV = ("SPARK_LOCAL_DIRS", "LOCAL_DIRS", "SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
                 "JDK_JAVA_OPTIONS")


class FastEnd:
    """A local driver JVM that this process ends itself at exit (see above)."""

    def __init__(self, folder: str, lock: BinaryIO | None = None):
        self.folder = folder
        self.lock = lock  # the open lock file of the folder (see _locked_folder)
        self.spark = None
        self.jvm = None  # the JVM's Popen (spark-submit execs the JVM: same process)
        self.output: _HeldOutput | None = None  # an early start's JVM output, pumped by threads
        self.log4j: str | None = None  # the log4j profile written in the folder (_write_log4j_profile)

    @classmethod
    def make(cls, master: str | None, settings: dict, archive_options: str) -> FastEnd | None:
        """None where the JVM must end in order: a cluster master (the application unregisters),
        an archive being recorded (written at the JVM's exit), an event log (finished at stop), or
        temp folders chosen by the site or the user (their files are not this run's to remove)."""
        if not master or not LOCAL_MASTER.fullmatch(master) or "ArchiveClassesAtExit" in archive_options:
            return None
        defaults = spark_defaults()
        merged = {**defaults, **settings}
        if merged.get("spark.eventLog.enabled", "false").strip().lower() == "true":
            return None
        if "spark.local.dir" in merged or any(os.environ.get(v) for v in SITE_TEMP_ENV):
            return None
        if any(TEMP_DIR_OPTION in merged.get(k, "") for k in ("spark.driver.extraJavaOptions",
                                                               "spark.driver.defaultJavaOptions")):
            return None
        _remove_abandoned_folders()
        fast_end = cls(*_locked_folder())
        fast_end.log4j = _write_log4j_profile(fast_end.folder, merged)
        return fast_end

    def java_options(self) -> str:
        log4j = f" {LOG4J_OPTION}{self.log4j}" if self.log4j else ""
        return f"{TEMP_DIR_OPTION}{self.folder} -XX:-UsePerfData{log4j}"

    def started(self, spark) -> None:
        self.spark, self.jvm = spark, getattr(spark.sparkContext._gateway, "proc", None)
        atexit.register(self.end)

    def end(self) -> None:
        """Kill the JVM and remove its folder. Not spark.stop() first: it took 1.3 s of a 3-record
        run's 1.4 s end, and what it stops ends with the JVM (the Python worker daemon exits when
        its stdin, a pipe from the JVM, closes)."""
        _disconnect_python_side(self.spark.sparkContext)
        if self.jvm is not None and self.jvm.poll() is None:
            try:
                self.jvm.send_signal(signal.SIGKILL)
                self.jvm.wait(timeout=10)
            except (OSError, ValueError):
                pass
        if self.output is not None and self.output.held is None:  # released: what the JVM wrote goes out
            self.output.drain()
        self.remove_folder()

    def remove_folder(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.lock is not None:
            self.lock.close()
            self.lock = None


# log4j configured once. Without a configuration file of the site's, log4j first configures itself
# by default when Spark asks for its first logger (after looking for log4j2-test.* and log4j2.*, in
# six formats, through every jar of the class path), and Spark then configures it again from its
# default profile ("Using Spark's default log4j profile", printed twice) and sets the shell's level
# to WARN ("Setting default log level to WARN"). A run whose JVM is its own (FastEnd) names that
# profile, at that level, as the configuration file instead: log4j reads it once. Measured: the
# JVM's main thread 0.705 -> 0.635 CPU s, the JVM 2.315 -> 2.195 (a session and two RDD jobs, eight
# alternated rounds). Spark's lines below ERROR are off once the session runs (setLogLevel) either way.
LOG4J_OPTION = "-Dlog4j2.configurationFile="
LOG4J_PROFILE = """\
# Spark's default log4j profile (org/apache/spark/log4j2-defaults.properties), at the level WARN that
# Spark gives a shell: written by classfreq (spark_session.FastEnd) for this run's JVM
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.jetty.name = org.sparkproject.jetty
logger.jetty.level = warn
logger.jetty2.name = org.sparkproject.jetty.util.component.AbstractLifeCycle
logger.jetty2.level = error
logger.metastore.name = org.apache.hadoop.hive.metastore.RetryingHMSHandler
logger.metastore.level = fatal
logger.metastore2.name = org.apache.hadoop.hive.metastore.ObjectStore
logger.metastore2.level = error
logger.parquet.name = org.apache.parquet.CorruptStatistics
logger.parquet.level = error
logger.parquet2.name = parquet.CorruptStatistics
logger.parquet2.level = error
"""


def _write_log4j_profile(folder: str, settings: dict) -> str | None:
    """``LOG4J_PROFILE`` written in ``folder``; its path, or None where log4j is configured by the
    site or the user (a log4j option in the driver's Java options, a log4j2 file in Spark's conf
    folder, which is on the JVM's class path): theirs stays."""
    if any("log4j" in settings.get(k, "") for k in ("spark.driver.extraJavaOptions", "spark.driver.defaultJavaOptions")):
        return None
    conf = _spark_conf_folder()
    try:
        if conf and any(name.startswith("log4j2") for name in os.listdir(conf)):
            return None
    except OSError:
        pass
    path = os.path.join(folder, "log4j2.properties")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(LOG4J_PROFILE)
    except OSError:
        return None
    return path


def _spark_conf_folder() -> str | None:
    """The conf folder spark-submit puts on the driver's class path: $SPARK_CONF_DIR, else
    $SPARK_HOME/conf, else pyspark's own (pip's pyspark is its SPARK_HOME)."""
    if os.environ.get("SPARK_CONF_DIR"):
        return os.environ["SPARK_CONF_DIR"]
    if os.environ.get("SPARK_HOME"):
        return os.path.join(os.environ["SPARK_HOME"], "conf")
    home = pyspark_folder()
    return os.path.join(home, "conf") if home else None


def _disconnect_python_side(sc) -> None:
    """Before the JVM is killed: Python's ends of its sockets would otherwise print tracebacks
    (the accumulator server reading end-of-file; py4j logging an error when the objects that
    Python frees at exit are released in a dead JVM). The run is over: nothing more is to be
    accumulated or released."""
    server = getattr(sc, "_accumulatorServer", None)
    if server is not None:
        server.server_shutdown = True
        server.handle_error = lambda request, client_address: None
    client = getattr(getattr(sc, "_gateway", None), "_gateway_client", None)
    if client is not None:
        client.is_connected = False  # py4j then sends nothing more (its garbage collection checks this)


# A run's folder holds a lock file, locked (flock) by the run's process from before the folder
# has its name until the process ends, however it ends: a folder whose lock can be taken is
# abandoned. Its name carries this machine's name and the process's id, for whoever reads it:
# the pid alone says nothing where the temp folder is shared (cluster scratch, containers with
# their own pid numbering).
LOCK_NAME = "classfreq-run.lock"
_NEW_PREFIX = ".classfreq-jvm-new-"  # a folder not yet locked: no run removes it


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", os.uname().nodename) or "localhost"


def _locked_folder() -> tuple[str, BinaryIO]:
    """A new folder for the run, and its lock file, open and locked: made under a name that no run
    removes, locked, then renamed (so that no run sees it unlocked)."""
    temp = tempfile.gettempdir()
    new = tempfile.mkdtemp(prefix=_NEW_PREFIX, dir=temp)
    lock = open(os.path.join(new, LOCK_NAME), "wb")  # noqa: SIM115 (open while the run lives)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # a file system without locks: no run can lock the folder, and none removes it
    folder = os.path.join(temp, f"{FAST_END_PREFIX}{_host()}_{os.getpid()}_{os.path.basename(new)[len(_NEW_PREFIX):]}")
    os.rename(new, folder)
    return folder, lock


def _remove_abandoned_folders() -> None:
    """Folders of this machine's runs whose Python process was killed (no exit handler ran: the JVM
    then ended in order and removed its own files; the folder remains). Only this machine's: on a
    shared temp folder, another machine's lock may not be seen here (NFS without lock service)."""
    temp = tempfile.gettempdir()
    ours = re.compile(re.escape(f"{FAST_END_PREFIX}{_host()}_") + r"\d+_\w+")
    try:
        names = os.listdir(temp)
    except OSError:
        return
    for name in names:
        if not ours.fullmatch(name):
            continue
        folder = os.path.join(temp, name)
        try:
            with open(os.path.join(folder, LOCK_NAME), "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # locked by a live run, no lock file (being removed), or no locks here
            continue
