"""Published ImageNet weights against the published tables: top-1 / top-5 of a
registry model with a torchvision- or timm-format state dict on the
ImageNet-1k validation images, through the publisher's own evaluation
transform (:func:`evaluate_imagenet`, ``cnneff evaluate``).

* **Weights.**  A file whose keys are the model's own (a torchvision file for
  a torchvision-built registry model, a timm file for a timm-built one) loads
  by name; a file in the other library's key style (timm's ``conv_stem`` /
  ``blocks.N``, torchvision's ``features.N``, EfficientNet-PyTorch's
  ``_conv_stem``) whose tensors match the model's one for one, in order and
  shape, loads by position (timm's EfficientNet-B0 into torchvision's gives
  the same logits).  Anything else is refused with one line.
* **Transform.**  The publisher's: resize the shorter side to ``resize``
  pixels, centre-crop ``crop`` pixels, scale to [0, 1], normalize.  A
  torchvision file recognized by name (e.g. ``mobilenet_v2-b0353104.pth``)
  takes its weights entry's transform and published accuracies; a timm file
  recognized by name takes its pretrained config (``crop_pct``,
  interpolation); otherwise the library's defaults for the architecture, and
  for a model without one the native side at crop 0.875, bicubic.  A model
  carrying ``mean`` / ``std`` (Lite0: 0.5) uses its own normalization.
* **Class index.**  Sorted WordNet ids (:func:`cnneff.data.imagenet_val`).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

__all__ = ["EvalTransform", "read_state_dict", "key_style", "load_published_weights", "publisher_transform",
           "evaluate_imagenet", "evaluate_command", "add_evaluate_parser"]

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class EvalTransform(NamedTuple):
    """The publisher's evaluation transform of one weight file."""

    crop: int  # centre crop side, pixels (the network's input side)
    resize: int  # shorter side before the crop, pixels
    interpolation: str  # "bilinear" or "bicubic"
    mean: tuple
    std: tuple
    source: str  # where these values come from
    published: dict | None  # {"top1": .., "top5": ..} fractions the publisher reports, when known


def read_state_dict(path: str | os.PathLike) -> dict:
    """The tensors of a weight file (``.pth``/``.pt``/``.bin`` via
    ``torch.load(weights_only=True)``, or ``.safetensors``), unwrapped from
    ``{"state_dict": ...}`` / ``{"state_dict_ema": ...}`` / ``{"model": ...}``
    and stripped of DistributedDataParallel's ``module.`` prefix.  Returns
    ``{key: tensor}``; ValueError (one line) when the file holds none."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist; pass the path of a local state dict (.pth)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a file we cannot use
        raise ValueError(f"weights file {path} is not a readable state dict ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:120]}); pass the publisher's .pth file") from None
    for key in ("state_dict_ema", "state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ValueError(f"weights file {path} holds a {type(sd).__name__}, not a state dict of tensors; "
                         "pass a file saved with torch.save(model.state_dict())")
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def key_style(keys) -> str:
    """The library whose naming ``keys`` follow: "torchvision" (``features.N``,
    ``classifier``), "timm" (``conv_stem``, ``blocks.N``),
    "efficientnet-pytorch" (``_conv_stem``, ``_blocks.N``) or "unknown".  Returns the name."""
    keys = list(keys)
    if any(k.startswith("_conv_stem.") for k in keys):
        return "efficientnet-pytorch"
    if any(k.startswith("conv_stem.") for k in keys) or any(k.startswith("blocks.") for k in keys):
        return "timm"
    if any(k.startswith("features.") for k in keys):
        return "torchvision"
    return "unknown"


def _library(model) -> str:
    """The library that built ``model``: "timm" or "torchvision" (by module path)."""
    mod = type(model).__module__
    return "timm" if mod.startswith("timm") else "torchvision" if mod.startswith("torchvision") else "unknown"


def load_published_weights(model, path: str | os.PathLike) -> dict:
    """Load the state dict in ``path`` into ``model`` (1,000-class head), by key
    name when the file uses the model's own keys, else by position when its
    key style is known and every tensor matches the model's in order and
    shape.  Returns ``{"format": key style, "mapping": "by name" | "by position"}``;
    ValueError (one line) for a file that fits neither way."""
    sd = read_state_dict(path)
    skip = "num_batches_tracked"
    own = {k: v for k, v in model.state_dict().items() if not k.endswith(skip)}
    src = {k: v for k, v in sd.items() if not k.endswith(skip)}
    style = key_style(src)
    name = getattr(model, "cnneff_name", type(model).__name__)
    if set(src) == set(own) and all(src[k].shape == own[k].shape for k in own):
        model.load_state_dict(src, strict=False)
        return dict(format=style if style != "unknown" else _library(model), mapping="by name")
    pairs = list(zip(src.items(), own.items()))
    if style != "unknown" and len(src) == len(own) and all(sv.shape == dv.shape for (_, sv), (_, dv) in pairs):
        model.load_state_dict({dk: sv for (_, sv), (dk, _) in pairs}, strict=False)
        return dict(format=style, mapping="by position")
    shared = sum(1 for k, v in src.items() if k in own and own[k].shape == v.shape)
    raise ValueError(f"weights file {path} fits {name} neither by name nor by position ({len(src)} tensors in "
                     f"{style} style, {name} has {len(own)}, {shared} share name and shape); pass the publisher's "
                     f"ImageNet state dict of {name} (torchvision or timm format)")


def _torchvision_entry(arch: str, filename: str):
    """The torchvision weights entry of ``arch`` whose URL ends in ``filename``,
    else its first (IMAGENET1K_V1) entry, else None.  Returns (entry, matched)."""
    import torchvision

    try:
        entries = list(torchvision.models.get_model_weights(arch))
    except (ValueError, KeyError):
        return None, False
    hit = next((w for w in entries if os.path.basename(w.url) == filename), None)
    return (hit, True) if hit is not None else ((entries[0], False) if entries else (None, False))


def _timm_cfg(archs: list[str], filename: str):
    """The timm pretrained config of ``archs`` whose URL ends in ``filename``,
    else the first arch's default config, else None.  Returns (cfg, matched)."""
    import timm

    archs = [a for a in archs if a and timm.is_model(a)]
    for arch in archs:
        for tag in timm.list_pretrained(f"{arch}.*"):
            cfg = timm.models.get_pretrained_cfg(tag)
            if cfg is not None and cfg.url and os.path.basename(cfg.url) == filename:
                return cfg, True
    cfg = timm.models.get_pretrained_cfg(archs[0]) if archs else None
    return cfg, False


