"""Paper 004's Table 3 rows that no publisher ships ImageNet weights for (the
paper's own EfficientNet-B^-phi, TinyNet-A without RandAugment, the
low-resolution rows, networks released only in other frameworks): trained
from scratch on ImageNet-1k, then scored exactly like a published weight file
(:func:`cnneff.imagenet.evaluate_imagenet` on the validation images)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

__all__ = ["train_and_score"]


def train_and_score(builder: str, side: int, splits, config, imagenet, *, seed: int = 0, limit: int | None = None,
                    batch_size: int = 64, device: str = "cpu") -> dict:
    """Train registry model ``builder`` (1,000 classes, fresh weights seeded by
    ``seed``) on ``splits`` (the ImageNet-1k training images, a
    :class:`cnneff.data.Splits` with the 1,000 classes in wnid order) at
    ``side`` pixels with :func:`cnneff.train.fit` and ``config`` (a
    :class:`~cnneff.train.config.TrainConfig`; its test evaluation is skipped),
    save the weights and score them with :func:`cnneff.imagenet.evaluate_imagenet`
    on ``imagenet`` (``imagenet-val:PATH``) at a ``side``-pixel crop (``limit``
    images, ``batch_size``, ``device``).  Returns evaluate_imagenet's dict
    (top1, top5 as fractions, n, intervals, ...) plus ``train_seconds``,
    ``seconds`` (wall, training and scoring), ``epochs``, ``train_images`` and
    ``seed``; ValueError (one line) when the splits do not have 1,000 classes."""
    import torch

    from ..imagenet import evaluate_imagenet
    from ..models import build_model
    from ..train.engine import fit

    if len(splits.classes) != 1000:
        raise ValueError(f"{builder}: the training images have {len(splits.classes)} classes; Table 3's rows train "
                         "on the 1,000 ImageNet-1k classes (folder:PATH with train/<wnid>/ for all of them)")
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = build_model(builder, num_classes=1000)
    res = fit(model, splits, config.replace(evaluate_test=False, progress=False, device=device), image_size=int(side),
              seed=seed)
    with tempfile.TemporaryDirectory(prefix="cnneff_table3_") as tmp:
        path = Path(tmp) / f"{builder.replace(':', '_')}.pth"
        torch.save({k: v.detach().cpu() for k, v in res.model.state_dict().items()}, path)
        out = evaluate_imagenet(builder, path, imagenet, image_size=int(side), limit=limit, batch_size=batch_size,
                                device=device)
    return dict(out, train_seconds=float(res.train_seconds), seconds=time.perf_counter() - t0,
                epochs=int(config.epochs), train_images=len(splits.train), seed=int(seed))
