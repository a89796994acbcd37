"""Typed job configs of `classfreq synsets build|add|show`.

The CLI builds them from arguments (classfreq.configs.add_options / from_args); Python callers
construct them directly. `validate()` runs once, before WordNet or a file is read.
"""
from __future__ import annotations

from dataclasses import dataclass

from classfreq.configs import Config, option
from classfreq.errors import UserError
from classfreq.synsets.labelset import BUILTIN, DATA_DIR
from classfreq.synsets.user_labelsets import check_labelset_name


@dataclass(kw_only=True)
class BuildConfig(Config):
    """`classfreq synsets build`: regenerate the built-in label-set tables from WordNet 3.0."""

    shared: str = option("../shared/data", help="shared data folder with labelsets/")
    labelset: tuple[str, ...] = option((), repeat=True, choices=BUILTIN,
                                       help="build only this label set (repeatable; default all)")
    out: str = option(str(DATA_DIR), help="folder that receives <labelset>/")
    nltk_data: str | None = option(help="NLTK data folder to find or assemble WordNet in "
                                        "(default $CLASSFREQ_NLTK_DATA or ~/.cache/classfreq/nltk_data)")

    def validate(self) -> BuildConfig:
        unknown = [name for name in self.labelset if name not in BUILTIN]
        if unknown:
            raise UserError(f"{unknown[0]!r} is not a built-in label set; use one of {', '.join(BUILTIN)}")
        return self

    def labelsets(self) -> tuple[str, ...]:
        return self.labelset or BUILTIN


@dataclass(kw_only=True)
class AddConfig(Config):
    """`classfreq synsets add`: a label set from a CSV or JSON of class names (and optional synonyms)."""

    name: str = option(positional=True, help="label-set name (letters, digits, _ and -)")
    source: str = option(flag="--from", required=True,
                         help="names.csv (header: name[,synonyms][,class_id]; synonyms separated by ';') or names.json")
    out: str | None = option(help="folder to write (default: labelsets/NAME)")
    no_wordnet: bool = option(False, help="build without WordNet (no inflections or polysemy flags)")

    def validate(self) -> AddConfig:
        check_labelset_name(self.name)
        return self


@dataclass(kw_only=True)
class ShowConfig(Config):
    """`classfreq synsets show`: summarise a label set: classes, forms, forms per flag."""

    labelset: str = option(positional=True, help=f"one of {', '.join(BUILTIN)} or a label-set folder")
    class_index: int | None = option(flag="--class", help="list the forms of this class index")
