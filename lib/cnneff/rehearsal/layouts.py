"""Writers of the rehearsal data sets, one per published layout (see
:data:`cnneff.rehearsal.expected.DATASETS`).  Each ``write_*(root, seed)``
writes real image files (or CIFAR's pickles) under ``root`` = DATA_ROOT and
returns a summary dict: ``name``, ``path`` (relative to root), ``source`` (the
``--data`` spec that reads it, DATA_ROOT expanded), ``images``, ``classes``,
``files`` (files written) and ``bytes``.
"""
from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np

from ..data.published import RMFD_FOLDERS, imagenet_wnids
from .images import as_array, class_image, encode, face_image, image_rng
from .names import CIFAR10_CLASSES, CIFAR100_SUPERCLASSES, DEEPWEEDS_SPECIES, IMAGENET100_WNIDS, RPS_CLASSES, \
    cifar100_fine_names

__all__ = ["SIZES", "WRITERS", "write_rmfd", "write_deepweeds", "write_cifar", "write_imagenet100",
           "write_imagenet100_64", "write_imagenet_val", "write_imagenet_train",
           "write_rps"]

SIZES = {  # images per class of each rehearsal set (the real ones: thousands)
    "rmfd": (6, 5),  # persons per class, images per person
    "deepweeds": (10, 20),  # per weed species, Negative (the majority class, as published)
    "cifar10": (10, 5),  # per class: training (2 in each of the 5 batches), test
    "cifar100": (5, 2),  # per class: training, test
    "imagenet100": (5, 2),  # per class: train/, val/
    "imagenet": (1,),  # per class in val/
    "imagenet_train": (2,),  # per class in train/ (paper 004's Table 3 rows trained from scratch)
    "rps": (10, 4),  # per class: rps/, rps-test-set/
}


class _Tree:
    """Counts what is written under one data set's folder."""

    def __init__(self, root: Path, rel: str):
        self.root, self.rel, self.files, self.bytes = root, rel, 0, 0

    def write(self, rel_path: str, data: bytes) -> None:
        """Write ``data`` to ``root/rel_path`` (folders created) and count it.  Returns None."""
        p = self.root / rel_path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        self.files += 1
        self.bytes += len(data)

    def summary(self, name: str, source: str, images: int, classes: int) -> dict:
        """Returns the data set's summary dict (see the module docstring)."""
        return dict(name=name, path=self.rel, source=source.replace("${DATA_ROOT}", str(self.root)), images=images,
                    classes=classes, files=self.files, bytes=self.bytes)


def write_rmfd(root: Path, seed: int = 0) -> list[dict]:
    """RMFD twice: ``rmfd_afdb/`` as published (``AFDB_face_dataset/<person>/``,
    ``AFDB_masked_face_dataset/<person>/``) and the book's ``rmfd/face/<person>/``
    + ``rmfd/masked/<person>/`` (the same JPEGs, two classes through
    ``folder:``).  Returns the two summaries."""
    persons, per = SIZES["rmfd"]
    afdb, book = _Tree(root, "rmfd_afdb"), _Tree(root, "rmfd")
    for label, (cls, folder) in enumerate(RMFD_FOLDERS.items()):
        for p in range(persons):
            for i in range(per):
                im = face_image(p, cls == "masked", image_rng(seed, "rmfd", label, p * per + i), 64)
                data = encode(im, "JPEG")
                afdb.write(f"rmfd_afdb/{folder}/person{p:03d}/{i:04d}.jpg", data)
                book.write(f"rmfd/{cls}/person{p:03d}/{i:04d}.jpg", data)
    n = 2 * persons * per
    return [book.summary("rmfd", "folder:${DATA_ROOT}/rmfd", n, 2),
            afdb.summary("rmfd_afdb", "rmfd:${DATA_ROOT}/rmfd_afdb", n, 2)]


def write_deepweeds(root: Path, seed: int = 0) -> list[dict]:
    """DeepWeeds as published: ``deepweeds/images/*.jpg`` (64 px here, 256 px
    there) and ``deepweeds/labels.csv`` (Filename,Label,Species; Label 0..8,
    8 = Negative), rows sorted by file name.  Returns the one summary."""
    weeds, negative = SIZES["deepweeds"]
    tree, rows = _Tree(root, "deepweeds"), []
    for k, species in enumerate(DEEPWEEDS_SPECIES):
        for i in range(negative if species == "Negative" else weeds):
            name = f"20170{k + 1}{i + 1:02d}-{120000 + 7 * i:06d}-{i % 3}.jpg"
            tree.write(f"deepweeds/images/{name}", encode(class_image(k, image_rng(seed, "deepweeds", k, i),
                                                                      (64, 64)), "JPEG"))
            rows.append(f"{name},{k},{species}")
    tree.write("deepweeds/labels.csv", ("Filename,Label,Species\n" + "\n".join(sorted(rows)) + "\n").encode())
    return [tree.summary("deepweeds", "deepweeds:${DATA_ROOT}/deepweeds", len(rows), len(DEEPWEEDS_SPECIES))]


