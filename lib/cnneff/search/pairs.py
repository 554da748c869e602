"""Models trained again with other seeds: each model's accuracy per seed,
TinyNet against EfficientNet-B^-phi paired by budget and seed, and the
seed-to-seed spread of one model's accuracy.

A sweep's result table has one row per trained model; a repeat of model
``ID`` with seed ``s`` is named ``ID_seed<s>`` (:func:`cnneff.search.run_sweep`
writes them like any other model)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats import mean_interval

__all__ = ["by_seed", "tiny_vs_giant", "seed_spread"]


def by_seed(results: pd.DataFrame, model_id: str) -> pd.Series:
    """Test accuracy (fraction) of ``model_id`` and its repeats, indexed by seed, sorted."""
    rows = results[results["id"].str.fullmatch(rf"{model_id}(_seed\d+)?")]
    return rows.set_index("seed")["accuracy"].sort_index()


def tiny_vs_giant(results: pd.DataFrame, letters: str = "BCDE") -> tuple[pd.DataFrame, dict]:
    """Our TinyNet of each budget (``ours_<letter>``) against the
    EfficientNet-B^-phi of the same budget (``bm<phi>``, phi = 1 for the first
    letter), paired by seed.  Returns ``(pairs, per_budget)``: one table row
    per budget (pair, c, seeds, both mean accuracies, the mean difference in
    points and its 95 % t interval over seeds) and ``{letter: (tiny
    accuracies, giant accuracies)}`` on the common seeds, in seed order."""
    rows, per_budget = [], {}
    c_of = results.set_index("id")["c"]
    for phi, key in enumerate(letters, start=1):
        tiny, giant = by_seed(results, f"ours_{key}"), by_seed(results, f"bm{phi}")
        common = sorted(set(tiny.index) & set(giant.index))
        if not common:
            continue
        iv = mean_interval(list(100 * (tiny[common] - giant[common])))
        rows.append({"pair": f"TinyNet-{key} (ours) vs B^-{phi}", "c": c_of[f"ours_{key}"], "seeds": len(common),
                     "TinyNet": tiny[common].mean(), "B^-phi": giant[common].mean(),
                     "TinyNet minus B^-phi (points)": iv.mean, "95 % low": iv.low if iv.has_interval else np.nan,
                     "95 % high": iv.high if iv.has_interval else np.nan})
        per_budget[key] = ([float(tiny[s]) for s in common], [float(giant[s]) for s in common])
    return pd.DataFrame(rows), per_budget


def seed_spread(results: pd.DataFrame, pattern: str = r"(ours_[BCDE]|bm[1-4])") -> tuple[float, int]:
    """The seed-to-seed standard deviation of one model's accuracy (fraction),
    pooled over the models whose id matches ``pattern`` and that were trained
    with several seeds (the root of the mean within-model variance).  Returns
    ``(sd, number of models)``; NaN when no model has two seeds."""
    repeated = results[results["id"].str.fullmatch(rf"{pattern}(_seed\d+)?")]
    spread = repeated.assign(model=repeated["id"].str.replace(r"_seed\d+$", "", regex=True)).groupby("model")["accuracy"]
    if not spread.ngroups or spread.size().min() < 2:
        return math.nan, spread.ngroups
    return float(np.sqrt(spread.var(ddof=1).mean())), spread.ngroups
