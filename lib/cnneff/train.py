"""The training engine: ``fit`` / ``train_one_epoch`` / ``evaluate``.

Every knob lives in one :class:`~cnneff.config.TrainConfig` (defaults, reasons,
validation, presets); ``fit(model, data, config, **overrides)`` also takes the
fields as keyword arguments.  Checkpoint files (run identity, lock, atomic
writes) are :mod:`cnneff.checkpoint`'s job.

Written in the style of torchvision's ``references/classification/train.py``:
plain functions, no trainer class to subclass.  What it adds:

* **Fast in-memory batches.**  An :class:`~cnneff.data.ImageSet` (uint8 tensor
  ``images`` [N, C, H, W] + ``labels``) is batched by indexing, with augmentation
  done on the batch; any other ``Dataset`` streams through a ``DataLoader``.
* **Deterministic on CPU.**  Data order and augmentation come from a generator
  seeded by ``(seed, epoch)``; the global RNG (dropout, RandAugment) is seeded
  once and checkpointed.  Two runs with one seed give identical metrics.
* **Checkpoint every epoch, atomically** (model, optimizer, scheduler, AMP
  scaler, RNG state, history, callback state) to ``checkpoint_dir/last.pt``
  (a unique temporary file in the same folder, fsync, ``os.replace``);
  a rerun after a kill resumes there and ends with exactly the metrics of an
  uninterrupted run.  Every load uses ``torch.load(weights_only=True)``.
* **Checkpoints know their run.**  ``last.pt`` carries the run identity
  (:func:`run_identity`: every argument that changes the result, the model's
  name and architecture hash, the data's source and content fingerprint);
  a rerun whose identity differs is refused before anything is loaded or
  trained, naming the differing fields.  ``checkpoint_dir/.lock`` (``flock``)
  keeps a second run out of a folder in use.
* **Callbacks** at the points the papers need: :meth:`Callback.on_epoch_start`
  (progressive learning changes image size and regularization),
  :meth:`Callback.on_after_backward` (network slimming's L1 subgradient on
  BatchNorm gamma, after AMP unscaling), :meth:`Callback.on_epoch_end`.
* **DistributedDataParallel** when started by ``torchrun`` (gloo on CPU, nccl on GPU).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import core
# Checkpoint and config names are re-exported here: their old home was this module.
from .checkpoint import (CheckpointError, _atomic_save, _identity_diff, _locked, _read_checkpoint,  # noqa: F401
                         _why, _why_unloadable, check_checkpoint_dir, data_fingerprint, open_checkpoint,
                         run_identity)
from .config import OPTIMIZERS, PRECISIONS, PRESETS, SCHEDULES, TrainConfig, TrainError  # noqa: F401
from .core import IMAGENET_MEAN, IMAGENET_STD, autocast, weight_dtype  # noqa: F401

__all__ = [
    "PRECISIONS", "OPTIMIZERS", "SCHEDULES", "TrainConfig", "PRESETS", "Callback", "TrainState", "FitResult", "Run",
    "fit", "train_one_epoch", "evaluate", "build_optimizer", "build_schedule", "BatchNormL1", "ProgressiveLearning",
    "resolve_device", "linear_probe", "lr_factor", "recalibrate_bn", "zero_init_residual", "TrainError",
    "CheckpointError", "run_identity", "check_checkpoint_dir",
]


# ----------------------------------------------------------------------------
# State and callbacks
# ----------------------------------------------------------------------------
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


class BatchNormL1(Callback):
    """Network slimming (Liu et al. 2017): add the L1 subgradient ``s * sign(gamma)``
    to the gradient of every BatchNorm scale after backward (and after AMP
    unscaling), which drives unimportant channels' gamma towards zero."""

    def __init__(self, s: float = 1e-4):
        if s <= 0:
            raise ValueError(f"sparsity s must be > 0, got {s}")
        self.s = s

    def identity(self):
        """The sparsity ``s``."""
        return {"s": self.s}

    def on_fit_start(self, state):
        if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in state.model.modules()):
            raise ValueError("network slimming needs BatchNorm layers, and this model has none")

    def on_after_backward(self, state):
        for m in state.model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None and m.weight.grad is not None:
                m.weight.grad.add_(torch.sign(m.weight.detach()), alpha=self.s)


