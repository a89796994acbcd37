"""The pipelines package has no import circle (imports inside functions included), and every
module imports on its own."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

from test_imports import find_cycle  # the one cycle finder (tests/test_imports.py)

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
PACKAGE = "classfreq.pipelines"


def _imports(path: Path) -> set[str]:
    """The classfreq.pipelines modules that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from .matching import X / from . import x
                module = PACKAGE + ("." + module if module else "")
            if module == PACKAGE:  # from classfreq.pipelines import format_x
                found.update(f"{PACKAGE}.{a.name}" for a in node.names)
            elif module.startswith(PACKAGE + "."):
                found.add(module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE + "."))
    return found


def import_graph() -> dict[str, set[str]]:
    return {f"{PACKAGE}.{p.stem}": _imports(p) for p in sorted(PIPELINES.glob("*.py")) if p.stem != "__init__"}


def test_no_import_circle_in_pipelines():
    graph = import_graph()
    assert len(graph) >= 25 and f"{PACKAGE}.format_cc3m" in graph[f"{PACKAGE}.readers"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))
    # the detector finds a circle where there is one
    assert find_cycle({**graph, f"{PACKAGE}.matcher": {f"{PACKAGE}.matching"}}) is not None


def test_every_module_imports_alone():
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    for m in [m for m in sys.modules if m.startswith('classfreq')]:\n"
            "        del sys.modules[m]\n"
            "    importlib.import_module(name)\n")
    modules = sorted(import_graph())
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert importlib.import_module(f"{PACKAGE}.matching").FormMatcher.__name__ == "FormMatcher"
