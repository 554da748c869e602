"""A rehearsal of the full run: the papers' data sets and weight files, small
and synthetic, laid out exactly as their publishers ship them, so that every
"needs the full run" path (``make reproduce PROFILE=gpu DATA_ROOT=...``,
``cnneff evaluate``) can be exercised end to end without the real data.

``cnneff rehearsal-data DIR`` (:func:`rehearsal_data`) writes, in seconds::

    DIR/rmfd/{face,masked}/<person>/*.jpg                   folder:DIR/rmfd (2 classes, the gpu profile)
    DIR/rmfd_afdb/AFDB_{face,masked_face}_dataset/<person>/*.jpg   rmfd:DIR/rmfd_afdb (RMFD as published)
    DIR/deepweeds/images/*.jpg + labels.csv                 deepweeds:DIR/deepweeds (9 classes)
    DIR/cifar/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}
    DIR/cifar/cifar-100-python/{train,test,meta}            cifar10-/cifar100-unverified:DIR/cifar
    DIR/imagenet100/{train,val}/<wnid>/*.JPEG               folder:DIR/imagenet100 (100 classes)
    DIR/imagenet100_64/{train,val}/<wnid>/*.JPEG            folder:DIR/imagenet100_64 (64 px)
    DIR/imagenet/val/<wnid>/ILSVRC2012_val_*.JPEG           imagenet-val:DIR/imagenet (1,000 classes)
    DIR/rps/{paper,rock,scissors}/*.png, DIR/rps-test-set/  folder:DIR/rps (3 classes; the test set beside it)
    DIR/weights/*.pth                                       random state dicts, publishers' key names
    DIR/REHEARSAL.json                                      what was written (and the marker --force needs)

Images are real JPEG/PNG files drawn with PIL: one shape and colour pair per
class (faces with and without a mask for RMFD), jittered per image and seeded,
so a network can learn them.  The data sets and weight files the full run
expects are listed once, in :mod:`~cnneff.rehearsal.expected`
(:data:`DATASETS`, :data:`WEIGHT_FILES`, :func:`data_root_status`);
:func:`is_rehearsal` tells a rehearsal DATA_ROOT from the real one (its ``REHEARSAL.json``).

Modules: :mod:`~cnneff.rehearsal.expected` (the tables),
:mod:`~cnneff.rehearsal.names` (class names and wnid lists),
:mod:`~cnneff.rehearsal.images` (drawing), :mod:`~cnneff.rehearsal.layouts`
(one writer per layout), :mod:`~cnneff.rehearsal.weights` (random weight
files), :mod:`~cnneff.rehearsal.command` (the writer and the command line).
"""
from .command import add_rehearsal_data_parser, rehearsal_data, rehearsal_data_command
from .expected import DATASETS, MARKER, WEIGHT_FILES, DataSet, WeightFile, data_root_status, expected_table, \
    is_rehearsal

__all__ = ["rehearsal_data", "rehearsal_data_command", "add_rehearsal_data_parser", "MARKER", "DATASETS",
           "WEIGHT_FILES", "DataSet", "WeightFile", "data_root_status", "expected_table", "is_rehearsal"]
