"""Post-training static int8 quantization for CPU inference (the book's own
question beside paper 000's fp16 row): a copy of a network that FX graph mode
can trace (:func:`int8_ready`) and its quantized version (:func:`quantize_int8`)."""
from __future__ import annotations

import copy
import math
import warnings

import torch
from torch import nn

from ..counting import count
from .precision import weight_file_bytes
from .report import CompressionReport

__all__ = ["int8_ready", "quantize_int8"]


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
                  batch_size: int = 32) -> tuple[nn.Module, CompressionReport]:
    """Post-training static int8 quantization for CPU inference with
    ``torch.ao.quantization``'s FX graph mode: weights per-channel int8, activations
    int8 with ranges observed on ``calibration`` (a float tensor of already
    normalized training images [N, C, H, W]).  Returns ``(quantized copy,
    report)``: the copy runs on CPU only, for inputs of the calibration
    images' side (the model first goes through :func:`int8_ready` at that
    side); the report gives the float model's parameters and MACs (the int8
    network computes the same multiply-accumulates) and the weight file's
    bytes before and after.

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
    c = count(model, calibration.shape[-1], calibration.shape[1])
    return q, CompressionReport(method="int8", image_size=int(calibration.shape[-1]), params_before=c.params,
                                params_after=c.params, macs_before=c.macs, macs_after=c.macs,
                                file_bytes_before=weight_file_bytes(model), file_bytes_after=weight_file_bytes(q))
