"""The training engine: :func:`fit` and :func:`train_one_epoch` (evaluation:
:mod:`cnneff.train.evaluate`).

Every knob lives in one :class:`~cnneff.train.config.TrainConfig` (defaults,
reasons, validation); the book's experiments use its named presets
(:mod:`cnneff.train.presets`); ``fit(model, data, config)`` also takes
fields as keyword arguments.  Checkpoint files (run identity, lock, atomic
writes) are :mod:`cnneff.train.checkpoint`'s job.

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
import os
import time
from dataclasses import dataclass
from typing import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..core import autocast
from .batches import in_chans, iter_batches, norm_stats, prepare_batch, steps_per_epoch, stored_size
from .batchnorm import recalibrate_bn, zero_init_residual
from .callbacks import Callback, TrainState
from .checkpoint import CheckpointError, atomic_save, open_checkpoint, run_identity, why
from .config import TrainConfig, TrainError, resolve_device
from .evaluate import evaluate
from .optim import build_optimizer, build_schedule

__all__ = ["FitResult", "Run", "fit", "train_one_epoch"]


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
    mean, std = norm_stats(model, cfg.mean, cfg.std)
    base_size = cfg.image_size or stored_size(data.train)
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
                atomic_save(_checkpoint_of(run, epoch, identity), ckpt)
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
    spe = steps_per_epoch(len(data.train), per_rank_batch, world)
    return Run(cfg=cfg, model=model, net=net, opt=opt, sched=build_schedule(opt, cfg, spe),
               scaler=torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16"),
               state=TrainState(model=model, optimizer=opt, epochs=cfg.epochs, image_size=base_size),
               callbacks=callbacks, device=device, dist=dist, rank=rank, world=world, per_rank_batch=per_rank_batch,
               steps_per_epoch=spe, base_size=base_size, channels=in_chans(model), mean=mean, std=std,
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
    it = iter_batches(dataset, run.per_rank_batch, True, gen, cfg.num_workers, run.rank, run.world, drop_last=True)
    bar = tqdm(it, total=run.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}",
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
        raise CheckpointError(f"checkpoint {ckpt} does not fit this run ({why(e)}); pass another "
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