class ProgressiveLearning(Callback):
    """EfficientNetV2's progressive learning with adaptive regularization
    (Algorithm 1): training is split into ``stages`` equal parts; in stage i the
    image size and every regularization move linearly from their initial to their
    final value, ``S_i = S_0 + (S_e - S_0) * i / (M - 1)``.

    ``image_size``, ``dropout``, ``randaug`` (RandAugment magnitude) and
    ``mixup`` (mixup alpha) are ``(initial, final)`` pairs; None leaves that
    knob alone.  Dropout is set on every ``nn.Dropout`` of the model (timm nets:
    also ``drop_rate``)."""

    def __init__(self, stages: int, image_size: tuple[int, int], dropout: tuple[float, float] | None = None,
                 randaug: tuple[float, float] | None = None, mixup: tuple[float, float] | None = None,
                 size_multiple: int = 8):
        if stages < 1:
            raise ValueError("stages must be >= 1")
        self.stages, self.size, self.dropout, self.randaug, self.mixup = stages, image_size, dropout, randaug, mixup
        self.size_multiple = size_multiple

    def identity(self):
        """Stages, sizes and regularization pairs."""
        return {"stages": self.stages, "image_size": list(self.size), "size_multiple": self.size_multiple,
                **{k: list(v) if v is not None else None
                   for k, v in (("dropout", self.dropout), ("randaug", self.randaug), ("mixup", self.mixup))}}

    def _interp(self, pair, i):
        if pair is None:
            return None
        a, b = pair
        return a if self.stages == 1 else a + (b - a) * i / (self.stages - 1)

    def stage_of(self, epoch: int, epochs: int) -> int:
        """Stage index of a 0-based ``epoch`` when training for ``epochs``."""
        return min(self.stages - 1, epoch * self.stages // max(epochs, 1))

    def values(self, stage: int) -> dict:
        """Image size and regularization of one stage (None for knobs left alone)."""
        size = self._interp(self.size, stage)
        m = self.size_multiple
        return dict(stage=stage, image_size=int(round(size / m) * m) if m else int(round(size)),
                    dropout=self._interp(self.dropout, stage), randaug_magnitude=self._interp(self.randaug, stage),
                    mixup_alpha=self._interp(self.mixup, stage))

    def schedule(self, epochs: int) -> pd.DataFrame:
        """The stage schedule as a table: stage, epochs, image size, dropout, RandAugment magnitude, mixup alpha."""
        rows = []
        for s in range(self.stages):
            eps = [e for e in range(epochs) if self.stage_of(e, epochs) == s]
            rows.append({**self.values(s), "epochs": f"{eps[0] + 1}-{eps[-1] + 1}" if eps else "-"})
        return pd.DataFrame(rows)[["stage", "epochs", "image_size", "dropout", "randaug_magnitude", "mixup_alpha"]]

    def on_epoch_start(self, state):
        v = self.values(self.stage_of(state.epoch, state.epochs))
        state.image_size = v["image_size"]
        if v["dropout"] is not None:
            set_dropout(state.model, v["dropout"])
        if v["randaug_magnitude"] is not None:
            state.randaug_magnitude = v["randaug_magnitude"]
        if v["mixup_alpha"] is not None:
            state.mixup_alpha = v["mixup_alpha"]


def set_dropout(model: nn.Module, p: float):
    """Set the drop probability of every ``nn.Dropout`` (and timm's ``drop_rate``) to ``p``."""
    m = model.module if hasattr(model, "module") else model
    for mod in m.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = p
    if hasattr(m, "drop_rate"):
        m.drop_rate = p


# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------
def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return the ``torch.device`` to run on: ``"auto"`` -> cuda if available,
    else cpu; anything else as given (:func:`cnneff.core.resolve_device`).
    Raises :class:`TrainError` for a name torch does not know (a typo) and for
    a CUDA/MPS device this machine lacks."""
    try:
        return core.resolve_device(device)
    except core.DeviceError as e:
        raise TrainError(str(e)) from None


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


def zero_init_residual(model: nn.Module) -> int:
    """Zero the scale of the last BatchNorm of every block with an identity
    shortcut (timm's ``has_skip``; ``bn3`` of an inverted residual, ``bn2`` of
    a depthwise-separable block), so that each residual block starts as the
    identity (Goyal et al. 2017).  Returns the number of blocks changed."""
    n = 0
    for block in model.modules():
        if getattr(block, "has_skip", False):
            bn = getattr(block, "bn3", None) or getattr(block, "bn2", None)
            if isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.weight is not None:
                nn.init.zeros_(bn.weight)
                n += 1
    return n


def _norm_stats(model, mean, std):
    m = model.module if hasattr(model, "module") else model
    mean = mean or getattr(m, "mean", None) or IMAGENET_MEAN
    std = std or getattr(m, "std", None) or IMAGENET_STD
    return mean, std


def _in_chans(model) -> int:
    m = model.module if hasattr(model, "module") else model
    first = next((x for x in m.modules() if isinstance(x, nn.Conv2d)), None)
    return first.in_channels if first is not None else 3


def prepare_batch(x: torch.Tensor, image_size: int, channels: int, mean, std, device, channels_last=False,
                  train=False, generator=None, randaug_magnitude=0.0) -> torch.Tensor:
    """uint8 [B, C, H, W] -> normalized float on ``device``: optional training
    augmentation (random horizontal flip per image, one random crop offset per
    batch from a 1/8-padded copy, RandAugment per image after resizing to
    ``image_size``), resize to ``image_size``, grayscale -> ``channels`` by repetition, and
    ``(x / 255 - mean) / std``.  Returns the batch."""
    x = x.to(device, non_blocking=True)
    if train:
        b = x.shape[0]
        flip = torch.rand(b, generator=generator) < 0.5
        x = torch.where(flip.to(device)[:, None, None, None], x.flip(3), x)
        h, w = x.shape[-2:]
        pad = max(h // 8, 1)
        xp = F.pad(x, (pad, pad, pad, pad), mode="replicate" if x.is_floating_point() else "constant")
        dy, dx = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
        x = xp[..., dy:dy + h, dx:dx + w]
        if randaug_magnitude > 0:
            from torchvision.transforms import v2

            if not x.is_floating_point() and (x.shape[-1] != image_size or x.shape[-2] != image_size):
                # augment at the size the network sees (as the paper's pipeline does: crop/resize,
                # then RandAugment), not at the stored size: per-image augmentation would otherwise
                # cost the same at every stage of progressive learning.
                x = v2.functional.resize(x, [image_size, image_size], antialias=True)
            ra = v2.RandAugment(num_ops=2, magnitude=int(round(randaug_magnitude)))
            x = torch.stack([ra(img) for img in x])
    x = x.float().div_(255)
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    mean_t = torch.tensor(mean[: x.shape[1]], device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std[: x.shape[1]], device=device).view(1, -1, 1, 1)
    x = (x - mean_t) / std_t
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _batches(dataset, batch_size: int, shuffle: bool, generator: torch.Generator | None, num_workers: int,
             rank: int = 0, world: int = 1, drop_last: bool = False) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (uint8 images, int64 labels) batches.  In-memory sets are sliced
    directly; other datasets go through a DataLoader.  With ``world`` > 1 each
    rank takes its own interleaved share of one common permutation."""
    n = len(dataset)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    if world > 1:  # equal shares, or DDP ranks would run different numbers of steps
        order = order[: n // world * world][rank::world]
    if drop_last and len(order) >= batch_size:
        stop = len(order) - len(order) % batch_size
    else:
        stop = len(order)
    if hasattr(dataset, "images") and hasattr(dataset, "labels"):
        for i in range(0, stop, batch_size):
            idx = order[i:i + batch_size]
            yield dataset.images[idx], dataset.labels[idx]
        return
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, order[:stop].tolist()),
                                         batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                         persistent_workers=False)
    for x, y in loader:
        yield x, torch.as_tensor(y)


