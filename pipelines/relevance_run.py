"""Judge an existing count run's kept matches for relevance and rewrite its warehouse rows and Parquet.

The relevance stage of ``count --relevance`` over the run's doc_matches, writing that run's
class_counts and doc_matches rows back in one transaction. The run must have kept its matches (``--relevance`` or
``--max-matches-per-class``); with a cap below ``--sample`` the judged sample is the kept one.

The run's class_counts and doc_matches Parquet folders under its --out are rewritten the way the
count job writes them (``journal``): staged, then the warehouse transaction (which adds this
judge-run's own ``runs`` row, kind 'judge', so a killed judge-run is told from a committed one),
then moved into place. A judge-run killed before its commit leaves the previous verdicts
everywhere, one killed after it is published by the next count or judge-run on the warehouse.

    classfreq relevance judge-run --source cc3m_val [--judge fast] [--master spark://...]
    (or spark-submit / python -m classfreq.pipelines.relevance_run with the same options)
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

import pandas as pd

from classfreq.configs import Config, add_options, from_args, option
from classfreq.errors import UserError
from classfreq.pipelines.input_files import is_local
from classfreq.pipelines.journal import Journal, discard, recover
from classfreq.pipelines.outputs import (
    PARTITION_KEYS,
    CountKey,
    partition_dir,
    publish_staged,
    published_run_ids,
    stage_tables,
)
from classfreq.pipelines.phases import checkpoint
from classfreq.pipelines.relevance_stage import LAST, RelevanceOptions, judge_run_rows
from classfreq.pipelines.spark_session import get_spark
from classfreq.queries import warehouse as wh
from classfreq.relevance.cli import add_action
from classfreq.relevance.estimate import DEFAULT_SAMPLE, DEFAULT_SEED
from classfreq.relevance.variants import VARIANTS
from classfreq.synsets import load_labelset


@dataclass
class JudgeRunConfig(Config):
    run: str | None = option(group="which", required=True, metavar="RUN_ID", help="the count run to judge")
    source: str | None = option(group="which", required=True,
                                help="judge the newest count run of this source (with --mode and --labelset-name)")
    mode: str = option("default", help="counting mode of --source's run: default, nested or paper")
    labelset_name: str = option("imagenet1k", help="label-set name of --source's run")
    labelset: str | None = option(help="label set (name or folder) the judge loads (default: the one the run "
                                       "was counted with)")
    judge: str = option("full", choices=VARIANTS, help="full (spaCy + sentence embeddings), fast or lexical")
    sample: int = option(DEFAULT_SAMPLE, metavar="N", help="documents judged per class (all when fewer)")
    seed: int = option(DEFAULT_SEED, help="seed of the sampling hash order")
    warehouse: str = option(wh.DEFAULT_WAREHOUSE, help="DuckDB warehouse file")
    wait_lock: float = option(0.0, metavar="SECONDS", help="wait up to SECONDS for another writer to finish")
    out: str | None = option(metavar="DIR", help="the Parquet folder whose class_counts and doc_matches of the run "
                                                 "are rewritten (default: the run's --out)")
    master: str | None = option(help="Spark master (default: spark-submit's, else local[*])")

    def validate(self) -> JudgeRunConfig:
        if self.sample < 1:
            raise UserError(f"--sample must be at least 1, got {self.sample}")
        if self.judge not in VARIANTS:
            raise UserError(f"--judge must be one of {', '.join(VARIANTS)}, got {self.judge!r}")
        if not (self.run or self.source):
            raise UserError("name the run to judge: --run RUN_ID or --source NAME")
        return self


@dataclass
class JudgeRunResult:
    run_id: str
    classes_judged: int
    pairs: int
    seconds: float
    judge_run_id: str = ""                             # the `runs` row of this judge-run
    parquet: dict[str, str] = field(default_factory=dict)  # table -> its rewritten Parquet folder


JUDGED_TABLES = ("class_counts", "doc_matches")


def judge_run(config: JudgeRunConfig, spark=None) -> JudgeRunResult:
    """Judge one run's kept matches and replace its class_counts and doc_matches rows and Parquet."""
    config.validate()
    started = wh.utcnow()
    with wh.writer_lock(config.warehouse, wait=config.wait_lock):
        con = wh.connect(config.warehouse, wait=config.wait_lock)
        try:
            run_id = config.run or newest_run(con, config.source, config.mode, config.labelset_name)
            counts, matches = run_rows(con, run_id)
            out = config.out or _counted_out(con, run_id)
            if is_local(out):  # a killed count or judge-run left this --out unsettled: settle it first
                recover(out, config.warehouse, lambda r: wh.has_run(con, r))
            options = RelevanceOptions(labelset=config.labelset or _counted_labelset(con, run_id, counts),
                                       judge=config.judge, sample=config.sample, seed=config.seed)
            _check_version(options.labelset, counts)
            key = _count_key(counts)
            if is_local(out):  # before Spark starts
                _check_parquet_holds(None, out, key, run_id)
            spark = spark or get_spark(config.master)
            if not is_local(out):
                _check_parquet_holds(spark, out, key, run_id)
            counts, matches = judge_run_rows(spark, counts, matches, options)
            journal = Journal(out=out, run_id=wh.new_run_id("judge"), warehouse=os.path.abspath(config.warehouse))
            run = wh.run_row(journal.run_id, "judge", started, inputs={"run_id": run_id},
                             options={**config.as_dict(), "out": out}, labelset=key.labelset,
                             labelset_version=str(counts.version.iloc[0]))
            parquet = write_judged(spark, con, journal, key, {"class_counts": counts, "doc_matches": matches}, run)
        finally:
            con.close()
    return JudgeRunResult(run_id, int(counts.relevance_judged.notna().sum()), LAST.pairs, LAST.seconds,
                          journal.run_id, parquet)


