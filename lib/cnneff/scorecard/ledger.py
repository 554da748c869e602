"""The ledger of the papers' testable statements and their errata
(``lib/cnneff/ledger.yaml``), set beside a scorecard for the book's pages
*Ledger of the papers' statements* (``book/ledger.md``) and *Errata in the
papers* (``book/errata.md``).

The file holds the reviewer's text only (quotes, where, arithmetic); every
verdict these tables show is the scorecard's, computed when the scorecard
notebook runs (:func:`publish_ledger` glues the tables and their counts).
A cited id that claims.yaml does not hold yet is one of the ledger's
``pending`` claims (the review proposed it; the owner of its notebook adds
it) and is shown as such.
"""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from .render import human
from .tex import tex_to_text
from .verdicts import VERDICT_COLOURS

__all__ = ["LEDGER_FILE", "load_ledger", "cited_ids", "reach_scope", "ledger_html", "errata_html", "ledger_counts",
           "ledger_glue_values", "publish_ledger"]

LEDGER_FILE = Path(__file__).resolve().parents[1] / "ledger.yaml"
STYLE = ("<style>.cnneff-ledger{width:100%;table-layout:auto;border-collapse:collapse}"
         ".cnneff-ledger th{text-align:left}.cnneff-ledger td{text-align:left;vertical-align:top;white-space:normal;"
         "padding:3px 6px;border-top:1px solid #ddd}.cnneff-ledger .chip{padding:1px 6px;border-radius:3px;"
         "border:1px solid #ccc;white-space:nowrap}.cnneff-ledger .aside{color:#555}</style>")
# MathJax does not typeset glued HTML: a quote's TeX is shown as Unicode text (:func:`_text`) instead.
TABLE = STYLE + '<table class="cnneff-ledger tex2jax_ignore mathjax_ignore">'


def _text(value) -> str:
    """A field of the ledger for an HTML cell: its TeX as Unicode text, then escaped.  Returns HTML."""
    return html.escape(tex_to_text(str(value)))


@lru_cache(maxsize=1)
def load_ledger() -> dict:
    """The parsed ledger file: ``sources`` (paper id -> text file), ``entries``
    (one dict per statement: paper, where, quote, claims, optional reach and
    note), ``pending`` (proposed claim id -> the notebook that will measure
    it) and ``errata`` (id, paper, severity, where, statements, arithmetic,
    result, claims).  Returns a dict."""
    data = yaml.safe_load(LEDGER_FILE.read_text())
    for section in ("sources", "entries", "pending", "errata"):
        if section not in data:
            raise KeyError(f"{LEDGER_FILE.name} has no '{section}:' section; see the header of the file")
    return data


def cited_ids(errata: bool = False) -> set[str]:
    """The claim ids the ledger's entries cite (with ``errata``, those the
    errata cite too).  Returns a set of strings."""
    data = load_ledger()
    ids = {i for e in data["entries"] for i in e.get("claims") or []}
    if errata:
        ids |= {i for x in data["errata"] for i in x.get("claims") or []}
    return ids


def reach_scope(entry: dict) -> str:
    """How much of a statement no run of the book can test: ``"whole"`` (its
    ``reach`` starts "out of reach"), ``"part"`` (the reach names a part,
    "top-1: out of reach ...") or ``""`` (none).  Returns a string."""
    reach = str(entry.get("reach") or "")
    if not reach:
        return ""
    return "whole" if reach.lower().startswith("out of reach") else "part"


def _chip(verdict: str) -> str:
    """A verdict on its colour, as the scorecard shows it.  Returns HTML."""
    return f'<span class="chip" style="background:{VERDICT_COLOURS.get(verdict, "#fff")}">{html.escape(verdict)}</span>'


