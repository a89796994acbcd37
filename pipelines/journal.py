"""What a run has started to write under --out, so that a run killed at any point is rolled
forward or back by the next run on the same warehouse.

The warehouse transaction (the count rows and the ``runs`` row together) is the commit point:

1. at its start a run writes its journal ``OUT/_tmp/RUN_ID.json`` (its warehouse, its JSON-array
   staging folder, and later the Parquet folders it will replace);
2. every table is written under ``OUT/_tmp/RUN_ID/`` (the published folders still hold the
   previous run);
3. the warehouse transaction commits;
4. each staged folder is moved into place (``publish``), then the journal is removed.

A kill before 3 leaves the previous run everywhere and a journal whose run has no ``runs`` row:
``recover`` deletes what it staged. A kill during 4 leaves a committed run whose journal still
lists folders to move: ``recover`` finishes the moves. ``recover`` runs at the start of every run,
under the warehouse's writer lock, so no live run's journal is touched; journals that name
another warehouse are left to that warehouse's runs.

Parquet readers see one run per folder (the Parquet rows carry its ``run_id``); between a kill
after step 3 and the next run, the warehouse already holds the new run while some folders still
hold the previous one, and ``recover`` (or ``classfreq count`` on that warehouse) settles it.
Only local --out folders are journaled; on a Hadoop URI the order is the same (stage, commit,
move) but a run killed between commit and move leaves its staged folders for a person to move.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from classfreq.pipelines.input_files import is_local
from classfreq.pipelines.phases import checkpoint
from classfreq.queries import warehouse as wh

TMP = "_tmp"


@dataclass
class Journal:
    out: str
    run_id: str
    warehouse: str                      # absolute path: the warehouse that decides commit or not
    staging: str | None = None          # the run's JSON-array staging folder, removed on recovery
    moves: dict[str, str] = field(default_factory=dict)  # table -> its published folder, replaced or removed
    written: list[str] = field(default_factory=list)     # the tables this run staged (the others are removed)

    @property
    def path(self) -> str:
        return os.path.join(self.out, TMP, f"{self.run_id}.json")

    @property
    def folder(self) -> str:
        """Where this run stages its tables."""
        return os.path.join(self.out, TMP, self.run_id)

    def staged(self, table: str) -> str:
        return os.path.join(self.folder, table)

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as f:
            json.dump(asdict(self), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    @classmethod
    def load(cls, path: str) -> Journal:
        with open(path) as f:
            return cls(**json.load(f))


def publish(journal: Journal) -> None:
    """Move every staged table into place (the run is committed); idempotent, so ``recover`` can
    finish a publish that a kill interrupted."""
    for table, target in journal.moves.items():
        checkpoint(f"publish:{table}")
        staged, old = journal.staged(table), f"{journal.staged(table)}.old"
        written = table in journal.written  # else the previous run's folder just goes
        if written and not os.path.exists(staged):
            continue  # moved before a kill
        if os.path.exists(target):
            os.makedirs(journal.folder, exist_ok=True)
            os.replace(target, old)
            checkpoint(f"publish:{table}:moved-aside")  # the folder is missing until the next move
        if written:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    finish(journal)


def discard(journal: Journal) -> None:
    """Remove what an uncommitted run wrote under --out (its staged tables and JSON chunks)."""
    shutil.rmtree(journal.folder, ignore_errors=True)
    if journal.staging:
        shutil.rmtree(journal.staging, ignore_errors=True)
    finish(journal)


def finish(journal: Journal) -> None:
    shutil.rmtree(journal.folder, ignore_errors=True)
    if os.path.exists(journal.path):
        os.remove(journal.path)
    remove_if_empty(os.path.join(journal.out, TMP))


def recover(out: str, warehouse: str, committed: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Settle the journals under ``out`` that name ``warehouse`` (whose writer lock the caller
    holds): publish a committed run's tables, discard an uncommitted run's. ``committed(run_id)``
    says whether the warehouse has the run. Returns (run_id, "published" | "discarded") pairs."""
    folder = os.path.join(out, TMP)
    if not os.path.isdir(folder):
        return []
    done = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        journal = Journal.load(os.path.join(folder, name))
        if journal.warehouse != os.path.abspath(warehouse):
            continue
        if committed(journal.run_id):
            publish(journal)
            done.append((journal.run_id, "published"))
        else:
            discard(journal)
            done.append((journal.run_id, "discarded"))
    return done


def settle_killed_runs(out: str, warehouse: str) -> list[tuple[str, str]]:
    """``recover`` with the warehouse deciding: opened only when a journal is waiting."""
    if not is_local(out) or not os.path.isdir(os.path.join(out, TMP)):
        return []
    con = None

    def committed(run_id: str) -> bool:
        nonlocal con
        con = con or wh.connect(warehouse)
        return wh.has_run(con, run_id)

    try:
        return recover(out, warehouse, committed)
    finally:
        if con is not None:
            con.close()


def remove_if_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty, or not there
