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


def _table_total_pooled_linear(claim: dict) -> tuple[float, float, str]:
    """Paper 001's Table 4 total recomputed with its Linear row counted once
    after pooling (in_channels x classes of table ``claim['head']``) instead
    of at every position: the sum of the other rows plus that.  Returns
    (stated total, corrected total, how)."""
    t = paper_table(claim["table"])
    rows = t[t[t.columns[0]] != "Total"]
    h = paper_table(claim["head"]).iloc[0]
    linear = float(h["in_channels"] * h["classes"])
    rest = float(rows[claim["column"]].iloc[:-1].sum())
    return float(claim["value"]), rest + linear, (f"the table's other rows {rest:,.0f} + the Linear row once after "
                                                  f"pooling {linear:,.0f}")


def _not_below_base(claim: dict) -> tuple[float, float, str]:
    """A count that cannot lie below its base network's: the stated value of
    row ``claim['row']`` against the base row's (``claim['base_row']``, column
    ``claim['column']`` of table ``claim['table']``), when the row keeps the
    base's width and depth or exceeds them: w >= 1 and d >= 1, read from row
    ``claim['rwd_row']`` of table ``claim['rwd_table']`` (the resolution
    changes no weight).  "Paper inconsistent" when the stated value lies below
    the base's by more than the tolerance; without the precondition there is
    no bound (recomputed = stated).  Returns (stated, the least the row can
    have, how)."""
    t = paper_table(claim["table"]).set_index(claim["key"])
    base = float(t.loc[claim["base_row"], claim["column"]])
    stated = float(t.loc[claim["row"], claim["column"]])
    rwd = _indexed(claim["rwd_table"]).loc[claim["rwd_row"]]
    w, d = float(rwd["w"]), float(rwd["d"])
    multipliers = f"{claim['rwd_table']} {claim['rwd_row']}: w = {w:g}, d = {d:g}"
    if w < 1 or d < 1:
        return stated, stated, f"no bound ({multipliers}: the row is narrower or shallower than the base)"
    return stated, max(stated, base), (f"at least the base's {base:g} ({multipliers}: w >= 1 keeps every channel, "
                                       f"d >= 1 every block; the resolution changes no weight)")


def _indexed(table: str, key: str | None = None) -> pd.DataFrame:
    """Paper table ``table`` indexed by column ``key`` (default: its first
    column).  Returns a DataFrame."""
    t = paper_table(table)
    return t.set_index(key or t.columns[0])


def _row_is_best(claim: dict) -> tuple[float, float, str]:
    """A ranking in words ("X is better than the others"): whether the row
    with the largest ``claim['column']`` of table ``claim['table']`` (rows
    without a value skipped) is one of ``claim['rows']``.  The stated value is
    1 (yes).  Returns (stated, 1.0 or 0.0, how)."""
    col = _indexed(claim["table"], claim.get("key"))[claim["column"]].dropna().astype(float)
    best = col.idxmax()
    named = col.loc[[r for r in claim["rows"] if r in col.index]]
    return float(claim["value"]), 1.0 if best in claim["rows"] else 0.0, (
        f"whether the largest {claim['column']}, {best}'s {col[best]:g}, is a row named (their best: "
        f"{named.idxmax()}'s {named.max():g}), 1 yes 0 no")


def _parts(claim: dict) -> tuple[float, str]:
    """The sum of column ``claim['column']`` over rows ``claim['rows']`` of
    table ``claim['table']`` (first column as key).  Returns (sum, the sum in
    words)."""
    t = _indexed(claim["table"], claim.get("key"))
    values = [float(t.loc[r, claim["column"]]) for r in claim["rows"]]
    return sum(values), " + ".join(f"{v:,.0f}" if v.is_integer() else f"{v:g}" for v in values)


def _sum_of_parts(claim: dict) -> tuple[float, float, str]:
    """A total the paper states against the sum of the parts it lists
    (:func:`_parts`).  Returns (stated, recomputed, how)."""
    total, how = _parts(claim)
    return float(claim["value"]), total, how


def _share_of_total(claim: dict) -> tuple[float, float, str]:
    """A split the paper states (a test set of N images) against the share
    ``claim['share']`` of the sum of the parts it lists (:func:`_parts`).
    Returns (stated, recomputed, how)."""
    total, how = _parts(claim)
    share = float(claim["share"])
    return float(claim["value"]), share * total, f"{share:g} x ({how})"