def _claim_line(cid: str, rows: dict, link: str, reason: bool = False) -> str:
    """One cited claim: its id (a link to its row of the scorecard page at
    ``link``) and its verdict today, or "proposed" for a pending claim; with
    ``reason`` the scorecard's one-line reason beside it (paper_inconsistent
    claims: the recomputation) or the paper's and our number.  Returns HTML."""
    row = rows.get(cid)
    if row is None:
        nb = load_ledger()["pending"].get(cid, "?")
        return (f"<code>{html.escape(cid)}</code> {_chip('proposed')} "
                f'<span class="aside">(not yet in claims.yaml; {html.escape(nb)} will measure it)</span>')
    line = f'<a href="{link}#claim-{html.escape(cid)}"><code>{html.escape(cid)}</code></a> {_chip(row["verdict"])}'
    if reason and row["kind"] == "paper_inconsistent":
        line += f' <span class="aside">{_text(row["reason"])}</span>'
    elif reason:
        unit = str(row.get("unit") or "")
        line += (f' <span class="aside">paper {html.escape(human(row["paper_value"], row["ours"], unit))}, ours '
                 f'{html.escape(human(row["ours"], row["paper_value"], unit))} {html.escape(unit)}</span>')
    return line


def _rows(card: pd.DataFrame) -> dict:
    """The scorecard's rows by claim id.  Returns a dict id -> dict."""
    return {r["id"]: r for r in card.to_dict("records")}


def _standing(entry: dict) -> str:
    """What the ledger can say about a statement before any verdict: out of
    reach (whole or in part, with what it would take), or why no claim tests
    it (the reviewer's note).  Returns HTML ('' when claims test all of it)."""
    scope = reach_scope(entry)
    reach = _text(entry.get("reach") or "")
    if scope == "whole":
        return f'{_chip("out of reach")} <span class="aside">{reach}</span>'
    if scope == "part":
        return f'{_chip("out of reach")} <em>in part</em>: <span class="aside">{reach}</span>'
    if not entry.get("claims"):
        return '<em>no claim: not a testable statement of the book (see the note)</em>'
    return ""


def ledger_html(card: pd.DataFrame, paper: str | None = None, link: str = "scorecard.html") -> str:
    """The ledger's statements (of ``paper``, or all) as an HTML table for
    people: where, the paper's words, the claims that test it with today's
    verdicts from scorecard ``card`` (each id a link to ``link#claim-ID``),
    what is out of reach, and the reviewer's note.  Returns the HTML."""
    rows = _rows(card)
    out = [TABLE, "<thead><tr>" + "".join(f"<th>{h}</th>" for h in
                                          ("where", "the paper's words", "claims and today's verdicts", "note"))
           + "</tr></thead><tbody>"]
    for e in load_ledger()["entries"]:
        if paper is not None and e["paper"] != paper:
            continue
        claims = "<br>".join(_claim_line(c, rows, link) for c in e.get("claims") or [])
        standing = _standing(e)
        cells = [_text(e["where"]), f"<q>{_text(e['quote'])}</q>",
                 "<br>".join(x for x in (claims, standing) if x),
                 f'<span class="aside">{_text(e.get("note") or "")}</span>']
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _shown(erratum: dict, rows: dict) -> bool:
    """Whether one of the claims an erratum cites comes out "paper
    inconsistent" in the scorecard.  Returns a bool."""
    return any(rows.get(c, {}).get("verdict") == "paper inconsistent" for c in erratum.get("claims") or [])


