"""Training: the engine, its one configuration, the book's presets and the training methods.

* :mod:`~cnneff.train.config`      ``TrainConfig``: every knob, its default, reason and check
* :mod:`~cnneff.train.presets`     each experiment's settings by name (``BOOK``: what they share)
* :mod:`~cnneff.train.engine`      ``fit``, ``train_one_epoch`` (checkpoints, resume, DDP)
* :mod:`~cnneff.train.evaluate`    ``evaluate``: loss, accuracy, precision, recall, F1
* :mod:`~cnneff.train.batches`     uint8 images -> augmented, normalized batches
* :mod:`~cnneff.train.optim`       optimizers and learning-rate schedules
* :mod:`~cnneff.train.callbacks`   ``Callback``, ``TrainState``
* :mod:`~cnneff.train.progressive` EfficientNetV2's progressive learning (a callback)
* :mod:`~cnneff.train.batchnorm`   precise-BN recalibration, zero-initialized residual blocks
* :mod:`~cnneff.train.checkpoint`  run identity, folder lock, atomic checkpoint files
* :mod:`~cnneff.train.probe`       linear probe on frozen features

Network slimming's regulariser and pruning step are one object in
:mod:`cnneff.compress.slimming`.
"""
from .callbacks import Callback, TrainState
from .checkpoint import CheckpointError, run_identity
from .config import ConfigError, TrainConfig, TrainError, resolve_device
from .engine import FitResult, fit, train_one_epoch
from .evaluate import evaluate
from .progressive import ProgressiveLearning

__all__ = ["TrainConfig", "ConfigError", "TrainError", "CheckpointError", "resolve_device", "fit",
           "train_one_epoch", "evaluate", "FitResult", "Callback", "TrainState", "ProgressiveLearning",
           "run_identity"]
