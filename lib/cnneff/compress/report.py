"""What a compression routine changed: :class:`CompressionReport`, shared by
every routine of :mod:`cnneff.compress`, and the checks they share."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from torch import nn

__all__ = ["CompressionError", "CompressionReport", "check_ratio", "classifier_layers", "layer_channels"]


class CompressionError(ValueError):
    """A compression routine cannot do what was asked (e.g. slimming a net whose
    BatchNorm scales carry no ranking); the message names the problem and the fix."""


@dataclass
class CompressionReport:
    """What a compression routine changed.  ``params_*`` are parameter counts,
    ``macs_*`` multiply-accumulates (not FLOPs) for one image at
    ``image_size``; ``file_bytes_*`` the size of the saved state dict (bytes,
    None where not measured); ``ratio`` the pruning ratio (None for a change of
    number format); ``channels`` has one row per conv/linear layer: ``layer``,
    ``channels_before``, ``channels_after`` (output channels) and ``kept``
    (fraction), empty when no channel was removed."""

    method: str
    image_size: int
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int
    ratio: float | None = None
    file_bytes_before: int | None = None
    file_bytes_after: int | None = None
    channels: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def params_change(self) -> float:
        """Relative change of the parameter count (e.g. -0.70 for 70 % fewer)."""
        return self.params_after / self.params_before - 1

    @property
    def macs_change(self) -> float:
        """Relative change of the MACs."""
        return self.macs_after / self.macs_before - 1

    @property
    def file_ratio(self) -> float | None:
        """Saved-weights size after over before (None where not measured)."""
        if not self.file_bytes_before or self.file_bytes_after is None:
            return None
        return self.file_bytes_after / self.file_bytes_before

    def summary(self) -> dict:
        """Flat dict of the numbers (for tables and metrics.json)."""
        return dict(method=self.method, ratio=self.ratio, image_size=self.image_size,
                    params_before=self.params_before, params_after=self.params_after,
                    macs_before=self.macs_before, macs_after=self.macs_after,
                    params_change=self.params_change, macs_change=self.macs_change,
                    file_bytes_before=self.file_bytes_before, file_bytes_after=self.file_bytes_after)


def check_ratio(ratio) -> None:
    """ValueError unless ``ratio`` lies strictly between 0 and 1."""
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not 0 < ratio < 1:
        raise ValueError(f"pruning ratio must lie strictly between 0 and 1 (e.g. 0.3, 0.5, 0.7), got {ratio!r}")


def classifier_layers(model: nn.Module) -> list[nn.Module]:
    """The final classification layer(s) (kept intact when pruning so the
    number of classes does not change): the last ``nn.Linear`` of the model."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear classifier to protect from pruning")
    return [linears[-1]]


def layer_channels(model: nn.Module) -> dict[str, int]:
    """Output channels (features) of every conv and linear layer, by module name."""
    return {name: (m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
