"""Power before the run: the effect a trained comparison should be able to
detect, the seeds that would detect it with 80 % power, and what they cost.

* **The effect to detect.**  On the paper's own data: the paper's effect
  (``paper_effect``).  On a stand-in, never the paper's absolute number of
  points but the share it claims, applied to our own numbers: with ``share:
  {of: [A, B], paper: S}`` the paper's effect is the share S of the gap A - B
  (a recovery of the pruning loss), so ours is S x our gap; with
  ``paper_reference: ACC`` (the accuracy, in percent, of the paper's
  reference arm) the paper's effect removes the share ``effect / (100 -
  ACC)`` of the reference's errors, so ours is that share of our reference
  arm's errors.  A claim with neither has no transferable size on a stand-in.
* **Seeds needed**: the fewest paired seeds n whose minimum detectable effect
  ``(t(0.975, n-1) + t(0.8, n-1)) sd / sqrt(n)`` (sd: the measured spread of
  the per-seed differences) is at most that effect.
* **Hours**: seeds x the measured seconds of one paired replicate on this
  machine (``<cost>_seed_seconds``), and seeds x its training MACs
  (``<cost>_seed_macs``) at :data:`GPU_SUSTAINED_MACS` for one current
  data-centre GPU.
"""
from __future__ import annotations

import math

from .. import stats
from .reasons import mean

__all__ = ["GPU_SUSTAINED_MACS", "target_effect", "seeds_needed", "power_fields"]

# Sustained multiply-accumulates per second of one H100/H200-class GPU training these small convolutional
# networks (bf16, channels-last): 10 T MAC/s = 20 TFLOP/s, a few percent of the tensor cores' dense peak,
# because depthwise convolutions and small feature maps are memory-bound.  A check against published
# numbers: EfficientNet-B0 trains at about 2,800 images/s on one A100 (3 x 0.39 G MAC x 2,800 = 3.3 T MAC/s),
# and paper 004's "2.5 V100 GPU-hours" per twisted B0 (100 epochs of ImageNet-100) implies about 0.9 T MAC/s
# on a V100; an H200 is about 3x an A100 on this work.  Stated, not measured here.
GPU_SUSTAINED_MACS = 1.0e13
MAX_SEEDS = 10_000


def target_effect(claim: dict, metrics: dict, on_paper_data: bool, scale: float = 100.0) -> tuple[float | None, str]:
    """The effect (in the claim's effect units) a comparison should detect:
    see the module docstring.  Returns (effect or None, how it was derived)."""
    paper = claim.get("paper_effect")
    if on_paper_data:
        return (abs(float(paper)), "the paper's effect") if paper is not None else (None, "")
    share = claim.get("share")
    if share:
        a, b = mean(metrics.get(share["of"][0])), mean(metrics.get(share["of"][1]))
        if a is None or b is None:
            return None, ""
        gap = (a - b) * scale
        return abs(float(share["paper"]) * gap), f"the paper's share {share['paper']:g} of our gap {gap:.3g}"
    ref = claim.get("paper_reference")
    if ref is not None and paper is not None:
        pair = (claim.get("pairs") or [[None, None]])[0]
        ours_ref = mean(metrics.get(claim.get("reference") or (pair[1] if len(pair) > 1 else None)))
        if ours_ref is None:
            return None, ""
        share_err = float(paper) / (100.0 - float(ref))
        return abs(share_err * (1 - ours_ref) * scale), \
            f"the paper's share {share_err:.3g} of the reference's errors, of ours"
    return None, ""


def seeds_needed(sd: float | None, effect: float | None) -> int | None:
    """The fewest paired seeds (at least 2) whose minimum detectable effect at
    spread ``sd`` is at most ``effect`` (same units).  Returns None where
    either is unknown, and :data:`MAX_SEEDS` when even that many do not suffice."""
    if sd is None or effect is None or not math.isfinite(sd) or effect <= 0:
        return None
    if sd == 0:
        return 2
    lo, hi = 2, MAX_SEEDS
    if stats.mde(hi, sd=sd) > effect:
        return MAX_SEEDS
    while lo < hi:  # mde falls with n
        mid = (lo + hi) // 2
        if stats.mde(mid, sd=sd) <= effect:
            hi = mid
        else:
            lo = mid + 1
    return lo


def power_fields(claim: dict, metrics: dict, sd: float | None, on_paper_data: bool,
                 scale: float = 100.0) -> dict:
    """The row fields of a trained comparison's power: ``target`` (the effect
    to detect), ``target_how``, ``seeds_needed``, ``cpu_hours_needed`` (this
    machine) and ``gpu_hours_needed`` (one GPU at :data:`GPU_SUSTAINED_MACS`).
    Returns a dict (None where unknown)."""
    target, how = target_effect(claim, metrics, on_paper_data, scale)
    n = seeds_needed(sd, target)
    out = dict(target=target, target_how=how or None, seeds_needed=n, cpu_hours_needed=None, gpu_hours_needed=None)
    cost = claim.get("cost")
    if n is not None and cost:
        secs, macs = mean(metrics.get(f"{cost}_seed_seconds")), mean(metrics.get(f"{cost}_seed_macs"))
        out["cpu_hours_needed"] = n * secs / 3600 if secs else None
        out["gpu_hours_needed"] = n * macs / GPU_SUSTAINED_MACS / 3600 if macs else None
    return out
