"""Half precision (paper 000's fp16 row): fp16 weights, their file size, and
the memory a training step holds in each number format."""
from __future__ import annotations

import copy
import io

import torch
from torch import nn

from ..counting import count
from .report import CompressionReport

__all__ = ["to_half", "weight_file_bytes", "training_memory_bytes"]


def weight_file_bytes(model: nn.Module) -> int:
    """Size in bytes of ``torch.save(model.state_dict())``: the weight file a user ships."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def to_half(model: nn.Module, image_size: int, in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
    """A copy of ``model`` with fp16 weights (BatchNorm included).  Feed it fp16
    inputs; on CPU fp16 convolutions are much slower than fp32 (use bf16 autocast
    there), on GPU they use tensor cores.  Returns ``(fp16 copy, report)``: the
    same parameters and MACs (at ``image_size``), the weight file's bytes
    before and after."""
    half = copy.deepcopy(model).half()
    c = count(model, image_size, in_chans)
    return half, CompressionReport(method="fp16", image_size=image_size, params_before=c.params,
                                   params_after=c.params, macs_before=c.macs, macs_after=c.macs,
                                   file_bytes_before=weight_file_bytes(model),
                                   file_bytes_after=weight_file_bytes(half))


def training_memory_bytes(model: nn.Module, dtype: torch.dtype, image_size: int, batch_size: int,
                          in_chans: int = 3) -> int:
    """Bytes one training step holds for ``model`` with weights and inputs in
    ``dtype``: the weights, their gradients and every tensor autograd saves for
    the backward pass (optimizer state excluded).  Counted on PyTorch's meta
    device, so nothing is computed or allocated (the count follows from the
    element sizes: fp16 halves it by construction); returns an int (bytes)."""
    model = copy.deepcopy(model).to(device="meta", dtype=dtype).train()
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(torch.empty(batch_size, in_chans, image_size, image_size, device="meta", dtype=dtype))
    out.float().sum().backward()
    return sum(saved) + 2 * sum(p.numel() * p.element_size() for p in model.parameters())
