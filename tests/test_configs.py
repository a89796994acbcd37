"""The typed job-config helper (classfreq.configs) and the error helpers (classfreq.errors)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from classfreq.configs import Config, add_options, from_args, option
from classfreq.errors import MissingDependency, UserError, require


@dataclass
class _Demo(Config):
    inputs: tuple[str, ...] = option(flag="--input", repeat=True, required=True, help="input files")
    source: str = option(required=True, help="source name")
    bootstrap: int = option(1000, help="replicates")
    rate: float | None = option(help="a rate")
    nested: bool = option(False, help="count nested forms")
    method: str = option("open", choices=("open", "closed"), help="method")
    csv: str | None = option(group="src", required=True, help="a CSV file")
    json: str | None = option(group="src", help="a JSON file")
    internal: int = option(3, cli=False, help="set from Python only")

    def validate(self):
        if self.bootstrap < 100:
            raise UserError("--bootstrap must be at least 100")
        return self


def _parse(argv):
    return from_args(_Demo, add_options(argparse.ArgumentParser(), _Demo).parse_args(argv))


def test_config_from_arguments_keeps_types_and_defaults():
    c = _parse(["--input", "a", "--input", "b", "--source", "s", "--rate", "0.5", "--nested", "--csv", "f.csv"])
    assert c.inputs == ("a", "b") and c.source == "s" and c.rate == 0.5 and c.nested is True
    assert c.bootstrap == 1000 and c.method == "open" and c.csv == "f.csv" and c.json is None and c.internal == 3


def test_config_validation_and_argparse_errors():
    with pytest.raises(UserError, match="at least 100"):
        _parse(["--input", "a", "--source", "s", "--bootstrap", "5", "--csv", "x"])
    parser = add_options(argparse.ArgumentParser(), _Demo)
    with pytest.raises(SystemExit):  # the mutually exclusive group is required
        parser.parse_args(["--input", "a", "--source", "s"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--input", "a", "--source", "s", "--csv", "x", "--json", "y"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--input", "a", "--source", "s", "--csv", "x", "--method", "other"])
    assert "--internal" not in parser.format_help()
    assert "replicates (default 1000)" in " ".join(parser.format_help().split())


def test_config_built_directly_equals_cli():
    direct = _Demo(inputs=("a",), source="s", csv="x").validate()
    assert direct == _parse(["--input", "a", "--source", "s", "--csv", "x"])


def test_require_names_the_package_and_extra():
    assert require("json").dumps([1]) == "[1]"
    with pytest.raises(MissingDependency, match=r"pip install 'no-such-pkg'.*\.\[models\]"):
        require("no_such_module_xyz", package="no-such-pkg", extra="models", purpose="evaluation")
    assert issubclass(MissingDependency, UserError)


@dataclass
class _Negative(Config):
    secondary: bool = option(True, flag="--no-secondary", help="skip the secondary analyses")
    color: bool = option(True, help="no colours")


def test_bool_defaulting_to_true_is_turned_off_by_a_negative_flag():
    parser = add_options(argparse.ArgumentParser(), _Negative)
    assert from_args(_Negative, parser.parse_args([])) == _Negative(secondary=True, color=True)
    assert from_args(_Negative, parser.parse_args(["--no-secondary", "--no-color"])) == _Negative(False, False)