def errata_html(card: pd.DataFrame, paper: str | None = None, link: str = "scorecard.html") -> str:
    """The papers' errata (of ``paper``, or all) as an HTML table for people:
    the erratum (id, severity, where), the statements it sets against each
    other, its arithmetic and result, and the claims it explains with
    today's verdicts from scorecard ``card`` and each paper_inconsistent
    claim's recomputation.  Returns the HTML."""
    rows = _rows(card)
    out = [TABLE, "<thead><tr>" + "".join(f"<th>{h}</th>" for h in
                                          ("erratum", "the paper's words", "arithmetic and result",
                                           "claims and today's verdicts")) + "</tr></thead><tbody>"]
    for x in load_ledger()["errata"]:
        if paper is not None and x["paper"] != paper:
            continue
        head = (f'<a id="erratum-{html.escape(x["id"])}"></a><strong>{html.escape(x["id"])}</strong><br>'
                f'<em>{html.escape(x["severity"])}</em><br><span class="aside">{_text(x["where"])}</span>')
        quotes = "<br>".join(f"<q>{_text(s)}</q>" for s in x["statements"])
        maths = f"{_text(x['arithmetic'])}<br><strong>Result.</strong> {_text(x['result'])}"
        claims = "<br>".join(_claim_line(c, rows, link, reason=True) for c in x.get("claims") or []) \
            or "<em>no claim: no number at stake</em>"
        if _shown(x, rows):
            claims = "<strong>shown by the scorecard's paper-inconsistent claims</strong><br>" + claims
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in (head, quotes, maths, claims)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def ledger_counts(card: pd.DataFrame) -> dict[str, int]:
    """The numbers the two pages quote, keyed as glued: ``ledger_n_entries``,
    ``ledger_n_tested`` (statements with a claim the scorecard judges),
    ``ledger_n_pending_only`` (only proposed claims), ``ledger_n_untested``
    (no claim, no reach), ``ledger_n_reach_whole`` / ``ledger_n_reach_part``,
    ``ledger_n_claims`` (claims of the scorecard cited), ``ledger_n_pending``
    and ``errata_n``, ``errata_n_<severity>``, ``errata_n_shown`` (errata a
    paper-inconsistent claim shows).  Returns a dict of ints."""
    data, rows = load_ledger(), _rows(card)
    entries, errata = data["entries"], data["errata"]
    judged = [e for e in entries if any(c in rows for c in e.get("claims") or [])]
    out = dict(ledger_n_entries=len(entries), ledger_n_tested=len(judged),
               ledger_n_pending_only=sum(1 for e in entries if e.get("claims") and e not in judged),
               ledger_n_untested=sum(1 for e in entries if not e.get("claims") and not e.get("reach")),
               ledger_n_reach_whole=sum(1 for e in entries if reach_scope(e) == "whole"),
               ledger_n_reach_part=sum(1 for e in entries if reach_scope(e) == "part"),
               ledger_n_claims=len(cited_ids() & set(rows)),
               ledger_n_pending=len(set(data["pending"]) - set(rows)),
               errata_n=len(errata), errata_n_shown=sum(1 for x in errata if _shown(x, rows)))
    for severity in ("arithmetic", "contradiction", "wording", "plausibility"):
        out[f"errata_n_{severity}"] = sum(1 for x in errata if x["severity"] == severity)
    return out


def ledger_glue_values(card: pd.DataFrame, link: str = "scorecard.html") -> dict[str, object]:
    """Every value the two pages glue, by name: :func:`ledger_counts`, and per
    paper ``ledger_<paper>`` and ``errata_<paper>`` (IPython HTML tables,
    :func:`ledger_html`, :func:`errata_html`).  Returns a dict."""
    from IPython.display import HTML

    from ..claims import load

    out: dict[str, object] = dict(ledger_counts(card))
    for p in load()["papers"]:
        out[f"ledger_{p}"] = HTML(ledger_html(card, p, link))
        out[f"errata_{p}"] = HTML(errata_html(card, p, link))
    return out


def publish_ledger(card: pd.DataFrame, profile: str) -> list[str]:
    """Glue :func:`ledger_glue_values` for ``book/ledger.md`` and
    ``book/errata.md`` (``myst_nb.glue``, not displayed), the claim links
    pointing at ``results/<profile>/scorecard``.  Returns the glued names."""
    from myst_nb import glue

    values = ledger_glue_values(card, f"../results/{profile}/scorecard.html")
    for key, value in values.items():
        glue(key, value, display=False)
    return list(values)
