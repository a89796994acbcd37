"""The fast end of a local run's driver JVM (spark_session.FastEnd): at exit the JVM is killed
instead of ending in order, and its temp files, all in one folder of the run's, are removed. Real
`classfreq count` processes, stopped at a checkpoint (the CLASSFREQ_STOP_AT hook) to see their
JVM, then let go; and the exclusions, where the JVM must end in order."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from classfreq.pipelines.phases import STOP_AT_ENV, STOP_FILE_ENV
from classfreq.pipelines.spark_session import FAST_END_PREFIX, LOCK_NAME, LOG4J_OPTION, FastEnd, _host

CAPTIONS = ["a goldfish in a glass bowl", "a tabby cat asleep on a sofa", "nothing to count here"]


def _jvms_with(text: str) -> list[int]:
    """PIDs of the live processes whose command line holds ``text``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(int(name))
    return found


def _count_process(tmp_path: Path, argv: list[str], env: dict, stop_at: str = "reading"):
    """`classfreq count ARGV` stopped once its session runs; returns (the JVMs that carry the
    run's temp folder, the finished process's exit code and output)."""
    marker = tmp_path / "stopped"
    env = {**os.environ, "CLASSFREQ_JVM_ARCHIVE": "off", "TMPDIR": str(tmp_path / "tmp"),
           STOP_AT_ENV: stop_at, STOP_FILE_ENV: str(marker), **env}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "classfreq.cli", "count", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert proc.poll() is None, f"the run ended before {stop_at}: {proc.stderr.read()[-3000:]}"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        jvms = _jvms_with(f"-Djava.io.tmpdir={tmp_path / 'tmp'}")
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return jvms, proc.returncode, out, err


def _jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    return path


def _argv(tmp_path: Path, inp: Path, *extra: str) -> list[str]:
    return ["--input", str(inp), "--source", "fast", "--out", str(tmp_path / "out"),
            "--warehouse", str(tmp_path / "wh.duckdb"), "--progress-interval", "0", *extra]


def test_the_jvm_is_gone_and_its_folder_removed_and_the_outputs_complete(tmp_path):
    jvms, rc, out, err = _count_process(tmp_path, _argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS)), {})
    assert rc == 0, err[-3000:]
    assert len(jvms) == 1, "the run's JVM runs with its temp folder in the run's own folder"
    assert not _jvms_with(f"-Djava.io.tmpdir={tmp_path / 'tmp'}"), "the JVM outlived the run"
    assert os.listdir(tmp_path / "tmp") == [], "the run's temp folder (and nothing else) was left behind"
    assert "Traceback" not in err and "3 documents read, 2 matched" in out
    # log4j configured once, from the run's profile (spark_session.LOG4J_PROFILE): Spark did not configure it again
    assert "Using Spark's default log4j profile" not in err and "Setting default log level" not in err, err[-3000:]
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT docs_read, docs_matched FROM source_stats").fetchall() == [(3, 2)]
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    finally:
        con.close()
    assert list((tmp_path / "out").rglob("*.parquet"))


