"""Structured channel pruning by a global importance threshold (paper 000's
"pruning"): torch-pruning's DepGraph removes whole channels (real, smaller
tensors, not masks) and keeps residual adds and squeeze-excite consistent.

Guard against layers pruned to nothing: ``max_layer_ratio`` (default 0.9)
caps the fraction of channels removed from any single layer, so every pruned
layer keeps at least 10 % of its channels; a cap >= 1 is refused.
"""
from __future__ import annotations

import copy

import pandas as pd
import torch
from torch import nn

from ..counting import count
from .report import CompressionReport, check_ratio, classifier_layers, layer_channels

__all__ = ["prune_channels", "prune_by_importance"]


def prune_by_importance(model: nn.Module, ratio: float, image_size: int, importance, method: str,
                        max_layer_ratio: float = 0.9, in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
    """Remove the fraction ``ratio`` of prunable channels that torch-pruning's
    ``importance`` ranks lowest, against one global threshold over the whole
    network; the classifier keeps all its outputs and no layer loses more than
    ``max_layer_ratio`` of its channels.  ``model`` is not modified.  Returns
    ``(pruned copy, report)`` (report named ``method``)."""
    import torch_pruning as tp

    check_ratio(ratio)
    if not 0 < max_layer_ratio < 1:
        raise ValueError(f"max_layer_ratio must lie in (0, 1) so that no layer is pruned to nothing, got {max_layer_ratio}")
    before = count(model, image_size, in_chans)
    ch_before = layer_channels(model)
    new = copy.deepcopy(model).cpu().eval()
    example = torch.randn(1, in_chans, image_size, image_size)
    pruner = tp.pruner.BasePruner(new, example, importance=importance, pruning_ratio=ratio, global_pruning=True,
                                  ignored_layers=classifier_layers(new), max_pruning_ratio=max_layer_ratio)
    pruner.step()
    after = count(new, image_size, in_chans)
    ch_after = layer_channels(new)
    rows = [dict(layer=k, channels_before=v, channels_after=ch_after.get(k, 0), kept=ch_after.get(k, 0) / v)
            for k, v in ch_before.items()]
    if any(r["channels_after"] == 0 for r in rows):  # cannot happen with max_layer_ratio < 1; never return a broken net
        raise RuntimeError("pruning emptied a layer; lower the ratio or max_layer_ratio")
    for attr in ("image_size", "cnneff_name", "mean", "std"):
        if hasattr(model, attr):
            setattr(new, attr, getattr(model, attr))
    return new, CompressionReport(method=method, ratio=ratio, image_size=image_size, params_before=before.params,
                                  params_after=after.params, macs_before=before.macs, macs_after=after.macs,
                                  channels=pd.DataFrame(rows))


def prune_channels(model: nn.Module, ratio: float, image_size: int, max_layer_ratio: float = 0.9,
                   in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
    """Remove the fraction ``ratio`` of prunable channels with the smallest L1
    weight norm, ranked against one global threshold over the whole network
    (torch-pruning ``MagnitudeImportance(p=1)``, ``global_pruning=True``).  The
    classifier keeps all its outputs.  Returns ``(pruned copy, report)``; the
    pruned model needs fine-tuning."""
    import torch_pruning as tp

    return prune_by_importance(model, ratio, image_size, tp.importance.MagnitudeImportance(p=1), "magnitude",
                               max_layer_ratio, in_chans)
