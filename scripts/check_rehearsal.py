"""The rehearsal's promise, checked: after `make rehearsal` no claim of the
rehearsal profile "needs the full run" and none is "not run" (every claim got
a verdict from the metric the full run writes; their numbers mean nothing).

    python scripts/check_rehearsal.py [RESULTS_DIR]

Prints the counts per verdict; exits 1 naming every claim that breaks the
promise, 0 otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from cnneff.scorecard import counts, scorecard

    root = Path(argv[0]) if argv else None
    card = scorecard("rehearsal", root=root)
    n = counts(card, None)
    print("rehearsal: " + ", ".join(f"{v} {k}" for v, k in n.items() if k))
    bad = card[card["verdict"].isin(["needs the full run", "not run"])]
    for _, r in bad.iterrows():
        print(f"  {r['id']}: {r['verdict']}: {r['reason'][:160]}", file=sys.stderr)
    if len(bad):
        print(f"{len(bad)} claim(s) of the rehearsal still need the full run or did not run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