def _publisher_values(model_name: str, model, filename: str) -> tuple:
    """(crop, resize, interpolation, mean, std, source, published) before any override."""
    from .models import MODELS

    spec = MODELS.get(model_name)
    tv_arch = (model_name.split(":", 1)[1] if model_name.startswith("torchvision:") else
               model_name if spec is not None and spec.source == "torchvision" else None)
    entry, tv_hit = _torchvision_entry(tv_arch, filename) if tv_arch else (None, False)
    archs = [model_name.split(":", 1)[1] if model_name.startswith("timm:") else None,
             (getattr(model, "pretrained_cfg", None) or {}).get("architecture"), model_name]
    cfg, timm_hit = _timm_cfg(archs, filename) if not tv_hit else (None, False)
    if entry is not None and (tv_hit or not timm_hit):
        t = entry.transforms()
        metrics = entry.meta.get("_metrics", {}).get("ImageNet-1K", {})
        published = dict(top1=metrics["acc@1"] / 100, top5=metrics["acc@5"] / 100) if tv_hit and metrics else None
        return (t.crop_size[0], t.resize_size[0], t.interpolation.value, tuple(t.mean), tuple(t.std),
                f"torchvision {type(entry).__name__}.{entry.name}", published)
    if cfg is not None:
        crop = int(cfg.input_size[-1])
        return (crop, int(math.floor(crop / cfg.crop_pct)), cfg.interpolation or "bicubic", tuple(cfg.mean),
                tuple(cfg.std), f"timm {cfg.architecture}.{cfg.tag}" if cfg.tag else f"timm {cfg.architecture}", None)
    crop = int(getattr(model, "image_size", 224))
    return crop, int(math.floor(crop / 0.875)), "bicubic", IMAGENET_MEAN, IMAGENET_STD, "native side, crop 0.875", None


def publisher_transform(model_name: str, model, weights_path: str | os.PathLike | None = None,
                        image_size: int | None = None) -> EvalTransform:
    """The evaluation transform the publisher of ``weights_path`` uses for
    ``model_name`` (see the module docstring); ``image_size`` replaces the crop
    side (pixels) and scales the resize side by the same ratio; a model with
    ``mean`` / ``std`` attributes (Lite0) keeps its own normalization.
    Returns an :class:`EvalTransform`."""
    filename = os.path.basename(str(weights_path)) if weights_path else ""
    crop, resize, interp, mean, std, source, published = _publisher_values(model_name, model, filename)
    if getattr(model, "mean", None) is not None and getattr(model, "std", None) is not None:
        mean, std = tuple(model.mean), tuple(model.std)
    if image_size is not None and image_size != crop:
        resize, crop = int(math.floor(image_size * resize / crop)), int(image_size)
        source += f", crop {image_size} px"
    if interp not in ("bilinear", "bicubic", "nearest"):
        raise ValueError(f"unsupported interpolation {interp!r} of {source}; use bilinear or bicubic")
    return EvalTransform(int(crop), int(resize), interp, mean, std, source, published)


