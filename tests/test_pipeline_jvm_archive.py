"""The driver JVM's class-data-sharing archive: recorded once, promoted when its JVM has exited,
used from then on; one per installation, switched off by CLASSFREQ_JVM_ARCHIVE=off."""
import os
import subprocess
import sys

from classfreq.pipelines.jvm_archive import ARCHIVE_ENV, Archive, archive_key, driver_archive

# what a finished dump starts with: HotSpot's dynamic-archive magic, written last (x86 and ARM order)
DUMP = (0xF00BABA8).to_bytes(4, "little") + b"regions"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_recorded_then_promoted_then_used(tmp_path):
    a = Archive(str(tmp_path), "inst0001-aaaa")
    first = a.java_options()
    assert first.startswith(f"-XX:ArchiveClassesAtExit={a.recording} ")
    # while the recording JVM starts or runs, no second JVM records nor uses one
    assert Archive(str(tmp_path), "inst0001-aaaa").java_options() == ""
    a.started(os.getpid())
    assert Archive(str(tmp_path), "inst0001-aaaa").java_options() == ""
    # the JVM exited after writing its dump: the recording becomes the archive
    open(a.recording, "wb").write(DUMP)
    a.started(_dead_pid())
    b = Archive(str(tmp_path), "inst0001-aaaa")
    assert b.java_options().startswith(f"-XX:SharedArchiveFile={a.path} ")
    assert open(a.path, "rb").read() == DUMP
    assert sorted(os.listdir(tmp_path)) == ["driver-inst0001-aaaa.jsa"]


def test_new_content_replaces_the_installations_old_archive_only(tmp_path):
    for name in ("driver-inst0001-old.jsa", "driver-inst0002-other.jsa"):
        (tmp_path / name).write_bytes(b"x")
    a = Archive(str(tmp_path), "inst0001-new")
    a.java_options()
    open(a.recording, "wb").write(DUMP)
    a.started(_dead_pid())
    Archive(str(tmp_path), "inst0001-new").java_options()
    assert sorted(os.listdir(tmp_path)) == ["driver-inst0001-new.jsa", "driver-inst0002-other.jsa"]


def test_a_dump_cut_short_is_discarded_not_promoted(tmp_path):
    """A JVM killed while writing leaves regions without the header: recorded again, never used."""
    a = Archive(str(tmp_path), "inst0001-aaaa")
    a.java_options()
    open(a.recording, "wb").write(b"\0\0\0\0regions")
    a.started(_dead_pid())
    again = Archive(str(tmp_path), "inst0001-aaaa")
    assert again.java_options().startswith("-XX:ArchiveClassesAtExit=")
    assert not os.path.exists(a.path) and not os.path.exists(a.recording)


def test_a_jvm_killed_before_its_dump_leaves_nothing_behind(tmp_path):
    a = Archive(str(tmp_path), "inst0001-aaaa")
    a.java_options()
    a.started(_dead_pid())  # no dump written
    assert Archive(str(tmp_path), "inst0001-aaaa").java_options().startswith("-XX:ArchiveClassesAtExit=")
    assert not os.path.exists(a.recording + ".pid")


def test_key_follows_the_jar_files(tmp_path):
    java = tmp_path / "java"
    java.write_bytes(b"bin")
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "a.jar").write_bytes(b"1")
    before = archive_key(str(java), str(jars))
    (jars / "b.jar").write_bytes(b"22")
    after = archive_key(str(java), str(jars))
    assert before != after and before.split("-")[0] == after.split("-")[0]


def test_switched_off(monkeypatch):
    monkeypatch.setenv(ARCHIVE_ENV, "off")
    assert driver_archive() is None


def test_unwritable_folder_gives_no_options(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert Archive(str(blocker / "sub"), "inst0001-aaaa").java_options() == ""


def test_spark_defaults_driver_options_are_kept_after_ours(tmp_path, monkeypatch):
    """The archive's --conf must not silently replace a site's spark-defaults.conf driver options."""
    from classfreq.pipelines.spark_session import SMALL_INPUT_JAVA_OPTIONS, driver_java_options

    (tmp_path / "spark-defaults.conf").write_text(
        "# site settings\nspark.master   local[2]\n"
        "spark.driver.extraJavaOptions = -Dlog4j2.configurationFile=/site/log4j2.xml -Dx=1\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert driver_java_options(True, "-XX:SharedArchiveFile=/a.jsa", None) == (
        f"{SMALL_INPUT_JAVA_OPTIONS} -XX:SharedArchiveFile=/a.jsa -Dlog4j2.configurationFile=/site/log4j2.xml -Dx=1")
    # the run's own conf replaces the file's, as spark-submit's --conf does
    assert driver_java_options(False, "", {"spark.driver.extraJavaOptions": "-Dmine=1"}) == "-Dmine=1"
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "none"))
    assert driver_java_options(False, "", None) == ""


def test_local_workers_drop_only_sparks_own_zips():
    from classfreq.pipelines.worker_daemon import _is_spark_zip

    assert _is_spark_zip("pyspark.zip") and _is_spark_zip("py4j-0.10.9.9-src.zip")
    assert not _is_spark_zip("pyspark_utils.zip") and not _is_spark_zip("py4j_helpers.zip")


def test_an_abandoned_start_leaves_no_pending_recording(tmp_path):
    """Options chosen for a JVM that is then not started (an early session refused) leave the
    recording free for the next JVM of this same process."""
    a = Archive(str(tmp_path), "inst0001-aaaa")
    assert a.java_options().startswith("-XX:ArchiveClassesAtExit=")
    a.abandon()
    assert os.listdir(tmp_path) == []
    assert Archive(str(tmp_path), "inst0001-aaaa").java_options().startswith("-XX:ArchiveClassesAtExit=")


def test_a_recording_whose_pid_now_names_another_process_is_not_pending(tmp_path):
    """The recording JVM died and its pid went to a process started later: the recording is not
    waited for (it is discarded, and this run records anew) instead of blocking the archive."""
    a = Archive(str(tmp_path), "inst0001-aaaa")
    a.java_options()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        a.started(other.pid)
        assert Archive(str(tmp_path), "inst0001-aaaa").java_options() == ""  # written after it started: its writer
        hour_ago = os.path.getmtime(a.recording + ".pid") - 3600
        os.utime(a.recording + ".pid", (hour_ago, hour_ago))  # written before it started: another process
        assert Archive(str(tmp_path), "inst0001-aaaa").java_options().startswith("-XX:ArchiveClassesAtExit=")
        assert not os.path.exists(a.recording + ".pid")
    finally:
        other.kill()
        other.wait()
