"""The other small networks of TinyNet's Table 3 (paper 004) that neither
torchvision nor timm registers under a name: FBNet-B and ProxylessNAS (Mobile)
as architecture data in timm blocks, and timm's own generators at width
multipliers timm does not register (MobileNetV3 1.25x, MnasNet-A1 0.35x,
MobileNetV1 0.5x).
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from torch import nn

from .registry import register

__all__ = ["timm_generator", "FBNET_B_ARCH", "PROXYLESS_MOBILE_ARCH"]


# Width multipliers of published families that timm builds with its own
# generator but does not register (timm registers e.g. mobilenetv3_small_050,
# not 1.25x): the generator is called with the multiplier, so the network is
# exactly timm's definition of that family at that width.
def timm_generator(module: str, gen: str, variant: str, multiplier: float) -> Callable[..., nn.Module]:
    """Returns a registry builder ``build(num_classes=1000, **kw)`` that calls
    timm's generator ``timm.models.<module>.<gen>(variant, multiplier, ...)``
    (fresh weights) and returns its model."""
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
    register(_name, timm_generator(_module, _gen, _name, _mult), 224, "timm generator at a width multiplier",
             f"{_what}: timm's {_gen}(multiplier={_mult})")


def _block_net(arch, stem, head, act, num_classes=1000, **kw):
    """Returns a timm ``EfficientNet`` from block strings ``arch`` with a
    ``stem``-channel 3x3 stride-2 stem, a ``head``-channel 1x1 head and
    activation ``act``, channels as written (no width multiplier)."""
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

register("fbnet_b", partial(_block_net, FBNET_B_ARCH, 16, 1984, nn.ReLU), 224,
         "architecture as data (FBNet authors' fbnet_modeldef), timm blocks", "FBNet-B")
register("proxylessnas_mobile", partial(_block_net, PROXYLESS_MOBILE_ARCH, 32, 1280, nn.ReLU6), 224,
         "architecture as data (ProxylessNAS authors' proxyless_mobile.config), timm blocks",
         "ProxylessNAS (Mobile)")
