"""Data sets as uint8 tensors: one loader per source, all returning :class:`Splits`.

Every loader returns ``Splits(train, val, test, classes, channels, image_size, ...)``
whose parts are either an in-memory :class:`ImageSet` (uint8 ``images``
[N, C, H, W] + int64 ``labels``; the training engine batches it by indexing) or,
for big image folders, a streaming :class:`FolderImages` that decodes per item
in DataLoader workers.  Both yield ``(uint8 CHW tensor, int label)`` items.

Conventions shared by every source:

* **Square images.**  Images are stored at ``image_size`` x ``image_size``: the
  shorter side is resized to ``image_size`` and the centre square cropped (done
  as centre-crop-then-resize, the same mapping), with
  ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` on
  float copies of the uint8 pixels, rounded back to uint8.  JPEGs are first
  decoded at a reduced DCT scale (PIL ``draft``) that keeps both sides at least
  ``image_size``.
* **Splits.**  Random splits are stratified by class and seeded
  (``numpy.random.default_rng``): per class, ``round(n * fraction)`` images go
  to val and to test, the rest to train.  ``subset=K`` keeps at most K
  training images (stratified, largest-remainder quotas, seeded) and cuts val
  and test by the same fraction ``K / len(train)``, keeping at least one image
  per class present there; the un-subsetted split is the same for a given
  seed, so a subset's val/test are subsets of the full val/test.
* **Cache.**  Sets decoded from image files (ELPV, image folders, DeepWeeds)
  are decoded once and saved to ``$CNNEFF_CACHE`` (default
  ``<repo>/data/cache``; ``CNNEFF_CACHE=off`` disables it) as one ``.pt`` file
  keyed by source, size, subset, seed, options and a hash of the file list
  with sizes and modification times; a later call loads the tensors
  (``torch.load(weights_only=True)``) instead of decoding.  The cache is
  best-effort: a folder that cannot be written gives one warning and the data
  is used uncached.  Array sources
  (Fashion-MNIST IDX files, CIFAR pickles) are read and resized in memory,
  which takes about as long as loading a cache would.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .core import IMAGENET_MEAN, IMAGENET_STD, atomic_open
from .core import one_thread as _one_thread
from .paths import ROOT

__all__ = [
    "Splits", "ImageSet", "FolderImages", "DataError",
    "fashion_mnist", "elpv", "image_folder", "deepweeds", "cifar10", "cifar100", "load",
    "robustness_set", "resize_square", "cache_dir", "SOURCES",
    "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "STREAM_THRESHOLD",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # matched case-insensitively
STREAM_THRESHOLD = 20_000  # image folders with more (selected) images stream instead of caching
_CACHE_VERSION = 1  # bump when decoding changes, so old cache files are not reused
_SPLIT_NAMES = ("train", "val", "test")
_SKIP_HINT = "delete it or pass skip_corrupt=True (cnneff train --skip-corrupt)"
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


class DataError(ValueError):
    """A data set is malformed (empty class, too few classes, corrupt image,
    labels naming missing files); the message names the path and the fix."""


# --------------------------------------------------------------------------- containers


class ImageSet(torch.utils.data.Dataset):
    """In-memory images: ``images`` (contiguous uint8 [N, C, H, W]), ``labels``
    (int64 [N]) and ``classes`` (names, indexed by label).  Items are
    ``(uint8 CHW tensor, int label)``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str],
                 transforms: list[str] | None = None):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"images must be a uint8 [N, C, H, W] tensor, got {images.dtype} {tuple(images.shape)}")
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images.contiguous()
        self.labels = labels.contiguous()
        self.classes = list(classes)
        self.transforms = transforms  # robustness_set: the transform each image got

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], int(self.labels[i])

    def subset(self, indices) -> "ImageSet":
        """A new ImageSet with the images at ``indices`` (a copy, in that order)."""
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        tr = [self.transforms[i] for i in idx.tolist()] if self.transforms is not None else None
        out = ImageSet(self.images[idx], self.labels[idx], self.classes, tr)
        if getattr(self, "angles", None) is not None:
            out.angles = self.angles[idx]
        return out

    def __repr__(self) -> str:
        return f"ImageSet({len(self)} images {tuple(self.images.shape[1:])}, {len(self.classes)} classes)"


