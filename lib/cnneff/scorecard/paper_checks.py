"""The paper-internal checks of kind ``paper_inconsistent``: a paper's
numbers recomputed from each other.

Each check (:data:`PAPER_CHECKS`, named by a claim's ``check``) reads the
claim and the paper tables of ``claims.yaml`` and returns ``(stated,
recomputed, how)``: the number the paper states, the one its own other
numbers give, and how the second was computed, in words.  No notebook
metrics are read.
"""
from __future__ import annotations

import math
from typing import Callable

import pandas as pd

from ..claims import paper_table

__all__ = ["PAPER_CHECKS"]


def _marginal_rate(claim: dict) -> tuple[float, float, str]:
    """Paper 000's FLOPs marginal transformation rate of one Table 1 row (the
    claim's value, as printed) against its recomputation from the same table:
    (baseline FLOPs - row FLOPs) / (baseline precision - row precision), in M
    FLOPs per precision point.  Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"]).set_index("model")
    base, row = t.iloc[0], t.loc[claim["row"]]
    recomputed = (base["macs_m"] - row["macs_m"]) / (base["precision"] - row["precision"])
    return float(claim["value"]), float(recomputed), (
        f"({base['macs_m']:g} - {row['macs_m']:g}) M / ({base['precision']:g} - {row['precision']:g}) points")


def _compound_constraint(claim: dict) -> tuple[float, float, str]:
    """Paper 002's compound-scaling constraint alpha * beta^2 * gamma^2 ~ 2,
    recomputed from the constants the paper states.  Returns (stated,
    recomputed, how)."""
    c = paper_table(claim["table"]).iloc[0]
    product = float(c["alpha"] * c["beta"] ** 2 * c["gamma"] ** 2)
    return float(claim["value"]), product, f"{c['alpha']:g} x {c['beta']:g}^2 x {c['gamma']:g}^2"


def _eq5_width(claim: dict) -> tuple[float, float, str]:
    """Paper 004's Eq. 5, w = sqrt(c / (r^2 d)): the published width of one
    TinyNet (the claim's value) against the width Eq. 5 gives from the same
    model's own r, d and cost fraction c (table ``claim["table"]``, row whose
    ``name`` is ``claim["row"]``).  Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"]).set_index("name")
    row = t.loc[claim["row"]]
    w = math.sqrt(float(row["c"]) / (float(row["r"]) ** 2 * float(row["d"])))
    return float(claim["value"]), w, f"sqrt({row['c']:g} / ({row['r']:g}^2 x {row['d']:g}))"


def _printed_twice(claim: dict) -> tuple[float, float, str]:
    """One number the paper prints in two places: the claim's value (where the
    claim says) against the cell of table ``claim["table"]`` in the row whose
    ``claim["key"]`` column equals ``claim["row"]``, column ``claim["column"]``.
    Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"])
    cell = t.loc[t[claim["key"]] == claim["row"], claim["column"]]
    if len(cell) != 1:
        raise KeyError(f"claim {claim['id']}: {len(cell)} rows of {claim['table']} have "
                       f"{claim['key']} = {claim['row']!r}")
    return float(claim["value"]), float(cell.iloc[0]), f"{claim['table']}, {claim['row']}, {claim['column']}"


def _stated_difference(claim: dict) -> tuple[float, float, str]:
    """A difference the paper states in words ("1.9 % higher"): the claim's
    value against ``row_a - row_b`` of column ``claim["column"]`` of table
    ``claim["table"]`` (rows matched on column ``claim["key"]``).  Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"]).set_index(claim["key"])
    a, b = float(t.loc[claim["row_a"], claim["column"]]), float(t.loc[claim["row_b"], claim["column"]])
    return float(claim["value"]), a - b, f"{claim['row_a']} {a:g} - {claim['row_b']} {b:g}"