def _steps_per_epoch(n: int, batch_size: int, world: int) -> int:
    """Optimizer steps per epoch of :func:`_batches` with ``drop_last`` (a split
    smaller than one batch still gives one step)."""
    per_rank = n // world
    return per_rank // batch_size if per_rank >= batch_size else 1


@torch.no_grad()
def recalibrate_bn(model: nn.Module, dataset, batches: int, batch_size: int, image_size: int, channels: int,
                   mean, std, device, precision: str = "fp32", channels_last: bool = False) -> int:
    """Recompute every BatchNorm's running mean and variance as the plain average
    over the first ``batches`` batches of ``dataset`` (no augmentation, weights
    untouched): "precise BN" (Wu & Johnson 2021).  The exponential moving
    average that training keeps lags behind weights that change quickly, which
    after a few hundred steps can make eval-mode accuracy collapse.  Returns the
    number of images used (0 if the model has no BatchNorm)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return 0
    momenta = [m.momentum for m in bns]
    was_training = model.training
    model.train()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = plain mean over the batches
    used = 0
    for i, (x, _) in enumerate(_batches(dataset, batch_size, False, None, 0)):
        if i >= batches:
            break
        x = prepare_batch(x, image_size, channels, mean, std, device, channels_last)
        with autocast(device.type, precision):
            model(x)
        used += x.shape[0]
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was_training)
    return used


# ----------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: nn.Module, dataset, *, batch_size: int = 256, image_size: int | None = None,
             device: str | torch.device = "auto", precision: str = "fp32", channels_last: bool = False,
             mean=None, std=None, num_classes: int | None = None, progress: bool = False,
             desc: str = "eval") -> dict:
    """Evaluate ``model`` on ``dataset``.  Returns a dict of floats: ``loss``
    (mean cross-entropy), ``accuracy``, ``precision``, ``recall``, ``f1``
    (binary: of class 1; more classes: macro averages), ``n`` (images),
    ``seconds`` (wall time) and ``images_per_second``."""
    from sklearn.metrics import precision_recall_fscore_support

    core.check_precision(precision)
    device = resolve_device(device)
    image_size = image_size or _stored_size(dataset)
    mean, std = _norm_stats(model, mean, std)
    channels = _in_chans(model)
    was_training = model.training
    model.eval()
    ys, ps, loss_sum = [], [], 0.0
    t0 = time.perf_counter()
    it = _batches(dataset, batch_size, False, None, 0)
    dtype = weight_dtype(model)
    half = dtype in (torch.float16, torch.bfloat16)  # a model converted with .half()
    for x, y in tqdm(it, total=math.ceil(len(dataset) / batch_size), desc=desc, disable=not progress, leave=False):
        x = prepare_batch(x, image_size, channels, mean, std, device, channels_last)
        if half:
            x = x.to(dtype)
        with autocast(device.type, precision):
            logits = model(x)
        y = y.to(device)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum").item()
        ys.append(y.cpu())
        ps.append(logits.argmax(1).cpu())
    seconds = time.perf_counter() - t0
    model.train(was_training)
    y, p = torch.cat(ys).numpy(), torch.cat(ps).numpy()
    k = num_classes or int(max(y.max(), p.max()) + 1)
    average = "binary" if k == 2 else "macro"
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, average=average, zero_division=0)
    n = len(y)
    return dict(loss=loss_sum / n, accuracy=float((y == p).mean()), precision=float(prec), recall=float(rec),
                f1=float(f1), n=n, seconds=seconds, images_per_second=n / seconds)


def _stored_size(dataset) -> int:
    if hasattr(dataset, "images"):
        return int(dataset.images.shape[-1])
    return int(dataset[0][0].shape[-1])


# ----------------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------------
@dataclass
class FitResult:
    """What :func:`fit` returns: the per-epoch ``history`` DataFrame, the final
    ``test`` metrics (see :func:`evaluate`; empty without a test split), the
    trained ``model`` and the total training wall time ``train_seconds``
    (sum of the epochs' training time, evaluation excluded)."""

    history: pd.DataFrame
    test: dict
    model: nn.Module
    train_seconds: float


# ----------------------------------------------------------------------------
# Distributed start, then fit: setup, epochs (train_one_epoch + _end_epoch), checkpoints
# ----------------------------------------------------------------------------
def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist, dist.get_rank(), dist.get_world_size()
    return None, 0, 1


@dataclass
class Run:
    """Everything one :func:`fit` trains with, set up once by ``_setup``: the
    config, the model (and its DDP wrapper ``net``), optimizer, schedule, AMP
    scaler, the callbacks' :class:`TrainState`, and the resolved device,
    sizes and normalization."""

    cfg: TrainConfig
    model: nn.Module
    net: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    state: TrainState
    callbacks: Sequence[Callback]
    device: torch.device
    dist: object | None
    rank: int
    world: int
    per_rank_batch: int
    steps_per_epoch: int
    base_size: int
    channels: int
    mean: tuple
    std: tuple
    num_classes: int | None


def fit(model: nn.Module, data, config: TrainConfig | None = None, *, callbacks: Sequence[Callback] = (),
        **overrides) -> FitResult:
    """Train ``model`` on ``data`` (a :class:`cnneff.data.Splits`: ``train``,
    ``val``, ``test``) with ``config`` (a :class:`~cnneff.config.TrainConfig`;
    None: its defaults) whose fields ``overrides`` replace (``fit(m, d,
    epochs=3, lr=0.1)``; unknown names are refused).  Returns a :class:`FitResult`.

    Only parameters with ``requires_grad`` are optimized.  With
    ``checkpoint_dir`` every epoch ends with an atomic checkpoint and a rerun of
    the same run resumes from it; a checkpoint of another run (see
    :func:`run_identity`), an unreadable one, an unwritable folder or a folder
    in use raise :class:`CheckpointError` before anything is trained;
    ``restart=True`` ignores the folder's checkpoint.  History columns: epoch,
    lr, image_size, train_loss, train_accuracy, val_loss, val_accuracy,
    val_precision, val_recall, val_f1, epoch_seconds (training only, seconds),
    images_per_second (training throughput)."""
    cfg = (config or TrainConfig()).replace(**overrides)
    if len(data.train) == 0:
        raise TrainError("the training split is empty; pass a data set with training images")
    device = resolve_device(cfg.device)
    dist, rank, world = _dist()
    _check_run(model, data, cfg, world)
    torch.manual_seed(cfg.seed)
    if cfg.zero_init_residual:
        zero_init_residual(model)
    mean, std = _norm_stats(model, cfg.mean, cfg.std)
    base_size = cfg.image_size or _stored_size(data.train)
    with contextlib.ExitStack() as held:
        ckpt = identity = saved = None
        if cfg.checkpoint_dir:
            identity = run_identity(
                model, data, cfg, image_size=base_size, mean=list(mean), std=list(std), processes=world,
                callbacks=[[type(cb).__name__, cb.identity()] for cb in callbacks if cb.identity() is not None])
            ckpt, saved = open_checkpoint(held, cfg.checkpoint_dir, identity, rank=rank, restart=cfg.restart)
        run = _setup(model, data, cfg, callbacks, device, dist, rank, world, base_size, mean, std)
        start = _restore(run, saved, ckpt) if saved is not None else 0
        for cb in callbacks:
            cb.on_fit_start(run.state)
        for epoch in range(start, cfg.epochs):
            row = train_one_epoch(run, data.train, epoch)
            row = _end_epoch(run, data, row)
            if ckpt is not None and rank == 0:
                _atomic_save(_checkpoint_of(run, epoch, identity), ckpt)
            if dist is not None:
                dist.barrier()
            _report(run, row)
        history = pd.DataFrame(run.state.history)
        test = {}
        if cfg.evaluate_test and len(getattr(data, "test", [])):
            test = _evaluate_split(run, data.test)
        return FitResult(history=history, test=test, model=run.model,
                         train_seconds=float(history["epoch_seconds"].sum()) if len(history) else 0.0)


def _check_run(model: nn.Module, data, cfg: TrainConfig, world: int) -> None:
    """Raise (one line naming the fix) for a run that cannot start: a batch not
    divisible by the processes, nothing to optimize, or BatchNorm seeing < 2 images per step."""
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({world})")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("no parameter requires grad: unfreeze at least the classifier")
    per_step = min(len(data.train) // world, cfg.batch_size // world)
    if per_step < 2 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise TrainError(f"each training step would see {per_step} image ({len(data.train)} training image(s), "
                         f"batch size {cfg.batch_size}) and BatchNorm needs at least 2; use more training images "
                         "(e.g. --subset 2 or more) or a larger batch")


def _setup(model, data, cfg, callbacks, device, dist, rank, world, base_size, mean, std) -> Run:
    """Move the model to ``device`` (NHWC with ``channels_last``, DDP when
    ``world`` > 1) and build optimizer, schedule and scaler.  Returns the :class:`Run`."""
    model = model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = build_optimizer([p for p in model.parameters() if p.requires_grad], cfg)
    per_rank_batch = cfg.batch_size // world
    spe = _steps_per_epoch(len(data.train), per_rank_batch, world)
    return Run(cfg=cfg, model=model, net=net, opt=opt, sched=build_schedule(opt, cfg, spe),
               scaler=torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16"),
               state=TrainState(model=model, optimizer=opt, epochs=cfg.epochs, image_size=base_size),
               callbacks=callbacks, device=device, dist=dist, rank=rank, world=world, per_rank_batch=per_rank_batch,
               steps_per_epoch=spe, base_size=base_size, channels=_in_chans(model), mean=mean, std=std,
               num_classes=len(getattr(data, "classes", []) or []) or None)


def train_one_epoch(run: Run, dataset, epoch: int) -> dict:
    """Train ``run`` for one epoch (0-based ``epoch``) on ``dataset``: callbacks'
    ``on_epoch_start``, then every batch (augmentation, mixup, autocast,
    scaled backward, ``on_after_backward``, optimizer and schedule step).
    Returns the epoch's row so far: epoch (1-based), lr, image_size,
    train_loss (mean cross-entropy), train_accuracy (fraction), epoch_seconds
    (training wall time, seconds) and images_per_second."""
    cfg, state, device = run.cfg, run.state, run.device
    state.epoch, state.image_size = epoch, run.base_size
    for cb in run.callbacks:
        cb.on_epoch_start(state)
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)  # data order + augmentation of this epoch
    run.net.train()
    t0 = time.perf_counter()
    loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
    seen = 0
    batches = _batches(dataset, run.per_rank_batch, True, gen, cfg.num_workers, run.rank, run.world, drop_last=True)
    bar = tqdm(batches, total=run.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}",
               disable=not cfg.progress or run.rank != 0, leave=False)
    for x, y in bar:
        x = prepare_batch(x, state.image_size, run.channels, run.mean, run.std, device, cfg.channels_last,
                          train=cfg.augment, generator=gen,
                          randaug_magnitude=state.randaug_magnitude if cfg.augment else 0)
        y = y.to(device)
        logits, loss = _step(run, x, y, gen)
        loss_sum += loss.detach() * y.shape[0]
        correct += (logits.argmax(1) == y).sum()
        seen += y.shape[0]
        if cfg.progress and run.rank == 0 and state.step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    totals = torch.stack([loss_sum, correct, torch.tensor(float(seen), device=device)])
    if run.dist is not None:
        run.dist.all_reduce(totals)
        # DDP syncs BatchNorm running statistics from rank 0 before each forward,
        # so after the last step the ranks differ: give every rank rank 0's.
        for b in run.model.buffers():
            run.dist.broadcast(b, 0)
    return dict(epoch=epoch + 1, lr=run.opt.param_groups[0]["lr"], image_size=state.image_size,
                train_loss=(totals[0] / totals[2]).item(), train_accuracy=(totals[1] / totals[2]).item(),
                epoch_seconds=seconds, images_per_second=totals[2].item() / seconds)


