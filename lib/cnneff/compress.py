"""Compression routines of paper 000, usable on any torchvision/timm CNN.

Every routine returns ``(new_model, report)`` where the report is a
:class:`CompressionReport`: params and MACs before and after (MACs, not FLOPs,
at ``image_size``), and the channels kept per layer.  Input models are never
modified: each routine works on a deep copy.

* :func:`prune_channels`: structured channel pruning at a global ratio by a
  global weight-magnitude threshold (the paper's "pruning" without sparse
  training).  torch-pruning's DepGraph removes whole channels (real, smaller
  tensors, not masks) and keeps residual adds and squeeze-excite consistent.
* :func:`slim`: network slimming (Liu et al. 2017), the paper's "sparse
  training + pruning": after training with :class:`cnneff.train.BatchNormL1`,
  prune the channels whose BatchNorm scale |gamma| falls under one global
  threshold set by the ratio.
* :func:`to_half`, :func:`weight_file_bytes`: fp16 weights and their file size.
* :func:`quantize_int8`: post-training static int8 quantization for CPU.

Guard against layers pruned to nothing: ``max_layer_ratio`` (default 0.9)
caps the fraction of channels removed from any single layer, so every pruned
layer keeps at least 10 % of its channels; a cap >= 1 is refused.
"""
from __future__ import annotations

import copy
import io
import math
import warnings
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from .counting import count

__all__ = ["CompressionError", "CompressionReport", "prune_channels", "slim", "to_half", "weight_file_bytes",
           "quantize_int8", "int8_ready", "training_memory_bytes", "bn_gammas", "classifier_layers"]


class CompressionError(ValueError):
    """A compression routine cannot do what was asked (e.g. slimming a net whose
    BatchNorm scales carry no ranking); the message names the problem and the fix."""


@dataclass
class CompressionReport:
    """What a compression routine changed.  ``params_*`` are parameter counts,
    ``macs_*`` multiply-accumulates for one image at ``image_size``;
    ``channels`` has one row per conv/linear layer: ``layer``,
    ``channels_before``, ``channels_after`` (output channels) and ``kept``
    (fraction)."""

    method: str
    ratio: float
    image_size: int
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    channels: pd.DataFrame = field(repr=False)

    @property
    def params_change(self) -> float:
        """Relative change of the parameter count (e.g. -0.70 for 70 % fewer)."""
        return self.params_after / self.params_before - 1

    @property
    def macs_change(self) -> float:
        """Relative change of the MACs."""
        return self.macs_after / self.macs_before - 1

    def summary(self) -> dict:
        """Flat dict of the numbers (for tables and metrics.json)."""
        return dict(method=self.method, ratio=self.ratio, image_size=self.image_size,
                    params_before=self.params_before, params_after=self.params_after,
                    macs_before=self.macs_before, macs_after=self.macs_after,
                    params_change=self.params_change, macs_change=self.macs_change)


def _check_ratio(ratio):
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not 0 < ratio < 1:
        raise ValueError(f"pruning ratio must lie strictly between 0 and 1 (e.g. 0.3, 0.5, 0.7), got {ratio!r}")


