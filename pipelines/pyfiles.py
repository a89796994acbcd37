"""Build the zip that ships classfreq to Spark executors (`spark-submit --py-files`).

pyproject.toml maps top-level folders (pipelines/, synsets/, ...) into the `classfreq` package,
so a zip of the repository would not import; this builds it from the installed layout:

    python -m classfreq.pipelines.pyfiles dist/classfreq.zip
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import zipfile

PACKAGES = ("classfreq", "classfreq.synsets", "classfreq.relevance", "classfreq.pipelines", "classfreq.queries",
            "classfreq.models", "classfreq.reports")


def _package_folder(pkg: str) -> str:
    """Where an installed package's files are, found without running its ``__init__`` (a
    package whose own imports need an optional extra still belongs in the zip)."""
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{pkg} is not installed: pip install -e . in a classfreq checkout", name=pkg)
    return list(spec.submodule_search_locations)[0]


def build_zip(dest: str) -> list[str]:
    """Write every module (and package data) of the installed classfreq packages under its import path."""
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    names = []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in PACKAGES:
            folder = _package_folder(pkg)
            prefix = pkg.replace(".", "/")
            for root, dirs, files in os.walk(folder):
                dirs[:] = [d for d in dirs if d not in ("__pycache__",) and not d.startswith(".")
                           and not os.path.exists(os.path.join(root, d, "__init__.py"))]
                for name in sorted(files):
                    if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                        continue
                    rel = os.path.relpath(os.path.join(root, name), folder)
                    arc = f"{prefix}/{rel}".replace(os.sep, "/")
                    zf.write(os.path.join(root, name), arc)
                    names.append(arc)
    return names


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dest", nargs="?", default="dist/classfreq.zip")
    args = p.parse_args(argv)
    names = build_zip(args.dest)
    print(f"wrote {args.dest} ({len(names)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
