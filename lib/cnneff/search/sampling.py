"""Sampling (r, w, d) twists: uniform in the paper's range within the MAC bounds, around a target
cost with the width tuned, and the one-dimensional solvers (r / w / d alone, the inverse giant formula)."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from ..scaling import inverse_giant
from .costs import cost_row, b0_macs, twist_costs


RANGE = (0.35, 2.8)  # the paper's range of every multiplier (section 4.2)
MAC_BOUNDS = (0.03, 1.05)  # kept models cost between 0.03 and 1.05 x C0 (section 3.2)


def sample_random(n: int, *, seed: int = 0, base_resolution: int = 224, num_classes: int = 1000, in_chans: int = 3,
                  low: float = RANGE[0], high: float = RANGE[1], mac_bounds: tuple[float, float] = MAC_BOUNDS,
                  decimals: int = 3, max_draws: int = 1_000_000) -> pd.DataFrame:
    """``n`` random twists of B0 (the paper's Figure 1 population): draw
    ``(r, d, w)`` uniformly from ``[low, high]^3`` (rounded to ``decimals``)
    with ``numpy.random.default_rng(seed)`` and keep those whose MACs lie in
    ``mac_bounds`` x C0.  Returns a DataFrame with columns id (``s000``...),
    kind, r, w, d, image_size, params, macs, c (= MACs / C0) and draw (index of
    the accepted draw); the same seed gives the same models."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    c0 = b0_macs(base_resolution, num_classes, in_chans)
    rows, draws = [], 0
    while len(rows) < n:
        if draws >= max_draws:
            raise RuntimeError(f"only {len(rows)} of {n} models in {max_draws} draws; widen mac_bounds or the range")
        r, d, w = (round(float(x), decimals) for x in rng.uniform(low, high, size=3))
        draws += 1
        macs = twist_costs(r, w, d, base_resolution, num_classes, in_chans).macs
        if mac_bounds[0] * c0 <= macs <= mac_bounds[1] * c0:
            rows.append(cost_row(r, w, d, base_resolution, num_classes, in_chans, id=f"s{len(rows):03d}",
                                  kind="random", draw=draws - 1))
    cols = ["id", "kind", "r", "w", "d", "image_size", "params", "macs", "c", "draw"]
    return pd.DataFrame(rows, columns=cols)


def _solve(fn: Callable[[float], float], lo: float, hi: float, target: float, iters: int = 50):
    """x in [lo, hi] whose value fn(x) (monotone non-decreasing, a step
    function) is closest to ``target`` in ratio; returns (x, fn(x), status)
    with status "ok", "underflow" (fn(lo) > target) or "overflow" (fn(hi) < target)."""
    f_lo, f_hi = fn(lo), fn(hi)
    if f_lo >= target:
        return lo, f_lo, ("ok" if f_lo == target else "underflow")
    if f_hi <= target:
        return hi, f_hi, ("ok" if f_hi == target else "overflow")
    a, b = lo, hi  # invariant: fn(a) < target <= fn(b)
    for _ in range(iters):
        m = (a + b) / 2
        if fn(m) >= target:
            b = m
        else:
            a = m
    fa, fb = fn(a), fn(b)
    return (a, fa, "ok") if abs(math.log(fa / target)) < abs(math.log(fb / target)) else (b, fb, "ok")


def solve_multiplier(target_c: float, vary: str, fixed: dict | None = None, *, base_resolution: int = 224,
                     num_classes: int = 1000, in_chans: int = 3, bounds: tuple[float, float] = (0.05, 4.0),
                     tolerance: float = 0.03) -> dict:
    """Tune one multiplier (``vary`` = "r", "w" or "d") with the others fixed
    (default 1.0) so that the MACs are as close as possible to ``target_c`` x C0
    (MACs are a step function of each multiplier: channels, blocks and pixels
    are integers).  Returns a dict with r, w, d, image_size, params, macs, c,
    ``within`` (``|c / target_c - 1| <= tolerance``) and ``status`` ("ok", or
    "underflow" when even the smallest value costs too much, e.g. B0 at its
    minimum depth of one block per stage, or "overflow")."""
    if vary not in ("r", "w", "d"):
        raise ValueError(f"vary must be 'r', 'w' or 'd', got {vary!r}")
    m = {"r": 1.0, "w": 1.0, "d": 1.0, **(fixed or {})}
    c0 = b0_macs(base_resolution, num_classes, in_chans)

    def c_of(x):
        return twist_costs(**{**m, vary: x}, base_resolution=base_resolution, num_classes=num_classes,
                           in_chans=in_chans).macs / c0

    x, c, status = _solve(c_of, bounds[0], bounds[1], target_c)
    m[vary] = x
    row = cost_row(m["r"], m["w"], m["d"], base_resolution, num_classes, in_chans)
    return dict(**row, within=bool(abs(c / target_c - 1) <= tolerance), status=status)


def tuned_width(target_c: float, r: float, d: float, **kw) -> dict:
    """:func:`solve_multiplier` for the width: the w that brings B0 twisted by
    (r, ., d) closest to ``target_c`` x C0 (how the paper's TinyNets and the
    "around 0.5 C0" samples get their width)."""
    return solve_multiplier(target_c, "w", dict(r=r, d=d), **kw)


def inverse_giant_at(target_c: float, *, base_resolution: int = 224, num_classes: int = 1000, in_chans: int = 3,
                     tolerance: float = 0.03) -> dict:
    """EfficientNet-B^-phi tuned to ``target_c`` x C0: the inverse giant
    formula ``(r, w, d) = (GAMMA^-phi, BETA^-phi, ALPHA^-phi)`` with a real
    ``phi`` chosen so the MACs hit the target (rounding makes the integer
    ``phi`` models cost more than ``2^-phi`` C0).  When a step of the depth
    rounding jumps over the target by more than ``tolerance``, the width is
    fine-tuned from ``BETA^-phi`` (the paper "calculated and tuned" its B^-1
    likewise).  Returns the dict of :func:`solve_multiplier` plus ``phi`` and
    ``w_formula`` (= ``BETA^-phi``)."""
    c0 = b0_macs(base_resolution, num_classes, in_chans)

    def c_of(neg_phi):  # MACs fall as phi grows: solve on -phi to keep fn non-decreasing
        r, w, d = inverse_giant(-neg_phi)
        return twist_costs(r, w, d, base_resolution, num_classes, in_chans).macs / c0

    x, c, status = _solve(c_of, -12.0, 0.0, target_c)
    r, w, d = inverse_giant(-x)
    w_formula = w
    if abs(c / target_c - 1) > tolerance:  # a depth rounding step jumped over the target: fine-tune w
        t = tuned_width(target_c, r, d, base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans)
        w, c = t["w"], t["c"]
    row = cost_row(r, w, d, base_resolution, num_classes, in_chans)
    return dict(**row, phi=-x, w_formula=w_formula, within=bool(abs(c / target_c - 1) <= tolerance), status=status)


def sample_around(n: int, target: float = 0.5, *, tolerance: float = 0.03, seed: int = 0, base_resolution: int = 224,
                  num_classes: int = 1000, in_chans: int = 3, low: float = RANGE[0], high: float = RANGE[1],
                  decimals: int = 3, max_draws: int = 100_000) -> pd.DataFrame:
    """The paper's section 3.1 population: ``n`` models of about ``target`` x C0.
    Draw ``(r, d)`` uniformly from ``[low, high]^2``, start from
    ``w = sqrt(target / (d r^2))`` and tune w until the MACs are within
    ``tolerance`` of the target; keep the model if w stays in ``[low, high]``.
    Returns the columns of :func:`sample_random` plus w_formula (the
    untuned start) and ids ``a000``..."""
    rng = np.random.default_rng([seed, 31])
    rows, draws = [], 0
    while len(rows) < n:
        if draws >= max_draws:
            raise RuntimeError(f"only {len(rows)} of {n} models in {max_draws} draws")
        r, d = (round(float(x), decimals) for x in rng.uniform(low, high, size=2))
        draws += 1
        t = tuned_width(target, r, d, base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans,
                        tolerance=tolerance)
        w = round(t["w"], decimals)
        row = cost_row(r, w, d, base_resolution, num_classes, in_chans, id=f"a{len(rows):03d}", kind="around",
                        draw=draws - 1)
        if low <= w <= high and abs(row["c"] / target - 1) <= tolerance:
            rows.append(dict(row, w_formula=math.sqrt(target / (d * r * r))))
    cols = ["id", "kind", "r", "w", "d", "image_size", "params", "macs", "c", "draw", "w_formula"]
    return pd.DataFrame(rows, columns=cols)
