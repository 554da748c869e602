"""TinyNet's model Rubik's cube (paper 004): random (r, d, w) twists of
EfficientNet-B0, their Pareto front, and the Gaussian-process tiny formula.

The pipeline of Han et al. (NeurIPS 2020), sections 3 and 4.2:

1. **Sample** ``(r, d, w)`` uniformly from ``[0.35, 2.8]^3`` and keep the
   models whose MACs lie in ``[0.03, 1.05] x C0``, where ``C0`` is B0's MACs
   at the base resolution (:func:`sample_random`); or sample random ``(r, d)``
   and tune ``w`` so that the MACs are within 3 % of ``0.5 C0``
   (:func:`sample_around`, the paper's section 3.1).
2. **Train** every sample briefly and identically (:func:`train_twist`, which
   wraps :func:`cnneff.train.fit`) and write one JSON result file per model;
   :func:`run_sweep` farms the samples out to Ray workers (a local Ray
   instance by default, or a cluster with ``address=``) or runs them in
   process, skipping models whose result file already exists, so a killed
   sweep resumes where it stopped.  The files are the same either way.
3. **Select** the Pareto front (accuracy up, MACs down) and the top 20 % by
   NSGA-style non-dominated sorting (:func:`nondominated_sort`,
   :func:`select_top`); correlate r, d, w with the MACs (:func:`spearman_table`).
4. **Fit the tiny formula**: Gaussian-process regression (RBF kernel plus
   white noise) of r on c and of d on c, then ``w = sqrt(c / (r^2 d))``
   (:func:`fit_tiny_formula`, :func:`derive_tinynets`).

Costs are exact and fast: :func:`twist_costs` computes the parameters and
MACs of a twisted B0 analytically from timm's own block decoding and channel
rounding (the ones :func:`cnneff.models.twisted_b0` builds with), following
:mod:`cnneff.counting`'s convention (convolutions and the classifier only);
the tests check it against the FlopCounterMode counter.  A model's input side
is ``int(base_resolution * r)``; ``base_resolution=224`` is the paper's.
Costs may be counted at another scale than the one a model is trained at
(``costs=PAPER_SCALE``): below about 64 px the feature maps of B0's last
stages are 1-2 pixels wide and MACs stop scaling with r^2, so a search that
trains on small images can still count and constrain its models at the
paper's 224 px.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .claims import paper_table
from .counting import Counts
from .models import ALPHA, B0_ARCH, BETA, GAMMA, twisted_b0
from .config import PRESETS, TrainConfig
from .core import atomic_write_json, num_threads
from .train import zero_init_residual  # noqa: F401 (re-exported: its old home)

__all__ = [
    "RANGE", "PAPER_SCALE", "MAC_BOUNDS", "TINY_CS", "image_side", "twist_costs", "b0_macs", "sample_random",
    "sample_around", "solve_multiplier", "tuned_width", "inverse_giant_at", "shrink_variants", "DEFAULT_TRAIN",
    "zero_init_residual", "train_twist", "start_ray", "run_sweep", "sweep_fingerprint",
    "nondominated_sort", "pareto_front", "crowding_distance", "select_top", "spearman_table", "TinyFormula",
    "fit_tiny_formula", "derive_tinynets",
]

RANGE = (0.35, 2.8)  # the paper's range of every multiplier (section 4.2)
# Costs as the paper counts them: 224 px for r = 1, a 1000-class head, RGB input.
PAPER_SCALE = dict(base_resolution=224, num_classes=1000, in_chans=3)
MAC_BOUNDS = (0.03, 1.05)  # kept models cost between 0.03 and 1.05 x C0 (section 3.2)
# TinyNet-A..E's cost fraction c (section 3.2: c in {0.9, 0.5, 0.25, 0.13, 0.06}),
# read from claims.yaml's table tinynet_rwd: {"A": c_A, ..., "E": c_E}.
TINY_CS = {str(row["name"]).upper(): float(row["c"]) for _, row in paper_table("tinynet_rwd").iterrows()}

# Short from-scratch training, identical for every model of a sweep: the "sweep"
# preset of cnneff.config (reasons there).  Overrides passed as ``train=`` are
# checked against TrainConfig's fields.
DEFAULT_TRAIN = dict(PRESETS["sweep"])


# --------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------
def image_side(r: float, base_resolution: int = 224) -> int:
    """Input side in pixels of a model with resolution multiplier ``r``:
    ``int(base_resolution * r)`` (timm's and the paper's TinyNet sizes for
    base 224, e.g. TinyNet-A ``int(224 * 0.86) = 192``), at least 1."""
    if not r > 0:
        raise ValueError(f"resolution multiplier r must be > 0, got {r!r}")
    return max(1, int(base_resolution * r))


def _conv_out(side: int, k: int, stride: int) -> int:
    # timm's symmetric "same-ish" padding for pad_type '': ((s - 1) + (k - 1)) // 2
    pad = ((stride - 1) + (k - 1)) // 2
    return (side + 2 * pad - k) // stride + 1


@lru_cache(maxsize=65536)
def twist_costs(r: float, w: float, d: float, base_resolution: int = 224, num_classes: int = 1000,
                in_chans: int = 3) -> Counts:
    """Parameters and MACs (one image at ``image_side(r, base_resolution)``)
    of EfficientNet-B0 twisted by ``(r, w, d)`` as :func:`cnneff.models.twisted_b0`
    builds it, computed without building it: timm's ``decode_arch_def`` (depth)
    and ``round_channels`` (width) give the blocks, and every convolution and
    the classifier are counted like :func:`cnneff.counting.count` does (BatchNorm
    scales and shifts count as parameters; no MACs for BatchNorm, activations,
    pooling or the squeeze-excite gating).  Returns :class:`cnneff.counting.Counts`."""
    from timm.layers import make_divisible
    from timm.models._efficientnet_builder import decode_arch_def, round_channels

    for k, v in dict(r=r, w=w, d=d).items():
        if not (isinstance(v, (int, float)) and v > 0):
            raise ValueError(f"multiplier {k} must be a positive number, got {v!r}")
    side = image_side(r, base_resolution)
    params = macs = 0

    def conv(cin, cout, k, s_in, stride=1, groups=1, bias=False, bn=True):
        nonlocal params, macs
        s_out = _conv_out(s_in, k, stride)
        params += cout * (cin // groups) * k * k + (cout if bias else 0) + (2 * cout if bn else 0)
        macs += cout * (cin // groups) * k * k * s_out * s_out
        return s_out

    def squeeze_excite(chs, ratio):
        rd = round(chs * ratio)  # timm SqueezeExcite: rd_round_fn = round
        conv(chs, rd, 1, 1, bias=True, bn=False)
        conv(rd, chs, 1, 1, bias=True, bn=False)

    stem = 32  # fix_stem=True: never scaled
    s = conv(in_chans, stem, 3, side, stride=2)
    cin = stem
    for stage in decode_arch_def(B0_ARCH, d, depth_trunc="round"):
        for i, ba in enumerate(stage):
            stride = ba["stride"] if i == 0 else 1
            k = ba["dw_kernel_size"]
            cout = round_channels(ba["out_chs"], w)
            ratio = ba["se_ratio"] / ba.get("exp_ratio", 1.0)  # timm: se from block input channels
            if ba["block_type"] == "ds":
                s = conv(cin, cin, k, s, stride=stride, groups=cin)
                squeeze_excite(cin, ratio)
                conv(cin, cout, 1, s)
            else:  # "ir": 1x1 expansion, depthwise kxk, SE, 1x1 projection
                mid = make_divisible(cin * ba["exp_ratio"])
                conv(cin, mid, 1, s)
                s = conv(mid, mid, k, s, stride=stride, groups=mid)
                squeeze_excite(mid, ratio)
                conv(mid, cout, 1, s)
            cin = cout
    features = max(1280, round_channels(1280, w, 8, None))
    conv(cin, features, 1, s)
    params += features * num_classes + num_classes
    macs += features * num_classes
    return Counts(params=int(params), macs=int(macs))


def b0_macs(base_resolution: int = 224, num_classes: int = 1000, in_chans: int = 3) -> int:
    """C0: EfficientNet-B0's MACs at ``base_resolution`` (r = w = d = 1)."""
    return twist_costs(1.0, 1.0, 1.0, base_resolution, num_classes, in_chans).macs


