"""The typed job configs of `classfreq query`, `classfreq import-counts` and `classfreq mix`."""
from __future__ import annotations

import argparse

import pytest

from classfreq.cli import main as cli_main
from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.queries.configs import ImportCountsConfig, MixConfig, QueryConfig
from classfreq.queries.warehouse import DEFAULT_WAREHOUSE


def parse(cls, argv):
    return from_args(cls, add_options(argparse.ArgumentParser(), cls).parse_args(argv))


def test_query_config_from_arguments():
    c = parse(QueryConfig, ["tail_classes", "--param", "max_docs=5", "--param", "count_key=a=b", "--limit", "3"])
    assert c == QueryConfig(name="tail_classes", params=("max_docs=5", "count_key=a=b"), limit=3).validate()
    assert c.bound_params() == {"max_docs": "5", "count_key": "a=b"}
    assert c.warehouse == DEFAULT_WAREHOUSE and c.csv is None
    listing = parse(QueryConfig, [])
    assert listing.name is None and listing.params == () and listing.limit == 50
    with pytest.raises(UserError, match="no query named 'nope'"):
        parse(QueryConfig, ["nope"])
    with pytest.raises(UserError, match="NAME=VALUE"):
        parse(QueryConfig, ["tail_classes", "--param", "max_docs"])


def test_import_counts_config_needs_one_source_and_csv_details(tmp_path):
    c = parse(ImportCountsConfig, ["--bethgelab", "a.json", "b.json"])
    assert c.bethgelab == ("a.json", "b.json") and c.csv is None and c.method == "as-published" and c.missing == "zero"
    with pytest.raises(UserError, match="--csv needs --origin --corpus"):
        parse(ImportCountsConfig, ["--csv", "c.csv", "--labelset", "imagenet1k"])
    full = parse(ImportCountsConfig, ["--csv", "c.csv", "--labelset", "l", "--origin", "o", "--corpus", "c",
                                      "--corpus-docs", "1e6", "--missing", "error"])
    assert full.corpus_docs == 1e6 and full.missing == "error"
    with pytest.raises(UserError, match="either --bethgelab"):
        ImportCountsConfig().validate()
    parser = add_options(argparse.ArgumentParser(), ImportCountsConfig)
    with pytest.raises(SystemExit):   # exactly one of --bethgelab / --csv
        parser.parse_args(["--bethgelab", "a.json", "--csv", "c.csv"])
    # through the console command: one sentence, exit code 2, before the warehouse is touched
    wh = tmp_path / "w.duckdb"
    assert cli_main(["import-counts", "--csv", "c.csv", "--warehouse", str(wh)]) == 2
    assert not wh.exists()


def test_mix_config_checks_the_files(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("models: [a]\n")
    assert parse(MixConfig, [str(f)]).files == (str(f),)
    assert parse(MixConfig, []).files == ()
    with pytest.raises(UserError, match="does not exist"):
        parse(MixConfig, [str(f), str(tmp_path / "missing.yaml")])
