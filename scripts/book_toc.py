"""Write a table of contents that builds the book from another results folder.

    python scripts/book_toc.py results/cpu+epochs=10-1a2b3c4d > _build/_toc.run.yml
    jupyter-book build . -W --toc _build/_toc.run.yml

The book's own pages stay (the chapters link to them); a last part, "This
run", lists every executed notebook of the given folder (a ``cnneff run NAME
-p KEY VALUE`` run folder holds the re-run notebook and its scorecard), each
titled with its own heading and the run's true profile, read from the
folder's ``run.json`` ("Scorecard (run cpu, epochs=10)"), so that no two
entries of the navigation read the same.

Prints the new table of contents.  Warns on stderr (and still prints) when
the measurements the run's pages show come from more than one machine: the
folder's own metrics and, for the notebooks it does not hold, those of its
base profile, which its scorecard reads.  Exits 2 with one line if the folder
holds no executed notebook or is the book's own folder.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HASH = re.compile(r"-[0-9a-f]{8}$")  # the digest cnneff.runner.params.run_folder appends


def run_profile(folder: Path) -> str:
    """The run's true profile as people read it: ``run.json``'s profile and
    its ``-p`` values ("cpu, epochs=10, seeds=[0, 1]"), else the folder's name
    without its digest.  Returns a string."""
    record = folder / "run.json"
    try:
        run = json.loads(record.read_text())
        values = ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                           for k, v in sorted((run.get("parameters") or {}).items()))
        return f"{run['profile']}, {values}" if values else str(run["profile"])
    except (OSError, ValueError, KeyError, TypeError):
        return HASH.sub("", folder.name).replace("+", ", ", 1)


def page_title(notebook: Path) -> str:
    """The heading of an executed notebook (its first ``# `` line, up to a
    colon), else its file name.  Returns a string."""
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        cells = []
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].split(":")[0].strip()
    return notebook.stem.replace("_", " ")


def machines(folder: Path) -> dict[str, list[str]]:
    """Which notebooks' measurements come from which machine (CPU model,
    cores, GPU) among the run's pages: the folder's own metrics, and the base
    profile's for the notebooks the run does not hold.  Returns a dict
    machine -> notebook names."""
    base = ROOT / "results" / folder.name.split("+", 1)[0]
    own = {p.parent.name: p for p in folder.glob("*/metrics.json")}
    fallback = {p.parent.name: p for p in base.glob("*/metrics.json") if p.parent.name not in own}
    found: dict[str, list[str]] = {}
    for name, path in sorted({**fallback, **own}.items()):
        try:
            hw = json.loads(path.read_text()).get("hardware") or {}
        except (OSError, ValueError):
            continue
        machine = f"{hw.get('cpu') or 'unknown CPU'}, {hw.get('cpu_count') or '?'} cores, " \
                  f"{hw.get('gpu') or 'no GPU'}"
        found.setdefault(machine, []).append(name + ("" if name in own else f" ({base.name})"))
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: book_toc.py RESULTS_FOLDER (e.g. results/cpu+epochs=10-1a2b3c4d)", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder = (folder if folder.is_absolute() else (Path.cwd() / folder)).resolve()
    if not folder.is_relative_to(ROOT) or not any(folder.glob("*.ipynb")):
        print(f"book_toc.py: {argv[0]} holds no executed notebook inside this repository; "
              "pass a folder that `cnneff run NAME -p KEY VALUE` wrote, e.g. results/cpu+epochs=10-1a2b3c4d",
              file=sys.stderr)
        return 2
    rel = folder.relative_to(ROOT).as_posix()
    lines = (ROOT / "_toc.yml").read_text().rstrip().splitlines()
    if any(re.match(rf"\s*- file: {re.escape(rel)}/", line) for line in lines):
        print(f"book_toc.py: {rel} is the book's own results folder; `make book` builds it without RESULTS=",
              file=sys.stderr)
        return 2
    profile = run_profile(folder)
    found = machines(folder)
    if len(found) > 1:
        print(f"book_toc.py: warning: the pages of {rel} show measurements from {len(found)} machines, so their "
              "timings are not comparable: " + "; ".join(f"{m}: {', '.join(n)}" for m, n in found.items()),
              file=sys.stderr)
    pages = [p for p in sorted(folder.glob("*.ipynb"))  # not a failed copy, nor a hidden file of a run in progress
             if not p.name.endswith(".failed.ipynb") and not p.name.startswith(".")]
    lines += [f"  - caption: {json.dumps(f'This run: {profile}')}", "    chapters:"]
    for p in pages:
        lines += [f"      - file: {rel}/{p.stem}", f"        title: {json.dumps(f'{page_title(p)} (run {profile})')}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
