"""Draw the library's package map from its imports: one box per concern
(a package of ``lib/cnneff/`` or a top-level module), an arrow A -> B when a
module of A imports one of B at module level, floors from the bottom (a box
stands above everything it imports).

    python scripts/package_map.py          # writes book/package_map.png and book/package_map.json

``tests/test_layout.py`` recomputes the map and fails when the JSON beside the
figure (what the picture shows) no longer matches the code: run this script
again after changing what imports what.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "cnneff"
OUT_PNG, OUT_JSON = ROOT / "book" / "package_map.png", ROOT / "book" / "package_map.json"

WHAT = {  # one line per concern, shown in the box
    "core": "precision, threads, devices, atomic writes", "paths": "where things live",
    "scaling": "compound-scaling constants", "stats": "intervals, MDE, bootstrap", "tables": "tables for people",
    "plots": "labels that do not collide", "claims": "the papers' values (claims.yaml)",
    "counting": "exact params and MACs", "measure": "latency, throughput", "data": "data sets as uint8 splits",
    "models": "the model registry", "train": "TrainConfig, presets, fit", "compress": "pruning, slimming, fp16, int8",
    "evaluation": "one results-table row", "transfer": "freezing, fine-tuning", "experiments": "notebook protocols",
    "search": "TinyNet's Rubik's cube", "scorecard": "the rulebook", "results": "metrics.json",
    "session": "a notebook's start and save", "runner": "papermill per profile", "cli": "the cnneff command",
    "rehearsal": "a small DATA_ROOT in published layouts", "imagenet": "published weights on ImageNet val",
    "plan": "GPU-minutes before a run", "plan_jobs": "each notebook's jobs for the plan",
}


def module_graph(lazy: bool = False) -> dict[str, set[str]]:
    """Imports between the modules of ``cnneff``: ``{module: {modules it
    imports}}`` (dotted names): at module level only, or with ``lazy`` also
    the imports inside functions (the command line imports most of the
    library that way)."""
    graph = {}
    for path in PKG.rglob("*.py"):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        tree = ast.parse(path.read_text())
        for node in (ast.walk(tree) if lazy else tree.body):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps |= {f"{target}.{a.name}" for a in node.names} if target == "cnneff" or not node.module else {target}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnneff"):
                deps.add(node.module)
        graph[name] = {d for d in deps if d != name}
    known = set(graph)
    return {k: {d for d in v if d in known} for k, v in graph.items()}


def concern_of(module: str) -> str:
    """The box a module belongs to: its package under cnneff, or the module itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cnneff"


def _box_arrows(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(concern_of(m), concern_of(d)) for m, deps in graph.items() for d in deps
            if concern_of(m) != concern_of(d) and "cnneff" not in (concern_of(m), concern_of(d))}


def package_map() -> dict:
    """The map as data: ``boxes`` (name -> floor, 1 = ground, from every
    import, lazy ones included), ``arrows`` (sorted [from, to] pairs of
    module-level imports between different boxes) and ``lazy_arrows`` (the
    pairs only an import inside a function makes).  Returns a dict."""
    arrows = _box_arrows(module_graph())
    lazy = _box_arrows(module_graph(lazy=True)) - arrows
    every = arrows | lazy
    boxes = sorted({concern_of(m) for m in module_graph()} - {"cnneff"})
    return dict(boxes=floors(boxes, every), arrows=sorted(map(list, arrows)), lazy_arrows=sorted(map(list, lazy)))


def floors(boxes: list[str], arrows: set[tuple[str, str]]) -> dict[str, int]:
    """Each box's floor (1 = ground): one above the highest box it imports.  Boxes
    that import each other (a cycle, through imports inside functions) share a
    floor, so the answer does not depend on the order a set is walked in (the
    map once changed with PYTHONHASHSEED).  Returns ``{box: floor}``."""
    below = {b: {y for x, y in arrows if x == b} for b in boxes}
    reach = {b: set(below[b]) for b in boxes}
    changed = True
    while changed:  # transitive closure; the map has a few dozen boxes
        changed = False
        for b in boxes:
            more = set().union(*(reach[c] for c in reach[b])) - reach[b]
            if more:
                reach[b] |= more
                changed = True
    group = {b: frozenset(c for c in boxes if c == b or (c in reach[b] and b in reach[c])) for b in boxes}
    floor: dict[frozenset, int] = {}

    def floor_of(g: frozenset) -> int:
        if g not in floor:
            under = {group[c] for b in g for c in below[b]} - {g}
            floor[g] = 1 + max(map(floor_of, under), default=0)
        return floor[g]

    return {b: floor_of(group[b]) for b in boxes}


def draw(data: dict, path: Path) -> None:
    """The map as a picture: floors as rows (ground at the bottom), arrows from importer to imported."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floors: dict[int, list[str]] = {}
    for box, f in sorted(data["boxes"].items(), key=lambda kv: (kv[1], kv[0])):
        floors.setdefault(f, []).append(box)
    width = max(len(v) for v in floors.values())
    pos = {b: ((i + 0.5) * width / len(names), f) for f, names in floors.items() for i, b in enumerate(names)}
    fig, ax = plt.subplots(figsize=(2.1 * width, 1.25 * len(floors) + 0.8))
    for key, style in (("arrows", "-"), ("lazy_arrows", ":")):
        for a, b in data[key]:
            (x0, y0), (x1, y1) = pos[a], pos[b]
            ax.annotate("", (x1, y1 + 0.22), (x0, y0 - 0.22), arrowprops=dict(
                arrowstyle="->", color="0.6", lw=0.7, linestyle=style, shrinkA=2, shrinkB=2))
    for b, (x, y) in pos.items():
        ax.text(x, y, f"{b}\n{WHAT.get(b, '')}", ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.35", fc="#eef4fb" if y > 1 else "#f4f4f4", ec="#5b7fa6"))
    ax.set(xlim=(-0.2, width + 0.2), ylim=(0.4, len(floors) + 0.6))
    ax.axis("off")
    ax.set_title("cnneff: one box per concern, arrows from importer to imported (dotted: imported inside a "
                 "function); ground floor at the bottom", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def main() -> int:
    data = package_map()
    OUT_JSON.write_text(json.dumps(data, indent=1) + "\n")
    draw(data, OUT_PNG)
    print(f"wrote {OUT_PNG.relative_to(ROOT)} and {OUT_JSON.relative_to(ROOT)}: {len(data['boxes'])} boxes, "
          f"{len(data['arrows'])} + {len(data['lazy_arrows'])} lazy arrows, {max(data['boxes'].values())} floors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