class _ValFiles:
    """(float CHW tensor, label) per (path, label) item through ``transform`` (a
    map-style data set for ``torch.utils.data.DataLoader``)."""

    def __init__(self, items, transform):
        self.items, self.transform = items, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        """Returns (normalized float [3, crop, crop] tensor, label) of item ``i``; DataError for an unreadable file."""
        from PIL import Image

        from .data import DataError

        path, label = self.items[i]
        try:
            with Image.open(path) as im:
                return self.transform(im.convert("RGB")), label
        except OSError as e:
            raise DataError(f"{path}: cannot read image ({' '.join(str(e).split())}); delete or replace it") from None


def _torch_transform(t: EvalTransform):
    """Returns the torchvision ``Compose`` of ``t`` for PIL images."""
    from torchvision import transforms as T

    mode = T.InterpolationMode(t.interpolation)
    return T.Compose([T.Resize(t.resize, interpolation=mode), T.CenterCrop(t.crop), T.ToTensor(),
                      T.Normalize(t.mean, t.std)])


def _val_items(data, limit: int | None) -> tuple[list, str]:
    """The (path, label) items of ``data`` (an ``imagenet-val:PATH`` spec, a
    path, a Splits or a FolderImages), cut to a seeded sample of ``limit``.
    Returns (items, name)."""
    import numpy as np

    from .data import FolderImages, Splits, load
    from .data.published import imagenet_val

    if isinstance(data, (str, os.PathLike)):
        text = str(data)
        source = text.partition(":")[0]
        if ":" in text and source != "imagenet-val" and not Path(text).exists():
            raise ValueError(f"--data {text}: evaluating ImageNet weights needs imagenet-val:PATH (the ILSVRC-2012 "
                             "val/ folder of 1,000 wnid sub-folders)")
        data = load(text) if source == "imagenet-val" else imagenet_val(text)
    name = "imagenet-val"
    if isinstance(data, Splits):
        data, name = data.test, data.name
    if not isinstance(data, FolderImages):
        raise TypeError(f"data must be an imagenet-val:PATH spec, a path, a Splits or FolderImages, not "
                        f"{type(data).__name__}; image files are needed for the publisher's transform")
    if len(data.classes) != 1000:
        raise ValueError(f"the data has {len(data.classes)} classes; ImageNet weights need the 1,000 ImageNet-1k "
                         "classes (imagenet-val:PATH)")
    items = list(data.items)
    if limit is not None and limit < len(items):
        pick = np.sort(np.random.default_rng([0, 4]).choice(len(items), size=int(limit), replace=False))
        items = [items[i] for i in pick]
    return items, name


def _top_k_hits(model, loader, device) -> tuple[int, int, int]:
    """Top-1 hits, top-5 hits and images of ``model`` over ``loader``.  Returns the three counts."""
    import torch

    hits1 = hits5 = n = 0
    with torch.inference_mode():
        for x, y in loader:
            top = model(x.to(device, non_blocking=True)).topk(5, dim=1).indices.cpu()
            hits1 += int((top[:, 0] == y).sum())
            hits5 += int((top == y[:, None]).any(dim=1).sum())
            n += len(y)
    return hits1, hits5, n


