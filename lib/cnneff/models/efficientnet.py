"""EfficientNet: torchvision's B0..B7, V2-S and MobileNetV2, and B0 rebuilt from
timm block strings and twisted by multipliers ``(r, w, d)`` = (resolution,
width, depth), TinyNet's model Rubik's cube.

Two builders of the twisted B0 differ only in their rounding conventions:
:func:`twisted_b0` (timm's tiny conventions: stem and head fixed) and
:func:`scaled_b0` (EfficientNet's: stem and head scale with the width).  Both
use :func:`timm_efficientnet`, which :mod:`cnneff.models.fused` shares.
"""
from __future__ import annotations

from functools import partial

from torch import nn

from ..scaling import B0_ARCH, B0_HEAD, B0_STEM, B_VARIANTS, BASE_RESOLUTION, check_rwd, image_side
from .registry import build_torchvision, register

__all__ = ["timm_efficientnet", "twisted_b0", "scaled_b0"]


# --------------------------------------------------------------------------
# torchvision networks: EfficientNet-B0..B7, V2-S, MobileNetV2
# --------------------------------------------------------------------------
def _tv(arch):
    """Returns a registry builder ``build(num_classes=1000, **kw)`` of torchvision's ``arch``."""
    def build(num_classes=1000, **kw):
        return build_torchvision(arch, num_classes, **kw)

    build.__name__ = f"build_{arch}"
    return build


# Native resolutions and (width, depth) multipliers of B0..B7: cnneff.scaling.B_VARIANTS.
_B_RES = [side for _, _, side, _ in B_VARIANTS.values()]
_B_WD = [(w, d) for w, d, _, _ in B_VARIANTS.values()]
for _phi, (_res, (_w, _d)) in enumerate(zip(_B_RES, _B_WD)):
    register(f"efficientnet_b{_phi}", _tv(f"efficientnet_b{_phi}"), _res, "torchvision",
             f"compound scaling: width x{_w}, depth x{_d}, {_res} px")
register("efficientnet_v2_s", _tv("efficientnet_v2_s"), 384, "torchvision",
         "EfficientNetV2-S (Tan & Le 2021, Table 4); trained at 300 px, evaluated at 384 px")
register("mobilenet_v2", _tv("mobilenet_v2"), 224, "torchvision", "MobileNetV2 1.0x")


# --------------------------------------------------------------------------
# EfficientNet-B0 twisted by (r, w, d): TinyNet's model Rubik's cube
# --------------------------------------------------------------------------
def timm_efficientnet(arch: list[list[str]], width: float, depth: float, num_classes: int, depth_trunc: str,
                      fix_stem: bool, num_features: int, **kw) -> nn.Module:
    """Returns timm's ``EfficientNet`` built from block strings ``arch`` with
    channels multiplied by ``width`` (timm's ``round_channels``), each stage's
    repeats multiplied by ``depth`` (``depth_trunc``: "round" or "ceil"), B0's
    32-channel stem (fixed if ``fix_stem``, else scaled with the width), a
    ``num_features``-channel head, swish unless ``act_layer`` is given."""
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
    fixed and the 1280-feature head never narrowed.  Returns the model, with
    ``image_size`` (pixels) and ``rwd`` set."""
    check_rwd(r, w, d)
    from timm.models._efficientnet_builder import round_channels

    model = timm_efficientnet(B0_ARCH, w, d, num_classes, depth_trunc="round", fix_stem=True,
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
    Returns the model, with ``image_size`` (pixels) and ``rwd`` set."""
    check_rwd(r, w, d)
    if depth_trunc not in ("round", "ceil"):
        raise ValueError(f"depth_trunc must be 'round' or 'ceil', got {depth_trunc!r}")
    from timm.models._efficientnet_builder import round_channels

    model = timm_efficientnet(B0_ARCH, w, d, num_classes, depth_trunc=depth_trunc, fix_stem=False,
                              num_features=round_channels(B0_HEAD, w), **kw)
    model.image_size = image_side(r)
    model.rwd = (r, w, d)
    return model


register("efficientnet_b0_rwd", twisted_b0, BASE_RESOLUTION, "timm EfficientNet, tiny conventions",
         "EfficientNet-B0 twisted by r, w, d (pass r=, w=, d=)", r=1.0, w=1.0, d=1.0)