def _cifar_rows(dataset: str, labels: list[int], seed: int, tag: int) -> np.ndarray:
    """CIFAR's ``data`` array for ``labels``: uint8 [N, 3072], each row the 32 x 32
    image's R, G and B planes.  Returns it."""
    rows = [as_array(class_image(k, image_rng(seed, dataset, k, tag * 100_000 + i), (32, 32))).transpose(2, 0, 1)
            .reshape(-1) for i, k in enumerate(labels)]
    return np.stack(rows).astype(np.uint8)


class _Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did for the python-version CIFAR files:
    protocol 2, every ``str`` and ``bytes`` (the dict keys, the array's raw
    data) as a Python 2 byte string (SHORT_BINSTRING / BINSTRING), so
    ``pickle.load(f, encoding="bytes")`` gives ``b"data"`` keys as the
    originals do and ``encoding="latin1"`` (torchvision's reader) gives str."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_string(self, obj):
        raw = obj.encode("latin-1") if isinstance(obj, str) else bytes(obj)
        head = pickle.SHORT_BINSTRING + bytes([len(raw)]) if len(raw) < 256 else \
            pickle.BINSTRING + struct.pack("<i", len(raw))
        self.write(head + raw)
        self.memoize(obj)

    dispatch[str] = save_py2_string
    dispatch[bytes] = save_py2_string


def _pickle(obj) -> bytes:
    """Returns ``obj`` pickled as the python-version CIFAR files are (:class:`_Py2Pickler`)."""
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _shuffled(rng: np.random.Generator, per_class: int, classes: int) -> list[int]:
    """Returns ``per_class`` labels of each of ``classes`` classes in a random order."""
    return [int(k) for k in rng.permutation(np.repeat(np.arange(classes), per_class))]


def write_cifar(root: Path, seed: int = 0) -> list[dict]:
    """CIFAR-10 (``cifar/cifar-10-batches-py/``: data_batch_1..5, test_batch,
    batches.meta) and CIFAR-100 (``cifar/cifar-100-python/``: train, test, meta)
    as the python version's pickles, read by torchvision's reader (the
    ``cifar10-unverified:`` / ``cifar100-unverified:`` sources: ``cifar10:``
    checks the official md5 sums, which only the real files have).  Returns two summaries."""
    rng = np.random.default_rng([seed, 10])
    c10, c100 = _Tree(root, "cifar/cifar-10-batches-py"), _Tree(root, "cifar/cifar-100-python")
    train10, test10 = SIZES["cifar10"]
    for b in range(5):
        labels = _shuffled(rng, train10 // 5, 10)
        c10.write(f"cifar/cifar-10-batches-py/data_batch_{b + 1}", _pickle(dict(
            batch_label=f"training batch {b + 1} of 5", labels=labels, data=_cifar_rows("cifar10", labels, seed, b),
            filenames=[f"rehearsal_{b}_{i:05d}.png" for i in range(len(labels))])))
    labels = _shuffled(rng, test10, 10)
    c10.write("cifar/cifar-10-batches-py/test_batch", _pickle(dict(
        batch_label="testing batch 1 of 1", labels=labels, data=_cifar_rows("cifar10", labels, seed, 9),
        filenames=[f"rehearsal_test_{i:05d}.png" for i in range(len(labels))])))
    c10.write("cifar/cifar-10-batches-py/batches.meta", _pickle(dict(
        num_cases_per_batch=train10 // 5 * 10, label_names=list(CIFAR10_CLASSES), num_vis=3072)))
    fine = cifar100_fine_names()
    coarse_of = {f: c for c, (name, fs) in enumerate(CIFAR100_SUPERCLASSES.items()) for f in fs}
    for split, per, tag in (("train", SIZES["cifar100"][0], 0), ("test", SIZES["cifar100"][1], 1)):
        labels = _shuffled(rng, per, 100)
        c100.write(f"cifar/cifar-100-python/{split}", _pickle(dict(
            filenames=[f"rehearsal_{split}_{i:05d}.png" for i in range(len(labels))],
            batch_label=f"{split}ing batch 1 of 1",
            fine_labels=labels, coarse_labels=[coarse_of[fine[k]] for k in labels],
            data=_cifar_rows("cifar100", labels, seed, tag))))
    c100.write("cifar/cifar-100-python/meta", _pickle(dict(fine_label_names=fine,
                                                           coarse_label_names=list(CIFAR100_SUPERCLASSES))))
    n10, n100 = sum(SIZES["cifar10"]) * 10, sum(SIZES["cifar100"]) * 100
    return [c10.summary("cifar10", "cifar10-unverified:${DATA_ROOT}/cifar", n10, 10),
            c100.summary("cifar100", "cifar100-unverified:${DATA_ROOT}/cifar", n100, 100)]


def _imagenet_folders(tree: _Tree, seed: int, base: str, square: bool) -> int:
    """ImageNet-100's ``train/<wnid>/`` and ``val/<wnid>/`` under ``base``;
    classes look as in ImageNet-1k (signature of the wnid's 1k index).
    Returns the number of images written."""
    index = {w: k for k, w in enumerate(imagenet_wnids())}
    train, val = SIZES["imagenet100"]
    n = 0
    for wnid in IMAGENET100_WNIDS:
        k = index[wnid]
        for split, count, offset in (("train", train, 0), ("val", val, 1000)):
            for i in range(count):
                size = (64, 64) if square else ((64, 48) if i % 2 == 0 else (48, 64))
                im = class_image(k, image_rng(seed, base, k, offset + i), size)
                name = f"{wnid}_{i + 1}.JPEG" if split == "train" else f"ILSVRC2012_val_{k * 50 + i + 1:08d}.JPEG"
                tree.write(f"{base}/{split}/{wnid}/{name}", encode(im, "JPEG"))
                n += 1
    return n


def write_imagenet100(root: Path, seed: int = 0) -> list[dict]:
    """ImageNet-100 (``imagenet100/{train,val}/<wnid>/*.JPEG``, the 100 wnids of
    :data:`~cnneff.rehearsal.names.IMAGENET100_WNIDS`; 64 x 48 and 48 x 64 px
    images, as ImageNet's are not square).  Returns the one summary."""
    tree = _Tree(root, "imagenet100")
    n = _imagenet_folders(tree, seed, "imagenet100", square=False)
    return [tree.summary("imagenet100", "folder:${DATA_ROOT}/imagenet100", n, len(IMAGENET100_WNIDS))]


def write_imagenet100_64(root: Path, seed: int = 0) -> list[dict]:
    """The 64 px variant paper 001's gpu profile reads
    (``imagenet100_64/{train,val}/<wnid>/*.JPEG``, 64 x 64 px).  Returns the one summary."""
    tree = _Tree(root, "imagenet100_64")
    n = _imagenet_folders(tree, seed, "imagenet100_64", square=True)
    return [tree.summary("imagenet100_64", "folder:${DATA_ROOT}/imagenet100_64", n, len(IMAGENET100_WNIDS))]


def write_imagenet_val(root: Path, seed: int = 0) -> list[dict]:
    """ImageNet-1k val: ``imagenet/val/<wnid>/ILSVRC2012_val_NNNNNNNN.JPEG`` for
    the 1,000 real ILSVRC-2012 wnids (timm's list), image numbers a seeded
    permutation as in the real set.  Returns the one summary."""
    tree = _Tree(root, "imagenet/val")
    wnids = imagenet_wnids()
    per = SIZES["imagenet"][0]
    numbers = np.random.default_rng([seed, 11]).permutation(len(wnids) * per) + 1
    for k, wnid in enumerate(wnids):
        for i in range(per):
            size = (64, 48) if (k + i) % 2 == 0 else (48, 64)
            im = class_image(k, image_rng(seed, "imagenet", k, i), size)
            tree.write(f"imagenet/val/{wnid}/ILSVRC2012_val_{numbers[k * per + i]:08d}.JPEG", encode(im, "JPEG"))
    return [tree.summary("imagenet", "imagenet-val:${DATA_ROOT}/imagenet", len(wnids) * per, len(wnids))]


def write_imagenet_train(root: Path, seed: int = 0) -> list[dict]:
    """ImageNet-1k train beside val: ``imagenet/train/<wnid>/<wnid>_N.JPEG`` for
    the 1,000 wnids (``folder:${DATA_ROOT}/imagenet`` reads train/ and val/),
    the classes drawn as in val.  Returns the one summary."""
    tree = _Tree(root, "imagenet/train")
    wnids = imagenet_wnids()
    per = SIZES["imagenet_train"][0]
    for k, wnid in enumerate(wnids):
        for i in range(per):
            size = (64, 48) if (k + i) % 2 else (48, 64)
            im = class_image(k, image_rng(seed, "imagenet-train", k, i), size)
            tree.write(f"imagenet/train/{wnid}/{wnid}_{i + 1}.JPEG", encode(im, "JPEG"))
    return [tree.summary("imagenet_train", "folder:${DATA_ROOT}/imagenet", len(wnids) * per, len(wnids))]


def write_rps(root: Path, seed: int = 0) -> list[dict]:
    """Rock-Paper-Scissors as published: ``rps/{paper,rock,scissors}/*.png`` and
    ``rps-test-set/{paper,rock,scissors}/*.png`` (64 px PNGs here, 300 px there).
    Returns the one summary (both folders)."""
    train, test = SIZES["rps"]
    tree = _Tree(root, "rps")
    for k, cls in enumerate(RPS_CLASSES):
        for i in range(train):
            im = class_image(k, image_rng(seed, "rps", k, i), (64, 64))
            tree.write(f"rps/{cls}/{cls}01-{i:03d}.png", encode(im, "PNG"))
        for i in range(test):
            im = class_image(k, image_rng(seed, "rps-test", k, i), (64, 64))
            tree.write(f"rps-test-set/{cls}/test{cls}01-{i:02d}.png", encode(im, "PNG"))
    return [tree.summary("rps", "folder:${DATA_ROOT}/rps", len(RPS_CLASSES) * (train + test), len(RPS_CLASSES))]


WRITERS = (write_rmfd, write_deepweeds, write_cifar, write_imagenet100, write_imagenet100_64, write_imagenet_val,
           write_imagenet_train, write_rps)
