"""One training configuration: every knob of :func:`cnneff.train.fit`, its
default and the reason for it, checked in one place.

Each field carries its help text (``field.metadata["help"]``), which the
``cnneff train`` command line turns into its options, so the knobs are listed
once.  The named starting points of every experiment of the book live in
:mod:`cnneff.train.presets`; :meth:`TrainConfig.preset` and
:meth:`TrainConfig.from_spec` build a config from one of them.  The lists of
choices (:data:`OPTIMIZERS`, :data:`SCHEDULES`, precisions in
:data:`cnneff.core.PRECISIONS`) live here and in :mod:`cnneff.core`, nowhere else.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import core
from ..core import PRECISIONS

__all__ = ["OPTIMIZERS", "SCHEDULES", "NOT_IN_IDENTITY", "TrainError", "ConfigError", "TrainConfig", "knobs",
           "resolve_device"]

OPTIMIZERS = ("sgd", "rmsprop", "adamw")  # rmsprop: TF-style, as the EfficientNet papers use it
SCHEDULES = ("constant", "cosine", "linear", "step", "exponential")  # see cnneff.train.optim.lr_factor

# Fields that do not change what a run computes, so a checkpoint's run identity leaves them out.
NOT_IN_IDENTITY = ("device", "checkpoint_dir", "restart", "progress", "num_workers", "evaluate_test")


class TrainError(ValueError):
    """A training run cannot start as asked (unknown or absent device, a
    training split too small); the one-line message names the problem and the fix."""


class ConfigError(TrainError):
    """A :class:`TrainConfig` field has an unknown name, a wrong type or a value
    outside its choices; the one-line message names the field and the fix."""


def _knob(default, help: str, cli: bool = True):
    """A dataclass field with its help text; ``cli=False`` keeps it off the command line."""
    return field(default=default, metadata={"help": help, "cli": cli})


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of the training engine (:func:`cnneff.train.fit`), with its default.

    Build one with ``TrainConfig(...)``, :meth:`from_dict` (refuses unknown keys),
    :meth:`preset` or :meth:`from_spec`; derive another with :meth:`replace`.
    All constructors call :meth:`validate`."""

    epochs: int = _knob(1, "training epochs (one pass is the smallest run that says anything)")
    batch_size: int = _knob(64, "images per optimizer step (fits a CPU's cache at 32-64 px and a GPU at 224 px)")
    optimizer: str = _knob("sgd", "sgd (with momentum), rmsprop (TF-style, the EfficientNet papers') or adamw")
    lr: float = _knob(0.05, "peak learning rate (SGD's usual 0.1 per 256 images x 2 for batch 64)")
    momentum: float = _knob(0.9, "momentum of SGD and RMSProp (standard for both)")
    weight_decay: float = _knob(5e-5, "weight decay (EfficientNet's 1e-5 is tuned for 350 epochs)")
    schedule: str = _knob("cosine", "learning-rate schedule after warm-up: " + ", ".join(SCHEDULES))
    warmup_epochs: float = _knob(0.0, "linear warm-up epochs (0: off)")
    final_lr_ratio: float = _knob(0.0, "cosine/linear decay ends at lr x this")
    step_epochs: float = _knob(5.0, "step/exponential schedules: epochs per factor step_gamma")
    step_gamma: float = _knob(0.9, "step/exponential schedules: the factor per step_epochs")
    image_size: int | None = _knob(None, "side the batches are resized to, pixels (None: the stored side)")
    precision: str = _knob("fp32", "fp32, or bf16/fp16 autocast (bf16 measured slower on CPU: 0.74-0.86x)")
    channels_last: bool = _knob(True, "NHWC tensors (1.2-1.6x training images/s on CPU)")
    device: str = _knob("auto", "auto (cuda when present), cpu, cuda or cuda:N")
    seed: int = _knob(0, "seeds initialization, data order and augmentation: one seed, identical metrics")
    checkpoint_dir: str | None = _knob(None, "checkpoint every epoch here; a rerun of the same run resumes")
    augment: bool = _knob(True, "random flips and crops (worth it once runs are longer than a few epochs)")
    label_smoothing: float = _knob(0.0, "label smoothing of the cross-entropy (off, as the papers' baselines)")
    mean: tuple[float, ...] | None = _knob(None, "normalization mean (None: the model's own, else ImageNet's)",
                                           cli=False)
    std: tuple[float, ...] | None = _knob(None, "normalization std (None: the model's own, else ImageNet's)",
                                          cli=False)
    num_workers: int = _knob(0, "DataLoader processes for streamed folders (in-memory sets need none)")
    eval_batch_size: int = _knob(256, "evaluation batch (keeps no activations, so larger is free)")
    evaluate_test: bool = _knob(True, "report test metrics at the end (off when the caller evaluates)", cli=False)
    bn_recalibration_batches: int = _knob(0, "recompute BatchNorm statistics over this many batches each "
                                             "epoch (precise BN; 0: off, as in the papers)")
    zero_init_residual: bool = _knob(False, "zero each residual block's last BN scale first (Goyal et al. 2017)")
    progress: bool = _knob(True, "progress bar and one line per epoch (reporting only)", cli=False)
    restart: bool = _knob(False, "ignore the folder's checkpoint and start over")

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
        """The preset ``name`` of :data:`cnneff.train.presets.PRESETS` with ``overrides`` applied."""
        from .presets import PRESETS

        if name not in PRESETS:
            raise ConfigError(f"unknown training preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})

    @classmethod
    def from_spec(cls, spec: str | dict, **fixed) -> "TrainConfig":
        """A config from a notebook's training parameter: a preset name, or a
        mapping ``{"preset": NAME, FIELD: VALUE, ...}`` whose other keys change
        the preset field by field.  ``fixed`` (run-level settings such as
        ``device`` or ``image_size``) are applied last.  Raises
        :class:`ConfigError` naming the problem.  Returns the config."""
        if isinstance(spec, str):
            return cls.preset(spec, **fixed)
        if not isinstance(spec, dict) or not isinstance(spec.get("preset"), str):
            raise ConfigError(f"training settings {spec!r} name no preset: give a preset name, or a mapping "
                              "with a 'preset' key and the fields to change, e.g. {'preset': 'mask_baseline', "
                              "'epochs': 10}")
        changes = {k: v for k, v in spec.items() if k != "preset"}
        return cls.preset(spec["preset"], **{**changes, **fixed})

    def replace(self, **overrides) -> "TrainConfig":
        """A copy with ``overrides`` (unknown keys refused, values validated)."""
        if not overrides:
            return self
        return type(self).from_dict({**self.to_dict(), **overrides})

    def to_dict(self) -> dict[str, Any]:
        """Every field as a plain dict (``dataclasses.asdict``)."""
        return dataclasses.asdict(self)

    def changed(self) -> dict[str, Any]:
        """The fields whose values differ from :class:`TrainConfig`'s defaults
        (what a notebook shows as its training settings).  Returns a dict."""
        default = type(self)()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    def identity(self) -> dict[str, Any]:
        """The fields that change what a run computes: :meth:`to_dict` minus
        :data:`NOT_IN_IDENTITY` (reporting, location and loader settings)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_IN_IDENTITY}

    # ------------------------------------------------------------------ checks
    def validate(self) -> "TrainConfig":
        """Check every field's type and range, and the names against their
        choices; raise :class:`ConfigError` with one line naming the first bad
        field and the fix.  Returns self."""
        for check in (_check_choices, _check_counts, _check_numbers, _check_flags, _check_other):
            check(self)
        return self


def _bad(cfg: TrainConfig, name: str, why: str):
    raise ConfigError(f"training setting {name}={getattr(cfg, name)!r} {why}")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    """A real, finite number (NaN and infinities are refused: they train nothing)."""
    return not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v)


def _check_choices(cfg: TrainConfig) -> None:
    for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("precision", PRECISIONS)):
        if getattr(cfg, name) not in choices:
            _bad(cfg, name, f"is unknown; choose one of {', '.join(choices)}")


def _check_counts(cfg: TrainConfig) -> None:
    for name in ("epochs", "batch_size", "eval_batch_size"):
        if not _is_int(getattr(cfg, name)) or getattr(cfg, name) < 1:
            _bad(cfg, name, "must be an integer >= 1")
    for name in ("seed", "num_workers", "bn_recalibration_batches"):
        if not _is_int(getattr(cfg, name)) or getattr(cfg, name) < 0:
            _bad(cfg, name, "must be an integer >= 0")
    if cfg.image_size is not None and (not _is_int(cfg.image_size) or cfg.image_size < 1):
        _bad(cfg, "image_size", "must be a positive integer number of pixels, or None for the stored size")


def _check_numbers(cfg: TrainConfig) -> None:
    for name in ("lr", "momentum", "weight_decay", "warmup_epochs", "final_lr_ratio", "label_smoothing",
                 "step_gamma"):
        if not _is_number(getattr(cfg, name)) or getattr(cfg, name) < 0:
            _bad(cfg, name, "must be a finite number >= 0")
    if not _is_number(cfg.step_epochs) or cfg.step_epochs <= 0:
        _bad(cfg, "step_epochs", "must be a finite number > 0")
    if cfg.label_smoothing >= 1:
        _bad(cfg, "label_smoothing", "must be below 1")


def _check_flags(cfg: TrainConfig) -> None:
    for name in ("channels_last", "augment", "evaluate_test", "zero_init_residual", "progress", "restart"):
        if not isinstance(getattr(cfg, name), bool):
            _bad(cfg, name, "must be True or False")


def _check_other(cfg: TrainConfig) -> None:
    for name in ("mean", "std"):
        v = getattr(cfg, name)
        if v is not None and (isinstance(v, (str, bytes)) or not all(isinstance(x, numbers.Real) for x in v)):
            _bad(cfg, name, "must be a sequence of per-channel numbers, or None for the model's own")
    if not isinstance(cfg.device, str) and type(cfg.device).__name__ != "device":
        _bad(cfg, "device", "must be a device name: auto, cpu, cuda or cuda:N")
    if cfg.checkpoint_dir is not None and not isinstance(cfg.checkpoint_dir, (str, Path)):
        _bad(cfg, "checkpoint_dir", "must be a folder path, or None for no checkpoints")


def knobs(cli_only: bool = False) -> list[dataclasses.Field]:
    """The fields of :class:`TrainConfig` in order (``cli_only``: those the
    command line offers).  Returns the list of ``dataclasses.Field``."""
    return [f for f in dataclasses.fields(TrainConfig) if not cli_only or f.metadata.get("cli", True)]


def resolve_device(device="auto"):
    """Return the ``torch.device`` to run on: ``"auto"`` -> cuda if available,
    else cpu; anything else as given (:func:`cnneff.core.resolve_device`).
    Raises :class:`TrainError` for a name torch does not know (a typo) and for
    a CUDA/MPS device this machine lacks."""
    try:
        return core.resolve_device(device)
    except core.DeviceError as e:
        raise TrainError(str(e)) from None
