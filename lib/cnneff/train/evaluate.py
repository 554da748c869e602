"""Evaluation of a classifier on a split: loss, accuracy, precision, recall, F1."""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import core
from ..core import autocast, weight_dtype
from .config import resolve_device
from .batches import iter_batches, in_chans, norm_stats, prepare_batch, stored_size

__all__ = ["evaluate"]


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
    image_size = image_size or stored_size(dataset)
    mean, std = norm_stats(model, mean, std)
    channels = in_chans(model)
    was_training = model.training
    model.eval()
    ys, ps, loss_sum = [], [], 0.0
    t0 = time.perf_counter()
    it = iter_batches(dataset, batch_size, False, None, 0)
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


