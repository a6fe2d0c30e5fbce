"""No import cycles inside compliance, counting every import a module can run.

Imports inside functions and under ``if TYPE_CHECKING:`` count as much as top-level ones: a cycle
hidden in a function still ties the two modules together, it only moves the failure to run time.
Importing a submodule runs its package's ``__init__`` first; that is not counted as an edge, or
every module would be in a cycle with its package's ``__init__.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import compliance

PACKAGE = "compliance"
LAB_DIR = Path(compliance.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAB_DIR).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(LAB_DIR.rglob("*.py"))}


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, *([target] if target else [])])


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The compliance.lab modules ``module`` imports anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(module, is_package, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:
                # ``from compliance.lab import records`` imports the submodule; ``from x import name`` the module x.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    edges = set()
    for name in found:
        # ``import compliance.lab.state.x`` style names: the longest known module prefix.
        while name and name not in known:
            name = name.rpartition(".")[0]
        # A module importing its own package's __init__ (``from compliance.kinds import x``) is
        # not an edge either: the package runs first anyway.
        if name.startswith(PACKAGE) and name != module and not module.startswith(name + "."):
            edges.add(name)
    return edges


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    edges = [f"{a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return "; ".join(edges)


def test_the_graph_sees_every_lab_module_and_its_hidden_imports(tmp_path: Path) -> None:
    graph = _graph()
    assert {"compliance.lab", "compliance.lab.server", "compliance.lab.auth", "compliance.lab.state"} <= set(graph)
    # The parser must count imports inside functions and under TYPE_CHECKING, or the check proves nothing.
    sample = tmp_path / "x.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "import yaml\n"
        "if TYPE_CHECKING:\n    from compliance.lab.server import Lab\n"
        "def f():\n    from compliance.lab import records\n    import compliance.lab.state\n"
        "    from . import values\n    from .inventory import write_inventory\n",
        encoding="utf-8",
    )
    assert _imports("compliance.lab.x", sample, set(graph) | {"compliance.lab.x"}) == {
        "compliance.lab.server",
        "compliance.lab.records",
        "compliance.lab.state",
        "compliance.lab.values",
        "compliance.lab.inventory",
    }


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_compliance_has_no_import_cycles() -> None:
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles in compliance: " + " | ".join(_describe(graph, c) for c in cycles)