def _step(run: Run, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on batch ``(x, y)`` (with mixup when the state asks
    for it).  Returns ``(logits, loss)``."""
    cfg, state = run.cfg, run.state
    lam = None
    if state.mixup_alpha > 0:
        lam = float(torch.distributions.Beta(state.mixup_alpha, state.mixup_alpha).sample())
        perm = torch.randperm(x.shape[0], generator=gen).to(run.device)
        x = lam * x + (1 - lam) * x[perm]
    with autocast(run.device.type, cfg.precision):
        logits = run.net(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        if lam is not None:
            loss = lam * loss + (1 - lam) * F.cross_entropy(logits.float(), y[perm],
                                                            label_smoothing=cfg.label_smoothing)
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.opt)
    state.loss = loss
    for cb in run.callbacks:
        cb.on_after_backward(state)
    run.scaler.step(run.opt)
    run.scaler.update()
    run.sched.step()
    state.step += 1
    return logits, loss


def _evaluate_split(run: Run, dataset) -> dict:
    """:func:`evaluate` of ``run.model`` on ``dataset`` with the run's settings.  Returns its dict."""
    cfg = run.cfg
    return evaluate(run.model, dataset, batch_size=cfg.eval_batch_size, image_size=run.base_size,
                    device=run.device, precision=cfg.precision, channels_last=cfg.channels_last, mean=run.mean,
                    std=run.std, num_classes=run.num_classes)


def _end_epoch(run: Run, data, row: dict) -> dict:
    """After an epoch's training: precise-BN recalibration (if configured),
    validation metrics, callbacks' ``on_epoch_end``; appends the row to the
    history.  Returns the complete row (columns in :func:`fit`'s order)."""
    cfg = run.cfg
    if cfg.bn_recalibration_batches:
        recalibrate_bn(run.model, data.train, cfg.bn_recalibration_batches, run.per_rank_batch, run.base_size,
                       run.channels, run.mean, run.std, run.device, cfg.precision, cfg.channels_last)
    timing = {k: row.pop(k) for k in ("epoch_seconds", "images_per_second")}
    if len(data.val):
        v = _evaluate_split(run, data.val)
        row.update(val_loss=v["loss"], val_accuracy=v["accuracy"], val_precision=v["precision"],
                   val_recall=v["recall"], val_f1=v["f1"])
    row.update(timing)
    for cb in run.callbacks:
        cb.on_epoch_end(run.state, row)
    run.state.history.append(row)
    return row


def _report(run: Run, row: dict) -> None:
    """Print one line per epoch (rank 0, with ``progress``)."""
    if run.cfg.progress and run.rank == 0:
        val = f", val acc {row['val_accuracy']:.3f}" if "val_accuracy" in row else ""
        print(f"epoch {row['epoch']}/{run.cfg.epochs}: loss {row['train_loss']:.3f}, train acc "
              f"{row['train_accuracy']:.3f}{val}, {row['epoch_seconds']:.1f} s, {row['images_per_second']:.0f} img/s")


def _checkpoint_of(run: Run, epoch: int, identity: dict) -> dict:
    """What ``last.pt`` holds after 0-based ``epoch``: model, optimizer,
    scheduler, scaler, RNG states, callbacks' states, history, step, the
    state's regularization and the run identity.  Returns the dict."""
    device, state = run.device, run.state
    return dict(model=run.model.state_dict(), optimizer=run.opt.state_dict(), scheduler=run.sched.state_dict(),
                scaler=run.scaler.state_dict(), rng=torch.get_rng_state(),
                cuda_rng=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                callbacks=[[type(cb).__name__, cb.state_dict()] for cb in run.callbacks], history=state.history,
                epoch=epoch, step=state.step, randaug=state.randaug_magnitude, mixup=state.mixup_alpha,
                identity=identity)


def _restore(run: Run, saved: dict, ckpt) -> int:
    """Load a checkpoint of this run into ``run`` (model, optimizer, schedule,
    scaler, RNG, callbacks, history).  Returns the 0-based epoch to continue with;
    :class:`CheckpointError` if the file does not fit the run."""
    try:
        run.model.load_state_dict(saved["model"])
        run.opt.load_state_dict(saved["optimizer"])
        run.sched.load_state_dict(saved["scheduler"])
        run.scaler.load_state_dict(saved["scaler"])
        torch.set_rng_state(saved["rng"].cpu())
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint {ckpt} does not fit this run ({_why(e)}); pass another "
                              "--checkpoint-dir, or --restart to discard it and start over") from None
    if run.device.type == "cuda" and saved.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(saved["cuda_rng"].cpu(), run.device)
    stored_cbs = list(saved["callbacks"])
    for cb in run.callbacks:  # each callback takes the next stored state of its own class
        name = type(cb).__name__
        k = next((i for i, e in enumerate(stored_cbs) if isinstance(e, (list, tuple)) and e[0] == name), None)
        if k is not None:
            cb.load_state_dict(stored_cbs.pop(k)[1])
    state = run.state
    state.history, state.step = list(saved["history"]), saved["step"]
    state.randaug_magnitude, state.mixup_alpha = saved["randaug"], saved["mixup"]
    start = saved["epoch"] + 1
    if run.rank == 0 and run.cfg.progress:
        print(f"resuming from {ckpt} after epoch {start}/{run.cfg.epochs}")
    return start


