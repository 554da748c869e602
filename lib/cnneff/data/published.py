"""Published layouts the full run reads that the other loaders do not: RMFD as its
authors ship it (``rmfd:PATH``), the ImageNet-1k validation folder
(``imagenet-val:PATH``) and CIFAR's python pickles without the official
checksums (``cifar10-unverified:PATH``, ``cifar100-unverified:PATH``: re-packed
copies and the rehearsal tree of :mod:`cnneff.rehearsal`).

* **RMFD** (Wang et al. 2020, "self-built-masked-face-recognition-dataset"):
  ``PATH/AFDB_face_dataset/<person>/*.jpg`` (unmasked) and
  ``PATH/AFDB_masked_face_dataset/<person>/*.jpg`` (masked) read as the two
  classes ``face`` and ``masked`` (the book's ``face/`` + ``masked/`` order),
  split per image like ``folder:`` (a person may appear in several splits).
* **ImageNet-1k val**: ``PATH/val/<wnid>/*.JPEG`` (or ``PATH`` = the ``val/``
  folder itself), the 1,000 ILSVRC-2012 WordNet-id folders; label ``k`` is the
  ``k``-th wnid in sorted order, torchvision's ImageFolder order and the class
  index of every published ImageNet weight file.  Every image is in ``test``
  (train and val are empty) and is streamed, never cached in memory.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .containers import DataError, Splits
from .files import _streamed, file_splits
from .folders import _is_image, _scan_classes

__all__ = ["RMFD_FOLDERS", "RMFD_RELEASE", "rmfd", "WNID", "imagenet_wnids", "imagenet_val",
           "cifar10_unverified", "cifar100_unverified"]

RMFD_FOLDERS = {"face": "AFDB_face_dataset", "masked": "AFDB_masked_face_dataset"}  # class -> published folder
RMFD_RELEASE = "self-built-masked-face-recognition-dataset"  # the folder the published archive extracts to
WNID = re.compile(r"^n\d{8}$")  # a WordNet noun id as ImageNet names its class folders


def _rmfd_base(root: Path) -> Path:
    """The folder holding both AFDB folders: ``root`` or ``root/RMFD_RELEASE``; FileNotFoundError otherwise."""
    for base in (root, root / RMFD_RELEASE):
        if all((base / d).is_dir() for d in RMFD_FOLDERS.values()):
            return base
    raise FileNotFoundError(f"{root} holds no {' and '.join(RMFD_FOLDERS.values())} folders; rmfd:PATH expects "
                            "RMFD as published (PATH/AFDB_face_dataset/<person>/*.jpg and "
                            "PATH/AFDB_masked_face_dataset/<person>/*.jpg); for face/ + masked/ use folder:PATH")


def rmfd(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
         skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """RMFD/MFDD in its published layout (see the module docstring): the
    persons' images of ``AFDB_face_dataset`` are class 0 ``face``, those of
    ``AFDB_masked_face_dataset`` class 1 ``masked``; stratified 80/10/10 split,
    other arguments as :func:`~cnneff.data.image_folder`.
    Returns a :class:`Splits` (in memory, or streamed above ``STREAM_THRESHOLD`` images) of uint8 images,
    ``image_size`` x ``image_size`` pixels."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist; pass the folder that holds AFDB_face_dataset/ and "
                                "AFDB_masked_face_dataset/ (rmfd:PATH)")
    base = _rmfd_base(root.resolve())
    items = []
    for label, (cls, folder) in enumerate(RMFD_FOLDERS.items()):
        files = sorted(str(p) for p in (base / folder).rglob("*") if p.is_file() and _is_image(p))  # <person>/*.jpg
        if not files:
            raise DataError(f"{base / folder} holds no images; restore the {cls} images of RMFD there")
        items += [(p, label) for p in files]
    return file_splits(f"rmfd:{base}", {"train": items, "val": None, "test": None}, list(RMFD_FOLDERS),
                       image_size, subset, seed, skip_corrupt, stream)


def imagenet_wnids() -> list[str]:
    """Returns the 1,000 WordNet ids of ImageNet-1k (ILSVRC-2012) in sorted order,
    i.e. the class index of published ImageNet weights, from the list timm ships
    (``timm/data/_info/imagenet_synsets.txt``, the real list)."""
    from importlib import resources

    try:
        text = (resources.files("timm.data") / "_info" / "imagenet_synsets.txt").read_text()
    except (ModuleNotFoundError, FileNotFoundError) as e:  # pragma: no cover - timm is pinned
        raise FileNotFoundError(f"timm's ImageNet class list is missing ({e}); reinstall the pinned timm") from None
    return sorted(text.split())


def _val_folder(root: Path) -> Path:
    """``root/val`` when it exists, else ``root``; FileNotFoundError when neither is a folder."""
    if (root / "val").is_dir():
        return root / "val"
    if root.is_dir():
        return root
    raise FileNotFoundError(f"{root} does not exist; pass the ImageNet folder that holds val/<wnid>/*.JPEG "
                            "(imagenet-val:PATH)")


