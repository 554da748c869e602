"""Forest plots of the trained comparisons, one per paper."""
from __future__ import annotations

import pandas as pd

from ..claims import load
from .kinds import KINDS

__all__ = ["forest_plot"]

COLOURS = {"reproduced": "tab:green", "not reproduced": "tab:red"}  # verdict -> colour (else grey)


def forest_plot(card: pd.DataFrame, paper: str):
    """Forest plot of ``paper``'s trained comparisons (the kinds whose effect
    is a difference, superiority and non_inferiority, in their effect units):
    our effect with its 95 % interval (a dot alone where one seed gives no
    interval), the paper's effect as a cross, zero as a line, a
    non-inferiority claim's margin in orange.  Returns a matplotlib Figure,
    or None when the paper has no such claim."""
    import matplotlib.pyplot as plt

    differences = [k for k, spec in KINDS.items() if spec.effect == "difference"]
    rows = card[(card["paper"] == paper) & card["kind"].isin(differences) & card["effect"].notna()]
    if rows.empty:
        return None
    spec = {c["id"]: c for c in load()["claims"]}
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.2))
    for y, (_, r) in enumerate(rows.iloc[::-1].iterrows()):
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
    ax.set_yticks(range(len(rows)), [f"{i}\n({v})" for i, v in zip(rows["id"][::-1], rows["verdict"][::-1])],
                  fontsize=8)
    units = sorted({spec[i].get("effect_unit", "points") for i in rows["id"]})
    ax.set(xlabel=f"effect ({', '.join(units)}): ours with its 95 % interval; x the paper's; orange: margin",
           title=f"Paper {paper}: trained comparisons")
    fig.tight_layout()
    plt.close(fig)
    return fig
