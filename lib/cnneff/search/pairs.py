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

__all__ = ["repeat_specs", "by_seed", "on_common_seeds", "tiny_vs_giant", "seed_spread", "signal_over_noise"]


def repeat_specs(specs: pd.DataFrame, seeds) -> pd.DataFrame:
    """Every row of ``specs`` (id, kind, label, r, w, d, ...) again with each
    seed of ``seeds``: id ``<id>_seed<s>``, kind ``"<kind> (seed)"`` (so that a
    repeat never counts as a sample of the sweep), label ``"<label>, seed <s>"``
    and a ``seed`` column.  Returns the new specs (empty with no seeds or rows)."""
    rows = [dict(spec, id=f"{spec['id']}_seed{s}", kind=f"{spec.get('kind', '')} (seed)",
                 label=f"{spec.get('label', '') or spec['id']}, seed {s}", seed=int(s))
            for spec in specs.to_dict("records") for s in seeds]
    return pd.DataFrame(rows, columns=list(dict.fromkeys([*specs.columns, "seed"])))


def by_seed(results: pd.DataFrame, model_id: str) -> pd.Series:
    """Test accuracy (fraction) of ``model_id`` and its repeats, indexed by seed, sorted."""
    rows = results[results["id"].str.fullmatch(rf"{model_id}(_seed\d+)?")]
    return rows.set_index("seed")["accuracy"].sort_index()


def on_common_seeds(results: pd.DataFrame, a_id: str, b_id: str, seeds=None) -> tuple[list, list]:
    """The accuracies of models ``a_id`` and ``b_id`` on the seeds both were
    trained with (only those of ``seeds``, when given), in seed order: the two
    arms of a comparison paired by seed.  Returns (A's list, B's list), equally long."""
    a, b = by_seed(results, a_id), by_seed(results, b_id)
    common = sorted(set(a.index) & set(b.index) & (set(seeds) if seeds is not None else set(a.index)))
    return [float(a[s]) for s in common], [float(b[s]) for s in common]


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
    with several seeds (the root of the mean within-model variance; models
    trained once are left out).  Returns ``(sd, number of models pooled)``;
    NaN (and 0) when no model has two seeds."""
    matched = results[results["id"].str.fullmatch(rf"{pattern}(_seed\d+)?")]
    acc = matched.assign(model=matched["id"].str.replace(r"_seed\d+$", "", regex=True)).groupby("model")["accuracy"]
    var = acc.var(ddof=1)[acc.size() >= 2]
    if var.empty:
        return math.nan, 0
    return float(np.sqrt(var.mean())), len(var)


def signal_over_noise(accuracies, seed_sd: float) -> dict:
    """Whether a sweep's models differ by more than its seed noise.  The
    variance of the models' accuracies (each trained once) is the sum of the
    between-model variance and the seed-to-seed variance ``seed_sd**2``
    (measured on the models trained with several seeds), so the between-model
    part is their difference (a one-way random-effects ANOVA read from two
    sources).  Returns ``total_sd``, ``seed_sd``, ``between_sd`` (0 when the
    noise explains everything), ``ratio`` (between-model over seed variance;
    the ``sweep_signal`` gate needs it above 1) and ``icc`` (the intraclass
    correlation, between / total), all as fractions of accuracy; NaN where
    either side is unknown."""
    acc = np.asarray([a for a in accuracies if a is not None], dtype=float)
    if len(acc) < 2 or not math.isfinite(seed_sd) or seed_sd <= 0:
        nan = math.nan
        return dict(total_sd=float(acc.std(ddof=1)) if len(acc) > 1 else nan, seed_sd=seed_sd, between_sd=nan,
                    ratio=nan, icc=nan)
    total = float(acc.var(ddof=1))
    between = max(0.0, total - seed_sd ** 2)
    return dict(total_sd=math.sqrt(total), seed_sd=float(seed_sd), between_sd=math.sqrt(between),
                ratio=between / seed_sd ** 2, icc=between / total if total > 0 else math.nan)
