"""The typed configs of `classfreq report`, `classfreq recommend` and `classfreq demo`."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from classfreq.cli import build_parser
from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE
from classfreq.reports.cli import job_config
from classfreq.reports.configs import (
    AnalysisOptions,
    DemoConfig,
    RecommendConfig,
    RecommendOptions,
    ReportConfig,
)


def parse_job(argv):
    """`classfreq report|recommend ...` arguments -> the validated job config."""
    args = build_parser().parse_args(argv)
    return job_config(RecommendConfig if argv[0] == "recommend" else ReportConfig, args)


def test_report_defaults_are_the_option_classes_defaults():
    c = parse_job(["report", "--out", "o"])
    assert c == ReportConfig(out="o")
    assert c.analysis == AnalysisOptions() and c.recommend == RecommendOptions()
    assert c.warehouse == DEFAULT_WAREHOUSE
    assert (c.analysis.n_boot, c.analysis.seed, c.analysis.bootstrap_unit, c.analysis.secondary_sources) == \
        (1000, 0, "class", True)
    assert (c.recommend.budget, c.recommend.ks, c.recommend.oversample, c.recommend.top_k, c.recommend.max_punsafe) \
        == (100_000, (1_000, 10_000, 100_000), 2.0, 1000, 0.1)


def test_report_options_from_arguments_equal_a_direct_config():
    c = parse_job(["report", "--out", "o", "--warehouse", "w.duckdb", "--model", "a", "--model", "b",
                   "--bootstrap", "200", "--seed", "3", "--bootstrap-unit", "superclass", "--superclass-level", "2",
                   "--labelset", "imagenet1k", "--version", "v1", "--no-secondary", "--budget", "500",
                   "--k", "10", "--k", "20", "--target", "0.7", "--oversample", "3", "--top-k", "5",
                   "--max-punsafe", "0.2"])
    direct = ReportConfig(
        out="o", warehouse="w.duckdb",
        analysis=AnalysisOptions(n_boot=200, seed=3, bootstrap_unit="superclass", superclass_level=2,
                                 secondary_sources=False, models=("a", "b"), labelset="imagenet1k", version="v1"),
        recommend=RecommendOptions(budget=500, ks=(10, 20), target=0.7, oversample=3.0, top_k=5, max_punsafe=0.2))
    assert c == direct.validate()
    rec = parse_job(["recommend", "--out", "r", "--budget", "1000"])
    assert isinstance(rec, RecommendConfig) and rec.recommend.budget == 1000


def test_report_config_validation_is_one_sentence():
    with pytest.raises(UserError, match="--bootstrap must be at least 100"):
        parse_job(["report", "--out", "o", "--bootstrap", "50"])
    with pytest.raises(UserError, match="--target is an accuracy between 0 and 1"):
        parse_job(["recommend", "--out", "o", "--target", "7"])
    with pytest.raises(UserError, match="--bootstrap-unit"):
        AnalysisOptions(bootstrap_unit="cluster").validate()
    with pytest.raises(SystemExit):   # --out is required
        build_parser().parse_args(["report"])


def test_report_options_table_keeps_its_rows():
    """The report's 'This report's options' table lists the analysis options in this order."""
    # issue 9 part 5 added superclass_depth (clusters by depth from the root)
    assert list(AnalysisOptions().as_dict()) == ["n_boot", "seed", "bootstrap_unit", "superclass_level",
                                                 "superclass_depth", "secondary_sources", "models", "labelset",
                                                 "version", "level", "bins", "outlier_alpha"]


def test_demo_config(tmp_path):
    parser = add_options(argparse.ArgumentParser(), DemoConfig)
    c = from_args(DemoConfig, parser.parse_args(["--shared", str(tmp_path), "--bootstrap", "300", "--skip-count"]))
    assert c == DemoConfig(shared=str(tmp_path), n_boot=300, skip_count=True)
    assert (c.out, c.warehouse) == ("out", DEFAULT_WAREHOUSE)
    assert DemoConfig().n_boot == AnalysisOptions().n_boot
    with pytest.raises(UserError, match="data folder .* does not exist"):
        DemoConfig(shared=str(tmp_path / "nope")).validate()
    with pytest.raises(UserError, match="--bootstrap must be at least 100"):
        DemoConfig(shared=str(tmp_path), n_boot=10).validate()


def test_library_configs_carry_help_for_every_field():
    for cls in (AnalysisOptions, RecommendOptions, ReportConfig, RecommendConfig, DemoConfig):
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name}"
