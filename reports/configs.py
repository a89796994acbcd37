"""Typed configs of the analysis, the recommendations and the `report`, `recommend` and `demo` jobs.

`AnalysisOptions` and `RecommendOptions` are what the library reads (run_analysis, recommend,
build_report); the job configs bundle them with the job's own paths. Each field carries its
command-line help, so `classfreq.configs.add_options` builds the parser from these classes and
the defaults live here only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from classfreq.configs import Config, option
from classfreq.errors import UserError
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE

WAREHOUSE_HELP = "DuckDB file"
MIN_BOOTSTRAP = 100
BOOTSTRAP_UNITS = ("class", "superclass")
UNCERTAIN_COUNT_TREATMENTS = ("upper", "exclude", "as-counted")
REPORT_TITLE = "classfreq report: class frequency in training data vs per-class accuracy"


# field order = the order of the report's "This report's options" table
@dataclass
class AnalysisOptions(Config):
    """The declared analysis: which accuracies, how intervals are resampled."""
    n_boot: int = option(1000, flag="--bootstrap", metavar="N", help="bootstrap replicates")
    seed: int = option(0, metavar="N", help="bootstrap seed")
    bootstrap_unit: str = option("class", choices=BOOTSTRAP_UNITS,
                                 help="resample classes, or WordNet superclasses (see --superclass-depth) since "
                                      "e.g. 118 dog breeds are not independent")
    superclass_level: int = option(0, metavar="N",
                                   help="cluster by the hypernym N steps up (1 = the immediate one) instead of "
                                        "by depth from the root (0, the default: see --superclass-depth)")
    superclass_depth: int = option(0, metavar="D",
                                   help="cluster classes by their ancestor D steps below WordNet's root "
                                        "(0 = the depth giving closest to 150 clusters, within 100-200)")
    secondary_sources: bool = option(True, flag="--no-secondary",
                                     help="skip the secondary analyses against other count sources")
    models: tuple[str, ...] | None = option(flag="--model", repeat=True, metavar="MODEL",
                                            help="only this model (repeatable; default: every model with a mix)")
    labelset: str | None = option(help="only this label set (default: all in the warehouse)")
    version: str | None = option(help="only this label-set version (default: all)")
    level: float = option(0.95, cli=False, help="interval level")
    bins: int = option(10, cli=False, help="bins of the descriptive binned figure")
    outlier_alpha: float = option(0.05, cli=False, help="Holm-adjusted binomial p below which a class is an outlier")

    def validate(self) -> AnalysisOptions:
        if self.n_boot < MIN_BOOTSTRAP:
            raise UserError(f"--bootstrap must be at least {MIN_BOOTSTRAP} replicates for a 95% interval")
        if self.superclass_level < 0 or self.superclass_depth < 0:
            raise UserError("--superclass-level and --superclass-depth are 0 (the default) or a positive depth")
        if self.bootstrap_unit not in BOOTSTRAP_UNITS:
            raise UserError(f"--bootstrap-unit is one of {', '.join(BOOTSTRAP_UNITS)}, not {self.bootstrap_unit!r}")
        return self


@dataclass
class RecommendOptions(Config):
    """Data-augmentation recommendations from the logit fit."""
    budget: int = option(100_000, help="examples to allocate")
    ks: tuple[int, ...] = option((1_000, 10_000, 100_000), flag="--k", repeat=True, metavar="K",
                                 help="predict accuracy after adding K examples (repeatable)")
    target: float | None = option(help="target accuracy (default: the median class's)")
    oversample: float = option(2.0, help="candidates per wanted example (dead links)")
    top_k: int = option(1000, help="at most this many candidates per class")
    max_punsafe: float = option(0.1, help="drop candidates with punsafe above this")
    extrapolation: float = option(1.0, cli=False,
                                  help="a class needing more than this times the most frequent class's "
                                       "documents is out of reach (1: nothing beyond what the fit has seen)")
    near_zero: float = option(10.0, cli=False, help="a count at most this is near zero (see uncertain_counts)")
    uncertain_counts: str = option("upper", choices=UNCERTAIN_COUNT_TREATMENTS,
                                   help="budget for classes whose zero or near-zero count is uncertain: count "
                                        "them at the top of their count range, a lone zero left out (upper), "
                                        "leave them out (exclude), or take the count as it is (as-counted)")
    level: float = option(0.95, cli=False, help="interval level of the predictions")

    def validate(self) -> RecommendOptions:
        if self.target is not None and not 0 < self.target < 1:
            raise UserError("--target is an accuracy between 0 and 1, e.g. 0.7")
        if self.uncertain_counts not in UNCERTAIN_COUNT_TREATMENTS:
            raise UserError(f"--uncertain-counts is one of {', '.join(UNCERTAIN_COUNT_TREATMENTS)}, "
                            f"not {self.uncertain_counts!r}")
        return self


def _part(cls: type, what: str):
    """A config field holding another config, set by the CLI from the same arguments."""
    return field(default_factory=cls, metadata={"help": what, "cli": False})


@dataclass
class ReportConfig(Config):
    """`classfreq report`: analysis + recommendations + self-contained HTML report."""
    out: str = option(required=True, help="folder for report.html, tables/, charts/, recommendations/")
    warehouse: str = option(DEFAULT_WAREHOUSE, help=WAREHOUSE_HELP)
    analysis: AnalysisOptions = _part(AnalysisOptions, "the analysis")
    recommend: RecommendOptions = _part(RecommendOptions, "the recommendations")
    title: str = option(REPORT_TITLE, cli=False, help="the page title")

    def validate(self) -> ReportConfig:
        self.analysis.validate()
        self.recommend.validate()
        return self


@dataclass
class RecommendConfig(ReportConfig):
    """`classfreq recommend`: recommendation tables and candidate files, without the report."""
    out: str = option(required=True, help="folder for recommendations/*.csv and candidates.parquet")


@dataclass
class DemoConfig(Config):
    """`classfreq demo`: end to end on the real data."""
    shared: str = option("../shared/data", help="the real data folder")
    out: str = option("out", help="output folder")
    warehouse: str = option(DEFAULT_WAREHOUSE, help=WAREHOUSE_HELP)
    n_boot: int = option(AnalysisOptions.n_boot, flag="--bootstrap", metavar="N", help="bootstrap replicates")
    skip_count: bool = option(False, help="reuse the counts already in the warehouse")
    relevance: bool = option(True, help="count without the relevance judge (no relevant-document estimates)")
    relevance_judge: str = option("fast", choices=("full", "fast"),
                                  help="judge of the relevance stage: fast (spaCy + WordNet, the demo's default: "
                                       "it keeps the stage within a minute) or full (adds sentence embeddings)")

    def validate(self) -> DemoConfig:
        AnalysisOptions(n_boot=self.n_boot).validate()
        if not Path(self.shared).is_dir():
            raise UserError(f"data folder {self.shared} does not exist; pass --shared with the real data folder "
                            f"(../shared/data)")
        return self
