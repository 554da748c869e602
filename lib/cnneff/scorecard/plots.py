"""Forest plots of the trained comparisons, one per paper."""
from __future__ import annotations

import pandas as pd

from ..claims import load
from .kinds import KINDS

__all__ = ["forest_plot"]

COLOURS = {"reproduced": "tab:green", "not reproduced": "tab:red"}  # verdict -> colour (else grey)


def _words(claim: dict, width: int = 46) -> str:
    """A forest plot's label for ``claim``: its ``what`` up to the first
    parenthesis or semicolon, wrapped to ``width`` characters, at most three
    lines.  Returns the text."""
    import re
    import textwrap

    text = re.split(r" \(|; ", str(claim.get("what") or claim["id"]))[0]
    lines = textwrap.wrap(text, width)
    return "\n".join(lines[:3]) + (" ..." if len(lines) > 3 else "")


def forest_plot(card: pd.DataFrame, paper: str):
    """Forest plot of ``paper``'s trained comparisons (the kinds whose effect
    is a difference, superiority and non_inferiority, in their effect units):
    our effect with its 95 % interval (a dot alone where one seed gives no
    interval), the paper's effect as a cross, zero as a line, a
    non-inferiority claim's margin in orange; each row labelled by what the
    claim says (:func:`_words`) and its verdict, one panel per effect unit
    (points and rank correlations never share an axis).  Returns a matplotlib Figure,
    or None when the paper has no such claim."""
    import matplotlib.pyplot as plt

    differences = [k for k, spec in KINDS.items() if spec.effect == "difference"]
    rows = card[(card["paper"] == paper) & card["kind"].isin(differences) & card["effect"].notna()]
    if rows.empty:
        return None
    spec = {c["id"]: c for c in load()["claims"]}
    unit_of = lambda cid: spec[cid].get("effect_unit", "points")
    units = list(dict.fromkeys(unit_of(i) for i in rows["id"]))  # one panel per quantity, in the card's order
    sizes = [int((rows["id"].map(unit_of) == u).sum()) for u in units]
    fig, axes = plt.subplots(len(units), 1, figsize=(9, 0.62 * len(rows) + 1.1 * len(units) + 0.4),
                             gridspec_kw=dict(height_ratios=sizes), squeeze=False)
    for ax, unit in zip(axes[:, 0], units):
        part = rows[rows["id"].map(unit_of) == unit]
        for y, (_, r) in enumerate(part.iloc[::-1].iterrows()):
            colour = COLOURS.get(r["verdict"], "tab:gray")
            if r["ci_low"] is not None and r["ci_high"] is not None and not pd.isna(r["ci_low"]):
                ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=colour, lw=2)
            ax.plot([r["effect"]], [y], "o", color=colour)
            paper_effect = spec[r["id"]].get("paper_effect")
            if paper_effect is not None:
                ax.plot([paper_effect], [y], "x", color="black", ms=8)
            if r["kind"] == "non_inferiority":
                ax.plot([-float(spec[r["id"]]["margin"])] * 2, [y - 0.3, y + 0.3], color="tab:orange", lw=1.5)
        ax.axvline(0, color="0.5", lw=1)
        labels = [f"{_words(spec[i])}\n({v})" for i, v in zip(part["id"][::-1], part["verdict"][::-1])]
        ax.set_yticks(range(len(part)), labels, fontsize=8)
        ax.set_ylim(-0.6, len(part) - 0.4)
        ax.set_xlabel(f"effect ({unit}): ours with its 95 % interval; x the paper's; orange: margin", fontsize=9)
    axes[0, 0].set_title(f"Paper {paper}: trained comparisons")
    fig.tight_layout()
    plt.close(fig)
    return fig
