"""The phases of a counting run (issue 11): each is timed, stored in runs.phase_seconds and printed
on the last line of `classfreq count` (what each costs is measured by benchmarks/bench_counting.py,
not here)."""
from __future__ import annotations

import json

import duckdb
from pipeline_support import count, spark_session

from classfreq.pipelines.phases import Phases, phase_line

PHASES = ["labelset", "listing", "session", "reading", "count", "collecting", "parquet:counts",
          "parquet:class_counts", "parquet:source_stats", "parquet:quarantine", "parquet:doc_matches",
          "warehouse", "publish"]


def _captions(shared, tmp_path, n=300):
    lines = (shared / "captions/cc3m_val/Validation_GCC-1.1.0-Validation.tsv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "captions.tsv"
    path.write_text("\n".join(lines[:n]) + "\n", encoding="utf-8")
    return path


def test_every_phase_is_timed_stored_in_the_run_and_printed_last(shared, tmp_path, capsys):
    from classfreq.cli import main
    spark_session()  # the CLI's session is this one (getOrCreate), not a second JVM
    code = main(["count", "--master", "local[2]", "--input", str(_captions(shared, tmp_path)), "--source", "timed", "--out",
                 str(tmp_path / "o"), "--warehouse", str(tmp_path / "w.duckdb"), "--max-matches-per-class", "2",
                 "--progress-interval", "0"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and out[-2].startswith("counted source timed")
    assert out[-1].startswith("phases: ")
    printed = [item.rsplit(" ", 1) for item in out[-1].removeprefix("phases: ").split(", ")]
    assert [name for name, _ in printed] == PHASES
    assert all(seconds.endswith("s") and float(seconds[:-1]) >= 0 for _, seconds in printed)

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        stored = json.loads(con.execute("SELECT phase_seconds FROM runs WHERE kind = 'count'").fetchone()[0])
    finally:
        con.close()
    assert list(stored) == PHASES and all(v >= 0 for v in stored.values())


def test_the_result_carries_the_phases_in_order(shared, tmp_path):
    res = count(tmp_path, _captions(shared, tmp_path, 50), "timed")
    assert list(res.timings) == [p for p in PHASES if p != "parquet:doc_matches"]
    assert sum(res.timings.values()) <= res.seconds


def test_phases_add_up_repeated_phases_and_format_one_line():
    phases = Phases()
    with phases("count"):
        pass
    with phases("collecting"):
        pass
    with phases("count"):
        pass
    assert list(phases.seconds) == ["count", "collecting"]
    assert phase_line({"session": 3.04, "count": 0.25}) == "phases: session 3.0s, count 0.2s"
