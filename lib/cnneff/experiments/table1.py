"""Paper 000's Table 1, one seed at a time: fine-tune a baseline, then compress
it every way the paper does (channel pruning at each ratio, network slimming,
half resolution, fp16) plus the book's own int8 row, and measure every row the
same way (:func:`cnneff.evaluation.classifier_row`).

``Table1`` holds what every row shares (the data, the training settings, the
sizes); :meth:`Table1.seed_rows` runs one seed and returns its rows.  The
notebook ``make_efficientnetv2_more_efficient`` calls it once per seed.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from ..compress import NetworkSlimming, bn_gammas, prune_channels, quantize_int8, to_half
from ..core import IMAGENET_MEAN, IMAGENET_STD
from ..evaluation import classifier_row
from ..models import build_model
from ..train import FitResult, TrainConfig, fit
from ..train.batches import prepare_batch

__all__ = ["Table1", "row_key"]


def row_key(name: str) -> str:
    """The metric-key stem of a Table 1 row: ``"Pruned 30%"`` -> ``"pruned_30"``,
    ``"int8 (ours)"`` -> ``"int8_ours"``, ``"Low-reso"`` -> ``"low_reso"``."""
    return name.lower().replace(" ", "_").replace("%", "").replace("(", "").replace(")", "").replace("-", "_")


@dataclass
class Table1:
    """Everything the rows of one seed share.

    ``splits`` / ``robust``: the data and the robustness copy of its test
    split; ``model_name`` / ``pretrained`` / ``dropout``: the network every
    row starts from; ``baseline`` / ``finetune`` / ``sparse``: the training
    configs (:class:`~cnneff.train.config.TrainConfig`) of the baseline, of the
    fine-tuning after each pruning and of the sparse training; ``image_size`` /
    ``low_image_size``: the sides (pixels) of every row and of the
    half-resolution row; ``ratios``: the plain pruning ratios; ``slim_ratio`` /
    ``sparsity``: network slimming's pruning ratio and L1 strength ``s``;
    ``max_layer_ratio``: the most any layer may lose; ``calibration_images``:
    training images that calibrate int8; ``latency_repeats`` / ``threads``:
    batch-1 CPU latency settings."""

    splits: object
    robust: object
    model_name: str
    pretrained: bool
    dropout: float
    baseline: TrainConfig
    finetune: TrainConfig
    sparse: TrainConfig
    image_size: int
    low_image_size: int
    ratios: list = field(default_factory=lambda: [0.3, 0.5, 0.7])
    slim_ratio: float = 0.5
    sparsity: float = 1e-2
    max_layer_ratio: float = 0.9
    calibration_images: int = 256
    latency_repeats: int = 20
    threads: int | None = None

    # ------------------------------------------------------------------ pieces
    def fresh(self, seed: int) -> nn.Module:
        """A new network to fine-tune, initialized from ``seed`` (timm's Lite0
        names its dropout ``drop_rate``, torchvision's nets ``dropout``)."""
        torch.manual_seed(seed)
        kw = {"drop_rate": self.dropout} if self.model_name == "efficientnet_lite0" else {"dropout": self.dropout}
        if self.pretrained:
            kw["pretrained"] = True
        return build_model(self.model_name, num_classes=len(self.splits.classes), **kw)

    def train(self, model: nn.Module, config: TrainConfig, seed: int, image_size: int | None = None,
              callbacks=()) -> FitResult:
        """Fine-tune ``model`` on the training split with ``config`` at
        ``image_size`` (default: the table's side).  Returns the FitResult."""
        cfg = config.replace(image_size=image_size or self.image_size, seed=seed)
        return fit(model, self.splits, cfg, callbacks=list(callbacks))

    def row(self, name: str, seed: int, model: nn.Module, size: int, fitted: FitResult | None = None,
            **kw) -> dict:
        """:func:`~cnneff.evaluation.classifier_row` of ``model`` plus the row
        name, the seed, the training seconds and the epochs' seconds."""
        r = classifier_row(model.cpu().to(memory_format=torch.contiguous_format), self.splits.test, self.robust,
                           size, latency_repeats=self.latency_repeats, threads=self.threads, **kw)
        return dict(row=name, seed=seed, train_seconds=fitted.train_seconds if fitted else 0.0,
                    epoch_seconds=fitted.history["epoch_seconds"].tolist() if fitted else [], **r)

    def pruned_rows(self, base: nn.Module, seed: int) -> tuple[list[dict], dict]:
        """Each plain pruning ratio, fine-tuned.  Returns (rows, channels kept per row name)."""
        out, kept = [], {}
        for ratio in self.ratios:
            pruned, rep = prune_channels(base, ratio, self.image_size, max_layer_ratio=self.max_layer_ratio)
            name = f"Pruned {int(100 * ratio)}%"
            ft = self.train(pruned, self.finetune, seed)
            out.append(self.row(name, seed, ft.model, self.image_size, ft) | dict(macs_change=rep.macs_change))
            kept[name] = rep.channels
        return out, kept

    def sparse_row(self, base: nn.Module, seed: int) -> tuple[dict, torch.Tensor, pd.DataFrame]:
        """Network slimming: sparse training of a copy of ``base``, pruning by
        |gamma|, fine-tuning.  Returns (row, |gamma| after sparse training, channels kept)."""
        slimming = NetworkSlimming(self.sparsity)
        sparse = self.train(copy.deepcopy(base), self.sparse, seed, callbacks=[slimming])
        gammas = bn_gammas(sparse.model.cpu())
        slimmed, rep = slimming.prune(sparse.model.cpu().to(memory_format=torch.contiguous_format),
                                      self.slim_ratio, self.image_size, max_layer_ratio=self.max_layer_ratio)
        ft = self.train(slimmed, self.finetune, seed)
        r = self.row("Sparse training", seed, ft.model, self.image_size, ft) | dict(macs_change=rep.macs_change)
        r["train_seconds"] = sparse.train_seconds + ft.train_seconds
        return r, gammas, rep.channels

    def int8_row(self, base: nn.Module, seed: int) -> dict:
        """The book's own row: ``base`` quantized to int8, calibrated on training images."""
        calib = prepare_batch(self.splits.train.images[:self.calibration_images], self.image_size, 3,
                              getattr(base, "mean", IMAGENET_MEAN), getattr(base, "std", IMAGENET_STD), "cpu")
        q, _ = quantize_int8(base, calib)
        return self.row("int8 (ours)", seed, q, self.image_size, cost_model=base)

    # ------------------------------------------------------------------ one seed
    def seed_rows(self, seed: int) -> tuple[list[dict], dict]:
        """Every trained row of Table 1 for one seed.  Returns (rows, extras):
        the rows Baseline, Pruned N% ..., Sparse training, Low-reso, Half
        precision, int8 (ours); extras ``base`` (the fine-tuned baseline),
        ``gammas`` (|gamma| after sparse training) and ``kept`` (channels kept
        per pruned row)."""
        base_fit = self.train(self.fresh(seed), self.baseline, seed)
        base = base_fit.model.cpu().to(memory_format=torch.contiguous_format).eval()
        rows = [self.row("Baseline", seed, base, self.image_size, base_fit)]
        pruned, kept = self.pruned_rows(base, seed)
        sparse, gammas, kept["Sparse training"] = self.sparse_row(base, seed)
        low_fit = self.train(self.fresh(seed), self.baseline, seed, self.low_image_size)
        low = self.row("Low-reso", seed, low_fit.model, self.low_image_size, low_fit)
        half, _ = to_half(base, self.image_size)
        half = self.row("Half precision", seed, half, self.image_size, latency_model=base, latency_precision="bf16")
        return rows + pruned + [sparse, low, half, self.int8_row(base, seed)], dict(base=base, gammas=gammas,
                                                                                    kept=kept)
