"""The statistics every verdict rests on: intervals over seeds, paired
differences, ratios of repeated timings, and the minimum detectable effect.

Notebooks and the scorecard use only these functions, so that a reader finds
every rule of evidence in one file.  Conventions:

* **Seeds are the unit of replication.**  A trained quantity (test accuracy,
  say) measured once per seed gets a two-sided Student-t interval over the
  seeds: ``mean +- t(0.975, n-1) * sd / sqrt(n)``.  The seed-to-seed spread
  includes the test set's sampling noise, so nothing is added for it.
* **One seed gives no interval over seeds.**  The functions then return an
  :class:`Interval` whose ``low`` and ``high`` are NaN (``method`` says so);
  a comparison resting on it is *inconclusive* (see :mod:`cnneff.scorecard`).
  Only :func:`accuracy_interval`, used by validity gates, falls back to the
  test set's binomial (Wilson) interval there, and says so: the TinyNet
  sweep measured the seed spread at 1.7x the binomial error, so that interval
  is too narrow for comparisons but fine for "is this far above chance".
* **Paired by seed.**  Two models trained with the same seeds (same data
  order, same initialization stream) are compared through the per-seed
  differences, which cancels what the seed does to both.
* **Ratios** (speed-ups, file sizes) are averaged on the log scale: the
  interval of the mean log-ratio, exponentiated (a geometric mean).
* **Minimum detectable effect** (MDE) of a paired design: the true effect
  that a two-sided 5 % test finds with 80 % power,
  ``(t(0.975, n-1) + t(0.8, n-1)) * sd / sqrt(n)``; before any spread is
  measured, its binomial lower bound ``(z(0.975) + z(0.8)) *
  sqrt(2 p (1-p) / n_test / n)``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas is imported only where a table is built
    import pandas as pd

__all__ = [
    "CONFIDENCE", "POWER", "Interval", "as_values", "mean_interval", "paired_difference",
    "ratio_interval", "binomial_interval", "accuracy_interval", "mde", "mde_normal", "bootstrap_interval", "spearman",
    "interval_table", "format_interval",
]

CONFIDENCE = 0.95  # every interval in the book is a two-sided 95 % interval
POWER = 0.80  # the power at which a minimum detectable effect is stated


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided interval.

    ``mean``: the estimate (a mean, a mean difference, or a geometric-mean ratio);
    ``low`` / ``high``: the interval's ends (NaN when there is none, e.g. one
    seed); ``n``: how many values it rests on; ``sd``: their standard
    deviation (NaN for one value; for ratios, of the log-ratios); ``method``:
    how it was computed, in words."""

    mean: float
    low: float
    high: float
    n: int
    sd: float
    method: str

    @property
    def has_interval(self) -> bool:
        """True when ``low`` and ``high`` are finite numbers."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def excludes(self, value: float) -> bool:
        """True when the interval lies entirely above or entirely below ``value``."""
        return self.has_interval and (self.low > value or self.high < value)

    def as_dict(self) -> dict:
        """The fields as a plain dict (floats; NaN for missing)."""
        return asdict(self)

    def as_effect(self) -> dict:
        """The interval as metrics.json stores a precomputed effect (the
        scorecard's ``superiority`` kind reads it): ``{effect, ci_low,
        ci_high, n, method}``, None where there is no interval."""
        fin = lambda x: x if math.isfinite(x) else None
        return dict(effect=fin(self.mean), ci_low=fin(self.low), ci_high=fin(self.high), sd=fin(self.sd), n=self.n,
                    method=self.method)


def _t(q: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def as_values(x) -> list[float]:
    """``x`` (a number, or a list/array of numbers, one per seed or repeat) as a
    list of floats; None and NaN entries are dropped."""
    if x is None:
        return []
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        x = [x]
    out = []
    for v in x:
        if v is None:
            continue
        v = float(v)
        if math.isfinite(v):
            out.append(v)
    return out


def mean_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``values`` (one per seed) and its Student-t interval over them.

    Returns an :class:`Interval` in the values' units; with one value the
    interval is (NaN, NaN) and ``method`` says "1 value: no interval"."""
    v = np.asarray(as_values(values), dtype=float)
    n = len(v)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, math.nan, "no values")
    mean = float(v.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, 1, math.nan, "1 value: no interval")
    sd = float(v.std(ddof=1))
    half = _t(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, sd, f"t interval over {n} values")


