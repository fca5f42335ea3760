"""The package's layout: no two modules import each other, directly or through others, whether
at module level or inside a function (a lazy import hides a cycle; it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGE_ROOT = ROOT / "plugins"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (PACKAGE_ROOT / "diaspora").rglob("*.py"):
        if "sample" in path.parts:  # sample builders are scripts, not modules of the package
            continue
        name = ".".join(path.relative_to(PACKAGE_ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules ``path`` imports anywhere in it (``from a import b`` counts as a.b
    when b is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("diaspora"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("diaspora")}
    return {name for name in found if name in modules}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path start → … → start through the graph, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for target in sorted(graph[node]):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_no_module_of_the_package_imports_itself_through_others():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    cycles = [cycle for name in sorted(graph) if (cycle := _cycle_from(name, graph))]
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)
    assert "diaspora.warehouse.engine" in graph and len(graph) > 30  # the walk saw the package
