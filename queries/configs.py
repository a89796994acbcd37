"""Typed job configs of `classfreq query`, `classfreq import-counts` and `classfreq mix`.

Each field carries its command-line help; `classfreq.configs.add_options` turns a class into
arguments and `from_args` builds the validated config, which is all the command code receives.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classfreq.configs import Config, option
from classfreq.errors import UserError
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE

WAREHOUSE_HELP = "DuckDB file"


@dataclass
class QueryConfig(Config):
    """`classfreq query [NAME]`: run one named query, or list them."""
    name: str | None = option(None, positional=True, nargs="?",
                              help="query name (omit to list the queries and their parameters)")
    params: tuple[str, ...] = option((), flag="--param", repeat=True, metavar="NAME=VALUE",
                                     help="set a parameter (repeatable)")
    csv: str | None = option(metavar="FILE", help="write all rows to this CSV file instead of printing")
    limit: int = option(50, help="rows to print (--csv writes all)")
    warehouse: str = option(DEFAULT_WAREHOUSE, help=WAREHOUSE_HELP)

    def validate(self) -> QueryConfig:
        from classfreq.queries.runner import get_query, parse_params
        if self.name:
            get_query(self.name)  # an unknown name fails before the warehouse is opened
        parse_params(list(self.params))
        return self

    def bound_params(self) -> dict[str, str]:
        from classfreq.queries.runner import parse_params
        return parse_params(list(self.params))


@dataclass
class ImportCountsConfig(Config):
    """`classfreq import-counts`: published per-class counts, from bethgelab JSON or a CSV."""
    bethgelab: tuple[str, ...] | None = option(group="src", required=True, nargs="+", metavar="FILE",
                                               help="bethgelab *_search_counts.json files (corpus and method "
                                                    "from the file name)")
    csv: str | None = option(group="src", metavar="FILE", help="CSV with class_index or class_id, and docs")
    labelset: str | None = option(help="label set (bethgelab: from the file name; CSV: required)")
    version: str | None = option(help="label-set version (default: the one in the warehouse)")
    origin: str | None = option(help="CSV: who published the counts (e.g. a paper or team)")
    corpus: str | None = option(help="CSV: the corpus counted (e.g. laion2b)")
    method: str = option("as-published", help="CSV: how they counted")
    corpus_docs: float | None = option(help="documents in the corpus, for per-million rates")
    missing: str = option("zero", choices=("zero", "error"),
                          help="CSV: classes the file lacks count as 0 or stop with an error")
    warehouse: str = option(DEFAULT_WAREHOUSE, help=WAREHOUSE_HELP)

    def validate(self) -> ImportCountsConfig:
        if bool(self.bethgelab) == bool(self.csv):
            raise UserError("give either --bethgelab FILE... or --csv FILE")
        if self.csv:
            missing = [o for o in ("labelset", "origin", "corpus") if not getattr(self, o)]
            if missing:
                raise UserError(f"--csv needs --{' --'.join(missing)} (which label set, who counted, which corpus)")
        if self.missing not in ("zero", "error"):
            raise UserError(f"--missing is 'zero' or 'error', not {self.missing!r}")
        return self


@dataclass
class MixConfig(Config):
    """`classfreq mix [FILE...]`: declare training mixes, then show every declared mix."""
    files: tuple[str, ...] = option((), positional=True, nargs="*", metavar="FILE",
                                    help="mix files (see classfreq.queries.mixes)")
    warehouse: str = option(DEFAULT_WAREHOUSE, help=WAREHOUSE_HELP)

    def validate(self) -> MixConfig:
        for f in self.files:
            if not Path(f).is_file():
                raise UserError(f"mix file {f} does not exist; check the path")
        return self
