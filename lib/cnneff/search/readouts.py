"""What a trained sweep says, as the claims read it: the Pareto front's lead
over EfficientNet-B^-phi at equal cost (Figure 1), the most accurate twist
under a cost (section 4.2's 318M sample), the statistics of the models sampled
around one budget (Figure 2, section 3.1), the smallest per-epoch gap of two
learning curves (Figure 4) and the cost of one paired replicate (the
scorecard's power rows).

Every accuracy is a fraction; a result table is :func:`cnneff.search.run_sweep`'s
(one row per trained model, repeats named ``ID_seed<s>``)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import stats
from .pairs import by_seed

__all__ = ["front_gap", "best_under", "around_readouts", "min_epoch_gap", "replicate_costs"]


def front_gap(sweep: pd.DataFrame, giants: pd.DataFrame, cost: str = "macs") -> tuple[float, pd.DataFrame]:
    """The Pareto front's lead over the inverse giant formula at equal cost:
    for every B^-phi of ``giants`` (rows id, ``cost`` and accuracy; repeats
    ``ID_seed<s>`` averaged), the best accuracy of a ``sweep`` twist that costs
    at most as much (the front's value at that cost) minus B^-phi's mean
    accuracy.  Returns (the mean gap over the budgets that have a cheaper twist,
    NaN if none; a table of id, cost, front accuracy, giant accuracy, gap)."""
    rows = []
    base = giants[~giants["id"].str.contains("_seed")]
    for _, g in base.iterrows():
        cheaper = sweep.loc[sweep[cost] <= g[cost], "accuracy"]
        giant = float(by_seed(giants, g["id"]).mean())
        front = float(cheaper.max()) if len(cheaper) else math.nan
        rows.append(dict(id=g["id"], cost=float(g[cost]), front=front, giant=giant, gap=front - giant))
    table = pd.DataFrame(rows, columns=["id", "cost", "front", "giant", "gap"])
    gaps = table["gap"].dropna()
    return (float(gaps.mean()) if len(gaps) else math.nan), table


def best_under(sweep: pd.DataFrame, max_cost: float, cost: str = "macs") -> pd.Series | None:
    """The most accurate row of ``sweep`` whose ``cost`` is at most
    ``max_cost`` (e.g. the twists no dearer than the paper's 318M sample).
    Returns the row, or None when no model is that cheap."""
    cheap = sweep[sweep[cost] <= max_cost]
    return None if cheap.empty else cheap.loc[cheap["accuracy"].idxmax()]


def _boot(statistic, n: int) -> dict:
    """A percentile bootstrap over ``n`` models of ``statistic(index)``, as the
    interval dict the scorecard reads (:meth:`cnneff.stats.Interval.as_effect`)."""
    return stats.bootstrap_interval(statistic, n).as_effect()


def _rho(x, y) -> float:
    return stats.spearman(x, y) if len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0 else math.nan


def _group_gap(acc, mask_a, mask_b) -> float:
    return float(acc[mask_a].mean() - acc[mask_b].mean()) if mask_a.any() and mask_b.any() else math.nan


def around_readouts(around: pd.DataFrame, top_share: float = 0.25, low_r: float = 0.8,
                    high_r: float = 1.4) -> dict:
    """Section 3.1's reading of the models sampled around one budget (rows r,
    d, w, accuracy; Figure 2).  Returns a dict of metrics: ``around_best_r``
    (r of the most accurate model), ``around_top_d_span`` (max - min d over the
    top ``top_share`` by accuracy, at least two models), ``around_top_share_w_below_1``
    (share of those with w < 1), and bootstrap intervals over the models
    (interval dicts): ``around_abs_rho_acc_r_minus_d`` / ``_minus_w``
    (``|Spearman(r, acc)|`` minus that of d / w), ``around_rho_acc_r_below_08``
    (Spearman(r, acc) among r < ``low_r``), ``around_acc_mid_r_minus_high_r``
    (mean accuracy of ``low_r`` <= r <= ``high_r`` minus that of r >
    ``high_r``) and ``around_neg_rho_acc_w`` (minus Spearman(w, acc)).  Needs
    at least three models (else an empty dict)."""
    if len(around) < 3:
        return {}
    r, d, w, acc = (around[k].to_numpy(dtype=float) for k in ("r", "d", "w", "accuracy"))
    top = around.nlargest(max(2, math.ceil(top_share * len(around))), "accuracy")
    low = np.flatnonzero(r < low_r)
    mid, high = (r >= low_r) & (r <= high_r), r > high_r
    return dict(
        around_best_r=float(r[np.argmax(acc)]),
        around_top_d_span=float(top["d"].max() - top["d"].min()),
        around_top_share_w_below_1=float((top["w"] < 1).mean()),
        around_abs_rho_acc_r_minus_d=_boot(lambda ix: abs(_rho(r[ix], acc[ix])) - abs(_rho(d[ix], acc[ix])), len(r)),
        around_abs_rho_acc_r_minus_w=_boot(lambda ix: abs(_rho(r[ix], acc[ix])) - abs(_rho(w[ix], acc[ix])), len(r)),
        around_rho_acc_r_below_08=_boot(lambda ix: _rho(r[low][ix], acc[low][ix]), len(low)),
        around_acc_mid_r_minus_high_r=_boot(lambda ix: _group_gap(acc[ix], mid[ix], high[ix]), len(r)),
        around_neg_rho_acc_w=_boot(lambda ix: -_rho(w[ix], acc[ix]), len(r)))


def min_epoch_gap(results: pd.DataFrame, a_id: str, b_id: str) -> dict:
    """Figure 4's "higher at every epoch": for every seed both models were
    trained with, the smallest gap over the epochs of their validation
    accuracy curves (``val_curve``, A minus B); their mean with a 95 % t
    interval over the seeds.  Returns the interval dict the scorecard reads
    (fractions), with ``per_seed`` added; ``n`` 0 when no seed is shared."""
    def curves(model_id):
        rows = results[results["id"].str.fullmatch(rf"{model_id}(_seed\d+)?")]
        return {int(s): list(c) for s, c in zip(rows["seed"], rows["val_curve"]) if isinstance(c, list) and c}

    a, b = curves(a_id), curves(b_id)
    gaps = [float(min(x - y for x, y in zip(a[s], b[s]))) for s in sorted(set(a) & set(b))]
    out = stats.mean_interval(gaps).as_effect() if gaps else dict(effect=None, ci_low=None, ci_high=None, sd=None, n=0)
    return {**out, "method": "t interval over seeds of the smallest per-epoch gap", "per_seed": gaps}


def replicate_costs(results: pd.DataFrame, pairs: list[tuple[str, str]]) -> tuple[list[float], float]:
    """What one paired replicate costs: for every (A, B) model-id pair of
    ``pairs`` and every seed both were trained with, the wall seconds of the two
    trainings together, and the mean training MACs of a replicate (both arms:
    forward MACs per image at the trained side x training images x epochs x 3
    for forward and backward).  Returns (seconds per replicate, a list; MACs
    per replicate, a float; NaN when no pair was trained)."""
    seconds, macs = [], []
    for a_id, b_id in pairs:
        rows = {}
        for model_id in (a_id, b_id):
            sel = results[results["id"].str.fullmatch(rf"{model_id}(_seed\d+)?")]
            rows[model_id] = sel.set_index("seed")
        common = sorted(set(rows[a_id].index) & set(rows[b_id].index))
        for s in common:
            both = [rows[k].loc[s] for k in (a_id, b_id)]
            seconds.append(float(sum(x["seconds"] for x in both)))
            macs.append(float(sum(x["train_macs"] * x["train_images"] * x["epochs"] * 3 for x in both)))
    return seconds, (float(np.mean(macs)) if macs else math.nan)
