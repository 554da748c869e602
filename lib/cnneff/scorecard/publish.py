"""What the scorecard page hands to the chapters: every number a chapter's
prose quotes (glued with ``myst_nb.glue``), the counts of verdicts by kind of
evidence at the top of the landing page and of each chapter, and the forest
plots the chapters include."""
from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pandas as pd

from .kinds import KINDS
from .plots import forest_plot
from .render import headline_html, prose_values, summary_html
from .verdicts import VERDICT_COLOURS, VERDICTS, counts

__all__ = ["EVIDENCE", "HEADLINES", "evidence_of", "evidence_counts", "evidence_html", "glue_values", "headline_ids",
           "parameter_values", "publish"]

EVIDENCE = ("static counts", "the paper's own arithmetic", "trained comparisons", "results on the paper's data",
            "timings and ratios")  # the kinds of evidence the counts are split by, in this order


HEADLINES = 6  # headline claims at the top of a chapter (the first it quotes); 2 per paper on the landing page
GLUED = re.compile(r"scorecard\.ipynb::([0-9]{3}-[\w.-]+?)__(?:verdict|ours|paper|effect|mde)")


def headline_ids(paper: str, book: Path | None = None) -> list[str]:
    """The headline claims of ``paper``: those its chapter
    (``book/paper_<paper>.md``) quotes in its prose, i.e. every claim whose
    numbers it glues from the scorecard (``<id>__<field>``), in the order it
    first quotes them.  So the tables at the top of the chapters, of the
    landing page and of the README say what the chapters say.  Returns a list
    of ids (empty when there is no chapter)."""
    from ..paths import ROOT

    page = (book or ROOT / "book") / f"paper_{paper}.md"
    if not page.is_file():
        return []
    return list(dict.fromkeys(GLUED.findall(page.read_text())))


def evidence_of(kind: str) -> str:
    """The kind of evidence a claim of ``kind`` rests on, read from its entry
    in :data:`~cnneff.scorecard.kinds.KINDS`: judged from the paper's numbers
    alone, "the paper's own arithmetic"; an effect that is a ratio, "timings
    and ratios"; other trained comparisons, "trained comparisons"; a number
    that depends on the data, "results on the paper's data"; else "static
    counts".  Returns one of :data:`EVIDENCE`; raises KeyError for an unknown
    kind."""
    spec = KINDS[kind]
    if not spec.measured:
        return EVIDENCE[1]
    if spec.effect == "ratio":
        return EVIDENCE[4]
    if spec.trained:
        return EVIDENCE[2]
    return EVIDENCE[3] if spec.on_data else EVIDENCE[0]


def evidence_counts(card: pd.DataFrame, paper: str | None = None) -> pd.DataFrame:
    """The papers' claims (``scope`` "paper"; of ``paper`` only, or all)
    counted by verdict and kind of evidence (:func:`evidence_of`).  Returns a
    DataFrame: one row per verdict present (in :data:`VERDICTS` order), one
    column per kind of evidence present (in :data:`EVIDENCE` order) and
    ``all``; integer counts."""
    sub = card if paper is None else card[card["paper"] == paper]
    if "scope" in sub:
        sub = sub[sub["scope"] == "paper"]
    table = pd.crosstab(sub["verdict"].rename("verdict"), sub["kind"].map(evidence_of).rename("evidence"))
    table = table.reindex(index=[v for v in VERDICTS if v in table.index],
                          columns=[e for e in EVIDENCE if e in table.columns], fill_value=0)
    table["all"] = table.sum(axis=1)
    return table.astype(int)