def _bit_budget_ratio(claim: dict) -> tuple[float, float, str]:
    """Paper 000's Eq. 3, Bit_budget(n) = N n + 2^n x 32 (bits), with N the
    parameters of row ``claim['row']`` (column ``claim['column']``, in
    millions): B(bits[0]) / B(bits[1]) against the storage ratio the paper
    states for that precision.  Returns (stated, recomputed, how)."""
    n_params = float(_indexed(claim["table"]).loc[claim["row"], claim["column"]]) * 1e6
    low, high = (int(b) for b in claim["bits"])

    def budget(n: int) -> float:
        """Eq. 3's bits at n bits per parameter."""
        return n_params * n + 2.0 ** n * 32

    return float(claim["value"]), budget(low) / budget(high), (
        f"({n_params:,.0f} x {low} + 2^{low} x 32) / ({n_params:,.0f} x {high} + 2^{high} x 32) bits")


def _cell_ratio(claim: dict) -> tuple[float, float, str]:
    """A ratio the paper states ("a quarter of the side", "similar latency")
    against ``row_a / row_b`` of column ``claim['column']`` of table
    ``claim['table']`` (rows matched on column ``claim['key']``, default the
    first).  Returns (stated, recomputed, how)."""
    t = _indexed(claim["table"], claim.get("key"))
    a, b = float(t.loc[claim["row_a"], claim["column"]]), float(t.loc[claim["row_b"], claim["column"]])
    return float(claim["value"]), a / b, f"{claim['row_a']} {a:g} / {claim['row_b']} {b:g}"


def _pareto_nondominated(claim: dict) -> tuple[float, float, str]:
    """"Our models outperform the others": the share of rows ``claim['rows']``
    of table ``claim['table']`` (matched on ``claim['key']``) that no OTHER
    row dominates, i.e. has at most their ``claim['x']`` (cost) and at least
    their ``claim['y']`` (accuracy), one of them strictly; rows without both
    values are skipped.  The stated value is 1 (all).  Returns (stated, the
    share, how)."""
    t = _indexed(claim["table"], claim.get("key"))[[claim["x"], claim["y"]]].dropna().astype(float)
    x, y = claim["x"], claim["y"]
    others = t.drop(index=[r for r in claim["rows"] if r in t.index])
    beaten = {}
    for r in claim["rows"]:
        row = t.loc[r]
        dom = others[(others[x] <= row[x]) & (others[y] >= row[y]) & ((others[x] < row[x]) | (others[y] > row[y]))]
        if len(dom):
            beaten[r] = ", ".join(dom.index)
    share = 1 - len(beaten) / len(claim["rows"])
    found = "; ".join(f"{r} by {by}" for r, by in beaten.items()) or "none"
    return float(claim["value"]), share, (f"as the share of its {len(claim['rows'])} rows that none of the "
                                          f"{len(others)} others dominates on ({x}, {y}); dominated: {found}")


def _upper_bound_fraction(claim: dict) -> tuple[float, float, str]:
    """A cost the paper prints against the budget it set for it, c x C0: c
    from row ``claim['c_row']`` of table ``claim['c_table']`` (column ``c``),
    C0 the base row's ``claim['column']`` (``claim['base_row']`` of table
    ``claim['table']``, matched on ``claim['key']``).  The recomputed value is
    the most the budget allows, min(stated, c x C0): "paper inconsistent"
    when the stated cost exceeds the budget by more than the tolerance.
    Returns (stated, recomputed, how)."""
    t = _indexed(claim["table"], claim.get("key"))
    base = float(t.loc[claim["base_row"], claim["column"]])
    c = float(_indexed(claim["c_table"]).loc[claim["c_row"], "c"])
    stated = float(claim["value"])
    return stated, min(stated, c * base), f"as the most the budget c x C0 = {c:g} x {base:g} allows"


def _less_than(claim: dict) -> tuple[float, float, str]:
    """An ordering in words ("the reduction is larger"): whether cell a
    (``claim['row_a']`` of ``claim['table_a']``, matched on ``claim['key_a']``)
    is below cell b (``row_b`` of ``table_b`` on ``key_b``), both in column
    ``claim['column']``.  The stated value is 1 (yes).  Returns (stated, 1.0
    or 0.0, how)."""
    a = float(_indexed(claim["table_a"], claim.get("key_a")).loc[claim["row_a"], claim["column"]])
    b = float(_indexed(claim["table_b"], claim.get("key_b")).loc[claim["row_b"], claim["column"]])
    return float(claim["value"]), 1.0 if a < b else 0.0, (
        f"whether {claim['table_a']} {claim['row_a']}'s {claim['column']} {a:g} lies below {claim['table_b']} "
        f"{claim['row_b']}'s {b:g}, 1 yes 0 no")


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
    "table_total_pooled_linear": _table_total_pooled_linear,
    "not_below_base": _not_below_base,
    "row_is_best": _row_is_best,
    "sum_of_parts": _sum_of_parts,
    "share_of_total": _share_of_total,
    "bit_budget_ratio": _bit_budget_ratio,
    "cell_ratio": _cell_ratio,
    "pareto_nondominated": _pareto_nondominated,
    "upper_bound_fraction": _upper_bound_fraction,
    "less_than": _less_than,
}