def paired_difference(a, b, scale: float = 1.0, confidence: float = CONFIDENCE) -> Interval:
    """Mean of the per-seed differences ``(a_i - b_i) * scale`` and its t interval.

    ``a`` and ``b`` hold one value per seed, in the same seed order (the
    scorecard checks the lengths); ``scale`` converts units (100: fractions
    to percentage points).  Returns an :class:`Interval` in the scaled units."""
    a, b = as_values(a), as_values(b)
    if len(a) != len(b):
        raise ValueError(f"paired values need one value per seed on both sides; got {len(a)} and {len(b)}")
    d = [(x - y) * scale for x, y in zip(a, b)]
    out = mean_interval(d, confidence)
    return Interval(out.mean, out.low, out.high, out.n, out.sd,
                    out.method.replace("values", "paired differences"))


def ratio_interval(numerator, denominator=None, confidence: float = CONFIDENCE) -> Interval:
    """Geometric-mean ratio and its interval, from repeated measurements.

    With ``denominator`` None, ``numerator`` holds the ratios themselves (one
    per repeat); otherwise ratios are formed pairwise ``numerator[i] /
    denominator[i]`` (e.g. two models timed alternately).  The t interval is
    taken over the log-ratios and exponentiated, so it is never negative.
    Returns an :class:`Interval` of the ratio (``sd`` is of the log-ratios)."""
    num = as_values(numerator)
    if denominator is not None:
        den = as_values(denominator)
        if len(num) != len(den):
            return _unpaired_ratio(num, den, confidence)
        num = [x / y for x, y in zip(num, den)]
    if any(r <= 0 for r in num):
        raise ValueError(f"ratios must be positive, got {num}")
    logs = mean_interval([math.log(r) for r in num], confidence)
    lo = math.exp(logs.low) if math.isfinite(logs.low) else math.nan
    hi = math.exp(logs.high) if math.isfinite(logs.high) else math.nan
    mean = math.exp(logs.mean) if math.isfinite(logs.mean) else math.nan
    return Interval(mean, lo, hi, logs.n, logs.sd, logs.method.replace("values", "log-ratios"))


def _unpaired_ratio(num: list[float], den: list[float], confidence: float) -> Interval:
    """Ratio of the geometric means of two independent samples (repeats that
    cannot be paired, e.g. 4 baseline epochs against 2 fine-tuning epochs),
    with a Welch t interval on the log scale.  No interval unless each side
    has at least 2 values."""
    if not num or not den or any(x <= 0 for x in num + den):
        raise ValueError(f"ratios need positive values on both sides, got {num} and {den}")
    ln, ld = np.log(num), np.log(den)
    mean = float(ln.mean() - ld.mean())
    if len(ln) < 2 or len(ld) < 2:
        return Interval(math.exp(mean), math.nan, math.nan, min(len(ln), len(ld)), math.nan,
                        f"unpaired: {len(ln)} and {len(den)} values, no interval")
    vn, vd = ln.var(ddof=1) / len(ln), ld.var(ddof=1) / len(ld)
    se = math.sqrt(vn + vd)
    if se == 0:
        return Interval(math.exp(mean), math.exp(mean), math.exp(mean), min(len(ln), len(ld)), 0.0,
                        f"unpaired: {len(ln)} and {len(ld)} values, no spread")
    df = (vn + vd) ** 2 / (vn ** 2 / (len(ln) - 1) + vd ** 2 / (len(ld) - 1))
    half = _t(0.5 + confidence / 2, max(1, int(df))) * se
    return Interval(math.exp(mean), math.exp(mean - half), math.exp(mean + half), min(len(ln), len(ld)), se,
                    f"Welch t interval of log-ratios, unpaired ({len(ln)} and {len(ld)} values)")


