"""Random stand-ins for the published ImageNet weight files of
:data:`~cnneff.rehearsal.expected.WEIGHT_FILES`: the publisher's architecture
(torchvision's or timm's, 1,000 classes) with seeded fresh weights, saved as a
plain state dict under the publisher's key names and file name, so every code
path that loads the real file loads this one."""
from __future__ import annotations

from pathlib import Path

from .expected import WEIGHT_FILES, WeightFile

__all__ = ["publisher_model", "write_weights"]


def publisher_model(w: WeightFile, seed: int = 0):
    """Returns the publisher's network for ``w`` (``w.arch`` = "torchvision NAME"
    or "timm NAME"), 1,000 classes, weights freshly initialized from ``seed``."""
    import torch

    library, _, arch = w.arch.partition(" ")
    torch.manual_seed(seed)
    if library == "torchvision":
        import torchvision

        return torchvision.models.get_model(arch, weights=None, num_classes=1000)
    if library == "timm":
        import timm

        return timm.create_model(arch, pretrained=False, num_classes=1000)
    raise ValueError(f"weight file {w.path}: unknown library {library!r} in arch {w.arch!r}; use torchvision or timm")


def write_weights(root: Path, seed: int = 0) -> list[dict]:
    """Write every file of :data:`WEIGHT_FILES` under ``root`` (= DATA_ROOT) as a
    random state dict.  Returns one summary per file: ``name`` (the path),
    ``path``, ``model``, ``format``, ``tensors``, ``files`` (1) and ``bytes``."""
    import torch

    out = []
    for i, w in enumerate(WEIGHT_FILES):
        path = Path(root) / w.path
        path.parent.mkdir(parents=True, exist_ok=True)
        sd = publisher_model(w, seed + i).state_dict()
        torch.save(sd, path)
        out.append(dict(name=w.path, path=w.path, model=w.model, format=w.format, tensors=len(sd), files=1,
                        bytes=path.stat().st_size))
    return out