def test_a_failed_run_also_ends_its_jvm_and_removes_its_folder(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n{\"text\": 3}\n")
    jvms, rc, _, err = _count_process(tmp_path, _argv(tmp_path, bad), {})
    assert rc == 2 and "format is probably wrong" in err, err[-3000:]
    assert len(jvms) == 1
    assert not _jvms_with(f"-Djava.io.tmpdir={tmp_path / 'tmp'}")
    assert os.listdir(tmp_path / "tmp") == []


def test_site_temp_folders_keep_the_orderly_end(tmp_path):
    """SPARK_LOCAL_DIRS set by the site: Spark's own files go there and the JVM ends in order;
    nothing of the site's folder is removed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "theirs.txt").write_text("not the run's")
    jvms, rc, out, err = _count_process(tmp_path, _argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS)),
                                        {"SPARK_LOCAL_DIRS": str(site)})
    assert rc == 0, err[-3000:]
    assert jvms == [], "no fast-end folder: the JVM keeps the site's temp folders"
    assert (site / "theirs.txt").read_text() == "not the run's"
    assert not [n for n in os.listdir(tmp_path / "tmp") if n.startswith(FAST_END_PREFIX)]


@pytest.mark.parametrize("master, settings, env, archive", [
    ("spark://127.0.0.1:7077", {}, {}, ""),  # a cluster: the application unregisters in order
    ("local-cluster[2,1,1024]", {}, {}, ""),  # its executors are other JVMs
    (None, {}, {}, ""),  # spark-submit gave the master: the JVM is not this process's
    ("local[*]", {}, {}, "-XX:ArchiveClassesAtExit=/x/driver.tmp -Xlog:cds*=off"),  # written at exit
    ("local[*]", {"spark.eventLog.enabled": "true"}, {}, ""),  # finished at stop
    ("local[2]", {"spark.local.dir": "/data/spark"}, {}, ""),
    ("local[2]", {"spark.driver.extraJavaOptions": "-Xss4m -Djava.io.tmpdir=/data/tmp"}, {}, ""),
    ("local", {}, {"SPARK_LOCAL_DIRS": "/data/spark"}, ""),
    ("local", {}, {"JAVA_TOOL_OPTIONS": "-Djava.io.tmpdir=/data/tmp"}, ""),
])
def test_where_the_jvm_must_end_in_order_there_is_no_fast_end(tmp_path, monkeypatch, master, settings, env, archive):
    for name in ("SPARK_LOCAL_DIRS", "LOCAL_DIRS", "SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
                 "JDK_JAVA_OPTIONS", "SPARK_CONF_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))  # no spark-defaults.conf
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert FastEnd.make(master, settings, archive) is None
    assert os.listdir(tmp_path) == []


def _plain_site(tmp_path: Path, monkeypatch) -> Path:
    """No site temp folders or Java options; Spark's conf folder (returned) and the temp folder under tmp_path."""
    for name in ("SPARK_LOCAL_DIRS", "LOCAL_DIRS", "SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
                 "JDK_JAVA_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    conf = tmp_path / "conf"
    conf.mkdir()
    monkeypatch.setenv("SPARK_CONF_DIR", str(conf))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return conf


def test_spark_defaults_temp_folder_is_kept_and_a_plain_local_run_gets_its_own_folder(tmp_path, monkeypatch):
    conf = _plain_site(tmp_path, monkeypatch)
    (conf / "spark-defaults.conf").write_text("spark.local.dir  /data/spark\n")
    assert FastEnd.make("local[*]", {}, "") is None

    (conf / "spark-defaults.conf").write_text("spark.executor.memory 2g\n")
    fast = FastEnd.make("local[*]", {}, "")
    assert fast is not None
    try:
        assert os.path.dirname(fast.folder) == str(tmp_path / "tmp")
        assert os.path.basename(fast.folder).startswith(f"{FAST_END_PREFIX}{_host()}_{os.getpid()}_")
        assert f"-Djava.io.tmpdir={fast.folder}" in fast.java_options()
        assert "-XX:-UsePerfData" in fast.java_options()
        assert os.listdir(tmp_path / "tmp") == [os.path.basename(fast.folder)]
        again = FastEnd.make("local[*]", {}, "")  # a second run here: the first's folder is locked, and stays
        again.remove_folder()
        assert os.listdir(tmp_path / "tmp") == [os.path.basename(fast.folder)]
    finally:
        fast.remove_folder()
    assert os.listdir(tmp_path / "tmp") == []


def test_log4j_reads_the_runs_profile_unless_the_site_or_user_configures_it(tmp_path, monkeypatch):
    conf = _plain_site(tmp_path, monkeypatch)
    fast = FastEnd.make("local[1]", {}, "")
    try:
        profile = os.path.join(fast.folder, "log4j2.properties")
        assert f"{LOG4J_OPTION}{profile}" in fast.java_options().split()
        text = Path(profile).read_text()
        assert "rootLogger.level = warn" in text and "appender.console.target = SYSTEM_ERR" in text
    finally:
        fast.remove_folder()
    user = {"spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=/site/log4j2.xml"}
    for settings in (user, {"spark.driver.defaultJavaOptions": "-Dlog4j.configuration=x"}):
        fast = FastEnd.make("local[1]", settings, "")
        try:
            assert LOG4J_OPTION not in fast.java_options() and os.listdir(fast.folder) == [LOCK_NAME]
        finally:
            fast.remove_folder()
    (conf / "log4j2.properties").write_text("rootLogger.level = info\n")  # the site's, on the JVM's class path
    fast = FastEnd.make("local[1]", {}, "")
    try:
        assert LOG4J_OPTION not in fast.java_options()
    finally:
        fast.remove_folder()


def test_only_this_machines_unlocked_folders_are_removed_as_abandoned(tmp_path, monkeypatch):
    """A shared temp folder: the pid in a folder's name may be another machine's or another pid
    namespace's, dead here and alive there. A folder whose lock a live process holds stays, whatever
    its name's pid; one whose lock is free (its process was killed) is removed; another machine's
    folder is not this run's to judge; one without a lock file stays."""
    for name in ("SPARK_LOCAL_DIRS", "LOCAL_DIRS", "SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
                 "JDK_JAVA_OPTIONS", "SPARK_CONF_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))  # no spark-defaults.conf
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {kind: f"{FAST_END_PREFIX}{host}_{dead.pid}_{kind}" for kind, host in
             [("held", _host()), ("free", _host()), ("nolock", _host()), ("other", "another-machine")]}
    for kind, name in names.items():
        (temp / name).mkdir()
        (temp / name / "blockmgr-1").mkdir()
        if kind != "nolock":
            (temp / name / LOCK_NAME).write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'rb'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
                               str(temp / names["held"] / LOCK_NAME)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        fast = FastEnd.make("local[*]", {}, "")
        fast.remove_folder()
        assert sorted(os.listdir(temp)) == sorted(names[k] for k in ("held", "nolock", "other"))
        assert (temp / names["held"] / "blockmgr-1").is_dir()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    FastEnd.make("local[*]", {}, "").remove_folder()  # the holder is gone: its folder is abandoned now
    assert sorted(os.listdir(temp)) == sorted(names[k] for k in ("nolock", "other"))


def test_a_stopped_sessions_jvm_is_not_started_again_nor_ended_fast(tmp_path):
    """After spark.stop() pyspark keeps the JVM (its gateway), and the next getOrCreate runs in it:
    that run does not start a JVM, so it neither gets a fast end nor kills the JVM at exit."""
    code = ("from classfreq.pipelines import spark_session as s\n"
            "spark = s.get_spark('local[1]', shuffle_partitions=1)\n"
            "first = s._Start('local[1]', 'x', 1, None, False)\n"
            "spark.stop()\n"
            "second = s._Start('local[1]', 'x', 1, None, False)\n"
            "print(first.fast_end is None, s._starts_jvm(), second.fast_end is None, second.archive is None)\n")
    env = {**os.environ, "CLASSFREQ_JVM_ARCHIVE": "off", "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # with a context running, and with only its JVM left, no new JVM is started
    assert done.stdout.split() == ["True", "False", "True", "True"]


# The early session start (early_start, on unless CLASSFREQ_EARLY_SESSION=off): `classfreq count` on
# plainly local files starts its session in a background thread before the CLI has imported the
# rest, the JVM's output held until the run's arguments are all checked.

def test_the_session_starts_before_the_run_prepares_and_is_the_one_it_uses(tmp_path):
    """Stopped at the run's first checkpoint (the label set, before the run's own session phase):
    the JVM already runs; let go, the run ends as usual with its counts, its JVM and folder gone."""
    jvms, rc, out, err = _count_process(tmp_path, _argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS)),
                                        {"CLASSFREQ_EARLY_SESSION": ""}, stop_at="labelset")
    assert jvms, "no JVM was starting when the run began preparing"
    assert rc == 0 and "Traceback" not in err, err[-3000:]
    assert "3 documents read, 2 matched" in out
    assert not _jvms_with(f"-Djava.io.tmpdir={tmp_path / 'tmp'}")
    assert os.listdir(tmp_path / "tmp") == []


def test_turned_off_the_session_starts_in_the_run(tmp_path):
    jvms, rc, _, err = _count_process(tmp_path, _argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS)),
                                      {"CLASSFREQ_EARLY_SESSION": "off"}, stop_at="labelset")
    assert jvms == [] and rc == 0, err[-3000:]


