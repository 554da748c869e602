"""One training configuration: every knob of :func:`cnneff.train.fit`, its
default and the reason for it, checked in one place.

``fit(model, data, config, **overrides)`` takes a :class:`TrainConfig`; the
``cnneff train`` command line starts from the ``"cpu"`` preset and the sweep of
:mod:`cnneff.search` from the ``"sweep"`` preset, so there is one set of
defaults.  The lists of choices (:data:`OPTIMIZERS`, :data:`SCHEDULES`,
:data:`PRECISIONS`) live here and nowhere else.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core import PRECISIONS

__all__ = ["OPTIMIZERS", "SCHEDULES", "PRECISIONS", "PRESETS", "NOT_IN_IDENTITY", "TrainError", "ConfigError",
           "TrainConfig"]

OPTIMIZERS = ("sgd", "rmsprop", "adamw")  # rmsprop: TF-style, as the EfficientNet papers use it
SCHEDULES = ("constant", "cosine", "linear", "step", "exponential")  # see cnneff.train.lr_factor

# Fields that do not change what a run computes, so a checkpoint's run identity leaves them out.
NOT_IN_IDENTITY = ("device", "checkpoint_dir", "restart", "progress", "num_workers", "evaluate_test")


class TrainError(ValueError):
    """A training run cannot start as asked (unknown or absent device, a
    training split too small); the one-line message names the problem and the fix."""


class ConfigError(TrainError):
    """A :class:`TrainConfig` field has an unknown name, a wrong type or a value
    outside its choices; the one-line message names the field and the fix."""


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of the training engine (:func:`cnneff.train.fit`), with its default.

    Build one with ``TrainConfig(...)``, :meth:`from_dict` (refuses unknown keys)
    or :meth:`preset`; derive another with :meth:`replace`.  All constructors
    call :meth:`validate`."""

    epochs: int = 1  # one pass is the smallest run that says anything; callers set their own
    batch_size: int = 64  # fits a CPU's cache at the book's 32-64 px and a GPU at 224 px
    optimizer: str = "sgd"  # SGD with momentum: the classic ImageNet recipe (see OPTIMIZERS)
    lr: float = 0.05  # SGD's usual base rate for batch 64 (0.1 per 256 images x 2)
    momentum: float = 0.9  # standard for SGD and the papers' RMSProp
    weight_decay: float = 5e-5  # EfficientNet's 1e-5 is tuned for 350 epochs; short runs need a little more
    schedule: str = "cosine"  # decays to final_lr_ratio without extra knobs (see SCHEDULES)
    warmup_epochs: float = 0.0  # off: from-scratch nets at these rates train stably without warm-up
    final_lr_ratio: float = 0.0  # cosine/linear decay all the way to zero
    step_epochs: float = 5.0  # "step"/"exponential": paper 002's 0.9 every 5 epochs
    step_gamma: float = 0.9  # "step"/"exponential": the factor per step_epochs
    image_size: int | None = None  # None: the stored images' side (no resize per batch)
    precision: str = "fp32"  # bf16 autocast measured slower on CPU (0.74-0.86x); pick bf16/fp16 on a GPU
    channels_last: bool = True  # NHWC: 1.2-1.6x training images/s on CPU (benchmarks/engine_speed.py)
    device: str = "auto"  # cuda when present, else cpu
    seed: int = 0  # seeds initialization, data order and augmentation: two runs give identical metrics
    checkpoint_dir: str | None = None  # None: no checkpoints; else last.pt there every epoch, resumed on rerun
    augment: bool = True  # flips and crops: worth it once runs are longer than a few epochs
    label_smoothing: float = 0.0  # off, as most of the papers' baselines
    mean: tuple[float, ...] | None = None  # None: the model's own normalization, else ImageNet's
    std: tuple[float, ...] | None = None  # None: the model's own normalization, else ImageNet's
    num_workers: int = 0  # in-memory sets need no loader processes; folders may want some
    eval_batch_size: int = 256  # evaluation keeps no activations, so a larger batch is free
    evaluate_test: bool = True  # report test metrics at the end (off when a caller evaluates itself)
    bn_recalibration_batches: int = 0  # 0: off, as in the papers; >0 recomputes BN statistics each epoch
    zero_init_residual: bool = False  # zero each residual block's last BN scale first (Goyal et al. 2017)
    progress: bool = True  # progress bar and one line per epoch (reporting only)
    restart: bool = False  # True: ignore the folder's checkpoint and start over

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, values: dict[str, Any] | None = None, **more) -> "TrainConfig":
        """A config from a mapping of field values (missing ones take their default).
        Unknown keys raise :class:`ConfigError` naming them and the valid fields."""
        values = {**(values or {}), **more}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            import difflib

            hints = [difflib.get_close_matches(k, names, 1) for k in unknown]
            hint = "; ".join(f"{k!r}: did you mean {h[0]!r}?" for k, h in zip(unknown, hints) if h)
            raise ConfigError(f"unknown training setting(s) {', '.join(map(repr, unknown))}"
                              f"{' (' + hint + ')' if hint else ''}; valid: {', '.join(sorted(names))}")
        return cls(**values)

    @classmethod
    def preset(cls, name: str, **overrides) -> "TrainConfig":
        """The preset ``name`` of :data:`PRESETS` with ``overrides`` applied."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    def replace(self, **overrides) -> "TrainConfig":
        """A copy with ``overrides`` (unknown keys refused, values validated)."""
        if not overrides:
            return self
        return type(self).from_dict({**self.to_dict(), **overrides})

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (``dataclasses.asdict``)."""
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields that change what a run computes: :meth:`to_dict` minus
        :data:`NOT_IN_IDENTITY` (reporting, location and loader settings)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_IN_IDENTITY}

    # ------------------------------------------------------------------ checks
    def validate(self) -> "TrainConfig":
        """Check every field's type and range, and the names against their
        choices; raise :class:`ConfigError` with one line naming the first bad
        field and the fix.  Returns self."""
        def bad(name, why):
            raise ConfigError(f"training setting {name}={getattr(self, name)!r} {why}")

        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("precision", PRECISIONS)):
            if getattr(self, name) not in choices:
                bad(name, f"is unknown; choose one of {', '.join(choices)}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 1:
                bad(name, "must be an integer >= 1")
        for name in ("seed", "num_workers", "bn_recalibration_batches"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                bad(name, "must be an integer >= 0")
        if self.image_size is not None and (not _is_int(self.image_size) or self.image_size < 1):
            bad("image_size", "must be a positive integer number of pixels, or None for the stored size")
        for name in ("lr", "momentum", "weight_decay", "warmup_epochs", "final_lr_ratio", "label_smoothing",
                     "step_gamma"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v < 0:
                bad(name, "must be a number >= 0")
        if isinstance(self.step_epochs, bool) or not isinstance(self.step_epochs, numbers.Real) \
                or self.step_epochs <= 0:
            bad("step_epochs", "must be a number > 0")
        if self.label_smoothing >= 1:
            bad("label_smoothing", "must be below 1")
        for name in ("channels_last", "augment", "evaluate_test", "zero_init_residual", "progress", "restart"):
            if not isinstance(getattr(self, name), bool):
                bad(name, "must be True or False")
        for name in ("mean", "std"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, (str, bytes)) or not all(isinstance(x, numbers.Real) for x in v)):
                bad(name, "must be a sequence of per-channel numbers, or None for the model's own")
        if not isinstance(self.device, str) and type(self.device).__name__ != "device":
            bad("device", "must be a device name: auto, cpu, cuda or cuda:N")
        if self.checkpoint_dir is not None and not isinstance(self.checkpoint_dir, (str, Path)):
            bad("checkpoint_dir", "must be a folder path, or None for no checkpoints")
        return self


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


# Named starting points; each is a set of overrides of TrainConfig's defaults (the defaults are "default").
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},  # fit's defaults: SGD, lr 0.05, augmentation on
    # `cnneff train`: short CPU runs from scratch (2 epochs, a few thousand images).  AdamW with a short
    # warm-up learns fastest, augmentation only pays off over more epochs, and recomputed BatchNorm
    # statistics keep eval accuracy from collapsing after few, large steps (see cnneff.train.recalibrate_bn).
    "cpu": dict(epochs=2, batch_size=32, optimizer="adamw", lr=3e-3, weight_decay=0.01, warmup_epochs=0.1,
                augment=False, bn_recalibration_batches=20),
    # cnneff.search's sweep: short from-scratch training, identical for every model.  The paper trains 100
    # epochs with RMSProp (lr 0.048, batch 1024); on a CPU in seconds AdamW learns much faster.  Deep
    # twists (d > 2, 30-45 blocks) do not train at all in two epochs from timm's default initialization;
    # zeroing the last BatchNorm scale of every residual block makes them start as shallow networks.
    "sweep": dict(epochs=2, batch_size=64, optimizer="adamw", lr=6e-3, weight_decay=5e-5, schedule="cosine",
                  warmup_epochs=0.1, augment=False, bn_recalibration_batches=10, channels_last=True,
                  zero_init_residual=True),
}
for _name in PRESETS:  # a typo in a preset fails at import, not in the middle of a sweep
    TrainConfig.preset(_name)
