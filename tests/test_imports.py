"""The project's import graph: no module imports itself through others, and the packages form
layers (classfreq core <- synsets <- relevance <- queries <- pipelines <- models <- reports), so no package
loop either. Imports inside functions count too."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"classfreq": "classfreq", "synsets": "classfreq.synsets", "relevance": "classfreq.relevance",
           "queries": "classfreq.queries",
           "pipelines": "classfreq.pipelines", "models": "classfreq.models", "reports": "classfreq.reports"}
LAYERS = ["classfreq", "classfreq.synsets", "classfreq.relevance", "classfreq.queries", "classfreq.pipelines", "classfreq.models",
          "classfreq.reports"]


def project_modules() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).glob("*.py"):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                module = package + ("." + module if module else "")
            found.update(m for m in [module, *(f"{module}.{a.name}" for a in node.names)] if m in modules)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
    return found - {name}


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and ".".join(parts[:2]) in LAYERS else "classfreq"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    return next((c for n in list(graph) if n not in state and (c := visit(n))), None)


def module_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def test_module_graph_is_read_correctly():
    graph = module_graph()
    assert "classfreq.text" in graph["classfreq.pipelines.matching"]
    assert "classfreq.synsets.published_names" in graph["classfreq.queries.imports"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_module_imports_itself_through_others():
    assert find_cycle(module_graph()) is None


def test_packages_are_layers():
    upward = []
    for module, deps in module_graph().items():
        for dep in deps:
            a, b = package_of(module), package_of(dep)
            if a != b and LAYERS.index(b) > LAYERS.index(a):
                upward.append(f"{module} -> {dep}")
    assert upward == []
