"""The ``--data SOURCE[:PATH]`` dispatcher: :data:`SOURCES` and :func:`load`."""
from __future__ import annotations

from .containers import Splits
from .folders import deepweeds, image_folder
from .elpv import elpv
from .arrays import cifar10, cifar100, fashion_mnist
from .published import cifar10_unverified, cifar100_unverified, imagenet_val, rmfd


SOURCES = {  # --data SOURCE[:PATH] -> (loader, needs a path, fixed kwargs)
    "fashion-mnist": (fashion_mnist, False, {}),
    "elpv": (elpv, None, {"task": "binary"}),
    "elpv-binary": (elpv, None, {"task": "binary"}),
    "elpv-4class": (elpv, None, {"task": "4class"}),
    "folder": (image_folder, True, {}),
    "deepweeds": (deepweeds, True, {}),
    "cifar10": (cifar10, True, {}),
    "cifar100": (cifar100, True, {}),
    "rmfd": (rmfd, True, {}), "imagenet-val": (imagenet_val, True, {}),  # data/published.py: published layouts
    "cifar10-unverified": (cifar10_unverified, True, {}), "cifar100-unverified": (cifar100_unverified, True, {}),
}


def load(spec: str, **kw) -> Splits:
    """Load ``SOURCE[:PATH]`` as the CLI's ``--data`` names it: fashion-mnist[:ROOT],
    elpv, elpv-4class, folder:PATH, deepweeds:PATH, cifar10:PATH, cifar100:PATH.
    ``kw`` go to the loader (image_size, subset, seed, ...).
    Returns the loader's :class:`Splits`."""
    source, sep, path = spec.partition(":")
    valid = "fashion-mnist[:ROOT], elpv, elpv-4class, folder:PATH, deepweeds:PATH, cifar10:PATH, cifar100:PATH"
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; valid: {valid}")
    fn, needs_path, fixed = SOURCES[source]
    if needs_path and not path:
        raise ValueError(f"data source {source!r} needs a path: {source}:PATH")
    if needs_path is None and sep:
        raise ValueError(f"data source {source!r} takes no path (it ships with the elpv-dataset package)")
    args = (path,) if path else ()
    return fn(*args, **{**fixed, **kw})


def load_subset(spec: str, *, image_size: int, subset: int | None, seed: int = 0, val_images: int | None = None,
                test_images: int | None = None) -> Splits:
    """``subset`` training images of ``spec`` (:func:`load`, stratified),
    with validation and test images drawn from the FULL val / test splits
    rather than from the subset's shrunken ones: ``val_images`` and
    ``test_images`` of them at random (seeded by ``seed``; None: all of it).
    ``subset=None`` loads everything (the held-out splits stay whole).
    Returns the :class:`Splits`."""
    import dataclasses

    import torch

    splits = load(spec, image_size=image_size, subset=subset, seed=seed)
    if subset is None:
        return splits
    pools = load(spec, image_size=image_size, seed=seed)
    gen = torch.Generator().manual_seed(seed)

    def draw(pool, n):
        return pool if n is None else pool.subset(torch.randperm(len(pool), generator=gen)[:n])

    return dataclasses.replace(splits, val=draw(pools.val, val_images), test=draw(pools.test, test_images))
