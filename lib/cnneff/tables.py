"""Tables for people: how every DataFrame a notebook displays is rendered in the book.

:func:`start <cnneff.session.start>` registers :func:`to_html` as the HTML
formatter of ``pandas.DataFrame`` in the notebook's IPython, so a plain
``display(df)`` shows:

* no index when it is pandas' default 0..n-1 (a named or meaningful index stays);
* integer-valued columns as integers with thousands separators (a batch size
  of 256, not 256.0; 20,180,050 parameters, not 20180050 or 2.018e+07);
* other numbers with the decimals the column needs (at most four, trailing
  zeros dropped), never in scientific notation;
* a dash for a missing value (NaN, None), not "NaN";
* ``B^-1``, ``B^-phi`` in labels and headers with real superscripts.

The plain-text form of the DataFrame (what ``print`` shows and what nbval
compares) is left as pandas makes it.
"""
from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd

__all__ = ["to_html", "format_number", "register", "pct_change"]

DASH = "\u2013"


def pct_change(ours, paper, digits: int = 1):
    """How far ``ours`` lies from ``paper``, in percent of the paper's value:
    ``100 * (ours / paper - 1)`` rounded to ``digits`` (numbers, or pandas
    Series element-wise; NaN where the paper gives none).  Returns the same type."""
    value = 100 * (ours / paper - 1)
    return value.round(digits) if hasattr(value, "round") else round(value, digits)


def _superscripts(text: str) -> str:
    """HTML-escaped ``text`` with ``B^-1`` as B<sup>−1</sup> and ``B^-phi`` as
    B<sup>−φ</sup> (only these carets: nothing else in a label is TeX)."""
    text = html.escape(text)
    return re.sub(r"\^(-?)(\d+|phi)",
                  lambda m: f"<sup>{chr(0x2212) if m.group(1) else ''}{'φ' if m.group(2) == 'phi' else m.group(2)}</sup>",
                  text)


def _missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(float(v))) or v is pd.NA \
        or v is pd.NaT


def _value_decimals(x: float) -> int:
    """Decimals that show ``x`` with at most four significant digits (and never
    round its integer part), fewer where they suffice: 385.8 -> 1, 0.71234 -> 4,
    0.5 -> 1, 12345.6 -> 0, 2e-05 -> 5."""
    a = abs(x)
    if a == 0 or not math.isfinite(a):
        return 0
    lead = math.floor(math.log10(a))  # 385.8: 2; 0.71: -1; 2e-05: -5
    most = min(max(0, 3 - lead), 12)
    for d in range(most + 1):
        if abs(round(x, d) - x) <= 1e-9 * max(1.0, a) * a:
            return d
    return most


def _decimals(values) -> int:
    """Decimals one column needs: the most any of its finite values needs."""
    return max((_value_decimals(float(v)) for v in values), default=0)


def format_number(v, decimals: int | None = None) -> str:
    """One number for people: integers (and integer-valued floats) with
    thousands separators, others with ``decimals`` decimals (default: as many
    as the value needs, four significant digits at most), a dash for NaN or
    None; never scientific notation.  Returns a string."""
    if _missing(v):
        return DASH
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    x = float(v)
    if x.is_integer() and decimals in (None, 0) and abs(x) < 1e15:
        return f"{int(x):,}"
    d = _decimals([x]) if decimals is None else decimals
    text = f"{x:,.{d}f}" if abs(x) >= 10_000 else f"{x:.{d}f}"
    return "0" if text in ("-0", "-0.0") else text


def _column_formatter(col: pd.Series):
    """A function value -> text for every cell of ``col``, chosen once per column."""
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        def cell(v):
            if _missing(v):
                return DASH
            if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, (bool, np.bool_)):
                return format_number(v)
            return (_superscripts(str(v)))
        return cell
    finite = [float(v) for v in col if not _missing(v)]
    if all(v.is_integer() for v in finite):
        return lambda v: format_number(v, 0)
    d = _decimals(finite)
    return lambda v: format_number(v, d)


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.name is None and index.start == 0 and index.step == 1


def to_html(df: pd.DataFrame) -> str:
    """``df`` as an HTML table for the book (the rules in this module's
    docstring).  Returns the HTML string (a ``<table class="dataframe">``)."""
    show_index = not _default_index(df.index)
    cols = [(_superscripts(str(c if not isinstance(c, tuple) else " / ".join(map(str, c)))))
            for c in df.columns]
    fmt = [_column_formatter(df.iloc[:, j]) for j in range(df.shape[1])]
    out = ['<table border="1" class="dataframe cnneff-table">', "<thead><tr>"]
    if show_index:
        name = df.index.name if df.index.name is not None else ""
        out.append(f"<th>{(_superscripts(str(name)))}</th>")
    out += [f'<th style="text-align: right">{c}</th>' for c in cols]
    out.append("</tr></thead><tbody>")
    index_fmt = _column_formatter(pd.Series(df.index)) if show_index else None
    for i in range(len(df)):
        out.append("<tr>")
        if show_index:
            label = df.index[i]
            label = " / ".join(map(str, label)) if isinstance(label, tuple) else label
            out.append(f"<th>{index_fmt(label)}</th>")
        for j in range(df.shape[1]):
            out.append(f"<td>{fmt[j](df.iat[i, j])}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def register(shell=None) -> bool:
    """Make :func:`to_html` the HTML form of every DataFrame in ``shell`` (the
    running IPython, by default).  Returns False outside IPython."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, to_html)
    return True
