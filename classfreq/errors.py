"""The errors users see, as a small hierarchy, and `require` for optional dependencies.

    ClassfreqError
    └── UserError            a bad argument, file or input: one sentence, exit code 2
        └── MissingDependency  an optional package is not installed: names it and the install command

Anything else is a bug and surfaces with its traceback.
"""
from __future__ import annotations

import importlib
from types import ModuleType


class ClassfreqError(Exception):
    """Base of the errors classfreq raises on purpose."""


class UserError(ClassfreqError):
    """A bad argument, file or input. The CLI prints its message alone, without a traceback."""


class MissingDependency(UserError):
    """An optional dependency is not installed."""


def require(module: str, *, extra: str | None = None, package: str | None = None,
            purpose: str | None = None) -> ModuleType:
    """Import ``module`` or raise ``MissingDependency`` naming what to install.

    ``package`` is the PyPI name when it differs from the module; ``extra`` is the classfreq
    extra that brings it (``pip install -e '.[models]'``).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module and not module.startswith(f"{exc.name}."):
            raise  # the module exists but one of *its* imports is broken: show that
        package = package or module.split(".")[0]
        how = f"pip install '{package}'"
        if extra:
            how += f" (or pip install -e '.[{extra}]' in a classfreq checkout)"
        need = f"{purpose} needs" if purpose else "this needs"
        raise MissingDependency(f"{need} the Python package {package}, which is not installed: {how}") from exc
