"""The library's import graph is one-directional (issue 13): no cycles among
module-level imports, and the bottom modules import nothing above them."""
import ast
from pathlib import Path

import cnneff

PKG = Path(cnneff.__file__).parent
BOTTOM = {"cnneff.core": set(), "cnneff.scaling": set(), "cnneff.paths": set(), "cnneff.train.config": {"cnneff.core"}}


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


def test_the_package_map_in_the_book_matches_the_imports():
    """book/package_map.png is drawn from book/package_map.json; both must show today's imports
    (scripts/package_map.py redraws them)."""
    import json

    from helpers.scripts import load_script

    pm = load_script("package_map")
    stored = json.loads((PKG.parents[1] / "book" / "package_map.json").read_text())
    assert pm.package_map() == stored, "the package map is out of date: run python scripts/package_map.py"
    assert (PKG.parents[1] / "book" / "package_map.png").is_file()
    assert set(stored["boxes"]) <= set(pm.WHAT), "every box needs its one-line description in WHAT"


def test_the_package_map_does_not_depend_on_the_hash_seed():
    """Two interpreters with different PYTHONHASHSEED draw the same floors (CI once failed on a map
    whose floors came from walking a set around the plan <-> scorecard cycle)."""
    import os
    import subprocess
    import sys

    tests = PKG.parents[1] / "tests"
    code = ("import json, sys; sys.path.insert(0, %r); from helpers.scripts import load_script; "
            "print(json.dumps(load_script('package_map').package_map()))" % str(tests))
    maps = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "4", "5", "11")}
    assert len(maps) == 1, "the package map changes with PYTHONHASHSEED"


def test_library_files_and_functions_stay_small():
    """One idea per file: no library file over 450 lines, no function over 60 (issue 24)."""
    long_files = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py")
                  if (n := len(p.read_text().splitlines())) > 450}
    assert not long_files, long_files
    long_functions = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long_functions.append(f"{path.relative_to(PKG)}:{node.name} ({n} lines)")
    assert not long_functions, long_functions
