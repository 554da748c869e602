"""Array sources read into memory and resized there: Fashion-MNIST (IDX files), CIFAR-10/100 (pickles)."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from .pixels import resize_square
from .containers import DataError, ImageSet, Splits
from .splits import apply_subset, stratified_split


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
    tr, va, _ = stratified_split(y_train, val_fraction, 0.0, seed)
    te = np.arange(len(y_test), dtype=np.int64)
    tr, va, te = apply_subset((tr, va, te), (y_train, y_train, y_test), subset, seed)
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
    test by the same fraction as train (e.g. subset=2000 keeps 370 test images).
    Returns a :class:`Splits` of uint8 images, ``image_size`` x ``image_size`` pixels."""
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
    official 10,000 test images, 32x32 RGB; ``subset`` as :func:`fashion_mnist`.
    Returns a :class:`Splits` of uint8 images, ``image_size`` x ``image_size`` pixels."""
    return _cifar("CIFAR10", "cifar-10-batches-py", root, image_size, subset, val_fraction, seed)


def cifar100(root: str | os.PathLike, image_size: int = 32, subset: int | None = None, val_fraction: float = 0.1,
             seed: int = 0) -> Splits:
    """CIFAR-100 (100 fine classes) from ``root/cifar-100-python``; as :func:`cifar10`.
    Returns a :class:`Splits` of uint8 images, ``image_size`` x ``image_size`` pixels."""
    return _cifar("CIFAR100", "cifar-100-python", root, image_size, subset, val_fraction, seed)
