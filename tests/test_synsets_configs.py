"""synsets/configs.py: the typed configs of `classfreq synsets build|add|show`."""
from __future__ import annotations

import argparse

import pytest

from classfreq.cli import build_parser, main
from classfreq.configs import add_options, from_args
from classfreq.errors import UserError
from classfreq.synsets.configs import AddConfig, BuildConfig, ShowConfig
from classfreq.synsets.labelset import BUILTIN, DATA_DIR


def _subparser(action: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in ("synsets", action):
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def test_every_option_is_kept():
    def options(action):
        return {(a.option_strings[0] if a.option_strings else a.dest): (list(a.choices) if a.choices else None)
                for a in _subparser(action)._actions if a.dest != "help"}
    assert options("build") == {"--shared": None, "--labelset": list(BUILTIN), "--out": None, "--nltk-data": None}
    assert options("add") == {"name": None, "--from": None, "--out": None, "--no-wordnet": None}
    assert options("show") == {"labelset": None, "--class": None}


def _parse(cls, argv):
    return from_args(cls, add_options(argparse.ArgumentParser(), cls).parse_args(argv))


def test_configs_from_the_cli_equal_direct_ones():
    build = _parse(BuildConfig, [])
    assert build == BuildConfig() and build.shared == "../shared/data" and build.out == str(DATA_DIR)
    assert build.labelsets() == BUILTIN
    two = _parse(BuildConfig, ["--labelset", "flowers102", "--labelset", "caltech101", "--shared", "/d"])
    assert two == BuildConfig(labelset=("flowers102", "caltech101"), shared="/d")
    assert two.labelsets() == ("flowers102", "caltech101")
    assert _parse(AddConfig, ["mine", "--from", "n.csv", "--no-wordnet"]) == AddConfig(name="mine", source="n.csv",
                                                                                       no_wordnet=True)
    assert _parse(ShowConfig, ["imagenet1k", "--class", "3"]) == ShowConfig(labelset="imagenet1k", class_index=3)


def test_validation_runs_before_files_are_read(tmp_path, capsys):
    with pytest.raises(UserError, match="not a built-in label set"):
        BuildConfig(labelset=("imagenet21k",)).validate()
    # the name is refused before the (missing) names file is looked at
    assert main(["synsets", "add", "bad name!", "--from", str(tmp_path / "missing.csv")]) == 2
    assert "may only hold letters, digits" in capsys.readouterr().err
    assert main(["synsets", "add", "imagenet1k", "--from", str(tmp_path / "missing.csv")]) == 2
    assert "is a built-in label set" in capsys.readouterr().err
    assert main(["synsets", "show", "imagenet1k", "--class", "5000"]) == 2
    assert "imagenet1k has no class 5000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["synsets", "build", "--labelset", "imagenet21k"])
