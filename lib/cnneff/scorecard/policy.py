"""The tolerance policy, written once in claims.yaml's ``policy:`` section and
applied here to every claim.

* **A count's tolerance** is half a unit of the last digit the paper prints
  (its rounding) plus, where our model definition or our counter is an
  interpretation, one named allowance with its reason
  (``allowance: counter`` or ``definition``).  The printed precision follows
  from the stored number (a decimal's last digit; an integer's last nonzero
  digit, at most 10^6 for millions and 10^9 for billions: "30M" is printed to
  1M); ``digits: N`` gives the significant digits where the stored number
  cannot show them ("20.0M": 3), ``exact: true`` marks a definitional constant
  (no rounding: gamma = 1.1 is not 1.15).  The same paper number therefore
  gets the same tolerance wherever it appears (``tests/test_claims.py``).
* **partly**: outside the tolerance but within ``partly_band`` (relative, of
  the paper's value) beyond it; never for a factor of two.
* **Size on the paper's data**: a superiority claim judged on the paper's own
  data reproduces it only when the gain can reach ``size_share`` of the
  paper's (a gain far below the paper's is not a reproduction of it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..claims import load

__all__ = ["Tolerance", "policy", "printed_unit", "count_tolerance", "partly_band", "size_share"]


def policy() -> dict:
    """The ``policy`` section of claims.yaml.  Returns a dict."""
    return load().get("policy") or {}


def partly_band() -> float:
    """How far beyond its tolerance a count is still "partly" (relative to the paper's value)."""
    return float(policy().get("partly_band", 0.03))


def size_share() -> float:
    """The share of the paper's gain a superiority claim on the paper's data must be able to reach."""
    return float(policy().get("size_share", 0.5))


def printed_unit(value: float, digits: int | None = None) -> float:
    """The unit of the last digit the paper prints of ``value``: ``digits``
    significant digits when given; else a decimal's last digit (20.18 ->
    0.01); an integer below a million is a count to the unit (13,580 filters
    -> 1); from a million on its last nonzero digit, capped at 10^6 (10^9 from
    a billion on): 19,300,000 -> 100,000; 30,000,000 -> 1,000,000.
    Returns a positive number (0 for an exact zero)."""
    v = abs(float(value))
    if v == 0:
        return 0.0
    if digits:
        return 10.0 ** (math.floor(math.log10(v)) - int(digits) + 1)
    if not v.is_integer():
        text = repr(v)
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
        return 10.0 ** -decimals
    if v < 1e6:  # filters, rows, stages, channels: counted to the unit
        return 1.0
    n, unit = int(v), 1
    while n % 10 == 0:
        n //= 10
        unit *= 10
    return float(min(unit, 10 ** 9 if v >= 1e9 else 10 ** 6))


@dataclass(frozen=True)
class Tolerance:
    """A claim's tolerance: ``rel`` (relative to the paper's value) or ``abs``
    (in the claim's unit; a stated range), and how it was built, in words."""

    rel: float | None
    abs: float | None
    how: str

    def allows(self, ours: float, paper: float) -> bool:
        """True when ``ours`` lies within the tolerance of ``paper``."""
        err = abs(float(ours) - float(paper))
        limit = self.abs if self.abs is not None else (self.rel or 0.0) * abs(float(paper))
        return err <= limit + 1e-12 * max(1.0, abs(float(paper)))

    def partly(self, ours: float, paper: float) -> bool:
        """True when ``ours`` lies outside the tolerance but within :func:`partly_band` beyond it."""
        err = abs(float(ours) - float(paper))
        limit = self.abs if self.abs is not None else (self.rel or 0.0) * abs(float(paper))
        return not self.allows(ours, paper) and err <= limit + partly_band() * abs(float(paper))


def _percent(x: float) -> str:
    """A percentage in a reason: three significant digits, never scientific
    notation ("0.176", "0.0000189" for the rounding of an exact count).  Returns a string."""
    if x == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{digits}f}"


def count_tolerance(claim: dict) -> Tolerance:
    """The tolerance of a ``count`` claim under the policy: ``exact: true`` ->
    none; ``abs_tolerance`` -> the paper's own stated range (``tolerance_why``
    says which); else half the printed unit (relative) plus the named
    ``allowance``.  Returns a :class:`Tolerance`."""
    paper = float(claim["value"])
    if claim.get("exact"):
        return Tolerance(0.0, None, "exact (a definitional constant)")
    if "abs_tolerance" in claim:
        return Tolerance(None, float(claim["abs_tolerance"]),
                         f"+-{claim['abs_tolerance']:g} {claim.get('unit', '')} (the paper's own range)".replace("  ", " "))
    rounding = 0.5 * printed_unit(paper, claim.get("digits")) / abs(paper) if paper else 0.0
    name = claim.get("allowance")
    allowance = 0.0
    if name:
        spec = (policy().get("allowances") or {}).get(name)
        if spec is None:
            raise KeyError(f"claim {claim['id']}: unknown allowance {name!r}; claims.yaml's policy names "
                           f"{', '.join(policy().get('allowances') or {})}")
        allowance = float(spec["value"])
    how = f"+-{_percent(100 * rounding)} % (printed rounding)" + (f" + {100 * allowance:g} % ({name})" if name else "")
    return Tolerance(rounding + allowance, None, how)
