"""Compound scaling in one place: EfficientNet-B0's base constants, the B-variant
table, the input side of a resolution multiplier, the (r, w, d) check, the
inverse giant formula, and the channel/depth rounding of timm and torchvision.

Used by :mod:`cnneff.models` (building), :mod:`cnneff.search` (analytic costs,
sampling) and :mod:`cnneff.transfer` (checking torchvision's B-variants).
Imports nothing else of :mod:`cnneff`.
"""
from __future__ import annotations

import math

__all__ = [
    "BASE_RESOLUTION", "ALPHA", "BETA", "GAMMA", "B0_ARCH", "B0_STAGE_REPEATS", "B0_STEM", "B0_HEAD",
    "B_VARIANTS", "image_side", "check_rwd", "inverse_giant", "compound_coefficients", "round_channels_tv",
    "repeats_tv",
]

BASE_RESOLUTION = 224  # EfficientNet-B0's input side: r = 1.0

# EfficientNet's grid-searched compound-scaling constants: depth d = ALPHA**phi,
# width w = BETA**phi, resolution r = GAMMA**phi, with ALPHA * BETA**2 * GAMMA**2
# = 1.92 ~ 2, so each step of phi about doubles (or, inverted, halves) the MACs.
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15

# EfficientNet-B0 in timm's block notation (stage by stage): r = repeats, k = kernel,
# s = stride, e = expansion, c = output channels, se = squeeze-excite ratio.
B0_ARCH = [
    ["ds_r1_k3_s1_e1_c16_se0.25"],
    ["ir_r2_k3_s2_e6_c24_se0.25"],
    ["ir_r2_k5_s2_e6_c40_se0.25"],
    ["ir_r3_k3_s2_e6_c80_se0.25"],
    ["ir_r3_k5_s1_e6_c112_se0.25"],
    ["ir_r4_k5_s2_e6_c192_se0.25"],
    ["ir_r1_k3_s1_e6_c320_se0.25"],
]
# MBConv blocks per stage of B0, read from B0_ARCH's "_r<N>_" fields: (1, 2, 2, 3, 3, 4, 1).
B0_STAGE_REPEATS = tuple(int(stage[0].split("_r", 1)[1].split("_", 1)[0]) for stage in B0_ARCH)
B0_STEM = 32  # stem convolution's output channels
B0_HEAD = 1280  # head convolution's output channels (the classifier's input features)

# EfficientNet B0..B7 (Tan & Le 2019; torchvision's builders): phi -> (width, depth, image side, dropout).
# B1..B7's sides were tuned by hand, so they are not exactly 224 * GAMMA**phi (B1: 257.6 -> 240).
B_VARIANTS: dict[int, tuple[float, float, int, float]] = {
    0: (1.0, 1.0, 224, 0.2),
    1: (1.0, 1.1, 240, 0.2),
    2: (1.1, 1.2, 260, 0.3),
    3: (1.2, 1.4, 300, 0.3),
    4: (1.4, 1.8, 380, 0.4),
    5: (1.6, 2.2, 456, 0.4),
    6: (1.8, 2.6, 528, 0.5),
    7: (2.0, 3.1, 600, 0.5),
}


def image_side(r: float, base_resolution: int = BASE_RESOLUTION) -> int:
    """Input side in pixels of a model with resolution multiplier ``r``:
    ``int(base_resolution * r)`` (timm's and the paper's TinyNet sizes for
    base 224, e.g. TinyNet-A ``int(224 * 0.86) = 192``), at least 1.
    ``ValueError`` unless ``r`` > 0."""
    if not r > 0:
        raise ValueError(f"resolution multiplier r must be > 0, got {r!r}")
    return max(1, int(base_resolution * r))


def check_rwd(r, w, d) -> tuple[float, float, float]:
    """Return ``(r, w, d)`` as floats, or raise ``ValueError`` naming the first
    multiplier that is not a positive number."""
    for k, v in dict(r=r, w=w, d=d).items():
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and v > 0):
            raise ValueError(f"multiplier {k} must be a positive number, got {v!r}")
    return float(r), float(w), float(d)


def inverse_giant(phi: float) -> tuple[float, float, float]:
    """(r, w, d) of EfficientNet-B^-phi, the inverse giant formula of the TinyNet
    paper: r = GAMMA**-phi, w = BETA**-phi, d = ALPHA**-phi, so MACs ~ (ALPHA *
    BETA**2 * GAMMA**2)**-phi = 1.92**-phi ~ 2**-phi of B0 before rounding.
    ``phi`` may be any real number (the tuned B^-2..B^-4 use a real phi)."""
    return GAMMA ** -phi, BETA ** -phi, ALPHA ** -phi


def compound_coefficients(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
                          base_resolution: int = BASE_RESOLUTION) -> dict:
    """EfficientNet's compound scaling at coefficient ``phi``.  Returns a dict:
    ``phi``, ``depth`` = alpha**phi, ``width`` = beta**phi, ``resolution`` =
    gamma**phi (multipliers), ``image_size`` = base_resolution * resolution
    rounded (pixels) and ``macs_factor`` = (alpha * beta**2 * gamma**2)**phi,
    the ideal growth of the MACs (a ratio)."""
    r = gamma ** phi
    return dict(phi=phi, depth=alpha ** phi, width=beta ** phi, resolution=r,
                image_size=round(base_resolution * r), macs_factor=(alpha * beta ** 2 * gamma ** 2) ** phi)


def round_channels_tv(c: float, divisor: int = 8) -> int:
    """torchvision's ``_make_divisible(c, divisor)``: channels rounded to the
    nearest multiple of ``divisor``, never below 90 % of ``c``.  Returns an int."""
    v = max(divisor, int(c + divisor / 2) // divisor * divisor)
    return v + divisor if v < 0.9 * c else v


def repeats_tv(d: float, repeats=B0_STAGE_REPEATS) -> list[int]:
    """torchvision's depth rounding: ``ceil(d * n)`` blocks for a stage of ``n``
    (timm's TinyNet rounding is ``max(1, round(d * n))``).  Returns one count per stage."""
    return [math.ceil(d * n) for n in repeats]