def _cost_row(r, w, d, base_resolution, num_classes, in_chans, **extra) -> dict:
    c = twist_costs(r, w, d, base_resolution, num_classes, in_chans)
    c0 = b0_macs(base_resolution, num_classes, in_chans)
    return dict(**extra, r=r, w=w, d=d, image_size=image_side(r, base_resolution), params=c.params, macs=c.macs,
                c=c.macs / c0)


# --------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------
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
            rows.append(_cost_row(r, w, d, base_resolution, num_classes, in_chans, id=f"s{len(rows):03d}",
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
    ``within`` (|c / target_c - 1| <= tolerance) and ``status`` ("ok", or
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
    row = _cost_row(m["r"], m["w"], m["d"], base_resolution, num_classes, in_chans)
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

    def rwd(phi):
        return GAMMA ** -phi, BETA ** -phi, ALPHA ** -phi

    def c_of(neg_phi):  # MACs fall as phi grows: solve on -phi to keep fn non-decreasing
        r, w, d = rwd(-neg_phi)
        return twist_costs(r, w, d, base_resolution, num_classes, in_chans).macs / c0

    x, c, status = _solve(c_of, -12.0, 0.0, target_c)
    r, w, d = rwd(-x)
    w_formula = w
    if abs(c / target_c - 1) > tolerance:  # a depth rounding step jumped over the target: fine-tune w
        t = tuned_width(target_c, r, d, base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans)
        w, c = t["w"], t["c"]
    row = _cost_row(r, w, d, base_resolution, num_classes, in_chans)
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
        row = _cost_row(r, w, d, base_resolution, num_classes, in_chans, id=f"a{len(rows):03d}", kind="around",
                        draw=draws - 1)
        if low <= w <= high and abs(row["c"] / target - 1) <= tolerance:
            rows.append(dict(row, w_formula=math.sqrt(target / (d * r * r))))
    cols = ["id", "kind", "r", "w", "d", "image_size", "params", "macs", "c", "draw", "w_formula"]
    return pd.DataFrame(rows, columns=cols)


def shrink_variants(target_c: float, *, tinynet: tuple[float, float, float] | None = None,
                    paper_tinynet: tuple[float, float, float] | None = None, base_resolution: int = 224,
                    num_classes: int = 1000, in_chans: int = 3, tolerance: float = 0.03) -> pd.DataFrame:
    """The models of the paper's Table 1 at ``target_c`` x C0: EfficientNet-B^-phi
    (inverse giant formula, phi tuned), B0 shrunk by r alone, by d alone, by w
    alone, and, if given, a TinyNet ``(r, w, d)`` (its width is re-tuned to the
    target) and the paper's TinyNet ``(r, w, d)`` as published.  Returns one
    row per model (label, r, w, d, image_size, params, macs, c, within,
    status); a shrink that cannot reach the target (depth underflow) has status
    "underflow"."""
    kw = dict(base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans, tolerance=tolerance)
    rows = [dict(label="inverse giant formula", **inverse_giant_at(target_c, **kw))]
    for dim in ("r", "d", "w"):
        rows.append(dict(label=f"shrink by {dim} alone", **solve_multiplier(target_c, dim, **kw)))
    if tinynet is not None:
        r, _, d = tinynet
        rows.append(dict(label="TinyNet (ours)", **tuned_width(target_c, r, d, **kw)))
    if paper_tinynet is not None:
        r, w, d = paper_tinynet
        row = _cost_row(r, w, d, base_resolution, num_classes, in_chans)
        within = bool(abs(row["c"] / target_c - 1) <= tolerance)
        rows.append(dict(label="TinyNet (paper's r, w, d)", **row, within=within, status="ok"))
    out = pd.DataFrame(rows)
    out.insert(1, "target_c", target_c)
    return out


# --------------------------------------------------------------------------
# Training one sample
# --------------------------------------------------------------------------
_DATA_CACHE: dict = {}


def _resolve_data(data, data_kwargs: dict | None):
    """A Splits as is; a source string (``cnneff.data.load`` spec) loaded once per process."""
    if not isinstance(data, str):
        return data
    key = json.dumps([data, data_kwargs or {}], sort_keys=True, default=str)
    if key not in _DATA_CACHE:
        from .data import load

        _DATA_CACHE.clear()  # one data set per worker process at a time
        _DATA_CACHE[key] = load(data, **(data_kwargs or {}))
    return _DATA_CACHE[key]


def train_twist(spec: dict, data, *, data_kwargs: dict | None = None, base_resolution: int = 224,
                train: dict | None = None, seed: int = 0, threads: int | None = None,
                costs: dict | None = None) -> dict:
    """Train B0 twisted by ``spec`` (a mapping with id, r, w, d; optional kind,
    label) on ``data`` (a :class:`cnneff.data.Splits`, or a ``cnneff.data.load``
    source string plus ``data_kwargs``) at ``image_side(r, base_resolution)``
    pixels with ``cnneff.train.fit`` and ``TrainConfig.from_dict({**DEFAULT_TRAIN,
    **train})`` (unknown keys refused); the model is initialized with ``torch.manual_seed(seed)``
    and the data order is seeded too, so every model is trained identically (a
    ``seed`` key in ``spec`` overrides ``seed``: repeats that measure the
    noise).  ``threads`` sets torch's intra-op threads for the call.  ``costs`` (keyword arguments of
    :func:`twist_costs`: base_resolution, num_classes, in_chans) says at which
    scale params, MACs and c are counted: None counts the trained model
    (``base_resolution``, the data's classes and channels), ``PAPER_SCALE``
    counts it as the paper would (224 px, 1000 classes, RGB).  Returns the
    result record: id, kind, label, r, w, d, image_size, params, macs, c,
    train_macs (MACs at the trained side with the data's classes and
    channels), accuracy (test), val_accuracy, train_loss, train_seconds,
    seconds (wall, incl. evaluation), cpu_seconds (CPU time of the process:
    with one thread, about what the wall time would be on an idle core),
    epochs, seed, worker (host:pid)."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    with num_threads(threads):
        from .train import fit

        splits = _resolve_data(data, data_kwargs)
        cfg = TrainConfig.from_dict({**DEFAULT_TRAIN, **(train or {})})
        r, w, d = float(spec["r"]), float(spec["w"]), float(spec["d"])
        in_chans, num_classes = int(splits.channels), len(splits.classes)
        if spec.get("seed") is not None and not pd.isna(spec["seed"]):
            seed = int(spec["seed"])
        torch.manual_seed(seed)
        model = twisted_b0(r, w, d, num_classes=num_classes, in_chans=in_chans)
        side = image_side(r, base_resolution)
        res = fit(model, splits, cfg, image_size=side, seed=seed, progress=False)
        scale = _cost_scale(costs, base_resolution, num_classes, in_chans)
        cost = twist_costs(r, w, d, **scale)
        c0 = b0_macs(**scale)
        last = res.history.iloc[-1]
        return dict(id=str(spec["id"]), kind=str(spec.get("kind", "")), label=str(spec.get("label", "")),
                    r=r, w=w, d=d, image_size=side, params=cost.params, macs=cost.macs, c=cost.macs / c0,
                    train_macs=twist_costs(r, w, d, base_resolution, num_classes, in_chans).macs,
                    accuracy=float(res.test.get("accuracy", float("nan"))),
                    val_accuracy=float(last.get("val_accuracy", float("nan"))),
                    train_loss=float(last["train_loss"]), train_seconds=float(res.train_seconds),
                    seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - cpu0,
                    epochs=int(cfg.epochs), seed=int(seed),
                    worker=f"{socket.gethostname()}:{os.getpid()}")


def _cost_scale(costs, base_resolution, num_classes, in_chans) -> dict:
    if costs is None:
        return dict(base_resolution=base_resolution, num_classes=num_classes, in_chans=in_chans)
    unknown = set(costs) - {"base_resolution", "num_classes", "in_chans"}
    if unknown:
        raise ValueError(f"costs takes base_resolution, num_classes, in_chans; got {sorted(unknown)}")
    return dict(costs)


def _train_task(spec, data, data_kwargs, base_resolution, train, seed, threads, costs):
    # Module-level so that Ray pickles it by reference (workers import cnneff.search).
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")
    return train_twist(spec, data, data_kwargs=data_kwargs, base_resolution=base_resolution, train=train,
                       seed=seed, threads=threads, costs=costs)


# --------------------------------------------------------------------------
# The sweep: result files, resume, Ray
# --------------------------------------------------------------------------
def sweep_fingerprint(data, data_kwargs: dict | None, base_resolution: int, train: dict | None, seed: int,
                      costs: dict | None = None) -> str:
    """A short hash of everything that makes two results of one (r, w, d)
    interchangeable: the data, the base resolution, the training settings, the
    seed and the cost scale."""
    if isinstance(data, str):
        data_id = [data, data_kwargs or {}]
    else:
        data_id = [getattr(data, "name", type(data).__name__), len(data.train), len(data.val), len(data.test),
                   list(getattr(data, "classes", []))]
    blob = json.dumps(dict(data=data_id, base=base_resolution, train={**DEFAULT_TRAIN, **(train or {})}, seed=seed,
                           costs=costs), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _result_path(out_dir: Path, sample_id: str) -> Path:
    return out_dir / f"{sample_id}.json"


def _finished(path: Path, spec: dict, fingerprint: str) -> dict | None:
    """The stored record if ``path`` holds a result of this spec and fingerprint."""
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a damaged file is trained again
    same = rec.get("fingerprint") == fingerprint and all(
        math.isclose(float(rec.get(k, "nan")), float(spec[k]), rel_tol=0, abs_tol=1e-12) for k in ("r", "w", "d"))
    if spec.get("seed") is not None and not pd.isna(spec["seed"]):
        same = same and int(rec.get("seed", -1)) == int(spec["seed"])
    return rec if same else None


def start_ray(workers: int = 2, threads_per_worker: int = 1, gpus: float | None = None, address: str | None = None,
              object_store_mb: int | None = 256):
    """Start (or join) Ray for :func:`run_sweep` and return the ``ray`` module.
    Without ``address`` a local instance with ``workers * threads_per_worker``
    CPUs is started (no dashboard, usage statistics off, logs not forwarded);
    ``address="auto"`` or ``"ray://HOST:10001"`` joins an existing cluster,
    whose nodes must have cnneff installed and the data at the same path.
    Does nothing if Ray is already running in this process."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import logging

    logging.getLogger("ray.widgets").setLevel(logging.WARNING)  # "Missing packages: ipywidgets" in notebooks
    import ray

    if ray.is_initialized():
        return ray
    if address:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    else:
        ray.init(num_cpus=int(workers * threads_per_worker), num_gpus=gpus, include_dashboard=False,
                 logging_level=logging.ERROR, log_to_driver=False,
                 object_store_memory=None if object_store_mb is None else int(object_store_mb) * 1024 ** 2)
    return ray


def run_sweep(specs: pd.DataFrame | Sequence[dict], out_dir: str | os.PathLike, data, *,
              data_kwargs: dict | None = None, base_resolution: int = 224, train: dict | None = None, seed: int = 0,
              backend: str = "ray", workers: int = 2, threads_per_worker: int = 1, gpus_per_worker: float = 0.0,
              address: str | None = None, costs: dict | None = None, largest_first: bool = True,
              progress: bool = False) -> pd.DataFrame:
    """Train every model of ``specs`` (rows with id, r, w, d; optional kind,
    label, seed) with :func:`train_twist` and write ``out_dir/<id>.json`` per model
    (the record plus the sweep's ``fingerprint``).  Models whose file already
    holds a result with the same (r, w, d) and fingerprint are skipped: rerun a
    killed sweep with the same arguments and it resumes.

    ``backend="ray"`` farms the models out as Ray tasks of
    ``threads_per_worker`` CPUs (and ``gpus_per_worker`` GPUs) each, on the
    running Ray instance, or on one started by :func:`start_ray` with
    ``workers`` and ``address`` (and shut down again at the end);
    ``backend="local"`` trains them one after another in this process with
    ``threads_per_worker`` threads.  ``data`` is a Splits (shipped to the
    workers through Ray's object store) or a ``cnneff.data.load`` source
    string that each worker loads once (with ``data_kwargs``; on a cluster the
    path must exist on every node).  ``costs`` is passed to :func:`train_twist`.
    The driver writes every file, so the files are the same for both backends.
    ``largest_first`` submits the models in order of decreasing MACs at the
    trained size, so that the longest ones do not start last and leave
    workers idle at the end (longest-processing-time-first scheduling).  Returns the records of all
    ``specs`` as a DataFrame (spec order) with a column ``trained_now``."""
    if backend not in ("ray", "local"):
        raise ValueError(f"backend must be 'ray' or 'local', got {backend!r}")
    rows = specs.to_dict("records") if isinstance(specs, pd.DataFrame) else [dict(s) for s in specs]
    ids = [str(s["id"]) for s in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("sample ids must be unique (they name the result files)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fp = sweep_fingerprint(data, data_kwargs, base_resolution, train, seed, costs)
    done = {s["id"]: _finished(_result_path(out, str(s["id"])), s, fp) for s in rows}
    todo = [s for s in rows if done[s["id"]] is None]
    if largest_first:
        todo.sort(key=lambda s: -twist_costs(float(s["r"]), float(s["w"]), float(s["d"]), base_resolution).macs)
    fresh: set[str] = set()

    def store(spec, rec):
        rec = {**rec, "id": str(spec["id"]), "kind": str(spec.get("kind", rec.get("kind", ""))),
               "label": str(spec.get("label", rec.get("label", ""))), "fingerprint": fp}
        atomic_write_json(_result_path(out, rec["id"]), rec, sort_keys=True)
        done[spec["id"]] = rec
        fresh.add(rec["id"])

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="sweep", unit="model", disable=not progress, leave=False)
    if todo and backend == "local":
        for s in todo:
            store(s, _train_task(s, data, data_kwargs, base_resolution, train, seed, threads_per_worker, costs))
            bar.update(1)
    elif todo:
        started_here = False
        import ray as _ray

        if not _ray.is_initialized():
            start_ray(workers, threads_per_worker, gpus=(gpus_per_worker * workers or None), address=address)
            started_here = True
        try:
            task = _ray.remote(num_cpus=threads_per_worker, num_gpus=gpus_per_worker, max_retries=0)(_train_task)
            data_ref = _ray.put(data) if not isinstance(data, str) else data
            pending = {task.remote(s, data_ref, data_kwargs, base_resolution, train, seed, threads_per_worker,
                                   costs): s for s in todo}
            while pending:
                ready, _ = _ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    spec = pending.pop(ref)
                    store(spec, _ray.get(ref))  # a failed task raises here; finished files stay
                    bar.update(1)
        finally:
            if started_here:
                _ray.shutdown()
    bar.close()
    df = pd.DataFrame([done[s["id"]] for s in rows])
    df["trained_now"] = [s["id"] in fresh for s in rows]
    return df


# --------------------------------------------------------------------------
# Pareto front and non-dominated sorting
# --------------------------------------------------------------------------
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


def pareto_front(accuracy, cost) -> np.ndarray:
    """Boolean mask of the accuracy-cost Pareto front (accuracy up, cost down)."""
    return nondominated_sort(np.column_stack([-np.asarray(accuracy, float), np.asarray(cost, float)])) == 0


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
    f = np.column_stack([-out[accuracy].to_numpy(float), out[cost].to_numpy(float)])
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


# --------------------------------------------------------------------------
# The tiny formula
# --------------------------------------------------------------------------
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
        """The fitted kernels (hyper-parameters after marginal-likelihood optimization), as text."""
        return dict(r=str(self.gp_r.kernel_), d=str(self.gp_d.kernel_))


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
