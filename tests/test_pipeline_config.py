"""CountConfig: the counting job's options, the same from the command line and from Python, and
every check that needs no data done once in validate()."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.pipelines.config import CountConfig
from classfreq.pipelines.readers import FORMATS
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE


def parse(cmd: str) -> CountConfig:
    return from_args(CountConfig, add_options(argparse.ArgumentParser(), CountConfig).parse_args(shlex.split(cmd)))


def test_defaults_are_the_documented_ones():
    c = parse("--input a.tsv --source s")
    assert (c.format, c.labelset, c.mode, c.nested, c.doc_unit, c.roles) == ("auto", "imagenet1k", "default", False,
                                                                            "caption", ("human", "gpt"))
    assert (c.dedup, c.sample, c.seed, c.max_matches_per_class, c.out, c.warehouse) == (None, None, 0, 0, "out",
                                                                                        DEFAULT_WAREHOUSE)
    assert (c.master, c.partitions, c.shuffle_partitions, c.progress_interval, c.staging) == (None, 0, 16, 10.0, None)
    assert c.count_mode == "default" and parse("--input a --source s --nested").count_mode == "nested"
    assert parse("--input a --source s --mode paper").count_mode == "paper"


def test_built_directly_equals_the_command_line():
    cli = parse("--input a.tsv --input 'b dir/*.tsv' --source cc3m --format cc3m --roles gpt,human "
                "--max-matches-per-class 5 --out o --warehouse w.duckdb --progress-interval 0 --sample 0.5 --seed 3")
    direct = CountConfig(inputs=("a.tsv", Path("b dir/*.tsv")), source="cc3m", format="cc3m", roles="gpt, human",
                         max_matches_per_class=5, out=Path("o"), warehouse="w.duckdb", progress_interval=0,
                         sample=0.5, seed=3).validate()
    assert direct == cli and direct.roles == ("gpt", "human") and direct.inputs == ("a.tsv", "b dir/*.tsv")
    assert CountConfig(inputs="one.tsv", source="s").inputs == ("one.tsv",)


@pytest.mark.parametrize("option,needle", [
    ("--format yaml", "unknown --format 'yaml'"),
    ("--mode fast", "unknown --mode 'fast'; use default or paper"),
    ("--mode paper --nested", "--nested applies to the default mode only"),
    ("--doc-unit page", "unknown --doc-unit 'page'"),
    ("--roles human,gtp", "--roles 'gtp' is not a LLaVA turn role"),
    ("--roles ,", "--roles '(none)'"),
    ("--dedup x", "--dedup must be one of id, url, text"),
    ("--sample 0", "--sample must be a fraction in (0, 1]"),
    ("--sample 1.5", "--sample must be a fraction in (0, 1]"),
    ("--max-matches-per-class -1", "--max-matches-per-class must be 0 or more"),
    ("--partitions -1", "--partitions must be 0 or more"),
    ("--shuffle-partitions 0", "--shuffle-partitions must be at least 1"),
    ("--progress-interval -1", "--progress-interval must be 0 or more"),
    ("--source a/b", "--source 'a/b' must be a simple name"),
])
def test_validate_refuses_with_one_sentence(option, needle):
    cmd = "--input a --source s " + option if "--source" not in option else "--input a " + option
    with pytest.raises(UserError) as err:
        parse(cmd)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_an_unknown_parquet_scan_is_refused_from_python_too():
    with pytest.raises(UserError, match="--parquet-scan must be one of python, spark, got 'jvm'"):
        CountConfig(inputs=("a",), source="s", parquet_scan="jvm").validate()
    assert parse("--input a --source s").parquet_scan == "python"
    assert parse("--input a --source s --parquet-scan spark").parquet_scan == "spark"


def test_every_value_the_checks_accept():
    for fmt in FORMATS:
        assert parse(f"--input a --source s --format {fmt}").format == fmt
    for ok in ("--sample 1", "--sample 0.001", "--dedup id", "--dedup url", "--dedup text", "--roles system",
               "--doc-unit image", "--partitions 0", "--shuffle-partitions 1", "--progress-interval 0"):
        parse("--input a --source s " + ok)
    with pytest.raises(UserError, match="at least one --input"):
        CountConfig(inputs=(), source="s").validate()
