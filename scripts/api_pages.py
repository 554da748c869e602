#!/usr/bin/env python3
"""Write the API reference pages, book/api/<name>.md: one page per top-level
module or package of cnneff (:data:`ORDER`), each an ``automodule`` of the
package's own docstring and one section per module inside it, so that Sphinx
autodoc renders every public module's functions and classes, with their
signatures, from the docstrings.

    python scripts/api_pages.py           # (re)write book/api/*.md
    python scripts/api_pages.py --check   # exit 1 if a page is missing or out of date

``tests/test_book.py`` runs the check: a module added to the library without
its page fails there.  The pages are listed under ``book/api`` in _toc.yml.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "cnneff"
OUT = ROOT / "book" / "api"
ORDER = ("core", "scaling", "paths", "session", "tables", "plots", "models", "counting", "data", "train",
         "compress", "experiments", "evaluation", "measure", "search", "transfer", "imagenet", "claims",
         "scorecard", "stats", "results", "runner", "plan", "plan_jobs", "rehearsal", "cli")  # the reading order


def names() -> list[str]:
    """The top-level modules and packages of cnneff (no private ones), in
    :data:`ORDER` first, any new one after.  Returns their short names."""
    found = sorted(p.stem if p.is_file() else p.name for p in PKG.iterdir()
                   if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file()))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def page(name: str) -> str:
    """The MyST source of the page of ``cnneff.<name>``.  Returns the text."""
    mod = f"cnneff.{name}"
    lines = [f"# `{mod}`", ""]
    if (PKG / name).is_dir():
        subs = sorted(p.stem for p in (PKG / name).glob("*.py") if not p.stem.startswith("_"))
        lines += ["```{eval-rst}", f".. automodule:: {mod}", "   :no-members:", "```", ""]
        for sub in subs:
            lines += [f"## `{mod}.{sub}`", "", "```{eval-rst}", f".. automodule:: {mod}.{sub}", "```", ""]
    else:
        lines += ["```{eval-rst}", f".. automodule:: {mod}", "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    stale = [n for n in names() if not (OUT / f"{n}.md").is_file() or (OUT / f"{n}.md").read_text() != page(n)]
    extra = sorted(p.stem for p in OUT.glob("*.md") if p.stem not in names()) if OUT.is_dir() else []
    if check:
        if stale or extra:
            print(f"api_pages.py: out of date: {', '.join(stale + extra)}; run python scripts/api_pages.py "
                  "(and list new pages under book/api in _toc.yml)", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for n in stale:
        (OUT / f"{n}.md").write_text(page(n))
    for n in extra:
        (OUT / f"{n}.md").unlink()
    print(f"book/api: {len(stale)} written, {len(extra)} removed, {len(names())} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
