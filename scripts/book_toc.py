"""Write a table of contents that builds the book from another results folder.

    python scripts/book_toc.py results/cpu+epochs=10 > _build/_toc.run.yml
    jupyter-book build . -W --toc _build/_toc.run.yml

The book's own pages stay (the chapters link to them); a last part, "This
run", lists every executed notebook of the given folder (a ``cnneff run NAME
-p KEY VALUE`` run folder holds the re-run notebook and its scorecard).
Prints the new table of contents; exits 2 with one line if the folder holds
no executed notebook.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: book_toc.py RESULTS_FOLDER (e.g. results/cpu+epochs=10)", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder = folder if folder.is_absolute() else (Path.cwd() / folder)
    if not folder.resolve().is_relative_to(ROOT) or not any(folder.glob("*.ipynb")):
        print(f"book_toc.py: {argv[0]} holds no executed notebook inside this repository; "
              "pass a folder that `cnneff run NAME -p KEY VALUE` wrote, e.g. results/cpu+epochs=10", file=sys.stderr)
        return 2
    rel = folder.resolve().relative_to(ROOT).as_posix()
    lines = (ROOT / "_toc.yml").read_text().rstrip().splitlines()
    lines += [f"  - caption: \"This run: {rel}\"", "    chapters:"]
    lines += [f"      - file: {rel}/{p.stem}" for p in sorted(folder.glob("*.ipynb")) if not p.name.endswith(".failed.ipynb")]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
