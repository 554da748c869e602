"""Exact parameter and MAC counts of any ``nn.Module``.

Conventions (the papers' own):

* **MACs** (multiply-accumulates) count only convolutions and matrix products
  (``nn.Conv*``, ``nn.Linear``, ``matmul``/``bmm``/``addmm``), as measured by
  :class:`torch.utils.flop_counter.FlopCounterMode`.  BatchNorm, activations,
  pooling, element-wise adds and the squeeze-excite gating multiply are *not*
  counted.
* **FLOPs = 2 x MACs.**  Papers that write "FLOPs" for EfficientNets (387M for
  B0, 2.84G for V2-S) actually report MACs; every function here returns MACs
  and says so in its name.
* Counts are for **one image** (batch size 1) at ``image_size`` x ``image_size``.

Counting runs on PyTorch's ``meta`` device when the model allows it, so even a
34 G-MAC network is counted in well under a second without computing anything.
"""
from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .core import weight_dtype

__all__ = ["Counts", "count", "count_params", "count_macs", "per_layer", "check_image_size", "separable_costs"]


@dataclass(frozen=True)
class Counts:
    """Totals for one model at one input size: ``params`` (number of trainable
    and frozen parameters) and ``macs`` (multiply-accumulates for one image)."""

    params: int
    macs: int

    @property
    def flops(self) -> int:
        """FLOPs, counted as 2 x MACs."""
        return 2 * self.macs


def check_image_size(image_size) -> int:
    """Return ``image_size`` as an int, or raise ``ValueError`` if it is not an
    integer >= 32 (the smallest side every EfficientNet in the registry accepts
    after its five stride-2 stages)."""
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral):
        raise ValueError(f"image size must be an integer number of pixels, got {image_size!r}")
    image_size = int(image_size)
    if image_size < 32:
        raise ValueError(f"image size must be at least 32 pixels, got {image_size}")
    return image_size


def count_params(model: nn.Module) -> int:
    """Number of parameters (elements of every ``nn.Parameter``, trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def _run_counter(model: nn.Module, image_size: int, in_chans: int) -> FlopCounterMode:
    """Run one forward pass of a single image under FlopCounterMode and return the
    counter.  Tries the meta device first (no arithmetic), falls back to CPU."""
    was_training = model.training
    dtype = weight_dtype(model) or torch.float32  # fp16 models get fp16 inputs
    try:
        meta_model = copy.deepcopy(model).to("meta").eval()
        x = torch.empty(1, in_chans, image_size, image_size, device="meta", dtype=dtype)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            meta_model(x)
        return counter
    except Exception:  # some ops have no meta kernel: count on the CPU instead
        model.eval()
        x = torch.zeros(1, in_chans, image_size, image_size, device=_device_of(model), dtype=dtype)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(x)
        return counter
    finally:
        model.train(was_training)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def count_macs(model: nn.Module, image_size: int, in_chans: int = 3) -> int:
    """Multiply-accumulates (MACs, not FLOPs) of one forward pass of one
    ``in_chans`` x ``image_size`` x ``image_size`` image."""
    image_size = check_image_size(image_size)
    return _run_counter(model, image_size, in_chans).get_total_flops() // 2


def count(model: nn.Module, image_size: int, in_chans: int = 3) -> Counts:
    """Parameters and MACs of ``model`` at ``image_size`` as a :class:`Counts`."""
    return Counts(params=count_params(model), macs=count_macs(model, image_size, in_chans))


def per_layer(model: nn.Module, image_size: int, in_chans: int = 3, leaves_only: bool = True) -> pd.DataFrame:
    """Per-module breakdown as a DataFrame with columns:

    ``layer`` (dotted module path), ``type`` (class name), ``params`` (the
    module's own parameters, not its children's), ``macs`` (MACs of the
    operations the module runs itself, children excluded) and ``out_channels``
    (filters of a conv / output features of a linear layer, else 0).

    The ``macs`` column sums exactly to :func:`count_macs`, and ``params`` to
    :func:`count_params`: work done by a container's own ``forward`` (a
    functional op outside any child) is attributed to that container.  With
    ``leaves_only`` rows that have neither params nor MACs are dropped.
    """
    image_size = check_image_size(image_size)
    counter = _run_counter(model, image_size, in_chans)
    flops = counter.get_flop_counts()
    prefix = type(model).__name__
    total_of = {name: sum(ops.values()) for name, ops in flops.items()}

    rows = []
    for name, module in model.named_modules():
        key = f"{prefix}.{name}" if name else prefix
        own = total_of.get(key, 0)
        for child_name, _ in module.named_children():
            own -= total_of.get(f"{key}.{child_name}", 0)
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        out_ch = getattr(module, "out_channels", None) or getattr(module, "out_features", None) or 0
        if leaves_only and own == 0 and own_params == 0:
            continue
        rows.append(
            dict(layer=name or "(root)", type=type(module).__name__, params=own_params,
                 macs=own // 2, out_channels=int(out_ch))
        )
    df = pd.DataFrame(rows, columns=["layer", "type", "params", "macs", "out_channels"])
    # Ops run outside any module (none in torchvision/timm nets) would show up
    # only in the global total: keep the sum exact by reporting them.
    rest = counter.get_total_flops() // 2 - int(df["macs"].sum())
    if rest:
        df.loc[len(df)] = dict(layer="(outside modules)", type="", params=0, macs=rest, out_channels=0)
    return df


def separable_costs(model: nn.Module, image_size: int, in_chans: int = 3) -> tuple[int, int]:
    """``(standard, separable)`` MACs of ``model``'s depthwise-separable pairs
    at ``image_size``: every depthwise k x k convolution on C channels and the
    1 x 1 convolution to C' channels that follows it at the same side
    (squeeze-excite convolutions, which run at 1 x 1, are skipped).
    ``separable`` sums the pairs' own MACs, k^2 C HW + C C' HW; ``standard``
    what one k x k convolution from C to C' channels would cost instead,
    k^2 C C' HW (paper 002's section 3.2, after the MobileNetV2 paper)."""
    convs: list[tuple[nn.Conv2d, int]] = []
    hooks = [m.register_forward_hook(lambda mod, i, o: convs.append((mod, o.shape[-2] * o.shape[-1])))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, in_chans, check_image_size(image_size), check_image_size(image_size)))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    standard = separable = 0
    for i, (dw, hw) in enumerate(convs):
        if dw.groups == 1 or dw.groups != dw.in_channels:
            continue
        pw = next((m for m, hw2 in convs[i + 1:] if m.kernel_size == (1, 1) and m.groups == 1
                   and m.in_channels == dw.out_channels and hw2 == hw), None)
        if pw is None:
            continue
        k2 = dw.kernel_size[0] * dw.kernel_size[1]
        standard += k2 * dw.in_channels * pw.out_channels * hw
        separable += k2 * dw.in_channels * hw + dw.in_channels * pw.out_channels * hw
    return standard, separable