def binomial_interval(p: float, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval of a proportion ``p`` observed on ``n`` items
    (e.g. a test accuracy on ``n`` test images).  Returns an :class:`Interval`
    of the proportion (``sd`` is the binomial standard error)."""
    if n <= 0:
        return Interval(p, math.nan, math.nan, 0, math.nan, "no test images")
    z = _z(0.5 + confidence / 2)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, centre - half, centre + half, 1, math.sqrt(p * (1 - p) / n),
                    f"Wilson interval on {n} test images (1 seed: seed noise not included)")


def accuracy_interval(per_seed, n_test: int | None = None, confidence: float = CONFIDENCE) -> Interval:
    """Interval of a model's accuracy (fraction) measured once per seed.

    Two or more seeds: the t interval over seeds (:func:`mean_interval`).  One
    seed and ``n_test`` known: the Wilson interval on the test images
    (:func:`binomial_interval`), which leaves out the seed-to-seed spread.
    Used by validity gates ("is the baseline above the majority class")."""
    v = as_values(per_seed)
    if len(v) == 1 and n_test:
        return binomial_interval(v[0], int(n_test), confidence)
    return mean_interval(v, confidence)


def mde(n_seeds: int, sd: float | None = None, n_test: int | None = None, p: float = 0.5,
        scale: float = 1.0, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """Minimum detectable effect of a paired comparison, in the units of ``scale``.

    ``n_seeds`` paired runs whose per-seed differences have standard
    deviation ``sd`` (measured; already in scaled units) detect, with a
    two-sided test at ``1 - confidence`` and the given ``power``, effects of
    ``(t(conf) + t(power)) * sd / sqrt(n)`` with ``n - 1`` degrees of freedom.
    Without a measured ``sd`` (one seed, or a design not yet run) the
    binomial lower bound for two accuracies near ``p`` on ``n_test`` test
    images is used with normal quantiles: ``(z(conf) + z(power)) * scale *
    sqrt(2 p (1 - p) / n_test / n_seeds)``.  Returns NaN when neither is known."""
    n = int(n_seeds)
    if sd is not None and math.isfinite(sd) and n >= 2:
        return (_t(0.5 + confidence / 2, n - 1) + _t(power, n - 1)) * sd / math.sqrt(n)
    if n_test:
        return (_z(0.5 + confidence / 2) + _z(power)) * scale * math.sqrt(2 * p * (1 - p) / n_test / max(n, 1))
    return math.nan


def mde_normal(se: float, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """Minimum detectable effect of an estimate with standard error ``se``
    (e.g. a bootstrap's): ``(z(conf) + z(power)) * se``, in the estimate's units."""
    return (_z(0.5 + confidence / 2) + _z(power)) * se


def bootstrap_interval(statistic: Callable[[np.ndarray], float], n_items: int, n_boot: int = 2000,
                       seed: int = 0, confidence: float = CONFIDENCE) -> Interval:
    """Percentile bootstrap interval of ``statistic(index)`` over ``n_items``
    resampled with replacement (``index`` is an integer array into the items).

    Used where the unit of replication is a model of a sweep, not a seed
    (e.g. a difference of two Spearman correlations on the Pareto models).
    Resamples whose statistic is NaN (say, a constant column) are dropped.
    Returns an :class:`Interval` whose ``mean`` is the statistic on all items."""
    rng = np.random.default_rng(seed)
    full = float(statistic(np.arange(n_items)))
    stats = np.array([statistic(rng.integers(0, n_items, n_items)) for _ in range(n_boot)], dtype=float)
    stats = stats[np.isfinite(stats)]
    if n_items < 3 or len(stats) < n_boot // 2:
        return Interval(full, math.nan, math.nan, n_items, math.nan, f"bootstrap over {n_items} items: too few")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [a, 1 - a])
    return Interval(full, float(lo), float(hi), n_items, float(stats.std(ddof=1)),
                    f"percentile bootstrap over {n_items} items ({len(stats)} resamples)")


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (NaN when either is constant)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def format_interval(iv: Interval, digits: int = 1, scale: float = 1.0) -> str:
    """``"85.2 [83.1, 87.4]"``: the mean and 95 % interval of ``iv`` times
    ``scale`` at ``digits`` decimals; ``"85.2"`` alone when there is no interval."""
    m = f"{iv.mean * scale:.{digits}f}"
    return f"{m} [{iv.low * scale:.{digits}f}, {iv.high * scale:.{digits}f}]" if iv.has_interval else m


def interval_table(rows, by: str, columns: dict, digits: int = 1, ratio_columns=()) -> "pd.DataFrame":
    """Means and 95 % intervals over seeds, one table row per value of ``by``.

    ``rows``: a DataFrame (or list of dicts) with one row per (``by``, seed);
    ``columns``: ``{column: (header, scale)}``, e.g. ``{"test_accuracy":
    ("accuracy (%)", 100)}``.  Columns named in ``ratio_columns`` use the
    geometric mean and the interval of the log values (:func:`ratio_interval`;
    for ratios and latencies), the others :func:`mean_interval`.  Returns a
    DataFrame of strings ``"mean [low, high]"`` indexed by ``by`` in first-seen
    order, with the headers as columns and an ``n`` column (values per row)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    out = {}
    for key, part in df.groupby(by, sort=False):
        cells = {}
        for col, (header, scale) in columns.items():
            vals = [v for v in part[col].tolist() if v is not None and math.isfinite(v)]
            if not vals:
                cells[header] = "-"
                continue
            iv = ratio_interval(vals) if col in ratio_columns else mean_interval(vals)
            cells[header] = format_interval(iv, digits, scale)
        cells["n"] = len(part)
        out[key] = cells
    return pd.DataFrame.from_dict(out, orient="index").rename_axis(by)
