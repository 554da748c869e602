"""The scorecard for people: numbers by :func:`human`, the HTML table, the
line of counts, the numbers the chapters quote, a notebook's own rows."""
from __future__ import annotations

import html
import math

import pandas as pd

from .card import scorecard
from .kinds import KINDS
from .reasons import number
from .verdicts import VERDICT_COLOURS, counts

__all__ = ["human", "to_html", "summary_html", "prose_values", "show"]

HEADS = {"id": "claim", "what": "what the paper says", "paper_value": "paper", "ours": "ours",
         "verdict": "verdict", "reason": "why", "command": "full run"}  # column -> its heading


def human(v, other=None, unit: str = "") -> str:
    """``v`` for people: integers with thousands separators, large numbers in
    M or G with enough significant digits to tell ``v`` from ``other`` (the
    value it is compared with), no scientific notation, a dash for nothing.
    Returns a string."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "\u2013"
    if isinstance(v, bool) or isinstance(v, str):
        return str(v)
    x = float(v)
    if "%" in unit or "points" in unit or "accuracy" in unit or abs(x) < 1000:
        for digits in range(3, 8):
            text = f"{x:.{digits}g}"
            if other is None or not isinstance(other, (int, float)) or text != f"{float(other):.{digits}g}" \
                    or float(other) == x:
                break
        return text if "e" not in text else f"{x:,.6f}".rstrip("0").rstrip(".")
    if float(x).is_integer() and abs(x) < 1e13:  # counts: every digit, so an exact comparison shows
        return f"{int(x):,}"
    scale, suffix = (1e9, " G") if abs(x) >= 1e9 else (1e6, " M") if abs(x) >= 1e6 else (1e3, " k")
    for digits in range(1, 7):
        text = f"{x / scale:,.{digits}f}{suffix}"
        if other is None or not isinstance(other, (int, float)) or float(other) == x \
                or text != f"{float(other) / scale:,.{digits}f}{suffix}":
            return text
    return f"{int(x):,}"


def _cell(r: pd.Series, c: str) -> str:
    """The content of column ``c`` of scorecard row ``r`` in the HTML table:
    the id as an anchor, numbers by :func:`human` with "(proxy)" and the
    unit, the verdict on its colour, the command as code, else the escaped
    text.  Returns HTML."""
    if c == "id":
        return f'<a id="claim-{html.escape(r["id"])}"></a><code>{html.escape(r["id"])}</code>'
    if c in ("paper_value", "ours"):
        other = r["ours"] if c == "paper_value" else r["paper_value"]
        cell = html.escape(human(r[c], other, str(r.get("unit") or "")))
        if c == "ours" and r.get("proxy") and r[c] is not None:
            cell += " <em>(proxy)</em>"
        unit = str(r.get("unit") or "")
        if unit and r[c] is not None and not isinstance(r[c], str):
            cell += f' <span style="color:#666">{html.escape(unit)}</span>'
        return cell
    if c == "verdict":
        colour = VERDICT_COLOURS.get(r["verdict"], "#fff")
        return f'<span style="background:{colour};padding:1px 6px;border-radius:3px;white-space:nowrap">' \
               f'{html.escape(r["verdict"])}</span>'
    if c == "command":
        return f"<code style='white-space:pre-wrap;word-break:break-all'>{html.escape(str(r[c]))}</code>"
    return html.escape(str(r[c]))


def to_html(card: pd.DataFrame, columns=("id", "what", "paper_value", "ours", "verdict", "reason")) -> str:
    """The scorecard rows as an HTML table for people: full claim text
    (wrapped), numbers by :func:`human`, ours marked "(proxy)" where it was
    measured on a stand-in, one colour per verdict, and each claim id an
    anchor (``#claim-<id>``) that the chapters link to.  Returns the HTML."""
    out = ['<table class="cnneff-scorecard" style="width:100%;table-layout:auto;border-collapse:collapse">',
           "<thead><tr>" + "".join(f'<th style="text-align:left">{HEADS.get(c, c)}</th>' for c in columns)
           + "</tr></thead><tbody>"]
    for _, r in card.iterrows():
        cells = [f'<td style="text-align:left;vertical-align:top;white-space:normal">{_cell(r, c)}</td>'
                 for c in columns]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _finite(x) -> bool:
    """Whether ``x`` is a finite number.  Returns a bool."""
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _effect_text(r: pd.Series, unit: str) -> str:
    """The effect of scorecard row ``r`` as the prose quotes it: a ratio
    "x1.62 [1.55, 1.70]" for kinds whose effect is a ratio, else "+3.1 points
    [0.4, 5.8]"; the interval only where there is one, a dash where there is
    no effect.  Returns a string."""
    eff, lo, hi = r.get("effect"), r.get("ci_low"), r.get("ci_high")
    kind = KINDS.get(r["kind"])
    if kind is not None and kind.effect == "ratio" and _finite(eff):
        return f"x{number(eff)}" + (f" [{number(lo)}, {number(hi)}]" if _finite(lo) and _finite(hi) else "")
    if _finite(eff):
        return f"{eff:+.1f} {unit}".rstrip() + (f" [{lo:+.1f}, {hi:+.1f}]" if _finite(lo) and _finite(hi) else "")
    return "\u2013"


def _gate_values(r: pd.Series) -> dict[str, str]:
    """The gates of scorecard row ``r`` as the prose quotes them, keyed
    ``"gate__<name>"``: value (and 95 % lower end) against the threshold,
    passed or failed.  Returns a dict of strings (gates without a value
    left out)."""
    out = {}
    for g in r.get("gates") or []:
        if _finite(g.get("value")):
            low = f", 95 % lower end {number(g['ci_low'])}" if _finite(g.get("ci_low")) else ""
            out[f"gate__{g['name']}"] = (f"{number(g['value'])}{low} against {number(g.get('threshold'))}: "
                                         f"{'passed' if g.get('passed') else 'failed'}")
    return out


def prose_values(card: pd.DataFrame) -> dict[str, str]:
    """Every claim's numbers as the chapters quote them, keyed
    ``"<id>__<field>"``: ``verdict``; ``ours`` and ``paper`` (by :func:`human`,
    with the claim's unit); ``effect`` (mean and 95 % interval, e.g. "+3.1
    points [0.4, 5.8]", or the ratio "x1.62 [1.55, 1.70]"); ``mde`` (the
    minimum detectable effect, "-" where none); and ``"gate__<name>"`` for
    every gate with a value.  The scorecard notebook glues them so no number
    in a chapter's prose is typed by hand.  Returns a dict of strings."""
    out = {}
    for _, r in card.iterrows():
        cid, unit = r["id"], str(r.get("unit") or "")
        out[f"{cid}__verdict"] = str(r["verdict"])
        out[f"{cid}__ours"] = human(r.get("ours"), r.get("paper_value"), unit)
        out[f"{cid}__paper"] = human(r.get("paper_value"), r.get("ours"), unit)
        out[f"{cid}__effect"] = _effect_text(r, unit)
        out[f"{cid}__mde"] = f"{r['mde']:.1f} {unit}".rstrip() if _finite(r.get("mde")) else "\u2013"
        out.update(_gate_values(r))
    return out


def summary_html(card: pd.DataFrame, paper: str | None = None) -> str:
    """One line of coloured counts per verdict (of ``paper``'s claims, or all),
    for the top of a chapter or of the landing page.  Returns HTML."""
    sub = card if paper is None else card[card["paper"] == paper]
    n = counts(sub)
    chips = [f'<span style="background:{VERDICT_COLOURS[v]};padding:2px 8px;margin:2px;border-radius:3px;'
             f'border:1px solid #ccc;display:inline-block">{k} {v}</span>' for v, k in n.items() if k]
    return f"<p><strong>{len(sub)} claims:</strong> " + " ".join(chips) + "</p>"


def show(notebook: str, profile: str = "cpu"):
    """The scorecard rows of the claims ``notebook`` measures, as a table to
    display at the end of the notebook (claim, what, paper, ours, verdict, why).
    Reads the metrics where the notebook just wrote them
    (:func:`cnneff.paths.output_dir`).  Returns an IPython HTML object."""
    from IPython.display import HTML

    from ..paths import output_dir

    return HTML(to_html(scorecard(profile, notebook=notebook, root=output_dir(profile).parent)))
