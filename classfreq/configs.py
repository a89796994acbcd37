"""Typed job configs: one dataclass per command, whose fields carry their own help text.

Library code receives these objects, never an argparse namespace; the CLI builds them from
arguments with ``add_options`` / ``from_args``, and Python callers (the demo, tests) construct
them directly. A config validates itself once, in ``validate()``, before any data is read.

    @dataclass
    class MyConfig(Config):
        inputs: tuple[str, ...] = option(flag="--input", repeat=True, required=True, help="...")
        bootstrap: int = option(1000, help="bootstrap replicates")

    parser = add_options(argparse.ArgumentParser(), MyConfig)
    config = from_args(MyConfig, parser.parse_args())   # validated
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable
from typing import Any

_MISSING = dataclasses.MISSING


def option(default: Any = _MISSING, *, help: str, flag: str | None = None, positional: bool = False,
           choices: typing.Sequence | None = None, repeat: bool = False, nargs: str | None = None,
           required: bool = False, metavar: str | None = None, group: str | None = None,
           parse: Callable[[str], Any] | None = None, cli: bool = True) -> Any:
    """A config field with its command-line spelling.

    ``flag`` defaults to ``--field-name``; ``repeat`` makes a repeatable option collected into a
    tuple; ``group`` names a mutually exclusive group (one of its options is required when any
    member has ``required=True``); ``parse`` converts the string given on the command line;
    ``cli=False`` keeps a field out of the command line (set by Python callers only). A bool
    that defaults to True is turned off by a negative flag (``--no-field-name`` unless ``flag``
    says otherwise); ``help`` then describes that flag.
    """
    meta = {"help": help, "flag": flag, "positional": positional, "choices": choices, "repeat": repeat,
            "nargs": nargs, "required": required, "metavar": metavar, "group": group, "parse": parse,
            "cli": cli}
    if default is _MISSING and (group or (not required and not positional)):
        default = None  # a member of an exclusive group is set only when chosen
    if isinstance(default, (list, dict, set)):
        frozen = tuple(default) if isinstance(default, (list, set)) else dict(default)
        return dataclasses.field(default_factory=lambda: frozen, metadata=meta)
    if default is _MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Config:
    """Base of every job config: ``validate()`` raises ``UserError`` with one sentence."""

    def validate(self) -> Config:
        return self

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _flag(f: dataclasses.Field, negative: bool = False) -> str:
    return f.metadata.get("flag") or ("--no-" if negative else "--") + f.name.replace("_", "-")


def _base_type(tp) -> type:
    """int for `int`, `int | None`, `Optional[int]`; str for `tuple[str, ...]`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0]) if args else str
    if origin in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return _base_type(args[0]) if args else str
    return tp if isinstance(tp, type) else str


def _default_text(value) -> str:
    if value is None or value == () or value is False:
        return ""
    if isinstance(value, tuple):
        value = ",".join(map(str, value))
    return f" (default {value})"


def add_options(parser: argparse.ArgumentParser, config_cls: type) -> argparse.ArgumentParser:
    """Add one argument per CLI field of ``config_cls`` to ``parser``."""
    hints = typing.get_type_hints(config_cls)
    groups: dict[str, Any] = {}
    for f in dataclasses.fields(config_cls):
        m = f.metadata
        if not m or not m.get("cli", True):
            continue
        tp = hints[f.name]
        base = _base_type(tp)
        default = f.default if f.default is not _MISSING else (
            f.default_factory() if f.default_factory is not _MISSING else None)
        kwargs: dict[str, Any] = {"help": m["help"] + ("" if m["required"] or default is True else _default_text(default))}
        if m["metavar"]:
            kwargs["metavar"] = m["metavar"]
        negative = base is bool and default is True
        if base is bool and not m["positional"]:
            kwargs["action"] = "store_false" if negative else "store_true"
        else:
            kwargs["type"] = m["parse"] or base
            if m["choices"]:
                kwargs["choices"] = list(m["choices"])
            if m["repeat"]:
                kwargs["action"] = "append"
            if m["nargs"]:
                kwargs["nargs"] = m["nargs"]
        kwargs["default"] = None
        target = parser
        if m["group"]:
            if m["group"] not in groups:
                required = any(g.metadata.get("group") == m["group"] and g.metadata.get("required")
                               for g in dataclasses.fields(config_cls))
                groups[m["group"]] = parser.add_mutually_exclusive_group(required=required)
            target = groups[m["group"]]
        elif m["required"] and not m["positional"]:
            kwargs["required"] = True
        if m["positional"]:
            target.add_argument(f.name, **kwargs)
        else:
            target.add_argument(_flag(f, negative), dest=f.name, **kwargs)
    return parser


def from_args(config_cls: type, args: argparse.Namespace, **overrides):
    """The validated config from parsed arguments; unset options keep the field defaults."""
    hints = typing.get_type_hints(config_cls)
    values = {}
    for f in dataclasses.fields(config_cls):
        if not f.metadata.get("cli", True) or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if value is None:
            continue
        if typing.get_origin(hints[f.name]) is tuple or (
                isinstance(value, list) and _is_tuple_type(hints[f.name])):
            value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        values[f.name] = value
    values.update(overrides)
    return config_cls(**values).validate()


def _is_tuple_type(tp) -> bool:
    if typing.get_origin(tp) is tuple:
        return True
    return any(typing.get_origin(a) is tuple for a in typing.get_args(tp))
