"""BatchNorm methods of the engine: precise-BN recalibration and zero-initialized residual blocks."""
from __future__ import annotations

import torch
from torch import nn

from ..core import autocast
from .batches import iter_batches, prepare_batch

__all__ = ["zero_init_residual", "recalibrate_bn"]


def zero_init_residual(model: nn.Module) -> int:
    """Zero the scale of the last BatchNorm of every block with an identity
    shortcut (timm's ``has_skip``; ``bn3`` of an inverted residual, ``bn2`` of
    a depthwise-separable block), so that each residual block starts as the
    identity (Goyal et al. 2017).  Returns the number of blocks changed."""
    n = 0
    for block in model.modules():
        if getattr(block, "has_skip", False):
            bn = getattr(block, "bn3", None) or getattr(block, "bn2", None)
            if isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.weight is not None:
                nn.init.zeros_(bn.weight)
                n += 1
    return n



@torch.no_grad()
def recalibrate_bn(model: nn.Module, dataset, batches: int, batch_size: int, image_size: int, channels: int,
                   mean, std, device, precision: str = "fp32", channels_last: bool = False) -> int:
    """Recompute every BatchNorm's running mean and variance as the plain average
    over the first ``batches`` batches of ``dataset`` (no augmentation, weights
    untouched): "precise BN" (Wu & Johnson 2021).  The exponential moving
    average that training keeps lags behind weights that change quickly, which
    after a few hundred steps can make eval-mode accuracy collapse.  Returns the
    number of images used (0 if the model has no BatchNorm)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return 0
    momenta = [m.momentum for m in bns]
    was_training = model.training
    model.train()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = plain mean over the batches
    used = 0
    for i, (x, _) in enumerate(iter_batches(dataset, batch_size, False, None, 0)):
        if i >= batches:
            break
        x = prepare_batch(x, image_size, channels, mean, std, device, channels_last)
        with autocast(device.type, precision):
            model(x)
        used += x.shape[0]
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was_training)
    return used

