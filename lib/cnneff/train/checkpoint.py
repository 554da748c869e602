"""Checkpoint files of :func:`cnneff.train.fit`: the run identity they carry,
the folder lock, atomic writes and safe reads.

* :func:`run_identity`: every setting that changes the result (from
  :class:`~cnneff.train.config.TrainConfig`), the model's identity (name, class,
  parameter count, hash of the parameter shapes) and the data's (source,
  classes, each split's size and content fingerprint).
* :func:`check_checkpoint_dir` / ``locked``: a writable folder, held by one fit at a time.
* ``atomic_save`` / ``read_checkpoint``: ``last.pt`` is replaced atomically and
  loaded with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from ..core import atomic_open, probe_writable
from .config import TrainConfig, TrainError

__all__ = ["CheckpointError", "run_identity", "model_identity", "data_identity", "data_fingerprint",
           "check_checkpoint_dir", "identity_diff", "open_checkpoint", "locked", "atomic_save", "read_checkpoint",
           "why", "why_unloadable"]


class CheckpointError(TrainError):
    """A checkpoint folder or file cannot be used: it belongs to another run, is
    unreadable, is locked by a running fit, or cannot be written.  The one-line
    message names the file and the fix (another checkpoint folder, or restart)."""


_CKPT_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "callbacks", "history", "epoch", "step",
              "randaug", "mixup")
_HASH_FIELDS = ("architecture", "trainable", "classes")  # shown by name only when they differ


def why(e: BaseException, limit: int = 140) -> str:
    """One line of an exception's message, at most ``limit`` characters."""
    text = " ".join(str(getattr(e, "strerror", None) or e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


_BOILERPLATE = (r"Weights only load failed\.", r"In PyTorch 2\.6, .*? trusted source\.",
                r"Check the documentation of torch\.load .*$", r"Please file an issue .*$")


def why_unloadable(e: BaseException) -> str:
    """A short reason why ``torch.load`` failed, in whole sentences: a file
    that asks for a Python object (code) is named as such and refused; the
    weights-only unpickler's advice about allow-lists and ``weights_only=False``
    is dropped (it is irrelevant to a damaged file and wrong for a hostile
    one).  Returns one line."""
    text = " ".join(str(e).split())
    m = re.search(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL) ([\w.]+)", text)
    if m:
        return (f"it asks to import the Python object {m.group(1)}, which a state dict never needs; "
                "refused without running it")
    m = re.search(r"Unpickler error: (.*?)(?: Check the documentation|$)", text)
    if m:
        return f"not a PyTorch file: {m.group(1).strip() or 'unpickling failed'}"
    for pattern in _BOILERPLATE:
        text = re.sub(pattern, "", text).strip()
    first = re.split(r"(?<=[.!?])\s", text or type(e).__name__)[0]
    return f"{type(e).__name__}: {first if len(first) <= 160 else first[:157].rsplit(' ', 1)[0] + ' ...'}"


def _digest(parts: Iterable) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def data_fingerprint(dataset) -> str:
    """Identity of one split's content: ``"N x CxHxW <hash>"``.  In-memory sets
    hash every label, 64 evenly spaced whole images and a strided sample of
    about 4 M bytes over the whole uint8 tensor (so another data set with the
    same image count, or another stored size, changes it); streamed folders hash
    every path and label plus the size and mtime of 64 files.  Returns the string."""
    n = len(dataset)
    h = hashlib.sha256()
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        h.update(torch.as_tensor(labels).to(torch.int64).cpu().contiguous().numpy().tobytes())
    images, items = getattr(dataset, "images", None), getattr(dataset, "items", None)
    if isinstance(images, torch.Tensor):
        x = images.detach().cpu()
        shape = "x".join(map(str, x.shape[1:]))
        h.update(f"{tuple(x.shape)} {x.dtype}".encode())
        if n:
            idx = torch.linspace(0, n - 1, min(n, 64)).round().long().unique()
            h.update(x[idx].contiguous().numpy().tobytes())
            flat = x.reshape(-1)
            h.update(flat[:: max(1, flat.numel() // (1 << 22))].contiguous().numpy().tobytes())
    elif items is not None:
        size, ch = getattr(dataset, "image_size", "?"), getattr(dataset, "channels", "?")
        shape = f"{ch}x{size}x{size}"
        for p, y in items:
            h.update(f"{p}\t{y}\n".encode())
        for i in range(0, n, max(1, n // 64)):
            try:
                st = os.stat(items[i][0])
                h.update(f"{st.st_size} {st.st_mtime_ns}".encode())
            except OSError:
                h.update(b"missing")
    else:
        shape = "?"
        for i in range(0, n, max(1, n // 16)):
            x, y = dataset[i]
            x = torch.as_tensor(x)
            shape = "x".join(map(str, x.shape))
            h.update(x.cpu().contiguous().numpy().tobytes() + str(int(y)).encode())
    return f"{n} x {shape} {h.hexdigest()[:16]}"


def model_identity(model: nn.Module) -> dict:
    """Who a model is, as a checkpoint records it: ``model`` (registry name or
    class name), ``architecture`` (hash of the state-dict keys, shapes and
    dtypes), ``parameters`` (number of parameter elements), ``trainable``
    (hash of the names of the parameters that require grad).  Returns a dict."""
    m = model.module if hasattr(model, "module") else model
    return dict(model=getattr(m, "cnneff_name", None) or type(m).__qualname__,
                architecture=_digest(f"{k}:{tuple(v.shape)}:{v.dtype}" for k, v in m.state_dict().items()),
                parameters=sum(p.numel() for p in m.parameters()),
                trainable=_digest(k for k, p in m.named_parameters() if p.requires_grad))


def data_identity(data) -> dict:
    """What data a run sees: ``data`` (source name), ``num_classes``, ``classes``
    (hash of the names) and ``train_set`` / ``val_set`` / ``test_set`` (each
    :func:`data_fingerprint`: size, image shape and a content hash, or "none").
    Returns a dict."""
    classes = [str(c) for c in (getattr(data, "classes", None) or [])]
    out = dict(data=str(getattr(data, "name", "") or type(data.train).__name__),
               num_classes=len(classes), classes=_digest(classes))
    for split in ("train", "val", "test"):
        ds = getattr(data, split, None)
        out[f"{split}_set"] = data_fingerprint(ds) if ds is not None else "none"
    return out


def run_identity(model: nn.Module, data, config: TrainConfig | dict | None = None, **resolved) -> dict:
    """The identity of a training run, as a checkpoint stores it: the settings
    (``config.identity()``: every :class:`~cnneff.train.config.TrainConfig` field
    except the reporting/location ones in ``NOT_IN_IDENTITY``; a plain dict is
    taken as is), then ``resolved`` (values fit works out, overriding the
    config's: the actual ``image_size``, ``mean``, ``std``, ``processes``,
    ``callbacks``; ``threads``, torch's CPU thread count, comes first and may
    be overridden the same way), then :func:`model_identity` and :func:`data_identity`.
    Returns a flat dict of JSON values."""
    if isinstance(config, TrainConfig):
        out = config.identity()
    else:
        out = dict(config or {})
    out["threads"] = torch.get_num_threads()  # the CPU thread count changes the reduction order, so the result
    out.update(resolved)
    out.update(model_identity(model))
    out.update(data_identity(data))
    return json.loads(json.dumps(out, default=str))  # tuples -> lists, exactly as a reload sees them


def identity_diff(old: dict, new: dict) -> list[str]:
    """Fields whose values differ, as ``"lr 0.1 -> 0.5"`` (values shown when short).
    Returns the list of those strings (empty: same run)."""
    out = []
    for k in list(new) + [k for k in old if k not in new]:
        a, b = old.get(k, "(absent)"), new.get(k, "(absent)")
        if a == b:
            continue
        ra, rb = (json.dumps(v) if not isinstance(v, str) else v for v in (a, b))
        out.append(k if k in _HASH_FIELDS or len(ra) + len(rb) > 50 else f"{k} {ra} -> {rb}")
    return out


def check_checkpoint_dir(checkpoint_dir: str | Path) -> Path:
    """Create ``checkpoint_dir`` if needed and prove it writable (a temporary
    file is created and removed).  Returns it as a Path; raises
    :class:`CheckpointError` naming the folder and the fix otherwise."""
    folder = Path(checkpoint_dir).expanduser()
    try:
        probe_writable(folder)
    except OSError as e:
        raise CheckpointError(f"cannot write to checkpoint folder {folder} ({why(e)}); "
                              "pass a writable --checkpoint-dir") from None
    return folder


@contextlib.contextmanager
def locked(folder: Path):
    """Hold ``folder/.lock`` (``fcntl.flock``, exclusive) while the block runs;
    :class:`CheckpointError` if another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = folder / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise CheckpointError(f"cannot write to checkpoint folder {folder} ({why(e)}); "
                              "pass a writable --checkpoint-dir") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        who = f"process {holder}" if holder else "another process"
        raise CheckpointError(f"checkpoint folder {folder} is in use by a running fit ({who} holds {path}); "
                              "wait for it to finish or pass another --checkpoint-dir") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def atomic_save(obj, path: Path):
    """``torch.save`` to a unique temporary file beside ``path``, fsync, then
    ``os.replace`` (:func:`cnneff.core.atomic_open`): a reader (or a resumed
    run) sees the old or the new file, never half of one.  The temporary file
    is removed on any failure; a failed write (disk full, folder gone) raises
    :class:`CheckpointError`."""
    opened = False
    try:
        with atomic_open(path, "wb", fsync=True, mkdir=False) as f:
            opened = True
            torch.save(obj, f)
    except (OSError, RuntimeError) as e:  # torch reports a full disk as a RuntimeError of its zip writer
        reason = why(e)
        if not opened:
            raise CheckpointError(f"cannot write checkpoint {path} ({reason}); "
                                  "pass a writable --checkpoint-dir") from None
        with contextlib.suppress(OSError):
            if getattr(e, "errno", None) == 28 or shutil.disk_usage(path.parent).free < (16 << 20):
                reason = "no space left on device"
        raise CheckpointError(f"cannot write checkpoint {path} ({reason}); free disk space or pass another "
                              "--checkpoint-dir, then rerun: it resumes from the last complete epoch") from None


def read_checkpoint(path: Path) -> dict:
    """Load a checkpoint onto the CPU; :class:`CheckpointError` naming the file
    if it cannot be read or is not one of :func:`fit`'s checkpoints."""
    fix = "delete it or pass --restart (fit(restart=True)) to start over"
    try:
        if path.stat().st_size == 0:
            raise EOFError("the file is empty")
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to unpickle means an unusable file
        raise CheckpointError(f"checkpoint {path} is unreadable ({why_unloadable(e)}): it is corrupt, truncated "
                              f"or empty; {fix}") from None
    if not isinstance(saved, dict) or any(k not in saved for k in _CKPT_KEYS):
        raise CheckpointError(f"{path} is not a training checkpoint of cnneff.train.fit; {fix}")
    return saved


def open_checkpoint(held: contextlib.ExitStack, folder: str | Path, identity: dict, *, rank: int = 0,
                    restart: bool = False) -> tuple[Path, dict | None]:
    """Prepare ``folder/last.pt`` for the run ``identity``: rank 0 makes sure the
    folder is writable, holds its lock for the lifetime of ``held`` and removes
    temporary files a killed run left; unless ``restart``, an existing
    ``last.pt`` is read, and refused (:class:`CheckpointError` naming the
    differing fields) if it records another run.  Returns ``(path of last.pt,
    the saved checkpoint dict or None)``."""
    folder = Path(folder).expanduser()
    ckpt = folder / "last.pt"
    if rank == 0:
        check_checkpoint_dir(folder)
        held.enter_context(locked(folder))
        for stale in folder.glob(".last.pt.*.tmp"):  # left by a killed run; the lock says none is writing
            with contextlib.suppress(OSError):
                stale.unlink()
    if restart or not ckpt.is_file():
        return ckpt, None
    saved = read_checkpoint(ckpt)
    old = saved.get("identity")
    if not isinstance(old, dict):
        raise CheckpointError(f"checkpoint {ckpt} does not record its run (written by an older cnneff), "
                              "so it cannot be matched to this one; pass another --checkpoint-dir, "
                              "or --restart to discard it and start over")
    diffs = identity_diff(old, identity)
    if diffs:
        raise CheckpointError(f"checkpoint {ckpt} belongs to another run (differs in {', '.join(diffs)});"
                              " pass another --checkpoint-dir, or --restart to discard it and start over")
    return ckpt, saved

