"""The scorecard for people: numbers by :func:`human`, the HTML tables (one
collapsible section per paper and per verdict, the book's own questions apart,
the pending claims grouped by the one command that would test them), the line
of counts, the numbers the chapters quote, a notebook's own rows.

Every table fits the page: a fixed layout at the content width, text wrapped,
one unit per column (the claim's unit in a column of its own), plain-language
headings (:data:`HEADS`).
"""
from __future__ import annotations

import html
import math
import numbers
import re

import pandas as pd

from .card import scorecard
from .kinds import KINDS
from .reasons import number
from .tex import tex_to_text
from .verdicts import VERDICT_COLOURS, VERDICTS, counts

__all__ = ["human", "to_html", "claims_html", "headline_html", "pending_html", "summary_html", "prose_values", "show",
           "HEADS"]

HEADS = {  # column -> (its heading, its share of the table's width in %, what the heading means)
    "claim": ("claim", 25, "the claim's id (a link target), what the paper says and where"),
    "id": ("claim", 14, "the claim's id, a link target"), "what": ("what the paper says", 20, ""),
    "where": ("where in the paper", 10, ""), "paper_value": ("the paper's number", 9, "in the row's unit"),
    "ours": ("our number", 9, "in the row's unit; (proxy): measured on a stand-in"),
    "unit": ("unit", 8, "the unit of the paper's number, ours and our interval"),
    "interval": ("our 95 % interval", 10, "in the row's unit, over seeds or repeats"),
    "n_seeds": ("seeds", 5, "seeds (or repeats) run"),
    "seeds_needed": ("seeds to decide", 6, "seeds per arm that would detect the effect with 80 % power"),
    "cpu_hours_needed": ("CPU hours to decide", 6, "those seeds on this machine's CPU"),
    "gpu_hours_needed": ("GPU hours to decide", 6, "those seeds on one GPU"),
    "full_run_gpu_minutes": ("full run, GPU-minutes", 7, "the plan's estimate for the whole notebook"),
    "verdict": ("verdict", 9, ""), "reason": ("why", 28, "the rule's reason, with its numbers"),
    "command": ("command that tests it", 26, ""),
}
SCALES = ("k ", "M ", "G ", "T ")  # a unit that starts with one of these is already scaled: no second suffix
TABLE_STYLE = "width:100%;table-layout:fixed;border-collapse:collapse"
CELL_STYLE = "text-align:left;vertical-align:top;white-space:normal;overflow-wrap:break-word;padding:2px 4px"


