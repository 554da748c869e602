"""TinyNet-A..E and EfficientNet-B^-1..B^-4 (the TinyNet paper, Table 3): B0
twisted by ``(r, w, d)``.

The paper's values are typed only in ``claims.yaml`` (tables ``tinynet_rwd``
and ``inverse_giant_tuned``) and read from it on first use, not at import:
:func:`tinynet_rwd` is cached and the registry entries resolve their
``(r, w, d)``, native size and note when first built or asked for.
"""
from __future__ import annotations

from functools import lru_cache

from ..claims import paper_table
from ..scaling import image_side, inverse_giant
from .efficientnet import scaled_b0, twisted_b0
from .registry import SpecDetails, register, register_deferred

__all__ = ["TINYNET_KEYS", "tinynet_rwd", "INVERSE_GIANT_TUNED_PHI", "inverse_giant_tuned", "tune_inverse_giant_phi"]

# The TinyNets the registry holds (tinynet_a .. tinynet_e); their (r, w, d) are
# the rows of claims.yaml's table tinynet_rwd.
TINYNET_KEYS = ("a", "b", "c", "d", "e")


@lru_cache(maxsize=1)
def _tinynet_rows() -> tuple[tuple[str, tuple[float, float, float]], ...]:
    """Returns the rows of claims.yaml's table ``tinynet_rwd`` as ``(key, (r, w, d))`` pairs."""
    return tuple((str(row["name"]), (float(row["r"]), float(row["w"]), float(row["d"])))
                 for _, row in paper_table("tinynet_rwd").iterrows())


def tinynet_rwd() -> dict[str, tuple[float, float, float]]:
    """(r, w, d) of TinyNet-A..E from the TinyNet authors' released code (the
    paper's tiny formula, section 3.2), read (once, then cached) from
    claims.yaml's table ``tinynet_rwd``; native size ``int(224 * r)``, e.g.
    TinyNet-A int(224 * 0.86) = 192.  Returns a fresh dict ``{"a": (r, w, d), ...}``
    in table order."""
    return dict(_tinynet_rows())


def _tinynet_details(key: str) -> SpecDetails:
    """Returns the registry metadata of TinyNet ``key`` (native size in pixels, note, r/w/d defaults)."""
    r, w, d = tinynet_rwd()[key]
    return SpecDetails(image_side(r), f"TinyNet-{key.upper()}: r={r}, w={w}, d={d}", dict(r=r, w=w, d=d))


for _k in TINYNET_KEYS:
    register_deferred(f"tinynet_{_k}", twisted_b0, "timm conventions (= timm tinynet_*)",
                      lambda key=_k: _tinynet_details(key))

# EfficientNet-B^-1..B^-4 of the TinyNet paper (Table 3), tuned to about
# 200/100/50/25M FLOPs (section 4.1), built with EfficientNet's conventions
# (scaled_b0: stem and head scale with the width, depth rounded).
#
# B^-1: the paper's own tuned (r, w, d) = (0.86, 0.89, 0.8) (section 3.1; the
# claims table inverse_giant_tuned): 192 px, 3.57M params, 199.7M MACs
# (paper 3.6M / 201M).
#
# B^-2..B^-4: the paper gives no tuned (r, w, d) and neither does the authors'
# released code (huawei-noah Efficient-AI-Backbones tinynet_pytorch registers
# TinyNet-A..E only), so these are OUR derivation (tune_inverse_giant_phi):
# phi made a real number p, (r, w, d) = (1.15^-p, 1.1^-p, 1.2^-p), p on a
# 0.01 grid chosen so the MACs at int(224 r) px come closest to Table 3's
# FLOPs (98M, 51M, 24M).  The test suite re-derives these p from claims.yaml:
#   B^-2: p 2.37 -> r 0.718, w 0.798, d 0.649, 160 px, 2.99M params, 97.6M MACs (paper 3.0M / 98M)
#   B^-3: p 3.81 -> r 0.587, w 0.695, d 0.499, 131 px, 1.99M params, 49.8M MACs (paper 2.0M / 51M)
#   B^-4: p 5.38 -> r 0.471, w 0.599, d 0.375, 105 px, 1.34M params, 23.2M MACs (paper 1.3M / 24M)
# At integer phi, scaled_b0 costs 245.5M, 131.8M, 82.6M, 38.1M MACs (the
# formula shrinks by 1.92^-phi, not 2^-phi; channels round to multiples of 8;
# every stage keeps at least one block), so the tuned p lie above phi; the
# grid step just below each (2.36, 3.80, 5.37) costs 119.9M, 60.3M, 25.9M.
# (The same procedure for B^-1 gives p 1.19: 189 px, 3.58M / 199.2M, next to
# the paper's own tuned 192 px, 3.57M / 199.7M.)
INVERSE_GIANT_TUNED_PHI = {2: 2.37, 3: 3.81, 4: 5.38}


