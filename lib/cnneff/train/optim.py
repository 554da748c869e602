"""Optimizers and learning-rate schedules of :class:`~cnneff.train.config.TrainConfig`."""
from __future__ import annotations

import math

import torch

from .config import OPTIMIZERS, SCHEDULES, TrainConfig

__all__ = ["lr_factor", "build_optimizer", "build_schedule"]


def lr_factor(step: int, steps_per_epoch: int, epochs: int, schedule: str = "cosine", warmup_epochs: float = 0,
              final_lr_ratio: float = 0.0, step_epochs: float = 5, step_gamma: float = 0.9) -> float:
    """Multiplier of the base learning rate at optimizer step ``step``.

    Linear warm-up over ``warmup_epochs``, then ``schedule``: constant; cosine
    or linear decay to ``final_lr_ratio``; ``step`` (x ``step_gamma`` every
    ``step_epochs`` epochs, paper 002's 0.9 every 5); ``exponential`` (the same
    rule applied continuously, TinyNet's 0.97 every 2.4 epochs)."""
    e = step / steps_per_epoch
    warm = warmup_epochs * steps_per_epoch
    if warm and step < warm:
        return (step + 1) / warm
    span = max(epochs - warmup_epochs, 1e-9)
    t = min(max((e - warmup_epochs) / span, 0.0), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return final_lr_ratio + (1 - final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "linear":
        return 1 + (final_lr_ratio - 1) * t
    if schedule == "step":
        return step_gamma ** math.floor((e - warmup_epochs) / step_epochs + 1e-9)
    if schedule == "exponential":
        return step_gamma ** ((e - warmup_epochs) / step_epochs)
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer ``cfg.optimizer`` over ``params`` with ``cfg``'s lr, momentum and weight decay."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":  # TF-style RMSProp as the EfficientNet papers use it
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.9, eps=1e-3, momentum=cfg.momentum,
                                   weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


def build_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """A per-step ``LambdaLR`` following :func:`lr_factor` with ``cfg``'s schedule settings."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(
        s, steps_per_epoch, cfg.epochs, cfg.schedule, cfg.warmup_epochs, cfg.final_lr_ratio, cfg.step_epochs,
        cfg.step_gamma))

