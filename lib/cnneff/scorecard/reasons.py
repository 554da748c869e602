"""Numbers as the scorecard's one-line reasons write them.

Every reason (of a rule, of a gate, of a chapter's quoted effect) prints its
numbers through :func:`number` and its intervals through
:func:`interval_text`, so that no reason shows scientific notation or a
bare NaN.  :func:`mean` is the plain mean those reasons quote.
"""
from __future__ import annotations

import math

from .. import stats

__all__ = ["number", "interval_text", "mean"]

NAN = float("nan")


def number(x, digits: int = 3) -> str:
    """``x`` in a reason: ``digits`` significant digits, thousands separators
    from 1,000 on, never scientific notation; a dash for nothing.  Returns a
    string."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1000):
        return f"{int(x):,}"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.6f}".rstrip("0")
    text = f"{x:.{digits}g}"
    return text if "e" not in text else f"{x:,.{max(0, digits - 1)}f}"


def interval_text(iv: stats.Interval, digits: int = 3) -> str:
    """Interval ``iv`` in a reason: "95 % interval [low, high], method", or
    "no interval (method)" where it has none.  Returns a string."""
    if not iv.has_interval:
        return f"no interval ({iv.method})"
    return f"95 % interval [{number(iv.low, digits)}, {number(iv.high, digits)}], {iv.method}"


def mean(x) -> float | None:
    """The mean of ``x`` (a number or a list, None and NaN dropped, by
    :func:`cnneff.stats.as_values`).  Returns a float, or None when nothing
    is left."""
    v = stats.as_values(x)
    return sum(v) / len(v) if v else None
