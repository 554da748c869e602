"""EfficientNetV2's progressive learning (paper 003, Algorithm 1) as a
:class:`~cnneff.train.callbacks.Callback`: image size and regularization grow
stage by stage."""
from __future__ import annotations

import pandas as pd
from torch import nn

from .callbacks import Callback

__all__ = ["ProgressiveLearning", "set_dropout"]


class ProgressiveLearning(Callback):
    """EfficientNetV2's progressive learning with adaptive regularization
    (Algorithm 1): training is split into ``stages`` equal parts; in stage i the
    image size and every regularization move linearly from their initial to their
    final value, ``S_i = S_0 + (S_e - S_0) * i / (M - 1)``.

    ``image_size``, ``dropout``, ``randaug`` (RandAugment magnitude) and
    ``mixup`` (mixup alpha) are ``(initial, final)`` pairs; None leaves that
    knob alone.  Dropout is set on every ``nn.Dropout`` of the model (timm nets:
    also ``drop_rate``)."""

    def __init__(self, stages: int, image_size: tuple[int, int], dropout: tuple[float, float] | None = None,
                 randaug: tuple[float, float] | None = None, mixup: tuple[float, float] | None = None,
                 size_multiple: int = 8):
        if stages < 1:
            raise ValueError("stages must be >= 1")
        self.stages, self.size, self.dropout, self.randaug, self.mixup = stages, image_size, dropout, randaug, mixup
        self.size_multiple = size_multiple

    def identity(self):
        """Stages, sizes and regularization pairs."""
        return {"stages": self.stages, "image_size": list(self.size), "size_multiple": self.size_multiple,
                **{k: list(v) if v is not None else None
                   for k, v in (("dropout", self.dropout), ("randaug", self.randaug), ("mixup", self.mixup))}}

    def _interp(self, pair, i):
        if pair is None:
            return None
        a, b = pair
        return a if self.stages == 1 else a + (b - a) * i / (self.stages - 1)

    def stage_of(self, epoch: int, epochs: int) -> int:
        """Stage index of a 0-based ``epoch`` when training for ``epochs``."""
        return min(self.stages - 1, epoch * self.stages // max(epochs, 1))

    def values(self, stage: int) -> dict:
        """Image size and regularization of one stage (None for knobs left alone)."""
        size = self._interp(self.size, stage)
        m = self.size_multiple
        return dict(stage=stage, image_size=int(round(size / m) * m) if m else int(round(size)),
                    dropout=self._interp(self.dropout, stage), randaug_magnitude=self._interp(self.randaug, stage),
                    mixup_alpha=self._interp(self.mixup, stage))

    def schedule(self, epochs: int) -> pd.DataFrame:
        """The stage schedule as a table: stage, epochs, image size, dropout, RandAugment magnitude, mixup alpha."""
        rows = []
        for s in range(self.stages):
            eps = [e for e in range(epochs) if self.stage_of(e, epochs) == s]
            rows.append({**self.values(s), "epochs": f"{eps[0] + 1}-{eps[-1] + 1}" if eps else "-"})
        return pd.DataFrame(rows)[["stage", "epochs", "image_size", "dropout", "randaug_magnitude", "mixup_alpha"]]

    def on_epoch_start(self, state):
        v = self.values(self.stage_of(state.epoch, state.epochs))
        state.image_size = v["image_size"]
        if v["dropout"] is not None:
            set_dropout(state.model, v["dropout"])
        if v["randaug_magnitude"] is not None:
            state.randaug_magnitude = v["randaug_magnitude"]
        if v["mixup_alpha"] is not None:
            state.mixup_alpha = v["mixup_alpha"]


def set_dropout(model: nn.Module, p: float):
    """Set the drop probability of every ``nn.Dropout`` (and timm's ``drop_rate``) to ``p``."""
    m = model.module if hasattr(model, "module") else model
    for mod in m.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = p
    if hasattr(m, "drop_rate"):
        m.drop_rate = p

