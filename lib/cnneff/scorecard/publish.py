"""What the scorecard page hands to the chapters: every number a chapter's
prose quotes (glued with ``myst_nb.glue``) and the forest plots it includes."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .plots import forest_plot
from .render import prose_values, summary_html
from .verdicts import counts

__all__ = ["glue_values", "publish"]


def glue_values(card: pd.DataFrame) -> dict[str, object]:
    """Every value the chapters glue, by name: ``n_claims``, ``n_<verdict>``
    (spaces as underscores), each claim's quoted numbers (:func:`prose_values`,
    strings) and the HTML lines of verdict counts (``summary_all``,
    ``summary_<paper>``, IPython HTML objects).  Returns a dict."""
    from IPython.display import HTML

    from ..claims import load

    out: dict[str, object] = {"n_claims": len(card)}
    out.update({"n_" + v.replace(" ", "_"): k for v, k in counts(card).items()})
    out.update(prose_values(card))
    out["summary_all"] = HTML(summary_html(card))
    for p in load()["papers"]:
        out[f"summary_{p}"] = HTML(summary_html(card, p))
    return out


def publish(card: pd.DataFrame, folder: Path) -> list[Path]:
    """Glue :func:`glue_values` for the chapters (``myst_nb.glue``, not
    displayed) and save each paper's forest plot as ``folder/forest_<paper>.png``
    (glued images do not cross pages; the chapters include the files).
    Returns the paths of the plots written."""
    from myst_nb import glue

    from ..claims import load

    for key, value in glue_values(card).items():
        glue(key, value, display=False)
    written = []
    for p in load()["papers"]:
        fig = forest_plot(card, p)
        if fig is not None:
            folder.mkdir(parents=True, exist_ok=True)
            fig.savefig(folder / f"forest_{p}.png", dpi=110, metadata={"Software": None})
            written.append(folder / f"forest_{p}.png")
    return written
