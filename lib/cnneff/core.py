"""Small shared pieces at the bottom of the import graph (imports only torch).

* precision names and the matching ``torch.autocast`` context,
* thread pinning (``num_threads``), device choice (``resolve_device``),
* the weight dtype of a model,
* atomic file writes that respect the umask (text, JSON, bytes, or any writer),
* ImageNet's normalization mean and std.

Every other module of :mod:`cnneff` may import from here; this module imports
no other part of :mod:`cnneff`.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

__all__ = [
    "probe_writable",
    "PRECISIONS", "AUTOCAST_DTYPES", "IMAGENET_MEAN", "IMAGENET_STD", "DeviceError", "check_precision", "autocast",
    "num_threads", "one_thread", "resolve_device", "weight_dtype", "atomic_open", "atomic_write_bytes",
    "atomic_write_text", "atomic_write_json",
]

PRECISIONS = ("fp32", "bf16", "fp16")  # fp32: no autocast; bf16/fp16: autocast (fp16 also scales gradients)
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}  # autocast dtype of each reduced precision
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per-channel mean of ImageNet's RGB pixels in [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)  # per-channel standard deviation of ImageNet's RGB pixels in [0, 1]


class DeviceError(ValueError):
    """A device name torch does not know, or a device this machine lacks."""


# ----------------------------------------------------------------------------
# Precision
# ----------------------------------------------------------------------------
def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`, else raise ``ValueError``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return precision


def autocast(device_type: str, precision: str):
    """``torch.autocast`` for ``precision``: bf16 / fp16 autocast, disabled for fp32
    (or any other name).  Returns the context manager."""
    dtype = AUTOCAST_DTYPES.get(precision)
    return torch.autocast(device_type, dtype=dtype, enabled=dtype is not None)


def weight_dtype(model: nn.Module) -> torch.dtype | None:
    """dtype of the model's first floating-point parameter (None if it has none):
    fp16/bf16 for a model converted with ``.half()``, whose inputs must match."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


# ----------------------------------------------------------------------------
# Threads and devices
# ----------------------------------------------------------------------------
@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Temporarily set ``torch.set_num_threads(n)``; None (or 0) leaves the count
    unchanged, and so does an ``n`` equal to the current count."""
    old = torch.get_num_threads()
    if not n or int(n) == old:
        yield
        return
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def one_thread():
    """:func:`num_threads` (1): for per-image tensor ops, far too little work to
    share (on busy cores OpenMP's hand-off costs ~10-16 ms per op instead of ~0.2 ms)."""
    return num_threads(1)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Return the ``torch.device`` to run on: ``"auto"`` -> cuda if available,
    else cpu; anything else as given.  Raises :class:`DeviceError` for a name
    torch does not know (a typo) and for a CUDA/MPS device this machine lacks."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {str(device)!r}; use auto, cpu, cuda or cuda:N (--device)") from None
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(device)!r} needs a CUDA GPU and torch sees none "
                              "(torch.cuda.is_available() is False); use device cpu or auto (--device cpu)")
        n = torch.cuda.device_count()
        if d.index is not None and d.index >= n:
            raise DeviceError(f"device {str(device)!r} does not exist: this machine has {n} CUDA GPU(s), "
                              f"cuda:0 to cuda:{n - 1}; pass one of those")
    elif d.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError(f"device {str(device)!r} is not available on this machine; use device cpu or auto")
    return d


# ----------------------------------------------------------------------------
# Atomic writes
# ----------------------------------------------------------------------------
def umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def probe_writable(folder: Path | str) -> Path:
    """Create ``folder`` (and its parents) if needed and prove it writable by
    creating and removing a temporary file in it.  Returns the folder as a
    Path; raises the ``OSError`` otherwise (callers turn it into their own
    one-line error naming the folder and the fix)."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.", suffix=".tmp")
    os.close(fd)
    os.unlink(probe)
    return folder


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "wb", *, fsync: bool = False, mkdir: bool = True):
    """Open a unique temporary file beside ``path`` for writing and yield it; when
    the block ends without error the file gets the mode ``open()`` would give it
    (0666 minus the umask), is fsynced (with ``fsync``) and renamed over ``path``
    with ``os.replace`` (then the folder entry is fsynced too), so a reader sees
    the old or the new file, never half of one.  On any error the temporary file
    is removed and the error propagates; the ``OSError`` of creating the
    temporary file propagates before the block runs."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600: give the file the mode open() would
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        with contextlib.suppress(OSError):  # make the rename itself durable
            dfd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def atomic_write_bytes(path: Path | str, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`).  Returns the path."""
    with atomic_open(path, "wb", fsync=fsync) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so a reader never sees a half-written file and a crash leaves
    the previous version intact.  Returns the path."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: Path | str, value, *, indent: int | None = 1, **dumps_kw) -> Path:
    """Write ``value`` as JSON (with a final newline) to ``path`` atomically.  Returns the path."""
    return atomic_write_text(path, json.dumps(value, indent=indent, **dumps_kw) + "\n")
