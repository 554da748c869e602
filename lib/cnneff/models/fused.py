"""EfficientNet-B4 with Fused-MBConv stages (EfficientNetV2 paper, Table 3;
paper 003): :func:`fused_arch` rewrites block strings, :func:`fused_b4` builds
B4 with stages 1..N fused, and the registry holds the paper's rows
``efficientnet_b4_fused{0,3,5,7}``.
"""
from __future__ import annotations

import re

from torch import nn

from ..scaling import B0_ARCH
from .efficientnet import timm_efficientnet
from .registry import register

__all__ = ["FUSED_KERNELS", "fused_arch", "fused_b4"]

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
    ``squeeze_excite`` keeps SE in fused blocks.  Returns a new list of lists
    (``arch`` is left unchanged)."""
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
    return timm_efficientnet(arch, 1.4, 1.8, num_classes, depth_trunc="ceil", fix_stem=False,
                             num_features=round_channels(1280, 1.4), **kw)


for _n in (0, 3, 5, 7):
    register(f"efficientnet_b4_fused{_n}", fused_b4, 380, "timm EfficientNet blocks",
             "EfficientNet-B4, no fused stages" if _n == 0 else
             f"EfficientNet-B4, Fused-MBConv in stages 1-{_n} (3x3 fused convs in stages 1-3, SE kept)",
             fused_stages=_n)
