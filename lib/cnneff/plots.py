"""Figures for people: labels that do not collide.

:func:`label_points` writes one label beside each point of a scatter plot and
lets adjustText (a maintained library) move them until no two labels, and no
label and marker, overlap, drawing a thin line back to the point where a label
had to move away."""
from __future__ import annotations

from typing import Sequence

__all__ = ["label_points"]


def label_points(ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], *, fontsize: float = 8,
                 color=None, **text_kw) -> list:
    """Label each point ``(xs[i], ys[i])`` of ``ax`` with ``labels[i]`` and
    move the labels apart (``adjustText.adjust_text``: no label overlaps
    another label or a point; all stay inside the axes).  Returns the list
    of matplotlib ``Text`` objects."""
    from adjustText import adjust_text

    texts = [ax.text(x, y, str(label), fontsize=fontsize, color=color, **text_kw)
             for x, y, label in zip(xs, ys, labels)]
    if texts:
        adjust_text(texts, x=list(xs), y=list(ys), ax=ax, ensure_inside_axes=True, expand=(1.15, 1.3),
                    arrowprops=dict(arrowstyle="-", color="0.55", lw=0.5))
    return texts
