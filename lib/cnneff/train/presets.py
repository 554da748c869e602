"""The training settings of every experiment of the book, by name.

Each preset is a set of :class:`~cnneff.train.config.TrainConfig` fields (the
others keep TrainConfig's defaults).  A notebook's parameters cell selects
one per training role, e.g. ``baseline = {"preset": "mask_baseline"}``, and the
profiles' ``params/<profile>/NAME.yaml`` change it field by field
(``baseline: {epochs: 50, optimizer: sgd}``: the runner merges a mapping
parameter key by key over the notebook's default); the notebook builds the
config with :meth:`TrainConfig.from_spec`.  These are the cpu profile's
settings: short runs on two CPU cores, sized in each chapter's text.

``BOOK`` holds what every notebook's training shares unless its paper says
otherwise, so one line changes it for the whole book: e.g. the optimizer of
every from-scratch and fine-tuning run is ``BOOK["optimizer"]`` (paper 002's
transfer-learning runs keep the RMSProp the paper states).
"""
from __future__ import annotations

from typing import Any

__all__ = ["BOOK", "PRESETS"]

# Shared by every notebook preset.  AdamW: on a CPU in a few epochs it learns much faster than the
# papers' SGD/RMSProp (which the gpu profile restores); no progress bars inside executed notebooks.
BOOK: dict[str, Any] = dict(optimizer="adamw", schedule="cosine", precision="fp32", progress=False)

# Paper 000 (face masks, Table 1): fine-tuning the ImageNet Lite0 stand-in on ELPV.
_MASK = dict(BOOK, epochs=6, batch_size=32, lr=1e-3, weight_decay=0.01, warmup_epochs=0.3, augment=True,
             evaluate_test=False)  # every row is evaluated by cnneff.evaluation.classifier_row

# Paper 002 (A Foray): transfer learning with the paper's RMSProp and a constant rate.
_TRANSFER = dict(BOOK, optimizer="rmsprop", epochs=5, batch_size=32, lr=1e-3, momentum=0.9, weight_decay=0.0,
                 schedule="constant", augment=False)

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},  # TrainConfig's own defaults: SGD, lr 0.05, augmentation on
    # `cnneff train`: short CPU runs from scratch (2 epochs, a few thousand images).  AdamW with a short
    # warm-up learns fastest, augmentation only pays off over more epochs, and recomputed BatchNorm
    # statistics keep eval accuracy from collapsing after few, large steps (cnneff.train.batchnorm).
    "cli": dict(epochs=2, batch_size=32, optimizer="adamw", lr=3e-3, weight_decay=0.01, warmup_epochs=0.1,
                augment=False, bn_recalibration_batches=20, image_size=64),
    # Paper 000: the baseline, the fine-tuning after each pruning, the sparse training of network slimming.
    "mask_baseline": _MASK,
    "mask_finetune": dict(_MASK, epochs=2),
    "mask_sparse": dict(_MASK, epochs=3, lr=1e-2),  # a larger rate lets the L1 term move gamma in 3 epochs
    # Paper 001: standard vs squeeze-excite blocks from scratch (linear decay to lr/10 after a warm-up,
    # the paper's Table 2 shape).  Dense 3x3 blocks are no faster in NHWC (benchmarks/engine_speed.py).
    "se_blocks": dict(BOOK, epochs=3, batch_size=32, lr=2e-3, weight_decay=0.05, schedule="linear",
                      warmup_epochs=0.27, final_lr_ratio=0.1, augment=False, bn_recalibration_batches=5,
                      channels_last=False),
    # Paper 002: B0/B1/B2 from scratch with the paper's step schedule (x0.9 every 5 epochs) and weight decay.
    "foray_scratch": dict(BOOK, epochs=8, batch_size=64, lr=3e-3, weight_decay=5e-4, schedule="step",
                          step_epochs=5, step_gamma=0.9, warmup_epochs=0.1, augment=False,
                          bn_recalibration_batches=10),
    # Paper 002's three transfer settings: (a) frozen backbone, (c) last units after (a), (b) everything.
    "transfer_frozen": _TRANSFER,
    "transfer_partial": dict(_TRANSFER, lr=1e-4),
    "transfer_full": dict(_TRANSFER, lr=1e-4),
    # Paper 003: progressive learning against fixed-size training (the same 8 epochs for both).
    "progressive": dict(BOOK, epochs=8, batch_size=32, lr=3e-3, weight_decay=0.05, warmup_epochs=0.25,
                        step_epochs=2.4, step_gamma=0.97, augment=True, bn_recalibration_batches=5),
    # Paper 004: the Rubik's-cube sweep, identical short training for every twist.  The paper trains 100
    # epochs with RMSProp (lr 0.048, batch 1024); deep twists (d > 2, 30-45 blocks) do not train at all
    # in a few epochs from timm's default initialization; zeroing the last BatchNorm scale of every
    # residual block makes them start as shallow networks.
    "tinynet_sweep": dict(BOOK, epochs=3, batch_size=64, lr=6e-3, weight_decay=5e-5, warmup_epochs=0.1,
                          step_epochs=2.4, step_gamma=0.97, augment=False, bn_recalibration_batches=10,
                          zero_init_residual=True),
    # Paper 004, Table 2: ResNet-18/34/50 trained like the sweep's twists on the same data (the gpu profile
    # restores the paper's ResNet recipe: SGD, lr 0.4 per 1024 images, x0.1 every 30 of 90 epochs, wd 1e-4).
    "tinynet_resnet": dict(BOOK, epochs=3, batch_size=64, lr=3e-3, weight_decay=5e-5, warmup_epochs=0.1,
                           augment=False, bn_recalibration_batches=10, zero_init_residual=True),
    # Paper 004, Table 3: the rows without published weights trained on ImageNet-1k; the gpu profile restores
    # the paper's EfficientNet recipe (RMSProp, lr 0.048 per 1024 images, x0.97 every 2.4 of 450 epochs).
    "tinynet_imagenet": dict(BOOK, epochs=1, batch_size=64, lr=3e-3, weight_decay=5e-5, warmup_epochs=0.1,
                             augment=False, bn_recalibration_batches=10, zero_init_residual=True),
    # Paper 002, Table 1's fine-tuned rows: an ImageNet-pretrained family (Lite0/1/2; B0/B1/B2 on the GPU) trained
    # whole.  AdamW at a third of the from-scratch rate: the pretrained features need adjusting, not learning.
    "foray_finetune": dict(BOOK, epochs=2, batch_size=64, lr=1e-3, weight_decay=0.01, warmup_epochs=0.1,
                           augment=False),
    # Paper 002's repeat of the frozen-backbone run (a) with SGD at lr 0.01 ("very similar results").
    "transfer_frozen_sgd": dict(_TRANSFER, optimizer="sgd", lr=0.01),
}


def _check_presets() -> None:
    """Build every preset once, so a typo fails at import, not in the middle of a sweep."""
    from .config import TrainConfig

    for name in PRESETS:
        TrainConfig.preset(name)


_check_presets()