def evaluate_imagenet(model_name: str, weights_path: str | os.PathLike, data, image_size: int | None = None,
                      batch_size: int = 64, device="auto", limit: int | None = None,
                      workers: int | None = None) -> dict:
    """Top-1 and top-5 accuracy of registry model ``model_name`` (1,000 classes)
    with the published ImageNet state dict ``weights_path`` (torchvision or timm
    format) on the ImageNet-1k val images of ``data`` (``imagenet-val:PATH``, a
    path, or its Splits), through the publisher's transform
    (:func:`publisher_transform`; ``image_size`` overrides the crop side, px).
    ``limit`` evaluates a seeded random sample of that many images; ``workers``
    DataLoader processes (default: up to 8 for 200 images or more).
    Returns a dict: ``top1``, ``top5`` (fractions), ``n`` (images),
    ``top1_interval`` / ``top5_interval`` ([low, high], 95 % Wilson intervals),
    ``published`` (the publisher's {"top1", "top5"} fractions, or None),
    ``model``, ``weights``, ``format`` / ``mapping`` (how the keys loaded),
    ``image_size`` / ``resize_size`` (px), ``interpolation``, ``mean``, ``std``,
    ``transform`` (its source), ``data``, ``device``, ``seconds`` (wall time of
    the evaluation) and ``images_per_second``."""
    import torch

    from .core import resolve_device
    from .models import build_model
    from .stats import binomial_interval

    if batch_size < 1 or (limit is not None and limit < 1):
        raise ValueError(f"batch_size ({batch_size}) and limit ({limit}) must be at least 1")
    dev = resolve_device(device)
    model = build_model(model_name, num_classes=1000)
    loaded = load_published_weights(model, weights_path)
    t = publisher_transform(model_name, model, weights_path, image_size)
    items, name = _val_items(data, limit)
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                      8) if len(items) >= 200 else 0
    loader = torch.utils.data.DataLoader(_ValFiles(items, _torch_transform(t)), batch_size=batch_size,
                                         num_workers=workers, pin_memory=dev.type == "cuda")
    model = model.to(dev).eval()
    t0 = time.perf_counter()
    hits1, hits5, n = _top_k_hits(model, loader, dev)
    seconds = time.perf_counter() - t0
    top1, top5 = hits1 / n, hits5 / n
    i1, i5 = binomial_interval(top1, n), binomial_interval(top5, n)
    return dict(model=model_name, weights=str(weights_path), **loaded, data=name, n=n, top1=top1, top5=top5,
                top1_interval=[i1.low, i1.high], top5_interval=[i5.low, i5.high], published=t.published,
                image_size=t.crop, resize_size=t.resize, interpolation=t.interpolation, mean=list(t.mean),
                std=list(t.std), transform=t.source, device=str(dev), seconds=seconds, images_per_second=n / seconds)


def _line(r: dict) -> str:
    """The one-line report of an :func:`evaluate_imagenet` result.  Returns it."""
    (l1, h1), (l5, h5) = r["top1_interval"], r["top5_interval"]
    text = (f"{r['model']} + {os.path.basename(r['weights'])} ({r['format']} keys, {r['mapping']}): "
            f"top-1 {r['top1']:.2%} (95 % {l1:.2%} to {h1:.2%}), top-5 {r['top5']:.2%} ({l5:.2%} to {h5:.2%}) "
            f"on {r['n']:,} ImageNet val images, {r['image_size']} px crop of {r['resize_size']} px "
            f"{r['interpolation']} ({r['transform']})")
    if r["published"]:
        text += f"; published top-1 {r['published']['top1']:.2%}, top-5 {r['published']['top5']:.2%}"
    return text


def evaluate_command(args) -> int:
    """``cnneff evaluate MODEL --weights FILE --data imagenet-val:PATH [--limit N]
    [--image-size N] [--batch-size B] [--device D] [--workers W] [--json]``:
    checks the model, weights and device before reading the images, then
    prints one line (or one JSON object).  Returns the exit status 0."""
    from .core import resolve_device
    from .models import native_image_size

    native_image_size(args.model)  # an unknown name fails here, listing the valid ones
    if not os.path.isfile(args.weights):
        raise FileNotFoundError(f"weights file {args.weights} does not exist; pass the publisher's ImageNet state "
                                "dict (.pth), e.g. DATA_ROOT/weights/mobilenet_v2-b0353104.pth")
    resolve_device(args.device)
    r = evaluate_imagenet(args.model, args.weights, args.data, image_size=args.image_size,
                          batch_size=args.batch_size, device=args.device, limit=args.limit, workers=args.workers)
    print(json.dumps(r) if args.json else _line(r))
    return 0


def add_evaluate_parser(sub):
    """Add the ``evaluate`` sub-command to the ``cnneff`` sub-parsers ``sub``
    (``argparse`` ``add_subparsers()``).  Returns its parser."""
    p = sub.add_parser("evaluate", help="top-1/top-5 of published ImageNet weights on ImageNet-1k val "
                                        "(the publisher's transform, 95 %% Wilson intervals)")
    p.add_argument("model", help="registry name (see `cnneff models`), or torchvision:NAME / timm:NAME")
    p.add_argument("--weights", required=True, help="the publisher's state dict file (torchvision or timm format)")
    p.add_argument("--data", required=True, help="imagenet-val:PATH (PATH/val/<wnid>/*.JPEG, 1,000 classes)")
    p.add_argument("--limit", type=int, default=None, help="evaluate a seeded random sample of N images")
    p.add_argument("--image-size", type=int, default=None, help="crop side in pixels (default: the publisher's)")
    p.add_argument("--batch-size", type=int, default=64, help="images per batch (default 64)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (default: up to 8)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=evaluate_command)
    return p
