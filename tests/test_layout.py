"""The library's import graph is one-directional (issue 13): no cycles among
module-level imports, and the bottom modules import nothing above them."""
import ast
from pathlib import Path

import cnneff

PKG = Path(cnneff.__file__).parent
BOTTOM = {"cnneff.core": set(), "cnneff.scaling": set(), "cnneff.paths": set(), "cnneff.config": {"cnneff.core"}}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PKG.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.parse(path.read_text()).body:  # module level only: lazy imports are allowed upwards
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if target == "cnneff" or not node.module:
                    deps |= {f"{target}.{a.name}" for a in node.names}
                else:
                    deps.add(target)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnneff"):
                deps.add(node.module)
        graph[name] = {d for d in deps if d != name}
    known = set(graph)
    return {k: {d for d in v if d in known} for k, v in graph.items()}


def test_no_import_cycles():
    graph = _graph()
    state = {}

    def visit(n, stack):
        state[n] = "open"
        for d in graph[n]:
            if state.get(d) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack + [n, d]))
            if d not in state:
                visit(d, stack + [n])
        state[n] = "done"

    for n in graph:
        if n not in state:
            visit(n, [])


def test_bottom_modules_import_nothing_above_them():
    graph = _graph()
    for name, allowed in BOTTOM.items():
        assert graph[name] <= allowed, (name, graph[name] - allowed)
    assert "cnneff.measure" not in graph["cnneff.counting"]  # counting needs no timing code