def evidence_html(card: pd.DataFrame, paper: str | None = None) -> str:
    """:func:`evidence_counts` as a small table for people: one row per
    verdict on its colour, one column per kind of evidence, a dash for none,
    a last row of totals.  Returns HTML (a sentence where there is no claim)."""
    table = evidence_counts(card, paper)
    if table.empty:
        return "<p>No claim.</p>"
    style = "text-align:left;vertical-align:top;white-space:normal;padding:2px 6px"
    head = "".join(f'<th style="{style}">{html.escape(c)}</th>' for c in ["verdict", *table.columns])
    body = []
    for verdict, row in table.iterrows():
        chip = (f'<span class="cnneff-chip" style="background:{VERDICT_COLOURS[verdict]};padding:1px 6px;'
                f'border-radius:3px">{verdict}</span>')
        body.append(f'<tr><td style="{style}">{chip}</td>'
                    + "".join(f'<td style="{style}">{n if n else chr(0x2013)}</td>' for n in row) + "</tr>")
    totals = "".join(f'<td style="{style}"><strong>{n}</strong></td>' for n in table.sum(axis=0))
    body.append(f'<tr><td style="{style}"><strong>all</strong></td>{totals}</tr>')
    share = 100 / (len(table.columns) + 2)  # the verdict column twice as wide as a count
    cols = f'<col style="width:{2 * share:.1f}%">' + f'<col style="width:{share:.1f}%">' * len(table.columns)
    return (f'<table class="cnneff-counts" style="width:100%;table-layout:fixed;border-collapse:collapse">'
            f"<colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def glue_values(card: pd.DataFrame) -> dict[str, object]:
    """Every value the chapters glue, by name: ``n_claims`` and ``n_<verdict>``
    (spaces as underscores; the papers' claims), ``n_own_questions`` (the
    book's own, counted apart), each claim's quoted numbers (:func:`prose_values`,
    strings), the counts of verdicts at the top of the landing page and of
    each chapter (``summary_all``, ``summary_<paper>``: the line of coloured
    counts, the table of headline claims, :func:`headline_ids`, and
    :func:`evidence_html` below it), the headline tables alone
    (``headline_all``, ``headline_<paper>``) and the split by kind of
    evidence alone (``evidence_all``, ``evidence_<paper>``), IPython HTML
    objects.  Returns a dict."""
    from IPython.display import HTML

    from ..claims import load

    n = counts(card)  # the papers' claims; the book's own questions are counted apart
    out: dict[str, object] = {"n_claims": sum(n.values()), "n_own_questions": len(card) - sum(n.values())}
    out.update({"n_" + v.replace(" ", "_"): k for v, k in n.items()})
    out.update(prose_values(card))
    theirs = card[card["scope"] == "paper"] if "scope" in card else card
    heads = {p: headline_ids(p) for p in load()["papers"]}
    heads["all"] = [i for ids in heads.values() for i in ids[:2]]
    for key, paper in [("all", None)] + [(p, p) for p in load()["papers"]]:
        split = evidence_html(card, paper)
        top = headline_html(theirs, heads[key][:HEADLINES] if paper else heads[key])
        lead = ("<p><strong>Headline claims</strong> (those the chapter" + ("s quote first" if paper is None else
                " quotes") + "; every claim is on the scorecard):</p>" + top) if top else ""
        out[f"summary_{key}"] = HTML(summary_html(card, paper) + lead + split)
        out[f"evidence_{key}"] = HTML(split)
        out[f"headline_{key}"] = HTML(top)
    return out


def _setting_text(value) -> str:
    """A parameter's value as a chapter quotes it: lists joined by commas,
    thousands with separators, ``None`` as "all", a preset spec by its fields."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "all"
    if isinstance(value, (list, tuple)):
        return ", ".join(_setting_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_setting_text(v)}" for k, v in value.items())
    return str(value)


def parameter_values(profile: str, notebooks) -> dict[str, str]:
    """Every parameter each of ``notebooks`` ran with in ``profile`` (the
    ``parameters`` its ``metrics.json`` records), keyed
    ``"param__<notebook>__<name>"``, plus ``"param__<notebook>__n_seeds"``
    where it has ``seeds`` and, for a training spec (``{"preset": ...}``),
    each resolved :class:`~cnneff.train.TrainConfig` field as
    ``"param__<notebook>__<name>__<field>"``: so a chapter quotes the settings of the run it
    describes instead of typing them.  A notebook not run yet is skipped.
    Returns a dict of strings (:func:`_setting_text`)."""
    from ..results import load_metrics
    from ..train import TrainConfig

    out = {}
    for nb in notebooks:
        try:
            params = load_metrics(nb, profile).get("parameters", {})
        except FileNotFoundError:
            continue
        for name, value in params.items():
            out[f"param__{nb}__{name}"] = _setting_text(value)
            if isinstance(value, dict) and "preset" in value:  # a training spec: every resolved setting too
                try:
                    resolved = TrainConfig.from_spec(value)
                except Exception:  # noqa: BLE001 - an old run's spec the library no longer reads: quote it as is
                    continue
                for field, v in dataclasses.asdict(resolved).items():
                    out[f"param__{nb}__{name}__{field}"] = _setting_text(v)
        if isinstance(params.get("seeds"), (list, tuple)):
            out[f"param__{nb}__n_seeds"] = str(len(params["seeds"]))
    return out


def publish(card: pd.DataFrame, folder: Path, profile: str | None = None) -> list[Path]:
    """Glue :func:`glue_values` (and, with ``profile``, the notebooks'
    settings, :func:`parameter_values`) for the chapters (``myst_nb.glue``, not
    displayed) and save each paper's forest plot as ``folder/forest_<paper>.png``
    (glued images do not cross pages; the chapters include the files).
    Returns the paths of the plots written."""
    from myst_nb import glue

    from ..claims import load

    values = glue_values(card)
    if profile is not None:
        values.update(parameter_values(profile, sorted(card["notebook"].dropna().unique())))
    for key, value in values.items():
        glue(key, value, display=False)
    written = []
    for p in load()["papers"]:
        fig = forest_plot(card, p)
        if fig is not None:
            folder.mkdir(parents=True, exist_ok=True)
            fig.savefig(folder / f"forest_{p}.png", dpi=110, bbox_inches="tight", metadata={"Software": None})
            written.append(folder / f"forest_{p}.png")
    return written