def _count(tmp_path: Path, argv: list[str], env: dict) -> subprocess.CompletedProcess:
    (tmp_path / "tmp").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CLASSFREQ_JVM_ARCHIVE": "off", "TMPDIR": str(tmp_path / "tmp"), **env}
    return subprocess.run([sys.executable, "-m", "classfreq.cli", "count", *argv], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("bad", [["--partitions", "-3"], ["--labelset", "no-such-label-set"]])
def test_a_bad_argument_found_later_is_one_sentence_and_ends_the_early_jvm(tmp_path, bad):
    """A bad argument that passes the cheap reading and fails the full check (or the label set's
    load, the last check before the session): the JVM was started and, with its lines held, is
    gone with its folder; stderr is the one sentence, exit 2."""
    done = _count(tmp_path, _argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS), *bad), {})
    assert done.returncode == 2, done.stderr[-3000:]
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("classfreq count: error: "), done.stderr[-3000:]
    if bad[0] == "--partitions":
        assert err[0] == "classfreq count: error: --partitions must be 0 or more, got -3"
    time.sleep(0.5)
    assert not _jvms_with(str(tmp_path / "tmp"))
    assert os.listdir(tmp_path / "tmp") == []


def test_a_jvm_that_cannot_start_says_so_after_the_checks_as_without_the_early_start(tmp_path):
    """Java missing and every argument good: the launcher's complaint, held while the arguments were
    checked, is written out when the run asks for its session, as in a run that starts it there."""
    f = _jsonl(tmp_path / "c.jsonl", CAPTIONS)
    runs = {mode: _count(tmp_path / mode, _argv(tmp_path / mode, f), {"CLASSFREQ_EARLY_SESSION": mode,
                                                                      "JAVA_HOME": str(tmp_path / "no-java")})
            for mode in ("on", "off")}
    for done in runs.values():
        assert done.returncode != 0
        assert f"{tmp_path / 'no-java'}/bin/java" in done.stderr, done.stderr[-3000:]
        assert "JAVA_GATEWAY_EXITED" in done.stderr
    complaint = [ln for ln in runs["off"].stderr.splitlines() if "no-java" in ln]
    assert [ln for ln in runs["on"].stderr.splitlines() if "no-java" in ln] == complaint