def _marginal_rate_minutes(claim: dict) -> tuple[float, float, str]:
    """Paper 000's training time-precision marginal transformation rate of one
    Table 1 row (the claim's value, as the text prints it) against its
    recomputation from the table's times: (baseline minutes - row minutes) /
    (baseline precision - row precision), in minutes per precision point.  Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"]).set_index("model")
    base, row = t.iloc[0], t.loc[claim["row"]]
    recomputed = (base["train_minutes"] - row["train_minutes"]) / (base["precision"] - row["precision"])
    return float(claim["value"]), float(recomputed), (
        f"({base['train_minutes']:g} - {row['train_minutes']:g}) min / "
        f"({base['precision']:g} - {row['precision']:g}) points")


def _row_and_base(claim: dict) -> tuple[pd.Series, pd.Series]:
    """Row ``claim['row']`` and the base row (``claim['base_row']``, else the
    first) of paper table ``claim['table']``, indexed by its first column.
    Returns the two rows (pandas Series), the row first."""
    t = paper_table(claim["table"])
    t = t.set_index(t.columns[0])
    base = t.loc[claim["base_row"]] if claim.get("base_row") else t.iloc[0]
    return t.loc[claim["row"]], base


def _percent_change(claim: dict) -> tuple[float, float, str]:
    """A percent change the paper prints beside a table cell (e.g. a training
    time's "(-47.57 %)") against the one recomputed from the table's own cells:
    100 x (row / base - 1) in column ``claim['column']``.  Returns (stated, recomputed, how)."""
    row, base = _row_and_base(claim)
    col = claim["column"]
    recomputed = 100 * (float(row[col]) / float(base[col]) - 1)
    return float(claim["value"]), recomputed, f"100 x ({row[col]:g} / {base[col]:g} - 1) %"


def _difference(claim: dict) -> tuple[float, float, str]:
    """A drop the paper states in the text (e.g. "the accuracy decreases by
    0.5 %") against the one recomputed from its table: base - row in column
    ``claim['column']``.  Returns (stated, recomputed, how)."""
    row, base = _row_and_base(claim)
    col = claim["column"]
    return float(claim["value"]), float(base[col]) - float(row[col]), f"{base[col]:g} - {row[col]:g} points"


def _linear_after_pooling(claim: dict) -> tuple[float, float, str]:
    """Paper 001's Linear row of Table 4 against the MACs of a linear layer run
    once on the globally pooled features (Table 1: "Global Avg Pool, Linear"):
    in_channels x classes.  The stated 6,272,000 is that times the 7 x 7
    positions of the feature map before pooling.  Returns (stated, recomputed, how)."""
    h = paper_table(claim["table"]).iloc[0]
    recomputed = float(h["in_channels"] * h["classes"])
    return float(claim["value"]), recomputed, (
        f"{h['in_channels']:g} x {h['classes']:g} (pooled first; x {h['height'] * h['width']:g} positions "
        f"= {h['in_channels'] * h['classes'] * h['height'] * h['width']:,.0f})")


def _table_total(claim: dict) -> tuple[float, float, str]:
    """A table's printed total against the sum of its rows in column
    ``claim['column']`` (rows other than the one whose first column is
    ``Total``).  Returns (stated, recomputed, how)."""
    t = paper_table(claim["table"])
    rows = t[t[t.columns[0]] != "Total"]
    recomputed = float(rows[claim["column"]].sum())
    return float(claim["value"]), recomputed, f"the sum of its {len(rows)} rows"


def _base_phi(claim: dict) -> tuple[float, float, str]:
    """Paper 002's compound coefficient of the base network B0: stated
    (``phi_b0``) against the phi that gives the base network's own depth
    multiplier, d = alpha^phi = 1, i.e. phi = log(1) / log(alpha) = 0.  Returns (stated, recomputed, how)."""
    c = paper_table(claim["table"]).iloc[0]
    recomputed = math.log(1.0) / math.log(float(c["alpha"]))
    return float(claim["value"]), recomputed, f"alpha^phi = 1 (B0 is the unscaled base) with alpha {c['alpha']:g}"


PAPER_CHECKS: dict[str, Callable[[dict], tuple[float, float, str]]] = {
    "marginal_rate": _marginal_rate,
    "marginal_rate_minutes": _marginal_rate_minutes,
    "compound_constraint": _compound_constraint,
    "eq5_width": _eq5_width,
    "printed_twice": _printed_twice,
    "stated_difference": _stated_difference,
    "percent_change": _percent_change,
    "difference": _difference,
    "linear_after_pooling": _linear_after_pooling,
    "table_total": _table_total,
    "base_phi": _base_phi,
}
