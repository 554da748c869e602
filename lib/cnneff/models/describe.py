"""Architecture tables read off built networks."""
from __future__ import annotations

from torch import nn

__all__ = ["describe_stages"]


def describe_stages(model: nn.Module):
    """Regenerate an EfficientNet(V2)-style architecture table from a built
    torchvision ``EfficientNet`` (``model.features``): one row per stage with
    ``stage``, ``operator`` (e.g. ``Fused-MBConv4, k3x3`` or ``MBConv6, k3x3,
    SE0.25``), ``stride`` (of the stage's first block), ``channels`` (output) and
    ``layers`` (blocks).  Everything is read off the modules, nothing is copied
    from a config.  Returns a DataFrame (``stride`` as nullable Int64: the head
    row has none)."""
    import pandas as pd

    def convs(m):
        return [c for c in m.modules() if isinstance(c, nn.Conv2d)]

    rows = []
    feats = list(model.features)
    for i, stage in enumerate(feats):
        cs = convs(stage)
        if i == 0 or i == len(feats) - 1:  # stem conv / head conv (+ pooling and FC)
            c = cs[0]
            k = c.kernel_size[0]
            op = f"Conv{k}x{k}" if i == 0 else f"Conv{k}x{k} & Pooling & FC"
            rows.append(dict(stage=i, operator=op, stride=c.stride[0] if i == 0 else None,
                             channels=c.out_channels, layers=1))
            continue
        first = stage[0]
        main = [c for c in convs(first) if not _in_se(first, c)]
        cin = main[0].in_channels
        kind = type(first).__name__  # FusedMBConv / MBConv
        spatial = next(c for c in main if c.kernel_size[0] > 1)
        hidden = spatial.out_channels if kind == "FusedMBConv" else spatial.in_channels
        k = spatial.kernel_size[0]
        se = [m for m in first.modules() if type(m).__name__ == "SqueezeExcitation"]
        op = f"{'Fused-MBConv' if kind == 'FusedMBConv' else 'MBConv'}{hidden // cin}, k{k}x{k}"
        if se:
            op += f", SE{se[0].fc1.out_channels / cin:.2f}"
        rows.append(dict(stage=i, operator=op, stride=max(c.stride[0] for c in main),
                         channels=main[-1].out_channels, layers=len(stage)))
    df = pd.DataFrame(rows)
    df["stride"] = df["stride"].astype("Int64")
    return df


def _in_se(block: nn.Module, conv: nn.Module) -> bool:
    """Returns whether ``conv`` belongs to a squeeze-excite module of ``block``."""
    for m in block.modules():
        if type(m).__name__ == "SqueezeExcitation" and any(conv is c for c in m.modules()):
            return True
    return False
