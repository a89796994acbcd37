"""Build the zip that ships classfreq to Spark executors (`spark-submit --py-files`).

pyproject.toml maps top-level folders (pipelines/, synsets/, ...) into the `classfreq` package,
so a zip of the repository would not import; this builds it from the installed layout:

    python -m classfreq.pipelines.pyfiles dist/classfreq.zip
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import zipfile

PACKAGES = ("classfreq", "classfreq.synsets", "classfreq.pipelines", "classfreq.queries",
            "classfreq.models", "classfreq.reports")


def build_zip(dest: str) -> list[str]:
    """Write every module (and package data) of the installed classfreq packages under its import path."""
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    names = []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in PACKAGES:
            try:
                mod = importlib.import_module(pkg)
            except ImportError:
                continue
            folder = os.path.dirname(mod.__file__)
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
