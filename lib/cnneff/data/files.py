"""From image files to :class:`~cnneff.data.containers.Splits`: parallel decoding, skipping
unreadable files, caching, and streaming for folders above :data:`STREAM_THRESHOLD` images."""
from __future__ import annotations

import os
import warnings

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core import one_thread as _one_thread
from .pixels import GRAY_MODES, decode_image, oneline
from .containers import DataError, FolderImages, ImageSet, Splits, _SKIP_HINT, _SPLIT_NAMES
from .splits import apply_subset, stratified_split
from .cache import cache_path, files_digest, load_cache, save_cache


STREAM_THRESHOLD = 20_000  # image folders with more (selected) images stream instead of caching


class _Decoder(torch.utils.data.Dataset):
    """(index, uint8 tensor or None, error) per file; errors come back as text
    so the main process can raise one clear line."""

    def __init__(self, items, size):
        self.items, self.size = items, size

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        try:
            return i, decode_image(self.items[i][0], self.size, None), ""
        except Exception as e:  # noqa: BLE001
            return i, None, oneline(e)


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


def _pick_items(pools: dict, subset, seed: int, holdout: tuple[float, float]):
    """The files of each split: val/test split off the train pool where the
    source gives none (stratified, fractions ``holdout``), then the subset.
    Returns ``(items per split, full index arrays, picked index arrays)``."""
    train_pool = pools["train"]
    labels = np.array([y for _, y in train_pool], dtype=np.int64)
    need_val, need_test = pools.get("val") is None, pools.get("test") is None
    tr, va, te = stratified_split(labels, holdout[0] if need_val else 0.0, holdout[1] if need_test else 0.0, seed)
    src = {"train": (train_pool, tr)}
    for s, need, idx in (("val", need_val, va), ("test", need_test, te)):
        src[s] = (train_pool, idx) if need else (pools[s], np.arange(len(pools[s]), dtype=np.int64))
    lab = {s: np.array([y for _, y in src[s][0]], dtype=np.int64) for s in _SPLIT_NAMES}
    full = tuple(src[s][1] for s in _SPLIT_NAMES)
    picked = apply_subset(full, tuple(lab[s] for s in _SPLIT_NAMES), subset, seed)
    return {s: [src[s][0][i] for i in picked[k]] for k, s in enumerate(_SPLIT_NAMES)}, full, picked


def _from_cache(name, base: dict, image_size: int, subset, full, picked, licence: str):
    """The Splits from the decoded-tensor cache: this subset's entry, or cut
    from a cached full decode (then cached itself).  Returns (Splits or None, cache path)."""
    path = cache_path(name, image_size, {**base, "subset": subset})
    hit = load_cache(path)
    if hit is not None or subset is None:
        return hit, path
    whole = load_cache(cache_path(name, image_size, {**base, "subset": None}))
    if whole is None or whole.skipped != 0:
        return None, path
    pos = {s: np.searchsorted(full[k], picked[k]) for k, s in enumerate(_SPLIT_NAMES)}
    out = Splits(name, whole.train.subset(pos["train"]), whole.val.subset(pos["val"]),
                 whole.test.subset(pos["test"]), whole.classes, whole.channels, image_size, licence, 0,
                 str(path) if path else "")
    if path is not None and not save_cache(path, out):
        out.cache = ""
    return out, path


def _decoded(name, items: dict, classes, image_size: int, skip_corrupt: bool, licence: str, channels, path):
    """Decode every file of ``items`` into in-memory ImageSets (unreadable ones
    skipped or raised, as ``skip_corrupt`` says) and cache the result at ``path``.
    Returns the Splits."""
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
    if path is not None and not save_cache(path, out):
        out.cache = ""
    return out


def file_splits(name: str, pools: dict, classes: list[str], image_size: int, subset, seed: int,
                skip_corrupt: bool, stream, licence: str = "", channels: int | None = None,
                holdout: tuple[float, float] = (0.1, 0.1)) -> Splits:
    """Split, subset and decode (or stream) file lists.  ``pools`` maps
    "train" (required), "val", "test" to lists of (path, label) or None;
    missing val/test are split off train, stratified, with the fractions
    ``holdout`` = (val, test) of the pool (10 % each by default).  Returns the Splits."""
    holdout = (float(holdout[0]), float(holdout[1]))
    if min(holdout) < 0 or sum(holdout) > 0.9:
        raise ValueError(f"val and test fractions must be >= 0 and leave at least 10 % for training, got {holdout}")
    if not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    items, full, picked = _pick_items(pools, subset, seed, holdout)
    if stream is None:
        stream = sum(len(v) for v in items.values()) > STREAM_THRESHOLD
    if stream:
        return _streamed(name, items, classes, image_size, skip_corrupt, licence, channels, seed)
    every = [it for s in _SPLIT_NAMES if pools.get(s) is not None for it in pools[s]]
    base = {"name": name, "seed": seed, "skip": bool(skip_corrupt), "channels": channels,
            "files": files_digest(every)}
    if holdout != (0.1, 0.1):  # the default keeps the cache keys of earlier versions
        base["holdout"] = list(holdout)
    hit, path = _from_cache(name, base, image_size, subset, full, picked, licence)
    if hit is not None:
        return hit
    return _decoded(name, items, classes, image_size, skip_corrupt, licence, channels, path)


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
                    if im.mode not in GRAY_MODES:
                        channels = 3
                        break
            except Exception:  # noqa: BLE001 - reported when the item is read
                continue
    sets = {s: FolderImages(items[s], classes, image_size, channels) for s in _SPLIT_NAMES}
    return Splits(name, sets["train"], sets["val"], sets["test"], list(classes), channels, image_size, licence, skipped,
                  "", bad)
