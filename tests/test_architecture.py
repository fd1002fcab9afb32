"""The layering of docs/architecture.md holds in the code.

``data -> model -> activations -> clustering -> explain -> labels -> views -> demo / cli``: a module
imports only from its own layer or lower ones, and the imports form no cycle (both
counting imports inside functions). Both are read from the source with ``ast``, so the
test needs no import of the package.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ecg_cluster_widget"
ORDER = [
    "errors",
    "data",
    "model",
    "activations",
    "clustering",
    "explain",
    "labels",
    "views",
    "demo",
    "cli",
]


def _modname(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(mod: str) -> str | None:
    parts = mod.split(".")
    if parts[0] != "ecg_cluster_widget" or len(parts) == 1:
        return None
    return parts[1] if parts[1] in ORDER else None


def _imports(path: Path, module_scope: bool) -> list[tuple[str, int]]:
    """(imported module, line) of every import of ``path`` (only module scope if asked)."""
    me = _modname(path)
    pkg = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_scope else list(ast.walk(tree))
    if module_scope:  # imports under a top-level `if` (e.g. TYPE_CHECKING) count too
        nodes = [
            n for top in nodes for n in ([top] + (top.body if isinstance(top, ast.If) else []))
        ]
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import x` imports the submodule x
                sub = f"{base}.{alias.name}"
                found.append(
                    (
                        sub
                        if (PKG.parent / sub.replace(".", "/")).exists()
                        or (PKG.parent / (sub.replace(".", "/") + ".py")).exists()
                        else base,
                        node.lineno,
                    )
                )
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
    return found


def test_no_import_from_a_higher_layer():
    upward = []
    for path in sorted(PKG.rglob("*.py")):
        me = _layer(_modname(path))
        for target, line in _imports(path, module_scope=False):
            them = _layer(target)
            if me and them and ORDER.index(them) > ORDER.index(me):
                upward.append(f"{path.relative_to(PKG.parent)}:{line} imports {target}")
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_no_import_cycle():
    """No cycle, counting imports inside functions too (a lazy import hides a cycle)."""
    modules = {_modname(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target, _ in _imports(path, module_scope=False):
            if target in modules and target != name:
                graph[name].add(target)
    # A package importing its own submodules is how packages work; a submodule importing
    # its package's __init__ back is the cycle to catch, so keep both directions.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The import reader resolves relative imports (so the tests above can fail)."""
    found = dict(_imports(PKG / "data" / "loading.py", module_scope=False))
    assert any(t.startswith("ecg_cluster_widget.data") for t in found)
    assert _layer("ecg_cluster_widget.views.widget") == "views"
    assert ORDER.index("views") > ORDER.index("data")