class FolderImages(torch.utils.data.Dataset):
    """Streaming images: ``items`` is a list of (path, label); each item is
    decoded, converted to ``channels`` (1: grayscale, 3: RGB), resized (shorter
    side) and centre-cropped to ``image_size`` when it is read, so use it
    through a DataLoader with workers.  Items are ``(uint8 CHW tensor, int)``."""

    def __init__(self, items: Sequence[tuple[str, int]], classes: Sequence[str], image_size: int, channels: int = 3):
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels!r}")
        self.items = [(str(p), int(y)) for p, y in items]
        self.classes = list(classes)
        self.image_size = int(image_size)
        self.channels = channels
        self.labels = torch.tensor([y for _, y in self.items], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        try:
            x = _decode(path, self.image_size, "L" if self.channels == 1 else "RGB")
        except Exception as e:  # noqa: BLE001 - any decoder failure means an unreadable file
            raise DataError(f"{path}: cannot read image ({_oneline(e)}); {_SKIP_HINT}") from None
        return x, label

    def subset(self, indices) -> "FolderImages":
        """A new FolderImages over the items at ``indices``."""
        return FolderImages([self.items[i] for i in np.asarray(indices, dtype=np.int64).tolist()],
                            self.classes, self.image_size, self.channels)

    def __repr__(self) -> str:
        return f"FolderImages({len(self)} files at {self.image_size}px, {len(self.classes)} classes)"


@dataclass
class Splits:
    """A data set split three ways, as every loader returns it."""

    name: str  # source, e.g. "elpv-binary", "fashion-mnist", "folder:/abs/path"
    train: ImageSet | FolderImages
    val: ImageSet | FolderImages
    test: ImageSet | FolderImages
    classes: list[str]  # class names, indexed by label
    channels: int  # native channels of the stored images: 1 (grayscale) or 3 (RGB)
    image_size: int  # side of the stored square images, pixels
    licence: str = ""  # data licence to show in the book ("" = unknown / see the source)
    skipped: int = 0  # unreadable files dropped (skip_corrupt=True)
    cache: str = ""  # file the decoded tensors were loaded from / saved to ("" = not cached)
    skipped_files: list[str] = field(default_factory=list)  # paths of the dropped files

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    def class_counts(self) -> dict[str, list[int]]:
        """Images per class in each split: ``{"train": [n_0, n_1, ...], "val": ..., "test": ...}``."""
        return {s: torch.bincount(getattr(self, s).labels, minlength=len(self.classes)).tolist()
                for s in _SPLIT_NAMES}

    def __repr__(self) -> str:
        return (f"Splits({self.name!r}: train {len(self.train)}, val {len(self.val)}, test {len(self.test)}; "
                f"{len(self.classes)} classes, {self.channels} ch, {self.image_size}px)")


# --------------------------------------------------------------------------- pixels


def resize_square(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Centre-crop uint8 images ``x`` ([C, H, W] or [N, C, H, W]) to a square
    and resize it to ``size`` x ``size`` (bilinear, antialiased); returns uint8
    of the same rank.  Equivalent to resizing the shorter side to ``size`` and
    centre-cropping."""
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    h, w = x.shape[-2:]
    m = min(h, w)
    top, left = (h - m) // 2, (w - m) // 2
    x = x[..., top:top + m, left:left + m]
    if m != size:
        out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
        for s in range(0, x.shape[0], chunk):
            y = F.interpolate(x[s:s + chunk].float(), size=(size, size), mode="bilinear",
                              align_corners=False, antialias=True)
            out[s:s + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
        x = out
    x = x.contiguous()
    return x[0] if single else x


def _decode(path: str, size: int, mode: str | None) -> torch.Tensor:
    """Decode one image file to uint8 [C, size, size].  ``mode`` "L" -> 1
    channel, "RGB" -> 3, None -> 1 channel for grayscale files, else 3."""
    from PIL import Image

    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft(mode if mode in ("L", "RGB") else None, (size, size))
        gray = im.mode in _GRAY_MODES
        target = mode or ("L" if gray else "RGB")
        if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grayscale: scale to 8 bit
            a = np.asarray(im)
            a = (a.astype(np.float64) / 257.0 if a.max() > 255 else a).clip(0, 255).round().astype(np.uint8)
            im = Image.fromarray(a, "L")
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        if im.mode != target:
            im = im.convert(target)
        a = np.asarray(im)
    t = torch.from_numpy(a.copy())
    t = t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)
    with _one_thread():
        return resize_square(t, size)


def _oneline(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


# --------------------------------------------------------------------------- splitting


def _stratified_split(labels: np.ndarray, val: float, test: float, seed: int):
    """Per class, ``round(n * val)`` indices to val and ``round(n * test)`` to
    test (leaving at least one in train), the rest to train.  Returns three
    sorted int64 index arrays."""
    rng = np.random.default_rng([seed, 0])
    parts: tuple[list, list, list] = ([], [], [])
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n = len(idx)
        nv, nt = int(math.floor(n * val + 0.5)), int(math.floor(n * test + 0.5))
        while nv + nt >= n and nv + nt > 0:  # keep one for training
            if nt >= nv:
                nt -= 1
            else:
                nv -= 1
        parts[1].append(idx[:nv])
        parts[2].append(idx[nv:nv + nt])
        parts[0].append(idx[nv + nt:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) if p else np.zeros(0, np.int64) for p in parts)


def _take(idx: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` of ``idx``, stratified by ``labels[idx]``: largest-remainder
    quotas proportional to the class sizes.  Returns sorted indices."""
    if k >= len(idx):
        return idx
    classes, counts = np.unique(labels[idx], return_counts=True)
    exact = counts * k / len(idx)
    quota = np.floor(exact).astype(int)
    order = np.lexsort((classes, -(exact - quota)))  # biggest remainder first, ties by class
    quota[order[: k - quota.sum()]] += 1
    keep = [rng.permutation(idx[labels[idx] == c])[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(keep)).astype(np.int64)


def _apply_subset(parts, labels_of, subset: int | None, seed: int):
    """Cut (train, val, test) index arrays to ``subset`` training images and
    val/test by the same fraction (at least one image per class present)."""
    if subset is None:
        return parts
    if not isinstance(subset, (int, np.integer)) or isinstance(subset, bool) or subset < 1:
        raise ValueError(f"subset must be a positive integer (training images to keep), got {subset!r}")
    train, val, test = parts
    if subset >= len(train):
        return parts
    rng = np.random.default_rng([seed, 1])
    frac = subset / len(train)
    out = [_take(train, labels_of[0], subset, rng)]
    for idx, lab in ((val, labels_of[1]), (test, labels_of[2])):
        present = len(np.unique(lab[idx])) if len(idx) else 0
        out.append(_take(idx, lab, min(len(idx), max(present, round(frac * len(idx)))), rng))
    return tuple(out)


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path | None:
    """Folder of decoded-tensor caches: ``$CNNEFF_CACHE`` or ``<repo>/data/cache``;
    None when ``CNNEFF_CACHE`` is ``off``/``0``/``none``."""
    env = os.environ.get("CNNEFF_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "none", "false", ""):
        return None
    return Path(env) if env else ROOT / "data" / "cache"


def _files_digest(items: Sequence[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for p, y in items:
        st = os.stat(p)
        h.update(f"{p}\t{y}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _cache_path(name: str, size: int, key: dict) -> Path | None:
    d = cache_dir()
    if d is None:
        return None
    digest = hashlib.sha256(json.dumps({"v": _CACHE_VERSION, **key}, sort_keys=True).encode()).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[-60:]
    return d / f"{slug}-{size}px-{digest[:16]}.pt"


_CACHE_WARNED: set[str] = set()  # cache folders already warned about (once per process)


def _save_cache(path: Path, s: Splits) -> bool:
    """Save the decoded tensors to ``path`` atomically.  Best-effort: a folder
    that cannot be written (read-only, full disk) warns once per folder and
    returns False; the data is then used uncached.  Returns True when saved."""
    blob = {"version": _CACHE_VERSION, "name": s.name, "classes": list(s.classes), "channels": s.channels,
            "image_size": s.image_size, "licence": s.licence, "skipped": s.skipped,
            "skipped_files": list(s.skipped_files)}
    for split in _SPLIT_NAMES:
        blob[f"{split}_images"] = getattr(s, split).images
        blob[f"{split}_labels"] = getattr(s, split).labels
    try:
        with atomic_open(path, "wb") as f:
            torch.save(blob, f)
        return True
    except (OSError, RuntimeError) as e:
        if str(path.parent) not in _CACHE_WARNED:
            _CACHE_WARNED.add(str(path.parent))
            warnings.warn(f"cannot write the data cache in {path.parent} ({_oneline(e)}); continuing without it "
                          "(set CNNEFF_CACHE to a writable folder, or to off)", stacklevel=3)
        return False


def _load_cache(path: Path | None) -> Splits | None:
    if path is None or not path.is_file():
        return None
    try:
        b = torch.load(path, weights_only=True)
        sets = {s: ImageSet(b[f"{s}_images"], b[f"{s}_labels"], b["classes"]) for s in _SPLIT_NAMES}
        return Splits(b["name"], sets["train"], sets["val"], sets["test"], list(b["classes"]), int(b["channels"]),
                      int(b["image_size"]), b["licence"], int(b["skipped"]), str(path),
                      [str(p) for p in b.get("skipped_files", [])])
    except Exception as e:  # noqa: BLE001 - a damaged cache is rebuilt, not fatal
        warnings.warn(f"ignoring unreadable cache {path} ({_oneline(e)}); decoding again", stacklevel=3)
        return None


# --------------------------------------------------------------------------- file-based pipeline


class _Decoder(torch.utils.data.Dataset):
    """(index, uint8 tensor or None, error) per file; errors come back as text
    so the main process can raise one clear line."""

    def __init__(self, items, size):
        self.items, self.size = items, size

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        try:
            return i, _decode(self.items[i][0], self.size, None), ""
        except Exception as e:  # noqa: BLE001
            return i, None, _oneline(e)


def _as_list(batch):
    return batch


def _workers(n: int) -> int:
    if n < 200:
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return min(cpus, 8)


def _decode_many(items, size: int, desc: str, skip_corrupt: bool):
    """Decode ``items`` (path, label) in order.  Returns (uint8 [N, C, size,
    size], ok mask [N] bool, channels): 1 channel when every image is
    grayscale, else 3 (grayscale ones repeated)."""
    n = len(items)
    buf = torch.empty((n, 1, size, size), dtype=torch.uint8)
    ok = np.ones(n, dtype=bool)
    color, bad = False, []
    loader = torch.utils.data.DataLoader(_Decoder(items, size), batch_size=32, num_workers=_workers(n),
                                         collate_fn=_as_list)
    with tqdm(total=n, desc=desc, unit="img", leave=False) as bar, _one_thread():
        for batch in loader:
            for i, x, err in batch:
                if x is None:
                    if not skip_corrupt:
                        raise DataError(f"{items[i][0]}: cannot read image ({err}); {_SKIP_HINT}")
                    ok[i] = False
                    bad.append(items[i][0])
                    continue
                if x.shape[0] == 3 and not color:
                    buf, color = buf.expand(-1, 3, -1, -1).contiguous(), True
                buf[i] = x
            bar.update(len(batch))
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s), e.g. {', '.join(bad[:3])}", stacklevel=3)
    return buf, ok, (3 if color else 1)


def _file_splits(name: str, pools: dict, classes: list[str], image_size: int, subset, seed: int,
                 skip_corrupt: bool, stream, licence: str = "", channels: int | None = None) -> Splits:
    """Split, subset and decode (or stream) file lists.  ``pools`` maps
    "train" (required), "val", "test" to lists of (path, label) or None;
    missing val/test are split off train (10 % each, stratified)."""
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    train_pool = pools["train"]
    labels = np.array([y for _, y in train_pool], dtype=np.int64)
    need_val, need_test = pools.get("val") is None, pools.get("test") is None
    tr, va, te = _stratified_split(labels, 0.1 if need_val else 0.0, 0.1 if need_test else 0.0, seed)
    src = {"train": (train_pool, tr)}
    for s, need, idx in (("val", need_val, va), ("test", need_test, te)):
        if need:
            src[s] = (train_pool, idx)
        else:
            src[s] = (pools[s], np.arange(len(pools[s]), dtype=np.int64))
    lab = {s: np.array([y for _, y in src[s][0]], dtype=np.int64) for s in _SPLIT_NAMES}
    full = tuple(src[s][1] for s in _SPLIT_NAMES)
    picked = _apply_subset(full, tuple(lab[s] for s in _SPLIT_NAMES), subset, seed)
    items = {s: [src[s][0][i] for i in picked[k]] for k, s in enumerate(_SPLIT_NAMES)}
    n_total = sum(len(v) for v in items.values())
    if stream is None:
        stream = n_total > STREAM_THRESHOLD
    if stream:
        return _streamed(name, items, classes, image_size, skip_corrupt, licence, channels, seed)

    every = [it for s in _SPLIT_NAMES if pools.get(s) is not None for it in pools[s]]
    base = {"name": name, "seed": seed, "skip": bool(skip_corrupt),
            "channels": channels, "files": _files_digest(every)}
    path = _cache_path(name, image_size, {**base, "subset": subset})
    hit = _load_cache(path)
    if hit is not None:
        return hit
    if subset is not None:  # derive from a cached full decode if there is one
        whole = _load_cache(_cache_path(name, image_size, {**base, "subset": None}))
        if whole is not None and whole.skipped == 0:
            pos = {s: np.searchsorted(full[k], picked[k]) for k, s in enumerate(_SPLIT_NAMES)}
            out = Splits(name, whole.train.subset(pos["train"]), whole.val.subset(pos["val"]),
                         whole.test.subset(pos["test"]), whole.classes, whole.channels, image_size, licence, 0,
                         str(path) if path else "")
            if path is not None and not _save_cache(path, out):
                out.cache = ""
            return out

    flat = [it for s in _SPLIT_NAMES for it in items[s]]
    buf, ok, native = _decode_many(flat, image_size, f"decoding {name} at {image_size}px", skip_corrupt)
    ch = channels or native
    if ch == 1 and buf.shape[1] == 3:
        buf = buf[:, :1].contiguous()  # only when channels=1 is forced (ELPV); files are grayscale
    elif ch == 3 and buf.shape[1] == 1:
        buf = buf.expand(-1, 3, -1, -1).contiguous()
    if not ok.any():
        raise DataError(f"{name}: no readable images; check the files")
    y = torch.tensor([l for _, l in flat], dtype=torch.int64)
    sets, start = {}, 0
    for s in _SPLIT_NAMES:
        sl = slice(start, start + len(items[s]))
        keep = torch.from_numpy(np.flatnonzero(ok[sl]) + start)
        sets[s] = ImageSet(buf[keep], y[keep], classes)
        start = sl.stop
    del buf
    out = Splits(name, sets["train"], sets["val"], sets["test"], list(classes), ch, image_size, licence,
                 int((~ok).sum()), str(path) if path else "", [flat[i][0] for i in np.flatnonzero(~ok)])
    if path is not None and not _save_cache(path, out):
        out.cache = ""
    return out


def _unreadable(items, size: int, desc: str) -> list[str]:
    """Paths of the ``items`` (path, label) that cannot be decoded at ``size``
    (every file is decoded once, in DataLoader workers for big lists)."""
    bad = []
    loader = torch.utils.data.DataLoader(_Decoder(items, size), batch_size=32, num_workers=_workers(len(items)),
                                         collate_fn=_as_list)
    with tqdm(total=len(items), desc=desc, unit="img", leave=False) as bar, _one_thread():
        for batch in loader:
            bad.extend(items[i][0] for i, x, _ in batch if x is None)
            bar.update(len(batch))
    return bad


def _streamed(name, items, classes, image_size, skip_corrupt, licence, channels, seed) -> Splits:
    """Splits of FolderImages.  Channels come from the headers of a seeded
    sample of up to 256 files (1 only if all of them are grayscale); with
    ``skip_corrupt`` every file is decoded once first and the unreadable ones
    (bad headers and files truncated after a valid header alike) are dropped,
    so that training never meets one mid-epoch."""
    from PIL import Image

    skipped, bad = 0, []
    if skip_corrupt:
        flat = [it for s in _SPLIT_NAMES for it in items[s]]
        bad = _unreadable(flat, image_size, f"checking {name}")
        if bad:
            gone = set(bad)
            items = {s: [(p, y) for p, y in items[s] if p not in gone] for s in _SPLIT_NAMES}
            skipped = len(bad)
            warnings.warn(f"skipped {len(bad)} unreadable image file(s), e.g. {', '.join(bad[:3])}", stacklevel=3)
    if channels is None:
        flat = [p for s in _SPLIT_NAMES for p, _ in items[s]]
        rng = np.random.default_rng([seed, 2])
        sample = [flat[i] for i in rng.choice(len(flat), size=min(256, len(flat)), replace=False)] if flat else []
        channels = 1
        for p in sample:
            try:
                with Image.open(p) as im:
                    if im.mode not in _GRAY_MODES:
                        channels = 3
                        break
            except Exception:  # noqa: BLE001 - reported when the item is read
                continue
    sets = {s: FolderImages(items[s], classes, image_size, channels) for s in _SPLIT_NAMES}
    return Splits(name, sets["train"], sets["val"], sets["test"], list(classes), channels, image_size, licence, skipped,
                  "", bad)


# --------------------------------------------------------------------------- folders


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def _class_dirs(root: Path) -> list[Path]:
    return sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def _scan_classes(root: Path, what: str) -> dict[str, list[str]]:
    """{class name: sorted image paths} for the class sub-folders of ``root``
    (searched recursively); DataError for an empty class or < 2 classes."""
    dirs = _class_dirs(root)
    if len(dirs) < 2:
        found = f"only {dirs[0].name!r}" if dirs else "none"
        raise DataError(f"{root} has {found} as class sub-folder(s); {what} needs at least two, "
                        "one sub-folder of images per class")
    out = {}
    for d in dirs:
        files = [p for p in d.rglob("*") if p.is_file()]
        imgs = sorted(str(p) for p in files if _is_image(p))
        if not imgs:
            other = f" (only {len(files)} other file(s), e.g. {files[0].name})" if files else ""
            raise DataError(f"class folder {d} holds no {'/'.join(IMAGE_EXTENSIONS)} images{other}; "
                            "add images or remove the folder")
        out[d.name] = imgs
    return out


def image_folder(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
                 skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """Images in one sub-folder per class (RMFD/MFDD ``face/`` + ``masked/``,
    ImageNet-100, Tiny-ImageNet-style sets, Rock-Paper-Scissors).  If ``root``
    has ``train/`` (and optionally ``val/`` or ``valid/``/``validation/``, and
    ``test/``), those are the splits and missing ones are split off train
    (10 % each, stratified); otherwise a stratified 80/10/10 split.  Files
    ending in .jpg .jpeg .png .bmp .webp (any case) are images, searched
    recursively; other files are ignored.  ``channels`` is 1 when every image
    is grayscale, else 3 (grayscale/RGBA/palette images converted to RGB).
    ``stream=None`` caches in memory when at most 20,000 images are selected,
    else streams (:class:`FolderImages`); True/False forces it.  Corrupt files
    raise DataError naming the file, or with ``skip_corrupt=True`` are dropped
    with a warning and counted in ``Splits.skipped``."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist; pass the folder that holds one sub-folder per class")
    root = root.resolve()
    split_dirs = {"train": root / "train"}
    for s, names in (("val", ("val", "valid", "validation")), ("test", ("test",))):
        split_dirs[s] = next((root / n for n in names if (root / n).is_dir()), None)
    if split_dirs["train"].is_dir():
        found = {s: _scan_classes(d, f"{s}/") for s, d in split_dirs.items() if d is not None}
        classes = list(found["train"])
        for s in ("val", "test"):
            extra = sorted(set(found.get(s, {})) - set(classes))
            if extra:
                raise DataError(f"{split_dirs[s]} has class folder(s) not in {root / 'train'}: {', '.join(extra)}; "
                                "use the same class names in every split")
        pools = {s: ([(p, classes.index(c)) for c, ps in found[s].items() for p in ps] if s in found else None)
                 for s in _SPLIT_NAMES}
    else:
        found = _scan_classes(root, "image_folder")
        classes = list(found)
        pools = {"train": [(p, k) for k, c in enumerate(classes) for p in found[c]], "val": None, "test": None}
    return _file_splits(f"folder:{root}", pools, classes, image_size, subset, seed, skip_corrupt, stream)


DEEPWEEDS_LICENCE = "CC-BY 4.0"


def deepweeds(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
              skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """DeepWeeds (17,509 256x256 JPEGs, 8 weed species + Negative) in its
    published layout: ``root/images/*.jpg`` and ``root/labels.csv`` with columns
    Filename, Label (0..8), Species; class names come from Species ordered by
    Label.  Stratified 80/10/10 split; other arguments as :func:`image_folder`."""
    root = Path(root).expanduser()
    csv_path, img_dir = root / "labels.csv", root / "images"
    for p in (root, csv_path, img_dir):
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist; deepweeds expects ROOT/images/*.jpg and "
                                    "ROOT/labels.csv (Filename,Label,Species) as published")
    root = root.resolve()
    try:  # utf-8-sig: spreadsheet exports often start with a byte-order mark
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except UnicodeDecodeError as e:
        raise DataError(f"{csv_path} is not UTF-8 text ({_oneline(e)}); save it as UTF-8 CSV") from None
    cols = {"Filename", "Label", "Species"}
    if not rows or not cols <= set(rows[0]):
        have = ", ".join(rows[0]) if rows else "no rows"
        raise DataError(f"{csv_path} must have columns Filename, Label, Species (found {have})")
    names: dict[int, str] = {}
    items, missing = [], []
    for r in rows:
        try:
            label = int(r["Label"])
        except ValueError:
            raise DataError(f"{csv_path}: Label {r['Label']!r} of {r['Filename']} is not an integer") from None
        if names.setdefault(label, r["Species"]) != r["Species"]:
            raise DataError(f"{csv_path}: Label {label} is both {names[label]!r} and {r['Species']!r}")
        p = img_dir / r["Filename"]
        (items if p.is_file() else missing).append((str(p), label))
    if missing:
        raise DataError(f"{csv_path} names {len(missing)} image(s) not in {img_dir}: "
                        f"{', '.join(Path(p).name for p, _ in missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                        "restore them or remove their rows")
    order = sorted(names)
    if len(order) < 2:
        raise DataError(f"{csv_path} has only one class ({names[order[0]]!r}); need at least two")
    remap = {lab: k for k, lab in enumerate(order)}  # labels 0..8 as published stay as they are
    items = [(p, remap[y]) for p, y in items]
    return _file_splits(f"deepweeds:{root}", {"train": items, "val": None, "test": None},
                        [names[k] for k in order], image_size, subset, seed, skip_corrupt, stream,
                        DEEPWEEDS_LICENCE)


# --------------------------------------------------------------------------- ELPV

ELPV_LICENCE = "CC-BY-NC-SA 4.0"
ELPV_TASKS = {"binary": ["functional", "defective"], "4class": ["p=0", "p=1/3", "p=2/3", "p=1"]}


def _elpv_root() -> Path:
    try:
        import elpv_dataset
    except ImportError:
        raise FileNotFoundError("the ELPV data set is not installed; pip install elpv-dataset") from None
    return Path(elpv_dataset.__file__).parent / "data"


def elpv(image_size: int = 224, task: str = "binary", subset: int | None = None, seed: int = 0) -> Splits:
    """ELPV solar-cell electroluminescence images (PyPI ``elpv-dataset``:
    2,624 300x300 grayscale cells, defect probability 0, 1/3, 2/3 or 1).
    ``task="binary"``: functional (p = 0, 1,508 cells) vs defective (p >= 2/3,
    821 cells), the 295 cells with p = 1/3 dropped; ``task="4class"``: the
    four probabilities as classes.  Stratified 80/10/10 split, channels=1."""
    if task not in ELPV_TASKS:
        raise ValueError(f"unknown ELPV task {task!r}; valid: {', '.join(ELPV_TASKS)}")
    data = _elpv_root()
    csv_path = data / "labels.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} does not exist; reinstall elpv-dataset")
    items = []
    for line in csv_path.read_text().splitlines():
        if not line.strip():
            continue
        rel, prob, _kind = line.split()  # whitespace-separated: path, probability, type (mono/poly)
        level = int(round(float(prob) * 3))  # 0, 1, 2, 3 thirds
        if task == "binary":
            if level == 1:
                continue
            label = int(level >= 2)
        else:
            label = level
        items.append((str(data / rel), label))
    return _file_splits(f"elpv-{task}", {"train": items, "val": None, "test": None}, ELPV_TASKS[task],
                        image_size, subset, seed, False, False, ELPV_LICENCE, channels=1)


# --------------------------------------------------------------------------- array sources

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _read_idx(path: Path) -> np.ndarray:
    """A (gzipped) IDX file as a uint8 array shaped by its header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not a uint8 IDX file; reinstall it (apt-get install dataset-fashion-mnist)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"{path} is truncated ({data.size} of {int(np.prod(dims))} bytes); reinstall it")
    return data.reshape(dims)


def _array_splits(name, x_train, y_train, x_test, y_test, classes, image_size, subset, val_fraction, seed,
                  licence) -> Splits:
    """Splits from uint8 arrays [N, C, H, W]: a stratified ``val_fraction`` of
    the official training set becomes val, the official test set is test."""
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    tr, va, _ = _stratified_split(y_train, val_fraction, 0.0, seed)
    te = np.arange(len(y_test), dtype=np.int64)
    tr, va, te = _apply_subset((tr, va, te), (y_train, y_train, y_test), subset, seed)
    sets = {}
    for s, x, y, idx in (("train", x_train, y_train, tr), ("val", x_train, y_train, va), ("test", x_test, y_test, te)):
        imgs = resize_square(torch.from_numpy(np.ascontiguousarray(x[idx])), image_size)
        sets[s] = ImageSet(imgs, torch.from_numpy(y[idx].astype(np.int64)), classes)
    return Splits(name, sets["train"], sets["val"], sets["test"], list(classes), int(x_train.shape[1]), image_size,
                  licence)


def fashion_mnist(root: str | os.PathLike = FASHION_MNIST_ROOT, image_size: int = 28, subset: int | None = None,
                  val_fraction: float = 0.1, seed: int = 0) -> Splits:
    """Fashion-MNIST from the gzipped IDX files of the Debian package
    ``dataset-fashion-mnist``: 60,000 training images (a stratified
    ``val_fraction`` of them becomes val) and the official 10,000 test images,
    28x28 grayscale (channels=1), 10 named classes.  ``subset`` cuts val and
    test by the same fraction as train (e.g. subset=2000 keeps 370 test images)."""
    root = Path(root).expanduser()
    files = {}
    for key, stem in (("xtr", "train-images-idx3-ubyte"), ("ytr", "train-labels-idx1-ubyte"),
                      ("xte", "t10k-images-idx3-ubyte"), ("yte", "t10k-labels-idx1-ubyte")):
        p = next((root / (stem + ext) for ext in (".gz", "") if (root / (stem + ext)).is_file()), None)
        if p is None:
            raise FileNotFoundError(f"{root / (stem + '.gz')} does not exist; apt-get install dataset-fashion-mnist "
                                    "(or pass root= the folder holding the four IDX files)")
        files[key] = _read_idx(p)
    return _array_splits("fashion-mnist", files["xtr"][:, None], files["ytr"], files["xte"][:, None], files["yte"],
                         FASHION_MNIST_CLASSES, image_size, subset, val_fraction, seed, "MIT")


def _cifar(cls_name: str, base: str, root, image_size, subset, val_fraction, seed) -> Splits:
    root = Path(root).expanduser()
    if root.name == base:  # accept the batches folder itself
        root = root.parent
    if not (root / base).is_dir():
        raise FileNotFoundError(f"{root / base} does not exist; put the python version of {cls_name[:5]}-"
                                f"{cls_name[5:]} ({base}, extracted) under {root}; nothing can be downloaded here")
    import torchvision

    cls = getattr(torchvision.datasets, cls_name)
    try:
        tr, te = cls(str(root), train=True, download=False), cls(str(root), train=False, download=False)
    except RuntimeError:
        raise _cifar_problem(cls, root / base, f"{cls_name[:5]}-{cls_name[5:]}") from None
    to_nchw = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.uint8).transpose(0, 3, 1, 2))  # noqa: E731
    return _array_splits(cls_name.lower(), to_nchw(tr.data), np.asarray(tr.targets, dtype=np.int64),
                         to_nchw(te.data), np.asarray(te.targets, dtype=np.int64), list(tr.classes),
                         image_size, subset, val_fraction, seed, "")


def _cifar_problem(cls, folder: Path, title: str) -> DataError:
    """The DataError for a CIFAR folder torchvision refused: which files are
    missing, or which fail the official md5 checksums (a re-packed or subset
    copy, or a damaged file).  Returns the error (nothing is downloaded here)."""
    import torchvision.datasets.cifar as tvc

    files = [(f, md5) for f, md5 in cls.train_list + cls.test_list] + [(cls.meta["filename"], cls.meta["md5"])]
    missing = [f for f, _ in files if not (folder / f).is_file()]
    if missing:
        return DataError(f"{folder} lacks {', '.join(missing)}; extract the complete official {title} archive "
                         "(python version) there")
    wrong = [f for f, md5 in files if not tvc.check_integrity(str(folder / f), md5)]
    if wrong:
        return DataError(f"{folder}: {', '.join(wrong)} do not match the official {title} md5 checksums "
                         "(a re-packed, subset or damaged copy); use the files of the official python-version "
                         "archive, unmodified")
    return DataError(f"{folder} cannot be read as {title} (python version); extract the official archive again")


def cifar10(root: str | os.PathLike, image_size: int = 32, subset: int | None = None, val_fraction: float = 0.1,
            seed: int = 0) -> Splits:
    """CIFAR-10 from ``root/cifar-10-batches-py`` (torchvision, no download):
    50,000 training images (a stratified ``val_fraction`` becomes val) and the
    official 10,000 test images, 32x32 RGB; ``subset`` as :func:`fashion_mnist`."""
    return _cifar("CIFAR10", "cifar-10-batches-py", root, image_size, subset, val_fraction, seed)


def cifar100(root: str | os.PathLike, image_size: int = 32, subset: int | None = None, val_fraction: float = 0.1,
             seed: int = 0) -> Splits:
    """CIFAR-100 (100 fine classes) from ``root/cifar-100-python``; as :func:`cifar10`."""
    return _cifar("CIFAR100", "cifar-100-python", root, image_size, subset, val_fraction, seed)


# --------------------------------------------------------------------------- dispatcher

SOURCES = {  # --data SOURCE[:PATH] -> (loader, needs a path, fixed kwargs)
    "fashion-mnist": (fashion_mnist, False, {}),
    "elpv": (elpv, None, {"task": "binary"}),
    "elpv-binary": (elpv, None, {"task": "binary"}),
    "elpv-4class": (elpv, None, {"task": "4class"}),
    "folder": (image_folder, True, {}),
    "deepweeds": (deepweeds, True, {}),
    "cifar10": (cifar10, True, {}),
    "cifar100": (cifar100, True, {}),
}


def load(spec: str, **kw) -> Splits:
    """Load ``SOURCE[:PATH]`` as the CLI's ``--data`` names it: fashion-mnist[:ROOT],
    elpv, elpv-4class, folder:PATH, deepweeds:PATH, cifar10:PATH, cifar100:PATH.
    ``kw`` go to the loader (image_size, subset, seed, ...)."""
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


# --------------------------------------------------------------------------- the robustness set
ROBUSTNESS_TRANSFORMS = ("hflip", "rotate", "noise")


def robustness_set(test: ImageSet, seed: int = 0) -> ImageSet:
    """The face-mask paper's robustness set: every test image gets exactly one
    of horizontal flip, rotation by a random angle of 10..30 degrees either way
    (bilinear, black corners) or Gaussian noise (sigma = 0.1 of the 0..255
    range, clipped), chosen by a ``seed``-ed generator.  Returns a new ImageSet
    whose ``transforms`` lists the transform of each image ("hflip", "rotate",
    "noise") and whose ``angles`` holds each rotation in degrees (0 if none)."""
    from torchvision.transforms.v2 import functional as TF
    from torchvision.transforms import InterpolationMode

    if not hasattr(test, "images"):
        raise TypeError("robustness_set needs an in-memory ImageSet (load the folder with stream=False)")
    g = torch.Generator().manual_seed(seed)
    n = len(test)
    choice = torch.randint(0, 3, (n,), generator=g)
    angles = (torch.rand(n, generator=g) * 20 + 10) * torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    angles = torch.where(choice == 1, angles, torch.zeros(n))
    out = test.images.clone()
    flip = choice == 0
    out[flip] = out[flip].flip(-1)
    with _one_thread():
        for i in torch.nonzero(choice == 1).flatten().tolist():
            out[i] = TF.rotate(out[i], float(angles[i]), interpolation=InterpolationMode.BILINEAR, fill=0)
    noisy = choice == 2
    if noisy.any():
        x = out[noisy].float()
        x += torch.randn(x.shape, generator=g) * 25.5
        out[noisy] = x.round_().clamp_(0, 255).to(torch.uint8)
    res = ImageSet(out, test.labels.clone(), test.classes, [ROBUSTNESS_TRANSFORMS[c] for c in choice.tolist()])
    res.angles = angles
    return res
