"""The training engine: ``fit`` / ``evaluate`` with every knob a named argument.

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
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import core
from .core import IMAGENET_MEAN, IMAGENET_STD, PRECISIONS, atomic_open, autocast, weight_dtype

__all__ = [
    "PRECISIONS", "OPTIMIZERS", "SCHEDULES", "Callback", "TrainState", "FitResult", "fit", "evaluate",
    "BatchNormL1", "ProgressiveLearning", "resolve_device", "linear_probe", "lr_factor", "recalibrate_bn",
    "TrainError", "CheckpointError", "run_identity", "check_checkpoint_dir",
]

OPTIMIZERS = ("sgd", "rmsprop", "adamw")
SCHEDULES = ("constant", "cosine", "linear", "step", "exponential")


class TrainError(ValueError):
    """A training run cannot start as asked (unknown or absent device, a
    training split too small); the one-line message names the problem and the fix."""


class CheckpointError(TrainError):
    """A checkpoint folder or file cannot be used: it belongs to another run, is
    unreadable, is locked by a running fit, or cannot be written.  The one-line
    message names the file and the fix (another checkpoint folder, or restart)."""


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


def _make_optimizer(params, name, lr, momentum, weight_decay):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "rmsprop":  # TF-style RMSProp as the EfficientNet papers use it
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-3, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


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

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
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
# Checkpoints: run identity, lock, atomic writes
# ----------------------------------------------------------------------------
_CKPT_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "callbacks", "history", "epoch", "step",
              "randaug", "mixup")
_HASH_FIELDS = ("architecture", "trainable", "classes")  # shown by name only when they differ


def _why(e: BaseException, limit: int = 140) -> str:
    """One line of an exception's message, at most ``limit`` characters."""
    text = " ".join(str(getattr(e, "strerror", None) or e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _why_unloadable(e: BaseException) -> str:
    """A short reason why ``torch.load`` failed (its weights-only unpickler's
    advice about allow-lists is irrelevant to a damaged file).  Returns one line."""
    text = " ".join(str(e).split())
    m = re.search(r"Unpickler error: (.*?)(?: Check the documentation|$)", text)
    if m:
        return f"not a PyTorch file: {m.group(1).strip() or 'unpickling failed'}"
    return f"{type(e).__name__}: {_why(e)}"


def _digest(parts: Iterable) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def data_fingerprint(dataset) -> str:
    """Identity of one split's content: ``"N x CxHxW <hash>"``.  In-memory sets
    hash every label, 64 evenly spaced whole images and a strided sample of
    about 4 M bytes over the whole uint8 tensor (so another data set with the
    same image count, or another stored size, changes it); streamed folders hash
    every path and label plus the size and mtime of 64 files.  Returns the string."""
    n = len(dataset)
    h = hashlib.sha256()
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        h.update(torch.as_tensor(labels).to(torch.int64).cpu().contiguous().numpy().tobytes())
    images, items = getattr(dataset, "images", None), getattr(dataset, "items", None)
    if isinstance(images, torch.Tensor):
        x = images.detach().cpu()
        shape = "x".join(map(str, x.shape[1:]))
        h.update(f"{tuple(x.shape)} {x.dtype}".encode())
        if n:
            idx = torch.linspace(0, n - 1, min(n, 64)).round().long().unique()
            h.update(x[idx].contiguous().numpy().tobytes())
            flat = x.reshape(-1)
            h.update(flat[:: max(1, flat.numel() // (1 << 22))].contiguous().numpy().tobytes())
    elif items is not None:
        size, ch = getattr(dataset, "image_size", "?"), getattr(dataset, "channels", "?")
        shape = f"{ch}x{size}x{size}"
        for p, y in items:
            h.update(f"{p}\t{y}\n".encode())
        for i in range(0, n, max(1, n // 64)):
            try:
                st = os.stat(items[i][0])
                h.update(f"{st.st_size} {st.st_mtime_ns}".encode())
            except OSError:
                h.update(b"missing")
    else:
        shape = "?"
        for i in range(0, n, max(1, n // 16)):
            x, y = dataset[i]
            x = torch.as_tensor(x)
            shape = "x".join(map(str, x.shape))
            h.update(x.cpu().contiguous().numpy().tobytes() + str(int(y)).encode())
    return f"{n} x {shape} {h.hexdigest()[:16]}"


def run_identity(model: nn.Module, data, **config) -> dict:
    """The identity of a training run, as a checkpoint stores it: ``config``
    (every :func:`fit` argument that changes the result, as given) plus
    ``model`` (registry name or class), ``architecture`` (hash of the
    state-dict keys, shapes and dtypes), ``trainable`` (hash of the names of
    the parameters that require grad), ``data`` (source name),
    ``num_classes``, ``classes`` (hash of the names) and ``train_set`` /
    ``val_set`` (:func:`data_fingerprint`).  Returns a flat dict of JSON values."""
    m = model.module if hasattr(model, "module") else model
    classes = [str(c) for c in (getattr(data, "classes", None) or [])]
    val = getattr(data, "val", None)
    out = dict(config)
    out.update(
        model=getattr(m, "cnneff_name", None) or type(m).__qualname__,
        architecture=_digest(f"{k}:{tuple(v.shape)}:{v.dtype}" for k, v in m.state_dict().items()),
        trainable=_digest(k for k, p in m.named_parameters() if p.requires_grad),
        data=str(getattr(data, "name", "") or type(data.train).__name__),
        num_classes=len(classes), classes=_digest(classes),
        train_set=data_fingerprint(data.train), val_set=data_fingerprint(val) if val is not None else "none")
    return json.loads(json.dumps(out, default=str))  # tuples -> lists, exactly as a reload sees them


def _identity_diff(old: dict, new: dict) -> list[str]:
    """Fields whose values differ, as ``"lr 0.1 -> 0.5"`` (values shown when short)."""
    out = []
    for k in list(new) + [k for k in old if k not in new]:
        a, b = old.get(k, "(absent)"), new.get(k, "(absent)")
        if a == b:
            continue
        ra, rb = (json.dumps(v) if not isinstance(v, str) else v for v in (a, b))
        out.append(k if k in _HASH_FIELDS or len(ra) + len(rb) > 50 else f"{k} {ra} -> {rb}")
    return out


def check_checkpoint_dir(checkpoint_dir: str | Path) -> Path:
    """Create ``checkpoint_dir`` if needed and prove it writable (a temporary
    file is created and removed).  Returns it as a Path; raises
    :class:`CheckpointError` naming the folder and the fix otherwise."""
    folder = Path(checkpoint_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CheckpointError(f"cannot write to checkpoint folder {folder} ({_why(e)}); "
                              "pass a writable --checkpoint-dir") from None
    return folder


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold ``folder/.lock`` (``fcntl.flock``, exclusive) while the block runs;
    :class:`CheckpointError` if another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = folder / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise CheckpointError(f"cannot write to checkpoint folder {folder} ({_why(e)}); "
                              "pass a writable --checkpoint-dir") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {holder}" if holder else "another process"
        raise CheckpointError(f"checkpoint folder {folder} is in use by a running fit ({who} holds {path}); "
                              "wait for it to finish or pass another --checkpoint-dir") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _atomic_save(obj, path: Path):
    """``torch.save`` to a unique temporary file beside ``path``, fsync, then
    ``os.replace`` (:func:`cnneff.core.atomic_open`): a reader (or a resumed
    run) sees the old or the new file, never half of one.  The temporary file
    is removed on any failure; a failed write (disk full, folder gone) raises
    :class:`CheckpointError`."""
    opened = False
    try:
        with atomic_open(path, "wb", fsync=True, mkdir=False) as f:
            opened = True
            torch.save(obj, f)
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError of its zip writer
        why = _why(e)
        if not opened:
            raise CheckpointError(f"cannot write checkpoint {path} ({why}); "
                                  "pass a writable --checkpoint-dir") from None
        with contextlib.suppress(OSError):
            if getattr(e, "errno", None) == 28 or shutil.disk_usage(path.parent).free < (16 << 20):
                why = "no space left on device"
        raise CheckpointError(f"cannot write checkpoint {path} ({why}); free disk space or pass another "
                              "--checkpoint-dir, then rerun: it resumes from the last complete epoch") from None


def _read_checkpoint(path: Path) -> dict:
    """Load a checkpoint onto the CPU; :class:`CheckpointError` naming the file
    if it cannot be read or is not one of :func:`fit`'s checkpoints."""
    fix = "delete it or pass --restart (fit(restart=True)) to start over"
    try:
        if path.stat().st_size == 0:
            raise EOFError("the file is empty")
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to unpickle means an unusable file
        raise CheckpointError(f"checkpoint {path} is unreadable ({_why_unloadable(e)}): it is corrupt, truncated "
                              f"or empty; {fix}") from None
    if not isinstance(saved, dict) or any(k not in saved for k in _CKPT_KEYS):
        raise CheckpointError(f"{path} is not a training checkpoint of cnneff.train.fit; {fix}")
    return saved


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist, dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        return dist, dist.get_rank(), dist.get_world_size()
    return None, 0, 1


def fit(model: nn.Module, data, *, epochs: int = 1, batch_size: int = 64, optimizer: str = "sgd",
        lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 5e-5, schedule: str = "cosine",
        warmup_epochs: float = 0, final_lr_ratio: float = 0.0, step_epochs: float = 5, step_gamma: float = 0.9,
        image_size: int | None = None, precision: str = "fp32", channels_last: bool = True,
        device: str | torch.device = "auto", seed: int = 0, checkpoint_dir: str | Path | None = None,
        callbacks: Sequence[Callback] = (), augment: bool = True, label_smoothing: float = 0.0,
        mean=None, std=None, num_workers: int = 0, eval_batch_size: int = 256, evaluate_test: bool = True,
        bn_recalibration_batches: int = 0, progress: bool = True, restart: bool = False) -> FitResult:
    """Train ``model`` on ``data`` (a :class:`cnneff.data.Splits`: ``train``,
    ``val``, ``test``) and return a :class:`FitResult`.

    Only parameters with ``requires_grad`` are optimized (freeze a backbone by
    switching it off before calling).  ``image_size`` defaults to the stored
    images' side; ``precision`` is fp32, bf16 (autocast) or fp16 (autocast +
    gradient scaling); ``device="auto"`` picks cuda when present.
    ``channels_last`` (default on) trains in NHWC memory format: measured by
    ``benchmarks/engine_speed.py`` at 1.2-1.6x the training images/s of the
    book's depthwise-convolution networks on 2 CPU threads (0.97x for the
    simplified EfficientNet's dense 3x3 blocks), same accuracy within noise;
    bf16 autocast was slower on CPU (0.74-0.86x) and stays off.  With
    ``checkpoint_dir`` every epoch ends with an atomic checkpoint and a rerun
    with the same arguments resumes from it; a checkpoint of another run
    (see :func:`run_identity`), an unreadable one, an unwritable folder or a
    folder in use by another fit raise :class:`CheckpointError` before
    anything is trained.  ``restart=True`` ignores the folder's checkpoint
    (the first epoch's replaces it).  History columns: epoch, lr,
    image_size, train_loss, train_accuracy, val_loss, val_accuracy,
    val_precision, val_recall, val_f1, epoch_seconds (training only),
    images_per_second (training throughput).  ``bn_recalibration_batches`` > 0
    recomputes BatchNorm statistics over that many training batches after each
    epoch (see :func:`recalibrate_bn`; off by default, as in the papers)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch_size must be >= 1")
    if len(data.train) == 0:
        raise TrainError("the training split is empty; pass a data set with training images")
    device = resolve_device(device)
    dist, rank, world = _dist()
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes ({world})")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("no parameter requires grad: unfreeze at least the classifier")
    per_step = min(len(data.train) // world, batch_size // world)
    if per_step < 2 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise TrainError(f"each training step would see {per_step} image ({len(data.train)} training image(s), "
                         f"batch size {batch_size}) and BatchNorm needs at least 2; use more training images "
                         "(e.g. --subset 2 or more) or a larger batch")
    torch.manual_seed(seed)
    mean, std = _norm_stats(model, mean, std)
    base_size = image_size or _stored_size(data.train)

    ckpt_dir = Path(checkpoint_dir).expanduser() if checkpoint_dir else None
    ckpt = ckpt_dir / "last.pt" if ckpt_dir else None
    saved = None
    with contextlib.ExitStack() as held:
        if ckpt is not None:
            identity = run_identity(
                model, data, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
                weight_decay=weight_decay, schedule=schedule, warmup_epochs=warmup_epochs,
                final_lr_ratio=final_lr_ratio, step_epochs=step_epochs, step_gamma=step_gamma,
                image_size=base_size, precision=precision, channels_last=channels_last, seed=seed, augment=augment,
                label_smoothing=label_smoothing, mean=list(mean), std=list(std),
                bn_recalibration_batches=bn_recalibration_batches, processes=world,
                callbacks=[[type(cb).__name__, cb.identity()] for cb in callbacks if cb.identity() is not None])
            if rank == 0:
                check_checkpoint_dir(ckpt_dir)
                held.enter_context(_locked(ckpt_dir))
                for stale in ckpt_dir.glob(".last.pt.*.tmp"):  # left by a killed run; the lock says none is writing
                    with contextlib.suppress(OSError):
                        stale.unlink()
            if not restart and ckpt.is_file():
                saved = _read_checkpoint(ckpt)
                old = saved.get("identity")
                if not isinstance(old, dict):
                    raise CheckpointError(f"checkpoint {ckpt} does not record its run (written by an older cnneff), "
                                          "so it cannot be matched to this one; pass another --checkpoint-dir, "
                                          "or --restart to discard it and start over")
                diffs = _identity_diff(old, identity)
                if diffs:
                    raise CheckpointError(f"checkpoint {ckpt} belongs to another run (differs in {', '.join(diffs)});"
                                          " pass another --checkpoint-dir, or --restart to discard it and start over")
        return _train(model, data, saved=saved, ckpt=ckpt, identity=identity if ckpt is not None else None,
                      device=device, dist=dist, rank=rank, world=world, epochs=epochs, batch_size=batch_size,
                      optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay, schedule=schedule,
                      warmup_epochs=warmup_epochs, final_lr_ratio=final_lr_ratio, step_epochs=step_epochs,
                      step_gamma=step_gamma, base_size=base_size, precision=precision, channels_last=channels_last,
                      seed=seed, callbacks=callbacks, augment=augment, label_smoothing=label_smoothing, mean=mean,
                      std=std, num_workers=num_workers, eval_batch_size=eval_batch_size,
                      evaluate_test=evaluate_test, bn_recalibration_batches=bn_recalibration_batches,
                      progress=progress)


def _train(model, data, *, saved, ckpt, identity, device, dist, rank, world, epochs, batch_size, optimizer, lr,
           momentum, weight_decay, schedule, warmup_epochs, final_lr_ratio, step_epochs, step_gamma, base_size,
           precision, channels_last, seed, callbacks, augment, label_smoothing, mean, std, num_workers,
           eval_batch_size, evaluate_test, bn_recalibration_batches, progress) -> FitResult:
    """The body of :func:`fit` once its arguments and checkpoint are checked.  Returns the FitResult."""
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _make_optimizer(params, optimizer, lr, momentum, weight_decay)
    per_rank_batch = batch_size // world
    spe = _steps_per_epoch(len(data.train), per_rank_batch, world)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(
        s, spe, epochs, schedule, warmup_epochs, final_lr_ratio, step_epochs, step_gamma))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    channels = _in_chans(model)
    state = TrainState(model=model, optimizer=opt, epochs=epochs, image_size=base_size)
    num_classes = len(getattr(data, "classes", []) or []) or None

    start_epoch = 0
    if saved is not None:
        try:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            sched.load_state_dict(saved["scheduler"])
            scaler.load_state_dict(saved["scaler"])
            torch.set_rng_state(saved["rng"].cpu())
        except (RuntimeError, ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"checkpoint {ckpt} does not fit this run ({_why(e)}); pass another "
                                  "--checkpoint-dir, or --restart to discard it and start over") from None
        if device.type == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"].cpu(), device)
        stored_cbs = list(saved["callbacks"])
        for cb in callbacks:  # each callback takes the next stored state of its own class
            name = type(cb).__name__
            k = next((i for i, e in enumerate(stored_cbs) if isinstance(e, (list, tuple)) and e[0] == name), None)
            if k is not None:
                cb.load_state_dict(stored_cbs.pop(k)[1])
        state.history = list(saved["history"])
        state.step = saved["step"]
        start_epoch = saved["epoch"] + 1
        state.randaug_magnitude, state.mixup_alpha = saved["randaug"], saved["mixup"]
        if rank == 0 and progress:
            print(f"resuming from {ckpt} after epoch {start_epoch}/{epochs}")

    for cb in callbacks:
        cb.on_fit_start(state)
    for epoch in range(start_epoch, epochs):
        state.epoch = epoch
        state.image_size = base_size
        for cb in callbacks:
            cb.on_epoch_start(state)
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)  # data order + augmentation of this epoch
        net.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        seen = 0
        batches = _batches(data.train, per_rank_batch, True, gen, num_workers, rank, world, drop_last=True)
        bar = tqdm(batches, total=spe, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress or rank != 0,
                   leave=False)
        for x, y in bar:
            x = prepare_batch(x, state.image_size, channels, mean, std, device, channels_last, train=augment,
                              generator=gen, randaug_magnitude=state.randaug_magnitude if augment else 0)
            y = y.to(device)
            lam = None
            if state.mixup_alpha > 0:
                lam = float(torch.distributions.Beta(state.mixup_alpha, state.mixup_alpha).sample())
                perm = torch.randperm(x.shape[0], generator=gen).to(device)
                x = lam * x + (1 - lam) * x[perm]
            with autocast(device.type, precision):
                logits = net(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
                if lam is not None:
                    loss = lam * loss + (1 - lam) * F.cross_entropy(logits.float(), y[perm],
                                                                    label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            state.loss = loss
            for cb in callbacks:
                cb.on_after_backward(state)
            scaler.step(opt)
            scaler.update()
            sched.step()
            state.step += 1
            loss_sum += loss.detach() * y.shape[0]
            correct += (logits.argmax(1) == y).sum()
            seen += y.shape[0]
            if progress and rank == 0 and state.step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - t0
        totals = torch.stack([loss_sum, correct, torch.tensor(float(seen), device=device)])
        if dist is not None:
            dist.all_reduce(totals)
            # DDP syncs BatchNorm running statistics from rank 0 before each forward,
            # so after the last step the ranks differ: give every rank rank 0's.
            for b in model.buffers():
                dist.broadcast(b, 0)
        if bn_recalibration_batches:
            recalibrate_bn(model, data.train, bn_recalibration_batches, per_rank_batch, base_size, channels, mean,
                           std, device, precision, channels_last)
        row = dict(epoch=epoch + 1, lr=opt.param_groups[0]["lr"], image_size=state.image_size,
                   train_loss=(totals[0] / totals[2]).item(), train_accuracy=(totals[1] / totals[2]).item())
        if len(data.val):
            v = evaluate(model, data.val, batch_size=eval_batch_size, image_size=base_size, device=device,
                         precision=precision, channels_last=channels_last, mean=mean, std=std,
                         num_classes=num_classes)
            row.update(val_loss=v["loss"], val_accuracy=v["accuracy"], val_precision=v["precision"],
                       val_recall=v["recall"], val_f1=v["f1"])
        row.update(epoch_seconds=train_seconds, images_per_second=totals[2].item() / train_seconds)
        for cb in callbacks:
            cb.on_epoch_end(state, row)
        state.history.append(row)
        if ckpt is not None and rank == 0:
            _atomic_save(dict(
                model=model.state_dict(), optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                scaler=scaler.state_dict(), rng=torch.get_rng_state(),
                cuda_rng=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                callbacks=[[type(cb).__name__, cb.state_dict()] for cb in callbacks], history=state.history,
                epoch=epoch, step=state.step, randaug=state.randaug_magnitude, mixup=state.mixup_alpha,
                identity=identity), ckpt)
        if dist is not None:
            dist.barrier()
        if progress and rank == 0:
            val = f", val acc {row['val_accuracy']:.3f}" if "val_accuracy" in row else ""
            print(f"epoch {epoch + 1}/{epochs}: loss {row['train_loss']:.3f}, train acc {row['train_accuracy']:.3f}"
                  f"{val}, {train_seconds:.1f} s, {row['images_per_second']:.0f} img/s")

    history = pd.DataFrame(state.history)
    test = {}
    if evaluate_test and len(getattr(data, "test", [])):
        test = evaluate(model, data.test, batch_size=eval_batch_size, image_size=base_size, device=device,
                        precision=precision, channels_last=channels_last, mean=mean, std=std,
                        num_classes=num_classes)
    return FitResult(history=history, test=test, model=model,
                     train_seconds=float(history["epoch_seconds"].sum()) if len(history) else 0.0)


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