def _scaled_b0_macs(r: float, w: float, d: float) -> int:
    """Returns the MACs of :func:`scaled_b0` ``(r, w, d)`` (1000 classes) at its ``int(224 * r)`` px."""
    from ..counting import count_macs

    m = scaled_b0(r, w, d)
    return count_macs(m, m.image_size)


def tune_inverse_giant_phi(target_macs: float, phi: int, step: float = 0.01, span: float = 3.0) -> float:
    """Our derivation of a tuned EfficientNet-B^-phi (the paper tunes its
    B^-phi "to about 200M, 100M, 50M, 25M FLOPs" but publishes (r, w, d) only
    for B^-1): make phi a real number ``p`` and take the (r, w, d) of the
    inverse giant formula, ``(1.15^-p, 1.1^-p, 1.2^-p)``, built by
    :func:`scaled_b0` and counted at ``int(224 * r)`` px with 1000 classes.
    The MACs never grow with ``p`` (every rounding is monotone), so a bisection
    over the grid ``p = phi + k * step``, ``k = 0 .. span / step``, finds the
    first grid point at or below ``target_macs`` (MACs, not FLOPs); of it and
    the grid point before it, the one whose MACs are relatively closer to the
    target wins (ties: the smaller ``p``).  Returns ``p`` rounded to the grid."""
    if target_macs <= 0:
        raise ValueError(f"target_macs must be positive, got {target_macs!r}")
    n = int(round(span / step))

    def phi_at(k):
        return round(phi + k * step, 6)

    cache = {}

    def macs(k):
        if k not in cache:
            cache[k] = _scaled_b0_macs(*inverse_giant(phi_at(k)))
        return cache[k]

    if macs(0) <= target_macs:
        return phi_at(0)
    if macs(n) > target_macs:
        raise ValueError(f"even phi = {phi_at(n)} costs {macs(n)} MACs > {target_macs}; widen span")
    lo, hi = 0, n  # invariant: macs(lo) > target >= macs(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if macs(mid) > target_macs:
            lo = mid
        else:
            hi = mid
    best = min((lo, hi), key=lambda k: (abs(macs(k) / target_macs - 1), k))
    return phi_at(best)


def inverse_giant_tuned(phi: int) -> tuple[float, float, float]:
    """Returns (r, w, d) of the tuned EfficientNet-B^-phi, phi in 1..4: B^-1 from
    the paper (claims table ``inverse_giant_tuned``), B^-2..B^-4 from the inverse
    giant formula at our tuned real phi (``INVERSE_GIANT_TUNED_PHI``)."""
    tuned = paper_table("inverse_giant_tuned").set_index("phi")
    if phi in tuned.index:
        row = tuned.loc[phi]
        return float(row["r"]), float(row["w"]), float(row["d"])
    if phi not in INVERSE_GIANT_TUNED_PHI:
        raise ValueError(f"no tuned EfficientNet-B^-{phi}; have 1..4")
    return inverse_giant(INVERSE_GIANT_TUNED_PHI[phi])


def _tuned_details(phi: int) -> SpecDetails:
    """Returns the registry metadata of the tuned EfficientNet-B^-``phi`` (native size in pixels, note, r/w/d)."""
    r, w, d = inverse_giant_tuned(phi)
    how = ("the paper's tuned r, w, d" if phi not in INVERSE_GIANT_TUNED_PHI
           else f"our tuning: inverse giant formula at phi={INVERSE_GIANT_TUNED_PHI[phi]}")
    note = f"EfficientNet-B^-{phi} tuned to Table 3's FLOPs ({how}): r={r:.3f}, w={w:.3f}, d={d:.3f}"
    return SpecDetails(image_side(r), note, dict(r=r, w=w, d=d))


for _phi in range(1, 5):
    register_deferred(f"efficientnet_bm{_phi}", scaled_b0, "EfficientNet conventions, tuned",
                      lambda phi=_phi: _tuned_details(phi))
# The untuned integer-phi models (the plain inverse giant formula, tiny conventions):
for _phi in range(1, 5):
    _r, _w, _d = inverse_giant(_phi)
    register(f"efficientnet_bm{_phi}_integer", twisted_b0, image_side(_r),
             "inverse giant formula, integer phi (untuned)",
             f"EfficientNet-B^-{_phi} untuned: r=1.15^-{_phi}={_r:.3f}, w=1.1^-{_phi}={_w:.3f}, "
             f"d=1.2^-{_phi}={_d:.3f}", r=_r, w=_w, d=_d)
