#!/usr/bin/env python3
"""Write the README's results section, the front page's tables, from the scorecard.

    python scripts/readme_results.py                  # results/cpu/ (the book's run)
    python scripts/readme_results.py --profile smoke  # another profile or run folder
    python scripts/readme_results.py --check          # exit 1 if README.md is not what the scorecard says

Between the two marker comments of README.md (:data:`BEGIN`, :data:`END`) it
writes one line of verdict counts and one table per paper of its headline
claims: the claim, the paper's number, ours (with its 95 % interval where it
has one, marked *proxy* where measured on a stand-in), the verdict, and the
command that reproduces the row.

The headline claims (:func:`cnneff.scorecard.publish.headline_ids`) follow one rule: those the paper's
chapter quotes in its prose, i.e. every claim whose numbers
``book/paper_<paper>.md`` glues from the scorecard (``<id>__<field>``), in the
order the chapter first quotes them; the book's own questions are left out.
So the README says what the chapters say, and changes when they do.
``tests/test_readme.py`` checks the README against ``cnneff claims --json``.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN = "<!-- results: written by scripts/readme_results.py from the scorecard; do not edit by hand -->"
END = "<!-- results: end -->"


def _number(v, unit: str = "", typed: bool = False, other=None) -> str:
    """A number of a row as the README prints it (:func:`cnneff.scorecard.human`,
    then the unit); a dash for nothing.  Returns a string."""
    from cnneff.scorecard import human

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "\u2013"
    text = human(v, other, unit, typed=typed) if not isinstance(v, str) else v
    return f"{text} {unit}".strip() if not isinstance(v, str) else text


def _ours(row: dict) -> str:
    """Our number of ``row``, its 95 % interval where it has one, and
    "*proxy*" where it was measured on a stand-in.  Returns Markdown."""
    unit = str(row.get("unit") or "")
    text = _number(row.get("ours"), unit, other=row.get("paper_value"))
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo != hi \
            and not any(math.isnan(x) for x in (lo, hi)):
        text += f" [{_number(lo, '', other=hi)}, {_number(hi, '', other=lo)}]"
    return text + (" *proxy*" if row.get("proxy") and row.get("ours") is not None else "")


def command(row: dict) -> str:
    """The command that reproduces ``row``: the paper-scale run where the
    claim needs it, ``cnneff claims`` for the paper's own arithmetic (judged
    from its numbers alone), else ``cnneff run NOTEBOOK`` (the run that
    measured ours).  Returns the command."""
    if row["verdict"] == "needs the full run":
        return row["command"]
    if row["kind"] == "paper_inconsistent":
        return "cnneff claims"
    return f"cnneff run {row['notebook']}"


def _cell(text: str) -> str:
    """``text`` safe in a Markdown table cell.  Returns it."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def section(rows: list[dict], papers: dict[str, str], profile: str = "cpu", book: Path = ROOT / "book") -> str:
    """The README's results section from the scorecard ``rows`` (the shape of
    ``cnneff claims --json``): the counts of verdicts of the papers' claims,
    then per paper a table of its headline claims.  Returns Markdown,
    the markers included."""
    from collections import Counter

    from cnneff.scorecard import VERDICTS
    from cnneff.scorecard.publish import headline_ids

    theirs = [r for r in rows if r.get("scope", "paper") == "paper"]
    n = Counter(r["verdict"] for r in theirs)
    line = ", ".join(f"{n[v]} {v}" for v in VERDICTS if n[v])
    out = [BEGIN, "", f"What the `{profile}` run found (`cnneff claims --profile {profile}`; every claim with its "
           f"reason is on the book's scorecard page): of the papers' {len(theirs)} claims, {line}.", ""]
    by_id = {r["id"]: r for r in theirs}
    for paper, title in papers.items():
        ids = [i for i in headline_ids(paper, book) if i in by_id]
        if not ids:
            continue
        out += [f"**Paper {paper}: {title}** (the claims [its chapter](book/paper_{paper}.md) quotes)", "",
                "| claim | the paper | ours | verdict | reproduce with |", "| --- | --- | --- | --- | --- |"]
        for cid in ids:
            r = by_id[cid]
            unit = str(r.get("unit") or "")
            out.append(f"| `{cid}`: {_cell(r['what'])} | {_cell(_number(r.get('paper_value'), unit, True, r.get('ours')))}"
                       f" | {_cell(_ours(r))} | {r['verdict']} | `{_cell(command(r))}` |")
        out.append("")
    return "\n".join(out + [END])


def replace(text: str, new: str) -> str:
    """``text`` (the README) with the part between the markers, the markers
    included, replaced by ``new``; without markers, ``new`` goes before the
    first ``## `` heading.  Returns the new text."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + new + rest.split(END, 1)[1]
    i = text.find("\n## ")
    i = len(text) if i < 0 else i + 1
    return text[:i] + new + "\n\n" + text[i:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="cpu", help="the results folder to read (default: cpu)")
    ap.add_argument("--check", action="store_true", help="only check README.md; exit 1 when it is out of date")
    args = ap.parse_args(argv)
    from cnneff.claims import load
    from cnneff.scorecard import rows

    new = replace(README.read_text(), section(rows(args.profile), load()["papers"], args.profile))
    if args.check:
        if new != README.read_text():
            print("readme_results.py: README.md's results differ from the scorecard; run "
                  f"python scripts/readme_results.py --profile {args.profile}", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    print(f"README.md: results of the {args.profile} profile written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
