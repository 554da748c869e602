"""From uint8 images to normalized batches on a device: batching (in memory
or through a DataLoader), training augmentation, resizing and normalization."""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..core import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["prepare_batch", "iter_batches", "steps_per_epoch", "stored_size", "norm_stats", "in_chans"]


def norm_stats(model, mean, std) -> tuple:
    """The normalization ``(mean, std)`` a batch for ``model`` uses: the ones
    given, else the model's own (``model.mean`` / ``model.std``, e.g. Lite0's
    0.5), else ImageNet's."""
    m = model.module if hasattr(model, "module") else model
    mean = mean or getattr(m, "mean", None) or IMAGENET_MEAN
    std = std or getattr(m, "std", None) or IMAGENET_STD
    return mean, std


def in_chans(model) -> int:
    """Input channels of ``model``'s first convolution (3 if it has none)."""
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


def iter_batches(dataset, batch_size: int, shuffle: bool, generator: torch.Generator | None, num_workers: int,
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


def steps_per_epoch(n: int, batch_size: int, world: int) -> int:
    """Optimizer steps per epoch of :func:`iter_batches` with ``drop_last`` (a split
    smaller than one batch still gives one step)."""
    per_rank = n // world
    return per_rank // batch_size if per_rank >= batch_size else 1



def stored_size(dataset) -> int:
    """Side in pixels of the images ``dataset`` stores (its first image's width)."""
    if hasattr(dataset, "images"):
        return int(dataset.images.shape[-1])
    return int(dataset[0][0].shape[-1])

