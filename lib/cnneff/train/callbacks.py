"""Hooks into :func:`cnneff.train.fit`: the :class:`TrainState` callbacks see and
change, and the :class:`Callback` base class (progressive learning and network
slimming are callbacks: :mod:`cnneff.train.progressive`,
:mod:`cnneff.compress.slimming`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["TrainState", "Callback"]


@dataclass
class TrainState:
    """What callbacks see and may change while ``fit`` runs."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    epoch: int = 0  # 0-based index of the current epoch
    epochs: int = 1
    step: int = 0  # optimizer steps taken so far
    image_size: int = 0  # side the current batches are resized to (progressive learning changes it)
    randaug_magnitude: float = 0.0  # RandAugment magnitude, 0 = off
    mixup_alpha: float = 0.0  # mixup Beta(alpha, alpha), 0 = off
    loss: torch.Tensor | None = None  # loss of the current step (after backward)
    history: list = field(default_factory=list)  # one dict per finished epoch


class Callback:
    """Hooks into :func:`fit`.  Override what you need; state that must survive
    a resume goes through :meth:`state_dict` / :meth:`load_state_dict`."""

    def on_fit_start(self, state: TrainState): ...

    def on_epoch_start(self, state: TrainState): ...

    def on_after_backward(self, state: TrainState):
        """Gradients exist and are unscaled (fp16 AMP); the optimizer has not stepped."""

    def on_epoch_end(self, state: TrainState, row: dict): ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict): ...

    def identity(self):
        """What this callback contributes to the run identity of a checkpoint
        (see :func:`run_identity`): JSON-able settings that change the result,
        or None (the default) for callbacks that only observe."""
        return None