def classifier_layers(model: nn.Module) -> list[nn.Module]:
    """The final classification layer(s) (kept intact when pruning so the
    number of classes does not change): the last ``nn.Linear`` of the model."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear classifier to protect from pruning")
    return [linears[-1]]


def _channels(model: nn.Module) -> dict[str, int]:
    return {name: (m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _prune(model, ratio, image_size, importance, method, max_layer_ratio, in_chans):
    import torch_pruning as tp

    _check_ratio(ratio)
    if not 0 < max_layer_ratio < 1:
        raise ValueError(f"max_layer_ratio must lie in (0, 1) so that no layer is pruned to nothing, got {max_layer_ratio}")
    before = count(model, image_size, in_chans)
    ch_before = _channels(model)
    new = copy.deepcopy(model).cpu().eval()
    example = torch.randn(1, in_chans, image_size, image_size)
    pruner = tp.pruner.BasePruner(new, example, importance=importance, pruning_ratio=ratio, global_pruning=True,
                                  ignored_layers=classifier_layers(new), max_pruning_ratio=max_layer_ratio)
    pruner.step()
    after = count(new, image_size, in_chans)
    ch_after = _channels(new)
    rows = [dict(layer=k, channels_before=v, channels_after=ch_after.get(k, 0), kept=ch_after.get(k, 0) / v)
            for k, v in ch_before.items()]
    if any(r["channels_after"] == 0 for r in rows):  # cannot happen with max_layer_ratio < 1; never return a broken net
        raise RuntimeError("pruning emptied a layer; lower the ratio or max_layer_ratio")
    for attr in ("image_size", "cnneff_name", "mean", "std"):
        if hasattr(model, attr):
            setattr(new, attr, getattr(model, attr))
    return new, CompressionReport(method, ratio, image_size, before.params, after.params, before.macs, after.macs,
                                  pd.DataFrame(rows))


def prune_channels(model: nn.Module, ratio: float, image_size: int, max_layer_ratio: float = 0.9,
                   in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
    """Remove the fraction ``ratio`` of prunable channels with the smallest L1
    weight norm, ranked against one global threshold over the whole network
    (torch-pruning ``MagnitudeImportance(p=1)``, ``global_pruning=True``).  The
    classifier keeps all its outputs.  Returns ``(pruned copy, report)``; the
    pruned model needs fine-tuning."""
    import torch_pruning as tp

    return _prune(model, ratio, image_size, tp.importance.MagnitudeImportance(p=1), "magnitude", max_layer_ratio,
                  in_chans)


def bn_gammas(model: nn.Module) -> torch.Tensor:
    """All BatchNorm scale factors |gamma| of ``model`` concatenated (for histograms)."""
    g = [m.weight.detach().abs().flatten().cpu() for m in model.modules()
         if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None]
    if not g:
        raise ValueError("the model has no BatchNorm layer with a learnable scale")
    return torch.cat(g)


def slim(model: nn.Module, ratio: float, image_size: int, max_layer_ratio: float = 0.9,
         in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
    """Network slimming: remove the fraction ``ratio`` of channels whose
    BatchNorm |gamma| lies under one global threshold (torch-pruning
    ``BNScaleImportance``).  Meant for a model sparse-trained with
    :class:`cnneff.train.BatchNormL1`.  Raises ValueError for a model without
    BatchNorm, and :class:`CompressionError` when every |gamma| is the same
    (an untrained or freshly initialized net: there is nothing to rank, and
    nothing would be pruned); warns if the result has as many channels as the
    input.  Returns ``(pruned copy, report)``."""
    import torch_pruning as tp

    _check_ratio(ratio)
    g = bn_gammas(model)  # raises for a model without BatchNorm
    if len(g) > 1 and bool((g == g[0]).all()):
        raise CompressionError(f"all {len(g)} BatchNorm scales |gamma| equal {g[0].item():g}, so slimming has nothing "
                               "to rank and would prune nothing; sparse-train the model first "
                               "(cnneff.train.BatchNormL1) or use prune_channels")
    new, report = _prune(model, ratio, image_size, tp.importance.BNScaleImportance(), "network slimming",
                         max_layer_ratio, in_chans)
    if report.params_after == report.params_before:
        warnings.warn(f"slim(ratio={ratio}) pruned nothing: no channel's |gamma| fell under the global threshold; "
                      "sparse-train longer or with a larger BatchNormL1 s", stacklevel=2)
    return new, report


def to_half(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with fp16 weights (BatchNorm included).  Feed it fp16
    inputs; on CPU fp16 convolutions are much slower than fp32 (use bf16 autocast
    there), on GPU they use tensor cores."""
    return copy.deepcopy(model).half()


def training_memory_bytes(model: nn.Module, dtype: torch.dtype, image_size: int, batch_size: int,
                          in_chans: int = 3) -> int:
    """Bytes one training step holds for ``model`` with weights and inputs in
    ``dtype``: the weights, their gradients and every tensor autograd saves for
    the backward pass (optimizer state excluded).  Counted on PyTorch's meta
    device, so nothing is computed or allocated; returns an int (bytes)."""
    model = copy.deepcopy(model).to(device="meta", dtype=dtype).train()
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(torch.empty(batch_size, in_chans, image_size, image_size, device="meta", dtype=dtype))
    out.float().sum().backward()
    return sum(saved) + 2 * sum(p.numel() * p.element_size() for p in model.parameters())


