"""Paper 001's comparison of block types, one paired replicate per seed: every
arm (``standard``, ``se``, ``condconv`` of the paper's Figure 2, and
``plain``, the standard network without its identity shortcuts) trained from
the same initial weights where the arms share them, on the same batches in the
same order, and tested on the same images.

* :func:`arm_model`   the network of one arm, its shared weights copied from the standard one (common random numbers)
* :func:`block_cost`  parameters and MACs at the paper's side and the batch-1 CPU latency of one arm
* :func:`run_arms`    every arm for every seed, the order alternating from seed to seed; one row per run

The notebook ``simplified_efficientnet`` calls :func:`run_arms` once.
"""
from __future__ import annotations

import time

import pandas as pd
import torch
from torch import nn

from ..counting import count
from ..models import build_model
from ..train import TrainConfig, fit

__all__ = ["ARMS", "ARM_LABEL", "arm_model", "forward_macs", "block_cost", "run_arms"]

ARMS = ("standard", "se", "condconv", "plain")
ARM_LABEL = {"standard": "Standard", "se": "SE enhanced", "condconv": "SE + CondConv",
             "plain": "Standard, no shortcuts"}


def arm_model(arm: str, num_classes: int, seed: int, shared_init: bool = True) -> nn.Module:
    """The simplified EfficientNet of ``arm`` (:data:`ARMS`), initialized from
    ``seed``.  ``plain`` is the standard network with every identity shortcut
    removed (Table 1's ID=True blocks run without their skip).  With
    ``shared_init`` every weight the arm shares with the standard network (same
    name and shape: all of them for ``plain``, all but the squeeze-excite gates
    for ``se``) is copied from the standard network of the same seed, so that
    the arms differ only in what the arm adds.  Returns the module (train mode)."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose one of {', '.join(ARMS)}")
    torch.manual_seed(seed)
    model = build_model("simplified_efficientnet", num_classes=num_classes,
                        block="standard" if arm == "plain" else arm)
    if arm == "plain":
        for block in model.blocks:
            block.identity = False
    if shared_init and arm not in ("standard", "plain"):
        torch.manual_seed(seed)
        ref = build_model("simplified_efficientnet", num_classes=num_classes, block="standard").state_dict()
        own = model.state_dict()
        own.update({k: v for k, v in ref.items() if k in own and own[k].shape == v.shape})
        model.load_state_dict(own)
    return model


def forward_macs(model: nn.Module, image_size: int) -> float:
    """Forward MACs of ``model`` for one image at ``image_size``.  Below the
    counter's 32 px the count at 32 px is scaled by the pixel ratio: every
    convolution's output shrinks by exactly that ratio while the stride-2
    maps stay even (16 px: 16, 8, 4, 2 against 32, 16, 8, 4), and the linear
    head it over-counts costs about 1e-4 of the total.  Returns MACs (a float)."""
    side = max(int(image_size), 32)
    return float(count(model, side).macs) * (int(image_size) / side) ** 2


def block_cost(arm: str, image_size: int = 56, num_classes: int = 100, repeats: int = 10,
               threads: int | None = None) -> dict:
    """Exact parameter and MAC counts of ``arm`` at ``image_size`` (the paper's
    56 px, 100 classes) and its median batch-1 CPU latency (milliseconds).
    Returns {block, params, macs, cpu_latency_ms}."""
    from ..measure import inference_latency

    m = arm_model(arm, num_classes, seed=0, shared_init=False).eval()
    c = count(m, image_size)
    lat = inference_latency(m, image_size, batch_size=1, repeats=repeats, warmup=3, threads=threads, device="cpu")
    return dict(block=arm, params=c.params, macs=c.macs, cpu_latency_ms=round(lat["latency_ms"], 1))


def run_arms(arms, seeds, splits, config: TrainConfig, shared_init: bool = True) -> tuple[pd.DataFrame, list]:
    """Train every arm of ``arms`` once per seed of ``seeds`` on ``splits``
    with ``config`` (its seed replaced by the replicate's: the initial weights
    and the batch order), the arms of a seed back to back in an order that
    alternates from seed to seed.  Returns (runs, histories): one row per run
    with ``block``, ``seed``, ``test_accuracy`` (fraction, whole test split),
    ``train_seconds`` (training epochs only), ``epoch_seconds`` (their mean),
    ``images_per_second``, ``seconds`` (wall seconds of the run, test
    included) and ``train_macs`` (forward MACs per image at the training side x
    training images x epochs x 3); and each run's per-epoch history."""
    rows, histories = [], []
    side = config.image_size or splits.image_size
    for i, seed in enumerate(seeds):
        for arm in (arms if i % 2 == 0 else list(arms)[::-1]):
            t0 = time.perf_counter()
            model = arm_model(arm, splits.num_classes, seed, shared_init)
            macs = forward_macs(model, side) * len(splits.train) * config.epochs * 3
            r = fit(model, splits, config.replace(seed=seed))
            rows.append(dict(block=arm, seed=seed, test_accuracy=r.test["accuracy"], train_seconds=r.train_seconds,
                             epoch_seconds=float(r.history["epoch_seconds"].mean()),
                             images_per_second=float(r.history["images_per_second"].mean()),
                             seconds=time.perf_counter() - t0, train_macs=macs))
            histories.append(r.history.assign(block=ARM_LABEL[arm], seed=seed))
    return pd.DataFrame(rows), histories
