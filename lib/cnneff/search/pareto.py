"""Pareto front and NSGA-style non-dominated sorting of accuracy (up) against cost (down);
Spearman correlation of the multipliers with the cost."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd


def nondominated_sort(objectives) -> np.ndarray:
    """Front index of every point (0 = Pareto front) for objectives to be
    **minimized**, array [n, m] (Deb et al.'s fast non-dominated sort, as in
    NSGA-II/III): a point dominates another if it is no worse in every
    objective and better in at least one; front k+1 is the front of what is
    left after removing fronts 0..k.  Identical points share a front."""
    f = np.asarray(objectives, dtype=float)
    if f.ndim != 2:
        raise ValueError("objectives must be a 2-D array [n_points, n_objectives]")
    n = len(f)
    leq = (f[:, None, :] <= f[None, :, :]).all(-1)
    lt = (f[:, None, :] < f[None, :, :]).any(-1)
    dom = leq & lt  # dom[i, j]: i dominates j
    count = dom.sum(0)  # how many dominate j
    rank = np.full(n, -1, dtype=int)
    front = np.flatnonzero(count == 0)
    k = 0
    while front.size:
        rank[front] = k
        count = count - dom[front].sum(0)
        count[rank >= 0] = -1
        front = np.flatnonzero(count == 0)
        k += 1
    return rank


def _objectives(accuracy, cost) -> np.ndarray:
    """[n, 2] objectives to minimize: -accuracy and cost."""
    return np.column_stack([-np.asarray(accuracy, dtype=float), np.asarray(cost, dtype=float)])


def pareto_front(accuracy, cost) -> np.ndarray:
    """Boolean mask [n] of the accuracy-cost Pareto front (accuracy up, cost down):
    front 0 of :func:`nondominated_sort`."""
    return nondominated_sort(_objectives(accuracy, cost)) == 0


def crowding_distance(objectives) -> np.ndarray:
    """NSGA-II crowding distance of the points of one front (objectives [n, m]):
    the extremes of every objective get infinity, the others the sum over
    objectives of the normalized gap between their two neighbours."""
    f = np.asarray(objectives, dtype=float)
    n, m = f.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(f[:, j], kind="stable")
        span = f[order[-1], j] - f[order[0], j]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (f[order[2:], j] - f[order[:-2], j]) / span
    return dist


def select_top(df: pd.DataFrame, fraction: float = 0.2, accuracy: str = "accuracy", cost: str = "macs") -> pd.DataFrame:
    """The paper's "top 20 % models with higher performance and lower
    FLOPs" by non-dominated sorting: whole fronts in order while they fit into
    ``ceil(fraction * n)`` models, and from the front that overflows the
    points with the largest crowding distance (NSGA-II's tie-break; the paper
    names NSGA-III, whose reference-point niching plays the same role).
    Returns ``df`` with added columns ``front`` (0 = Pareto front) and
    ``selected`` (bool)."""
    out = df.copy()
    f = _objectives(out[accuracy].to_numpy(float), out[cost].to_numpy(float))
    rank = nondominated_sort(f)
    k = max(1, math.ceil(fraction * len(out) - 1e-9))
    selected = np.zeros(len(out), dtype=bool)
    for front in range(rank.max() + 1):
        idx = np.flatnonzero(rank == front)
        room = k - selected.sum()
        if room <= 0:
            break
        if len(idx) <= room:
            selected[idx] = True
        else:
            cd = crowding_distance(f[idx])
            selected[idx[np.argsort(-cd, kind="stable")[:room]]] = True
    out["front"] = rank
    out["selected"] = selected
    return out


def spearman_table(df: pd.DataFrame, against: str = "macs", dims: Iterable[str] = ("r", "d", "w")) -> pd.DataFrame:
    """Spearman rank correlation (``scipy.stats.spearmanr``) of each multiplier
    with ``against`` over the rows of ``df``: columns dimension, spearman, p_value, n."""
    from scipy.stats import spearmanr

    rows = []
    for dim in dims:
        res = spearmanr(df[dim], df[against])
        rows.append(dict(dimension=dim, spearman=float(res.statistic), p_value=float(res.pvalue), n=len(df)))
    return pd.DataFrame(rows)