@pytest.mark.parametrize("args, env", [
    (["--input", "{dir}/*.jsonl"], {}),  # a glob: listed by the run
    (["--input", "{dir}"], {}),  # a folder
    (["--input", "s3a://bucket/c.jsonl"], {}),
    (["--input", "{dir}/missing.jsonl"], {}),
    (["--input", "{file}", "--master", "spark://127.0.0.1:7077"], {}),
    (["--input", "{file}", "--mast", "spark://127.0.0.1:7077"], {}),  # argparse would read --master
    (["--input", "{file}", "--shuffle-partitions", "0"], {}),
    (["--input", "{file}", "--help"], {}),
    (["--input", "{file}"], {"CLASSFREQ_EARLY_SESSION": "off"}),
    (["--input", "{file}"], {"PYSPARK_GATEWAY_PORT": "1"}),  # under spark-submit
])
def test_what_is_not_plainly_local_takes_the_usual_path(tmp_path, monkeypatch, args, env):
    from classfreq.pipelines import early_start, spark_session
    f = _jsonl(tmp_path / "c.jsonl", CAPTIONS)
    monkeypatch.setenv(early_start.EARLY_ENV, "on")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert early_start.start_count_session([a.format(dir=tmp_path, file=f) for a in args]) is False
    assert spark_session._BACKGROUND is None


@pytest.mark.parametrize("stdout, code", [("/dev/full", 120), ("left pipe", 0)])
def test_output_that_cannot_be_written_fails_the_run_a_left_pipe_does_not(tmp_path, stdout, code):
    """`classfreq count` ends its process itself (cli._exit_at_once): its output to a full disk
    (/dev/full) ends it with Python's status for that, 120, and one sentence; a pipe whose reader
    left (`| head`) is no error. Either way the exit handlers ran: the JVM's folder is gone."""
    env = {**os.environ, "CLASSFREQ_JVM_ARCHIVE": "off", "TMPDIR": str(tmp_path / "tmp")}
    env.pop("PYTHONUNBUFFERED", None)  # output to a file or pipe is buffered: the exit's flush writes it
    (tmp_path / "tmp").mkdir()
    if stdout == "/dev/full":
        out = open("/dev/full", "w")  # noqa: SIM115
    else:
        read_end, write_end = os.pipe()
        os.close(read_end)
        out = os.fdopen(write_end, "w")
    with out:
        done = subprocess.run([sys.executable, "-m", "classfreq.cli", "count",
                               *_argv(tmp_path, _jsonl(tmp_path / "c.jsonl", CAPTIONS))],
                              env=env, stdout=out, stderr=subprocess.PIPE, text=True, timeout=600)
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    if code:
        assert done.stderr.strip().splitlines()[-1] == ("classfreq: error: the output could not be written: "
                                                        "[Errno 28] No space left on device")
    assert os.listdir(tmp_path / "tmp") == []