def write_judged(spark, con, journal: Journal, key: CountKey, tables: dict[str, pd.DataFrame],
                 run: pd.DataFrame) -> dict[str, str]:
    """The count job's write path (``journal``) for the judged tables: Parquet staged, the run's
    rows and this judge-run's ``runs`` row in one transaction, then the Parquet moved into place."""
    parquet = {t: partition_dir(journal.out, t, key) for t in tables}
    committed = False
    try:
        if is_local(journal.out):
            journal.save()
        stage_tables(spark, journal, {t: parquet_frame(df) for t, df in tables.items()}, parquet)
        run_id = tables["class_counts"].run_id.iloc[0]
        wh.replace_tables(con, [*((t, df, {"run_id": run_id}) for t, df in tables.items()),
                                ("runs", run, {"run_id": journal.run_id})],
                          before_commit=lambda: checkpoint("warehouse:commit"))
        committed = True
        publish_staged(spark, journal)
    except BaseException:
        if not committed:  # a committed judge-run's journal stays: the next run publishes it
            discard(journal)
        raise
    return parquet


def parquet_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Warehouse rows in the column order of the count job's Parquet (run columns first)."""
    first = ["run_id", *PARTITION_KEYS, "version"]
    return rows[first + [c for c in rows.columns if c not in first]]


def _count_key(counts: pd.DataFrame) -> CountKey:
    row = counts.iloc[0]
    return CountKey(**{k: str(row[k]) for k in PARTITION_KEYS})


def _counted_out(con, run_id: str) -> str:
    row = con.execute("SELECT json_extract_string(options, '$.out') FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if not row or not row[0]:
        raise UserError(f"the warehouse does not record where run {run_id} wrote its Parquet; pass --out DIR")
    return row[0]


def _check_parquet_holds(spark, out: str, key: CountKey, run_id: str) -> None:
    """The run's Parquet folders must hold this run, so that rewriting them leaves one run per folder."""
    for table in JUDGED_TABLES:
        folder = partition_dir(out, table, key)
        found = published_run_ids(spark, folder)
        if found is None:
            raise UserError(f"run {run_id}'s {table} Parquet is not at {folder}; pass --out with the folder the "
                            f"run was counted into")
        if found != {run_id}:
            raise UserError(f"{folder} holds run {', '.join(sorted(found))}, not {run_id}: another run wrote that "
                            f"--out since; count the source again, or pass --out with this run's folder")


def newest_run(con, source: str, mode: str, labelset: str) -> str:
    row = con.execute(
        "SELECT arg_max(c.run_id, coalesce(r.started, TIMESTAMP '1970-01-01')) FROM class_counts c "
        "LEFT JOIN runs r ON r.run_id = c.run_id WHERE c.source = ? AND c.mode = ? AND c.labelset = ?",
        [source, mode, labelset]).fetchone()
    if row[0] is None:
        raise UserError(f"the warehouse holds no count run of source {source!r} (mode {mode}, label set {labelset}); "
                        f"count it first with `classfreq count --relevance`")
    return row[0]


def run_rows(con, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's class_counts and doc_matches rows; a run without kept matches cannot be judged."""
    counts = con.execute("SELECT * FROM class_counts WHERE run_id = ?", [run_id]).fetchdf()
    if counts.empty:
        raise UserError(f"run {run_id} is not a count run in the warehouse (no class_counts rows)")
    matches = con.execute("SELECT * FROM doc_matches WHERE run_id = ?", [run_id]).fetchdf()
    if matches.empty or matches.text.isna().all():
        raise UserError(f"run {run_id} kept no matched documents with their text, so there is nothing to judge; "
                        f"count it again with --relevance (or --max-matches-per-class N)")
    return counts, matches


def _counted_labelset(con, run_id: str, counts: pd.DataFrame) -> str:
    """The label set as the run was given it (a folder for a user label set), else its name."""
    row = con.execute("SELECT json_extract_string(options, '$.labelset') FROM runs WHERE run_id = ?",
                      [run_id]).fetchone()
    return row[0] if row and row[0] else str(counts.labelset.iloc[0])


def _check_version(labelset: str, counts: pd.DataFrame) -> None:
    counted = str(counts.version.iloc[0])
    current = load_labelset(labelset).version
    if current != counted:
        raise UserError(f"the run was counted with label set version {counted} and {labelset} is now version "
                        f"{current}; its class indexes may differ, so count the source again")


def summary(res: JudgeRunResult) -> str:
    rate = res.pairs / res.seconds if res.seconds else 0.0
    return (f"judged run {res.run_id}: {res.classes_judged} classes, {res.pairs:,} pairs in {res.seconds:.1f}s "
            f"({rate:,.0f} pairs/s in Spark); rewrote its warehouse rows and {', '.join(res.parquet.values())}; "
            f"run {res.judge_run_id}")


def register(subparsers) -> None:
    """`classfreq relevance judge-run`."""
    add_action(subparsers, "judge-run", JudgeRunConfig, _handle,
               "judge an existing count run's kept matches for relevance and rewrite its warehouse rows and Parquet")


def _handle(args) -> int:
    print(summary(judge_run(from_args(JudgeRunConfig, args))))
    return 0


def main(argv=None) -> int:
    parser = add_options(argparse.ArgumentParser(prog="relevance_run", description=__doc__.splitlines()[0]),
                         JudgeRunConfig)
    try:
        print(summary(judge_run(from_args(JudgeRunConfig, parser.parse_args(argv)))))
    except UserError as exc:
        print(f"judge-run: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
