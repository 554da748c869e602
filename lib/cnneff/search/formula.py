"""The tiny formula: Gaussian-process regression of r and d on the cost fraction c, and the
TinyNets it derives (``w = sqrt(c / (r^2 d))``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..claims import paper_table
from .sampling import tuned_width


# TinyNet-A..E's cost fraction c (section 3.2: c in {0.9, 0.5, 0.25, 0.13, 0.06}),
# read from claims.yaml's table tinynet_rwd: {"A": c_A, ..., "E": c_E}.
TINY_CS = {str(row["name"]).upper(): float(row["c"]) for _, row in paper_table("tinynet_rwd").iterrows()}


@dataclass
class TinyFormula:
    """The fitted tiny formula: Gaussian processes r(c) and d(c); the width
    follows from the MACs constraint, ``w = sqrt(c / (r^2 d))`` (eq. 5)."""

    gp_r: object  # sklearn GaussianProcessRegressor
    gp_d: object
    c: np.ndarray  # training points (reduction factors)
    r: np.ndarray
    d: np.ndarray

    def predict(self, c) -> pd.DataFrame:
        """Posterior means and standard deviations of r and d at ``c`` and the
        width of eq. 5: columns c, r, r_std, d, d_std, w."""
        c = np.atleast_1d(np.asarray(c, dtype=float))
        r, r_std = self.gp_r.predict(c[:, None], return_std=True)
        d, d_std = self.gp_d.predict(c[:, None], return_std=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where((r > 0) & (d > 0), np.sqrt(np.abs(c / (r ** 2 * d))), np.nan)
        return pd.DataFrame(dict(c=c, r=r, r_std=r_std, d=d, d_std=d_std, w=w))

    def kernels(self) -> dict:
        """The fitted kernels (hyper-parameters after marginal-likelihood optimization), as text for
        people: {"r": "signal variance 0.52, length scale 0.28, white noise 0.013", "d": ...}."""
        return dict(r=_describe(self.gp_r.kernel_), d=_describe(self.gp_d.kernel_))


def _describe(kernel) -> str:
    """A fitted ConstantKernel * RBF + WhiteKernel (of :func:`_gp`) in words."""
    import numpy as np

    p = kernel.get_params()
    g = lambda x: np.format_float_positional(float(x), precision=3, fractional=False, trim="-")  # never 1e-06
    return (f"signal variance {g(p['k1__k1__constant_value'])}, length scale {g(p['k1__k2__length_scale'])}, "
            f"white noise {g(p['k2__noise_level'])}")


def _gp(length_scale, noise, seed, min_length_scale):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = (ConstantKernel(1.0, (1e-2, 1e2)) * RBF(length_scale, (min_length_scale, 10.0))
              + WhiteKernel(noise, (1e-6, 1.0)))
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=5, random_state=seed)


def fit_tiny_formula(c, r, d, *, length_scale: float = 0.3, noise: float = 0.1, min_length_scale: float = 0.15,
                     seed: int = 0) -> TinyFormula:
    """Fit the tiny formula on selected models: Gaussian-process regression
    (scikit-learn; kernel ``C * RBF + White``, hyper-parameters by maximum
    marginal likelihood with 5 restarts) of r on c and of d on c, c = MACs / C0.
    The targets are standardized (``normalize_y``), so the zero-mean prior of
    the paper's eq. 3 is a prior at the training mean; far from the data the
    prediction returns there instead of to 0.  The RBF length scale is kept
    above ``min_length_scale`` (in units of c): a handful of noisy points
    should not make the formula wiggle faster than that."""
    c = np.asarray(c, dtype=float)
    r = np.asarray(r, dtype=float)
    d = np.asarray(d, dtype=float)
    if not (len(c) == len(r) == len(d)) or len(c) < 2:
        raise ValueError("need at least two (c, r, d) points of equal length")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # a hyper-parameter at its bound is a result here (see TinyFormula.kernels)
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp_r = _gp(length_scale, noise, seed, min_length_scale).fit(c[:, None], r)
        gp_d = _gp(length_scale, noise, seed, min_length_scale).fit(c[:, None], d)
    return TinyFormula(gp_r, gp_d, c, r, d)


def held_out_error(c, r, d, **fit_kw) -> pd.DataFrame:
    """Leave-one-out error of the tiny formula: for each of the n (c, r, d)
    points, :func:`fit_tiny_formula` (``fit_kw`` passed on) is fitted on the
    other n - 1 and predicts r and d at the left-out c.  Returns one row per
    point: c, r, r_pred, r_error, d, d_pred, d_error (error = prediction -
    truth, in units of the multiplier); needs n >= 3."""
    c, r, d = (np.asarray(x, dtype=float) for x in (c, r, d))
    if len(c) < 3:
        raise ValueError(f"leave-one-out needs at least three points, got {len(c)}")
    rows = []
    for i in range(len(c)):
        keep = np.arange(len(c)) != i
        p = fit_tiny_formula(c[keep], r[keep], d[keep], **fit_kw).predict([c[i]]).iloc[0]
        rows.append(dict(c=c[i], r=r[i], r_pred=p["r"], r_error=p["r"] - r[i],
                         d=d[i], d_pred=p["d"], d_error=p["d"] - d[i]))
    return pd.DataFrame(rows)


def derive_tinynets(formula: TinyFormula, cs: dict | None = None, *, base_resolution: int = 224,
                    num_classes: int = 1000, in_chans: int = 3, tolerance: float = 0.03) -> pd.DataFrame:
    """TinyNets from a fitted formula: for every ``name: c`` of ``cs`` (default
    TinyNet-A..E's), r and d from the Gaussian processes, ``w_formula =
    sqrt(c / (r^2 d))`` (eq. 5) and ``w`` re-tuned so that the counted MACs hit
    c x C0 (fixed stem and head and channel rounding make eq. 5 overshoot;
    the paper's published widths are tuned this way too).  Columns: name,
    c, r, r_std, d, d_std, w_formula, w, image_size, params, macs, c_actual."""
    cs = dict(TINY_CS if cs is None else cs)
    pred = formula.predict(list(cs.values()))
    rows = []
    for name, (_, p) in zip(cs, pred.iterrows()):
        t = tuned_width(p["c"], p["r"], p["d"], base_resolution=base_resolution, num_classes=num_classes,
                        in_chans=in_chans, tolerance=tolerance)
        rows.append(dict(name=name, c=p["c"], r=p["r"], r_std=p["r_std"], d=p["d"], d_std=p["d_std"],
                         w_formula=p["w"], w=t["w"], image_size=t["image_size"], params=t["params"],
                         macs=t["macs"], c_actual=t["c"]))
    return pd.DataFrame(rows)
