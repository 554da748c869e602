"""The ``--data SOURCE[:PATH]`` dispatcher: :data:`SOURCES` and :func:`load`."""
from __future__ import annotations

from .containers import Splits
from .folders import deepweeds, image_folder
from .elpv import elpv
from .arrays import cifar10, cifar100, fashion_mnist


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
