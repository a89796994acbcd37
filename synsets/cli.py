"""`classfreq synsets build|add|show`: regenerate the built-in label sets, add a user one, summarise one.

Each action's options are the fields of its config (synsets/configs.py); the handler builds the
validated config and runs the job (synsets/jobs.py).
"""
from __future__ import annotations

from classfreq.configs import add_options, from_args
from classfreq.synsets.configs import AddConfig, BuildConfig, ShowConfig


def register(subparsers) -> None:
    parser = subparsers.add_parser("synsets", help="label sets: build, add your own, show")
    sub = parser.add_subparsers(dest="synsets_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="regenerate the built-in label-set tables from WordNet 3.0 (byte for byte)")
    add_options(build, BuildConfig).set_defaults(func=_build)
    add = sub.add_parser("add", help="make a label set from a CSV or JSON of class names (and optional synonyms)")
    add_options(add, AddConfig).set_defaults(func=_add)
    show = sub.add_parser("show", help="summarise a label set: classes, forms, forms per flag")
    add_options(show, ShowConfig).set_defaults(func=_show)


def _build(args) -> int:
    from classfreq.synsets.jobs import build_labelsets
    return build_labelsets(from_args(BuildConfig, args))


def _add(args) -> int:
    from classfreq.synsets.jobs import add_labelset
    return add_labelset(from_args(AddConfig, args))


def _show(args) -> int:
    from classfreq.synsets.jobs import show_labelset
    return show_labelset(from_args(ShowConfig, args))
