"""Network slimming (Liu et al. 2017), paper 000's "sparse training + pruning",
as one object that holds its regulariser and its pruning step together (as
Torch-Pruning's ``BNScalePruner`` does)::

    slimming = NetworkSlimming(s=1e-4)
    fit(model, data, config, callbacks=[slimming])      # sparse training: L1 on every BatchNorm gamma
    slim, report = slimming.prune(model, 0.5, image_size)  # drop the channels with the smallest |gamma|
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from ..train.callbacks import Callback
from .pruning import prune_by_importance
from .report import CompressionError, CompressionReport, check_ratio

__all__ = ["NetworkSlimming", "bn_gammas"]


def bn_gammas(model: nn.Module) -> torch.Tensor:
    """All BatchNorm scale factors ``|gamma|`` of ``model`` concatenated (for histograms)."""
    g = [m.weight.detach().abs().flatten().cpu() for m in model.modules()
         if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None]
    if not g:
        raise ValueError("the model has no BatchNorm layer with a learnable scale")
    return torch.cat(g)


class NetworkSlimming(Callback):
    """Network slimming's two halves on one object.

    **Regulariser** (a :class:`~cnneff.train.callbacks.Callback` of
    :func:`cnneff.train.fit`): after every backward pass (and after AMP
    unscaling) add the L1 subgradient ``s * sign(gamma)`` to the gradient of
    every BatchNorm scale, which drives unimportant channels' gamma towards zero.

    **Pruning step** (:meth:`prune`): remove the fraction ``ratio`` of channels
    whose ``|gamma|`` lies under one global threshold (torch-pruning
    ``BNScaleImportance``)."""

    def __init__(self, s: float = 1e-4):
        if not s > 0:
            raise ValueError(f"sparsity s must be > 0, got {s}")
        self.s = s

    def identity(self):
        """The sparsity ``s`` (what changes a sparse-training run)."""
        return {"s": self.s}

    def on_fit_start(self, state):
        if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in state.model.modules()):
            raise ValueError("network slimming needs BatchNorm layers, and this model has none")

    def on_after_backward(self, state):
        for m in state.model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None and m.weight.grad is not None:
                m.weight.grad.add_(torch.sign(m.weight.detach()), alpha=self.s)

    @staticmethod
    def prune(model: nn.Module, ratio: float, image_size: int, max_layer_ratio: float = 0.9,
              in_chans: int = 3) -> tuple[nn.Module, CompressionReport]:
        """The pruning step: remove the fraction ``ratio`` of channels with the
        smallest ``|gamma|`` (one global threshold), on a copy of ``model`` (meant
        to be sparse-trained with this object first).  Raises ValueError for a
        model without BatchNorm, and :class:`CompressionError` when every
        ``|gamma|`` is the same (an untrained or freshly initialized net: there is
        nothing to rank); warns if nothing was pruned.  Returns ``(pruned copy, report)``."""
        import torch_pruning as tp

        check_ratio(ratio)
        g = bn_gammas(model)  # raises for a model without BatchNorm
        if len(g) > 1 and bool((g == g[0]).all()):
            raise CompressionError(f"all {len(g)} BatchNorm scales |gamma| equal {g[0].item():g}, so slimming has "
                                   "nothing to rank and would prune nothing; sparse-train the model first "
                                   "(fit with callbacks=[NetworkSlimming(s)]) or use prune_channels")
        new, report = prune_by_importance(model, ratio, image_size, tp.importance.BNScaleImportance(),
                                          "network slimming", max_layer_ratio, in_chans)
        if report.params_after == report.params_before:
            warnings.warn(f"network slimming at ratio {ratio} pruned nothing: no channel's |gamma| fell under the "
                          "global threshold; sparse-train longer or with a larger s", stacklevel=2)
        return new, report