# ----------------------------------------------------------------------------
# Linear probe on frozen features
# ----------------------------------------------------------------------------
@torch.no_grad()
def features(model: nn.Module, dataset, *, image_size: int | None = None, batch_size: int = 128,
             device: str | torch.device = "auto", mean=None, std=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled penultimate features of every image (timm: ``forward_head(...,
    pre_logits=True)``; torchvision: ``features`` + global average pool).
    Returns (float features [N, D], int64 labels [N])."""
    device = resolve_device(device)
    image_size = image_size or _stored_size(dataset)
    mean, std = _norm_stats(model, mean, std)
    channels = _in_chans(model)
    model = model.to(device).eval()
    out, labels = [], []
    for x, y in _batches(dataset, batch_size, False, None, 0):
        x = prepare_batch(x, image_size, channels, mean, std, device)
        if hasattr(model, "forward_features") and hasattr(model, "forward_head"):
            f = model.forward_head(model.forward_features(x), pre_logits=True)
        elif hasattr(model, "features"):
            f = F.adaptive_avg_pool2d(model.features(x), 1).flatten(1)
        else:
            raise ValueError(f"cannot take features of {type(model).__name__}: it has neither "
                             "forward_features/forward_head (timm) nor features (torchvision)")
        out.append(f.float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(out), torch.cat(labels)


def linear_probe(model: nn.Module, data, *, image_size: int | None = None, C: float = 1.0,
                 device: str | torch.device = "auto", mean=None, std=None) -> dict:
    """Fit a logistic regression (scikit-learn, standardized features, L2
    strength ``1/C``) on the frozen features of ``data.train`` and score it.
    Returns ``val_accuracy``, ``test_accuracy``, ``feature_dim`` and ``seconds``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    kw = dict(image_size=image_size, device=device, mean=mean, std=std)
    xtr, ytr = features(model, data.train, **kw)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
    clf.fit(xtr.numpy(), ytr.numpy())
    out = dict(feature_dim=int(xtr.shape[1]))
    for split in ("val", "test"):
        ds = getattr(data, split, None)
        if ds is not None and len(ds):
            x, y = features(model, ds, **kw)
            out[f"{split}_accuracy"] = float(clf.score(x.numpy(), y.numpy()))
    out["seconds"] = time.perf_counter() - t0
    return out
