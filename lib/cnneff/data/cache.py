"""The decoded-tensor cache under ``$CNNEFF_CACHE``: keys, atomic best-effort saves, loads."""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Sequence

import torch

from ..core import atomic_open
from ..paths import ROOT
from .pixels import oneline
from .containers import ImageSet, Splits, _SPLIT_NAMES


_CACHE_VERSION = 1  # bump when decoding changes, so old cache files are not reused


def cache_dir() -> Path | None:
    """Folder of decoded-tensor caches: ``$CNNEFF_CACHE`` or ``<repo>/data/cache``;
    None when ``CNNEFF_CACHE`` is ``off``/``0``/``none``.
    Returns a Path or None."""
    env = os.environ.get("CNNEFF_CACHE")
    if env is not None and env.strip().lower() in ("off", "0", "none", "false", ""):
        return None
    return Path(env) if env else ROOT / "data" / "cache"


def files_digest(items: Sequence[tuple[str, int]]) -> str:
    h = hashlib.sha256()
    for p, y in items:
        st = os.stat(p)
        h.update(f"{p}\t{y}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_path(name: str, size: int, key: dict) -> Path | None:
    d = cache_dir()
    if d is None:
        return None
    digest = hashlib.sha256(json.dumps({"v": _CACHE_VERSION, **key}, sort_keys=True).encode()).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[-60:]
    return d / f"{slug}-{size}px-{digest[:16]}.pt"


_CACHE_WARNED: set[str] = set()  # cache folders already warned about (once per process)


def save_cache(path: Path, s: Splits) -> bool:
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
            warnings.warn(f"cannot write the data cache in {path.parent} ({oneline(e)}); continuing without it "
                          "(set CNNEFF_CACHE to a writable folder, or to off)", stacklevel=3)
        return False


def load_cache(path: Path | None) -> Splits | None:
    if path is None or not path.is_file():
        return None
    try:
        b = torch.load(path, weights_only=True)
        sets = {s: ImageSet(b[f"{s}_images"], b[f"{s}_labels"], b["classes"]) for s in _SPLIT_NAMES}
        return Splits(b["name"], sets["train"], sets["val"], sets["test"], list(b["classes"]), int(b["channels"]),
                      int(b["image_size"]), b["licence"], int(b["skipped"]), str(path),
                      [str(p) for p in b.get("skipped_files", [])])
    except Exception as e:  # noqa: BLE001 - a damaged cache is rebuilt, not fatal
        warnings.warn(f"ignoring unreadable cache {path} ({oneline(e)}); decoding again", stacklevel=3)
        return None
