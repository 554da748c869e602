"""What every loader returns: :class:`ImageSet` (in-memory uint8 images + labels),
:class:`FolderImages` (decoded per item), :class:`Splits` (train/val/test + metadata), :class:`DataError`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .pixels import decode_image, oneline


_SPLIT_NAMES = ("train", "val", "test")
_SKIP_HINT = "delete it or pass skip_corrupt=True (cnneff train --skip-corrupt)"


class DataError(ValueError):
    """A data set is malformed (empty class, too few classes, corrupt image,
    labels naming missing files); the message names the path and the fix."""


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
            x = decode_image(path, self.image_size, "L" if self.channels == 1 else "RGB")
        except Exception as e:  # noqa: BLE001 - any decoder failure means an unreadable file
            raise DataError(f"{path}: cannot read image ({oneline(e)}); {_SKIP_HINT}") from None
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