def _check_wnids(val: Path, names: list[str]) -> None:
    """DataError unless ``names`` are exactly the 1,000 ILSVRC-2012 WordNet ids."""
    bad = [n for n in names if not WNID.match(n)]
    if bad:
        raise DataError(f"{val} has class folder(s) that are not WordNet ids (nXXXXXXXX): {', '.join(bad[:5])}; "
                        "imagenet-val needs the 1,000 wnid folders of ILSVRC-2012 val")
    if len(names) != 1000:
        raise DataError(f"{val} has {len(names)} WordNet-id folders, ImageNet-1k has 1,000; sort the 50,000 val "
                        "images into their 1,000 class folders (e.g. with the valprep.sh script)")
    missing = sorted(set(imagenet_wnids()) - set(names))
    if missing:
        raise DataError(f"{val} lacks the ImageNet-1k class folder(s) {', '.join(missing[:5])} (and holds others "
                        "instead); the class index of published weights needs the ILSVRC-2012 wnids")


def imagenet_val(root: str | os.PathLike, image_size: int = 224, subset: int | None = None, seed: int = 0,
                 skip_corrupt: bool = False) -> Splits:
    """The ImageNet-1k validation images in ``root/val/<wnid>/`` (or ``root``
    itself holding the wnid folders), labels in sorted-wnid order (torchvision's
    ImageFolder order, the index of published ImageNet weights).  Everything is
    in ``test``; train and val are empty.  ``subset=K`` keeps a seeded random
    sample of K images.  Streamed: items are decoded when read (shorter side
    resized to ``image_size``, centre square), 3 channels (grayscale and CMYK
    JPEGs converted).  ``skip_corrupt`` decodes every file once first and drops
    the unreadable ones.  Returns a :class:`Splits` of :class:`FolderImages`."""
    root = Path(root).expanduser()
    val = _val_folder(root).resolve()
    found = _scan_classes(val, "imagenet-val")
    names = list(found)
    _check_wnids(val, names)
    items = [(p, k) for k, n in enumerate(names) for p in found[n]]
    if subset is not None:
        if not isinstance(subset, (int, np.integer)) or isinstance(subset, bool) or subset < 1:
            raise ValueError(f"subset must be a positive integer (images to keep), got {subset!r}")
        if subset < len(items):
            pick = np.sort(np.random.default_rng([seed, 3]).choice(len(items), size=int(subset), replace=False))
            items = [items[i] for i in pick]
    parts = {"train": [], "val": [], "test": items}
    return _streamed(f"imagenet-val:{val}", parts, names, image_size, skip_corrupt, "", 3, seed)


def _unverified(cls):
    """torchvision's CIFAR class ``cls`` with the md5 checks switched off
    (torchvision's ``check_integrity(path, None)`` only checks the file exists).
    Returns the subclass."""
    return type(f"{cls.__name__}Unverified", (cls,), {
        "train_list": [[f, None] for f, _ in cls.train_list], "test_list": [[f, None] for f, _ in cls.test_list],
        "meta": {**cls.meta, "md5": None}})


def _cifar_unverified(cls_name: str, base: str, root, image_size, subset, val_fraction, seed) -> Splits:
    """CIFAR-10/100 read by torchvision's own reader without the checksums; as :func:`cifar10`."""
    import torchvision

    from .arrays import _array_splits

    root = Path(root).expanduser()
    if root.name == base:
        root = root.parent
    cls = getattr(torchvision.datasets, cls_name)
    names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    missing = [f for f in names if not (root / base / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{root / base} lacks {', '.join(missing)}; put the python version of "
                                f"{cls_name[:5]}-{cls_name[5:]} ({base}/, its pickles) under {root}")
    reader = _unverified(cls)
    try:
        tr, te = reader(str(root), train=True), reader(str(root), train=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means files in another format
        raise DataError(f"{root / base} cannot be read as CIFAR python pickles ({type(e).__name__}: {e}); "
                        "write them as the official python version does") from None
    to_nchw = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.uint8).transpose(0, 3, 1, 2))  # noqa: E731
    return _array_splits(f"{cls_name.lower()}-unverified", to_nchw(tr.data), np.asarray(tr.targets, dtype=np.int64),
                         to_nchw(te.data), np.asarray(te.targets, dtype=np.int64), list(tr.classes),
                         image_size, subset, val_fraction, seed, "")


def cifar10_unverified(root: str | os.PathLike, image_size: int = 32, subset: int | None = None,
                       val_fraction: float = 0.1, seed: int = 0) -> Splits:
    """CIFAR-10's python pickles under ``root/cifar-10-batches-py`` read by
    torchvision's reader *without* the official md5 checksums (any number of
    images per batch: re-packed copies, the rehearsal tree); otherwise as
    :func:`~cnneff.data.cifar10`.  Returns a :class:`Splits` of uint8 images,
    ``image_size`` x ``image_size`` pixels."""
    return _cifar_unverified("CIFAR10", "cifar-10-batches-py", root, image_size, subset, val_fraction, seed)


def cifar100_unverified(root: str | os.PathLike, image_size: int = 32, subset: int | None = None,
                        val_fraction: float = 0.1, seed: int = 0) -> Splits:
    """CIFAR-100 (fine labels) from ``root/cifar-100-python`` without the
    checksums; as :func:`cifar10_unverified`.  Returns a :class:`Splits` of
    uint8 images, ``image_size`` x ``image_size`` pixels."""
    return _cifar_unverified("CIFAR100", "cifar-100-python", root, image_size, subset, val_fraction, seed)
