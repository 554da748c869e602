"""Data sets as uint8 tensors: one loader per source, all returning :class:`Splits`.

Every loader returns ``Splits(train, val, test, classes, channels, image_size, ...)``
whose parts are either an in-memory :class:`ImageSet` (uint8 ``images``
[N, C, H, W] + int64 ``labels``; the training engine batches it by indexing) or,
for big image folders, a streaming :class:`FolderImages` that decodes per item
in DataLoader workers.  Both yield ``(uint8 CHW tensor, int label)`` items.

Conventions shared by every source:

* **Square images.**  Images are stored at ``image_size`` x ``image_size``: the
  shorter side is resized to ``image_size`` and the centre square cropped (done
  as centre-crop-then-resize, the same mapping), with
  ``torch.nn.functional.interpolate(mode="bilinear", antialias=True)`` on
  float copies of the uint8 pixels, rounded back to uint8.  JPEGs are first
  decoded at a reduced DCT scale (PIL ``draft``) that keeps both sides at least
  ``image_size``.
* **Splits.**  Random splits are stratified by class and seeded
  (``numpy.random.default_rng``): per class, ``round(n * fraction)`` images go
  to val and to test, the rest to train.  ``subset=K`` keeps at most K
  training images (stratified, largest-remainder quotas, seeded) and cuts val
  and test by the same fraction ``K / len(train)``, keeping at least one image
  per class present there; the un-subsetted split is the same for a given
  seed, so a subset's val/test are subsets of the full val/test.
* **Cache.**  Sets decoded from image files (ELPV, image folders, DeepWeeds)
  are decoded once and saved to ``$CNNEFF_CACHE`` (default
  ``<repo>/data/cache``; ``CNNEFF_CACHE=off`` disables it) as one ``.pt`` file
  keyed by source, size, subset, seed, options and a hash of the file list
  with sizes and modification times; a later call loads the tensors
  (``torch.load(weights_only=True)``) instead of decoding.  The cache is
  best-effort: a folder that cannot be written gives one warning and the data
  is used uncached.  Array sources
  (Fashion-MNIST IDX files, CIFAR pickles) are read and resized in memory,
  which takes about as long as loading a cache would.

Modules (one idea each): :mod:`~cnneff.data.containers` (ImageSet, FolderImages,
Splits, DataError), :mod:`~cnneff.data.pixels` (decode one file, square resize),
:mod:`~cnneff.data.splits` (stratified splits and subsets),
:mod:`~cnneff.data.cache` (decoded-tensor cache), :mod:`~cnneff.data.files`
(files -> Splits: parallel decoding, skipping, streaming),
:mod:`~cnneff.data.folders` (image folders, RMFD layout, DeepWeeds),
:mod:`~cnneff.data.elpv`, :mod:`~cnneff.data.arrays` (Fashion-MNIST, CIFAR),
:mod:`~cnneff.data.robustness`, :mod:`~cnneff.data.sources` (``load``).
Every public name is importable from :mod:`cnneff.data` itself.
"""
from .arrays import FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, cifar10, cifar100, fashion_mnist
from .cache import cache_dir
from .containers import DataError, FolderImages, ImageSet, Splits
from .elpv import ELPV_LICENCE, ELPV_TASKS, elpv
from .files import STREAM_THRESHOLD
from .folders import DEEPWEEDS_LICENCE, IMAGE_EXTENSIONS, deepweeds, image_folder
from .pixels import resize_square
from .robustness import ROBUSTNESS_TRANSFORMS, robustness_set
from .sources import SOURCES, load, load_subset

__all__ = [
    "Splits", "ImageSet", "FolderImages", "DataError",
    "fashion_mnist", "elpv", "image_folder", "deepweeds", "cifar10", "cifar100", "load", "load_subset",
    "robustness_set", "resize_square", "cache_dir", "SOURCES",
    "IMAGE_EXTENSIONS", "STREAM_THRESHOLD",
    "FASHION_MNIST_ROOT", "FASHION_MNIST_CLASSES", "ELPV_LICENCE", "ELPV_TASKS", "DEEPWEEDS_LICENCE",
    "ROBUSTNESS_TRANSFORMS",
]