def _finite(x) -> bool:
    """Whether ``x`` is a finite number (not a bool; numpy scalars count).  Returns a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _plain(x: float, digits: int) -> str:
    """``x`` with ``digits`` significant digits (trailing zeros kept: 1.00),
    thousands separators, never scientific notation.  Returns a string."""
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def _distinct(fmt, x: float, other, tries) -> str:
    """The first ``fmt(x, t)`` over ``tries`` that tells ``x`` from ``other``
    (a number it is compared with; anything else tells nothing).  Returns a
    string."""
    text = ""
    for t in tries:
        text = fmt(x, t)
        if not _finite(other) or float(other) == x or text != fmt(float(other), t):
            return text
    return text


def _typed_digits(x: float) -> int:
    """The significant digits of ``x`` as typed (its shortest repr: 12.98 has
    4), at most 10.  Returns an int."""
    whole, _, fraction = repr(abs(x)).split("e")[0].partition(".")
    return min(10, max(1, len((whole + fraction.rstrip("0")).lstrip("0"))))


def human(v, other=None, unit: str = "", typed: bool = False) -> str:
    """``v`` for people: integers with thousands separators, large numbers in
    k, M or G (never when ``unit`` is already scaled, "M params": no "1.8 k M")
    with three significant digits or as many as tell ``v`` from ``other`` (the
    value it is compared with), or, with ``typed`` (a paper's number), the
    digits it was typed with (-12.98, not -13; 0.5, not 0.500); no scientific
    notation, a dash for nothing.  Returns a string."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "\u2013"
    if isinstance(v, (bool, str)):
        return str(v)
    x = float(v)
    if abs(x) < 1000 or any(s in unit for s in ("%", "points", "accuracy")) or unit.startswith(SCALES):
        if x.is_integer() and abs(x) < 1e13:
            return f"{int(x):,}"
        if typed:  # the paper's number as printed, no digit more or less
            return _plain(x, _typed_digits(x))
        return _distinct(_plain, x, other, range(3, 8))
    if x.is_integer() and abs(x) < 1e13:  # counts: every digit, so an exact comparison shows
        return f"{int(x):,}"
    scale, suffix = (1e9, " G") if abs(x) >= 1e9 else (1e6, " M") if abs(x) >= 1e6 else (1e3, " k")
    return _distinct(lambda y, d: f"{y / scale:,.{d}f}{suffix}", x, other, range(1, 7))


def _claim_cell(r: pd.Series, with_text: bool) -> str:
    """The claim's id as an anchor (``#claim-<id>``, what the chapters link
    to), with what the paper says and where, when ``with_text``.  Returns HTML."""
    cid = html.escape(str(r["id"]))
    cell = f'<a id="claim-{cid}"></a><code>{cid}</code>'
    if with_text:
        cell += f"<br>{html.escape(tex_to_text(r.get('what') or ''))}"
        if r.get("where"):
            cell += f' <span style="color:#666">({html.escape(tex_to_text(r["where"]))})</span>'
    return cell


def _interval(r: pd.Series) -> str:
    """Our 95 % interval in the claim's unit (a trained row's ``ci_low`` and
    ``ci_high``), a dash where there is none.  Returns a string."""
    lo, hi = r.get("ci_low"), r.get("ci_high")
    if not (_finite(lo) and _finite(hi)) or lo == hi:  # an exact measurement has no interval
        return "\u2013"
    unit = str(r.get("unit") or "")
    return f"[{human(lo, hi, unit)}, {human(hi, lo, unit)}]"


def _count(x) -> str:
    """A count of seeds for people ("27"), a dash for nothing.  Returns a string."""
    return f"{int(x):,}" if _finite(x) else "\u2013"


def _hours(x) -> str:
    """Hours (or minutes) for people: two significant digits below 10, whole
    numbers above, a dash for nothing.  Returns a string."""
    if not _finite(x):
        return "\u2013"
    return _plain(float(x), 2) if abs(x) < 10 else f"{x:,.0f}"


def _cell(r: pd.Series, c: str, with_text: bool = False) -> str:
    """The content of column ``c`` of scorecard row ``r``: numbers by
    :func:`human` without their unit (it has its own column), ours marked
    "(proxy)" where measured on a stand-in, the verdict on its colour, the
    command as code, else the escaped text.  Returns HTML."""
    if c in ("claim", "id"):
        return _claim_cell(r, with_text or c == "claim")
    if c in ("paper_value", "ours"):
        other = r.get("ours") if c == "paper_value" else r.get("paper_value")
        cell = html.escape(human(r.get(c), other, str(r.get("unit") or ""), typed=c == "paper_value"))
        if c == "ours" and r.get("proxy") and r.get(c) is not None and not pd.isna(r.get(c)):
            cell += " <em>(proxy)</em>"
        return cell
    if c == "interval":
        return html.escape(_interval(r))
    if c in ("n_seeds", "seeds_needed"):
        return _count(r.get(c))
    if c in ("cpu_hours_needed", "gpu_hours_needed", "full_run_gpu_minutes"):
        return _hours(r.get(c))
    if c == "verdict":
        colour = VERDICT_COLOURS.get(r["verdict"], "#fff")
        return (f'<span class="cnneff-chip" style="background:{colour};padding:1px 6px;border-radius:3px">'
                f'{html.escape(r["verdict"])}</span>')
    if c == "command":
        return f"<code style='white-space:pre-wrap;overflow-wrap:break-word'>{html.escape(str(r[c]))}</code>"
    value = r.get(c)
    return "\u2013" if value is None or (isinstance(value, float) and pd.isna(value)) else html.escape(str(value))


def _table(card: pd.DataFrame, columns, with_text: bool = False) -> str:
    """Rows of ``card`` as one fixed-layout table of ``columns`` at the content
    width, each column as wide as its share in :data:`HEADS` (scaled to 100 %),
    its heading's meaning as the heading's tooltip.  Returns HTML."""
    heads = [HEADS.get(c, (c, 10, "")) for c in columns]
    cols = "".join(f'<col style="width:{100 * h[1] / sum(h[1] for h in heads):.1f}%">' for h in heads)
    head = "".join(f'<th style="{CELL_STYLE}" title="{html.escape(h[2])}">{html.escape(h[0])}</th>' for h in heads)
    out = [f'<table class="cnneff-scorecard" style="{TABLE_STYLE}"><colgroup>{cols}</colgroup>'
           f"<thead><tr>{head}</tr></thead><tbody>"]
    for _, r in card.iterrows():
        out.append("<tr>" + "".join(f'<td style="{CELL_STYLE}">{_cell(r, c, with_text)}</td>' for c in columns)
                   + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def to_html(card: pd.DataFrame, columns=("id", "what", "paper_value", "ours", "unit", "verdict", "reason")) -> str:
    """The scorecard rows as one HTML table for people (:data:`HEADS` names
    the columns): full claim text (wrapped), numbers by :func:`human` with the
    unit in a column of its own, ours marked "(proxy)" where it was measured
    on a stand-in, one colour per verdict, and each claim id an anchor
    (``#claim-<id>``) that the chapters link to.  Returns the HTML."""
    return _table(card, columns)


def headline_html(card: pd.DataFrame, ids: list[str]) -> str:
    """The headline claims ``ids`` of scorecard ``card`` (in that order; ids
    not in the card left out) as a short table: the claim with what the paper
    says, the paper's number, ours (marked proxy on a stand-in), the unit and
    the verdict.  Returns HTML (empty when no id is in the card)."""
    rows = card.set_index("id", drop=False).reindex([i for i in ids if i in set(card["id"])])
    if rows.empty:
        return ""
    return _table(rows, ["claim", "paper_value", "ours", "unit", "verdict"], with_text=True)


def _columns(rows: pd.DataFrame) -> list[str]:
    """The columns a group of rows needs: claim, numbers, unit, why, and the
    evidence of trained rows (interval, seeds run and needed, hours) only where
    some row has it.  Returns the column names."""
    cols = ["claim", "paper_value", "ours", "unit"]
    for c in ("interval", "n_seeds", "seeds_needed", "cpu_hours_needed", "gpu_hours_needed"):
        source = ("ci_low",) if c == "interval" else (c,)
        if any(s in rows and rows[s].map(_finite).any() for s in source):
            cols.append(c)
    return cols + ["reason"]


def _chip(verdict: str, n: int | None = None) -> str:
    """A verdict on its colour, with its count.  Returns HTML."""
    label = html.escape(verdict) + (f" ({n})" if n is not None else "")
    return (f'<span class="cnneff-chip" style="background:{VERDICT_COLOURS.get(verdict, "#fff")};padding:1px 8px;'
            f'border-radius:3px;border:1px solid #ccc">{label}</span>')


def _verdict_sections(rows: pd.DataFrame, open_first: bool = False) -> str:
    """One collapsible ``<details>`` per verdict present in ``rows`` (in
    :data:`VERDICTS` order), each a table of its claims.  Returns HTML."""
    out = []
    for verdict in VERDICTS:
        sub = rows[rows["verdict"] == verdict]
        if sub.empty:
            continue
        opened = " open" if open_first and not out else ""
        out.append(f'<details class="cnneff-verdict"{opened}><summary>{_chip(verdict, len(sub))}</summary>'
                   f"{_table(sub, _columns(sub), with_text=True)}</details>")
    return "".join(out)


def claims_html(card: pd.DataFrame, papers: dict | None = None) -> str:
    """Every claim of scorecard ``card`` for the scorecard page: one
    collapsible section per paper (``papers``: id -> title, for the headings;
    default claims.yaml's ``papers``) and inside it one per verdict, then the
    book's own questions (``scope`` "book") apart.  Returns HTML."""
    if papers is None:
        from ..claims import load

        papers = load()["papers"]
    scope = card["scope"] if "scope" in card else pd.Series("paper", index=card.index)
    own, theirs = card[scope == "book"], card[scope != "book"]
    out = []
    for paper in sorted(theirs["paper"].unique()):
        rows = theirs[theirs["paper"] == paper]
        chips = " ".join(_chip(v, k) for v, k in counts(rows, scope=None).items() if k)
        title = html.escape(f"Paper {paper}: {papers.get(paper, '')}".rstrip(": "))
        out.append(f'<details class="cnneff-paper"><summary><strong>{title}</strong>: {len(rows)} claims '
                   f"{chips}</summary>{_verdict_sections(rows)}</details>")
    if len(own):
        out.append('<details class="cnneff-paper"><summary><strong>The book\'s own questions</strong> (not claims '
                   f"of the papers, counted apart): {len(own)}</summary>{_verdict_sections(own)}</details>")
    return "".join(out)


FULL_RUN_NOTE = re.compile(r"; the full run of \S+ \(every claim it measures\) is about [\d,]+ GPU-minutes on one GPU "
                           r"\(estimate, cnneff\.plan\)")


def pending_html(card: pd.DataFrame, verdict: str = "needs the full run") -> str:
    """The claims only the full run can decide, grouped by the one command
    that would test them: per command a collapsible section headed by its
    notebook, the number of claims and the plan's GPU-minutes, the command
    shown once (copyable), then the claims (ours as the proxy it is, why).
    Returns HTML; a sentence when nothing is pending."""
    todo = card[card["verdict"] == verdict]
    if todo.empty:
        return "<p>Nothing: every claim was tested in this profile.</p>"
    out = []
    for command, rows in todo.groupby("command", sort=False):
        minutes = rows["full_run_gpu_minutes"].map(_finite) if "full_run_gpu_minutes" in rows else None
        cost = (f", about {_hours(rows['full_run_gpu_minutes'][minutes].iloc[0])} GPU-minutes on one GPU "
                f"(the plan's estimate)") if minutes is not None and minutes.any() else ""
        name = re.search(r"NOTEBOOK=(\S+)", command)
        label = html.escape(name.group(1) if name else command)
        rows = rows.assign(reason=rows["reason"].map(lambda s: FULL_RUN_NOTE.sub("", str(s))))
        out.append(f'<details class="cnneff-pending"><summary><code>{label}</code>: {len(rows)} claims{cost}'
                   f'</summary><div class="highlight"><pre>{html.escape(command)}</pre></div>'
                   f"{_table(rows, ['claim', 'paper_value', 'ours', 'unit', 'reason'], with_text=True)}</details>")
    return "".join(out)


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
    """One line of coloured counts per verdict of the papers' claims (of
    ``paper``'s, or all), for the top of a chapter or of the landing page;
    the book's own questions are counted apart at the end.  Returns HTML."""
    sub = card if paper is None else card[card["paper"] == paper]
    n = counts(sub)
    own = int((sub["scope"] == "book").sum()) if "scope" in sub else 0
    chips = [_chip(v, k) for v, k in n.items() if k]
    tail = f" (and {own} of the book's own questions, counted apart)" if own else ""
    return f"<p><strong>{sum(n.values())} claims:</strong> " + " ".join(chips) + f"{tail}</p>"


def show(notebook: str, profile: str = "cpu"):
    """The scorecard rows of the claims ``notebook`` measures, as a table to
    display at the end of the notebook (claim, what, paper, ours, unit,
    verdict, why).  Reads the metrics where the notebook just wrote them
    (:func:`cnneff.paths.output_dir`).  Returns an IPython HTML object."""
    from IPython.display import HTML

    from ..paths import output_dir

    return HTML(to_html(scorecard(profile, notebook=notebook, root=output_dir(profile).parent)))