def weight_file_bytes(model: nn.Module) -> int:
    """Size in bytes of ``torch.save(model.state_dict())``: the weight file a user ships."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def _same_pads(size: int, stride: int, kernel: int, dilation: int) -> tuple[int, int]:
    """TensorFlow "same" padding of one side (before, after) in pixels for an input of ``size``."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def int8_ready(model: nn.Module, image_size: int, in_chans: int = 3) -> nn.Module:
    """A copy of ``model`` that FX graph-mode quantization can trace and fuse,
    numerically identical in eval mode at ``image_size``.  Returns an ``nn.Module``.

    Two timm constructs defeat it (measured on EfficientNet-Lite0 at 128 px:
    int8 at 0.53x the fp32 speed before, see the paper-000 notebook after):
    ``Conv2dSame`` computes TensorFlow "same" padding from the input's shape
    at run time (FX cannot trace it), and ``BatchNormAct2d`` holds BatchNorm
    and the activation in one module, which the conv-bn fusion pattern does
    not match, so every convolution's output is dequantized for a float
    BatchNorm and quantized again.  Here each ``Conv2dSame`` becomes a
    ``Conv2d`` with the padding that input size needs (a ``ZeroPad2d`` in
    front when it is asymmetric) and each ``BatchNormAct2d`` a
    ``Sequential(BatchNorm2d, activation)``.  Other networks pass unchanged."""
    model = copy.deepcopy(model).cpu().eval()
    shapes = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, n=n: shapes.__setitem__(n, tuple(args[0].shape[-2:])))
             for n, m in model.named_modules() if type(m).__name__ == "Conv2dSame"]
    if hooks:
        with torch.no_grad():
            model(torch.zeros(1, in_chans, image_size, image_size))
        for h in hooks:
            h.remove()

    def replace(name: str, new: nn.Module):
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, new)

    for name, (h, w) in shapes.items():
        old = model.get_submodule(name)
        conv = nn.Conv2d(old.in_channels, old.out_channels, old.kernel_size, old.stride, 0, old.dilation,
                         old.groups, old.bias is not None)
        conv.load_state_dict(old.state_dict())
        (top, bottom), (left, right) = (_same_pads(n, s, k, d) for n, s, k, d in
                                        zip((h, w), old.stride, old.kernel_size, old.dilation))
        if (top, left) == (bottom, right):
            conv.padding = (top, left)
            replace(name, conv)
        else:
            replace(name, nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv))
    for name, m in [(n, m) for n, m in model.named_modules() if type(m).__name__ == "BatchNormAct2d"]:
        bn = nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)
        bn.load_state_dict({k: v for k, v in m.state_dict().items()})
        replace(name, nn.Sequential(bn, m.drop, m.act))
    return model.eval()


def quantize_int8(model: nn.Module, calibration: torch.Tensor, backend: str = "x86",
                  batch_size: int = 32) -> nn.Module:
    """Post-training static int8 quantization for CPU inference with
    ``torch.ao.quantization``'s FX graph mode: weights per-channel int8, activations
    int8 with ranges observed on ``calibration`` (a float tensor of already
    normalized training images [N, C, H, W]).  Returns the quantized copy (CPU only),
    for inputs of the calibration images' side (the model first goes through
    :func:`int8_ready` at that side).

    Why FX graph mode: it runs fbgemm/x86 int8 kernels eagerly, which is what
    gives the CPU speed-up here; torch 2.15 marks it deprecated in favour of
    torchao's pt2e flow, whose int8 kernels are only reached after lowering with
    ``torch.compile`` (not part of this project's pinned stack)."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    if calibration.ndim != 4 or not calibration.is_floating_point():
        raise ValueError("calibration must be a float tensor of normalized images [N, C, H, W]")
    torch.backends.quantized.engine = backend
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = int8_ready(model, calibration.shape[-1], calibration.shape[1])
        prepared = prepare_fx(m, get_default_qconfig_mapping(backend), (calibration[:1],))
        with torch.no_grad():
            for i in range(0, len(calibration), batch_size):
                prepared(calibration[i:i + batch_size])
        q = convert_fx(prepared)
    for attr in ("image_size", "cnneff_name", "mean", "std"):
        if hasattr(model, attr):
            setattr(q, attr, getattr(model, attr))
    return q
