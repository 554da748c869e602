"""Paper 001's simplified EfficientNet (Vasu, Tables 1 and 4), written by hand.

No library has this network.  Its block is *not* MobileNet's: the middle
convolution is a full 3x3 convolution (the paper's MAC table only adds up with
a dense 3x3 kernel, see :func:`mac_table`), the stride sits on that 3x3
convolution, and the expansion is Ne = 4 x the block's input channels.

Three block types (the paper's Figure 2):

* ``standard``: 1x1 expand -> BN -> ReLU -> 3x3 -> BN -> ReLU -> 1x1 project -> BN (+ identity)
* ``se``: the same with squeeze-excite after the 3x3 conv, reduced to Ne / R, R = 4
* ``condconv``: the SE block whose three convolutions are conditionally
  parameterized (CondConv, Yang et al. 2019) with M = 4 experts, mixed per
  image by one routing function per block (sigmoid of a linear map of the
  pooled block input, as timm's CondConv EfficientNets do).  The paper proposes
  this block but never trains it.

Registered as ``simplified_efficientnet`` (``block=`` chooses the block type).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .registry import register

__all__ = ["SimplifiedEfficientNet", "TABLE1", "BLOCK_TYPES", "mac_table"]

BLOCK_TYPES = ("standard", "se", "condconv")
EXPANSION = 4  # Ne = 4 Ni
SE_REDUCTION = 4  # R: the SE bottleneck has Ne / 4 channels
EXPERTS = 4  # M: CondConv experts


@dataclass(frozen=True)
class Row:
    """One row of the paper's Table 1: ``repeat`` blocks ``cin`` -> ``cout``;
    the first has ``stride`` and the identity skip only if ``identity``."""

    repeat: int
    cin: int
    cout: int
    stride: int
    identity: bool

    @property
    def label(self) -> str:
        """Returns the row's label as the paper's Table 4 prints it."""
        return f"Block (Ne=4Ni, F=3, S={self.stride}, ID={self.identity})"


# Table 1 of the paper, top to bottom (input 3 x 56 x 56).  The first two rows
# use stride 1 where ImageNet nets use stride 2: the images are 1/4 the side.
STEM_CHANNELS, HEAD_CHANNELS = 16, 1280
TABLE1 = [
    Row(1, 16, 16, 1, True),
    Row(1, 16, 24, 1, False),
    Row(1, 24, 24, 1, True),
    Row(1, 24, 40, 2, False),
    Row(2, 40, 40, 1, True),
    Row(1, 40, 80, 2, False),
    Row(3, 80, 80, 1, True),
    Row(1, 80, 160, 2, False),
    Row(4, 160, 160, 1, True),
    Row(1, 160, 320, 1, False),
]


def conv_bn(cin, cout, k, stride=1, act=True):
    """Returns ``nn.Sequential``: ``k`` x ``k`` conv (no bias, padding ``k // 2``) -> BN (-> ReLU if ``act``)."""
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


@functools.lru_cache(maxsize=1)
def _condconv_class() -> type:
    """The class :class:`CondConv2d`, built on first use: it subclasses timm's
    ``CondConv2d``, and importing timm (and torchvision with it) costs about
    1.7 s, which ``import cnneff.models`` should not pay.  Returns the class."""
    from timm.layers import CondConv2d as TimmCondConv2d

    class CondConv2d(TimmCondConv2d):
        """timm's ``CondConv2d`` with a second, equal way to compute a batch.

        timm mixes the M expert kernels into one kernel per image and runs a
        convolution grouped by image: cheap in MACs, but it materializes B x the
        layer's weights.  On a CPU that is slower than running the M experts as one
        ordinary convolution with M x the output channels and mixing the outputs,
        ``y = sum_m r_m conv(x, W_m)`` (the same result by linearity) wherever the
        feature map is small (measured on 2 EPYC cores, training step of a 640 -> 640
        3x3 layer at 4x4 px, batch 16: 545 ms vs 269 ms; at 32x32 px the mixed kernel
        wins, 31 vs 66 ms).  Batches of one (latency, counting) keep timm's path, so
        MAC counts are those of the mixed kernel."""

        small_map = 16 * 16  # input pixels up to which a batch takes the expert-sum path

        def forward(self, x, routing_weights):
            """Returns the convolution of ``x`` with the experts mixed per image by ``routing_weights`` (B, M)."""
            b = x.shape[0]
            if b == 1 or self.dynamic_padding or x.shape[-1] * x.shape[-2] > self.small_map:
                return super().forward(x, routing_weights)
            e = self.num_experts
            w = self.weight.view(e * self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            y = F.conv2d(x, w, None, self.stride, self.padding, self.dilation, self.groups)
            y = torch.einsum("be,beohw->bohw", routing_weights, y.view(b, e, self.out_channels, *y.shape[-2:]))
            if self.bias is not None:
                y = y + (routing_weights @ self.bias)[:, :, None, None]
            return y

    CondConv2d.__module__, CondConv2d.__qualname__ = __name__, "CondConv2d"
    return CondConv2d


def __getattr__(name: str):
    """``CondConv2d`` is created lazily (see :func:`_condconv_class`)."""
    if name == "CondConv2d":
        return _condconv_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SqueezeExcite(nn.Module):
    """Channel gating: global pool -> 1x1 (C -> C/R) -> ReLU -> 1x1 (C/R -> C) -> sigmoid."""

    def __init__(self, channels: int, reduction: int = SE_REDUCTION):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x):
        """Returns ``x`` with each channel scaled by its gate in (0, 1)."""
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


class Block(nn.Module):
    """Inverted residual block with a full 3x3 middle conv (see module doc)."""

    def __init__(self, cin: int, cout: int, stride: int, identity: bool, kind: str = "standard"):
        super().__init__()
        if kind not in BLOCK_TYPES:
            raise ValueError(f"unknown block type {kind!r}; choose one of {', '.join(BLOCK_TYPES)}")
        if identity and (cin != cout or stride != 1):
            raise ValueError("an identity block needs cin == cout and stride 1")
        ne = EXPANSION * cin
        self.kind, self.identity = kind, identity
        if kind == "condconv":
            self.routing = nn.Linear(cin, EXPERTS)
            condconv = _condconv_class()
            self.expand = condconv(cin, ne, 1, num_experts=EXPERTS)
            self.conv = condconv(ne, ne, 3, stride=stride, padding=1, num_experts=EXPERTS)
            self.project = condconv(ne, cout, 1, num_experts=EXPERTS)
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(ne), nn.BatchNorm2d(ne), nn.BatchNorm2d(cout)
        else:
            self.expand = conv_bn(cin, ne, 1)
            self.conv = conv_bn(ne, ne, 3, stride)
            self.project = conv_bn(ne, cout, 1, act=False)
        self.se = SqueezeExcite(ne) if kind in ("se", "condconv") else nn.Identity()

    def forward(self, x):
        """Returns the block's output feature map (plus ``x`` if the block has the identity skip)."""
        if self.kind == "condconv":
            r = torch.sigmoid(self.routing(x.mean((2, 3))))  # (B, M) expert weights per image
            y = torch.relu(self.bn1(self.expand(x, r)))
            y = torch.relu(self.bn2(self.conv(y, r)))
            y = self.bn3(self.project(self.se(y), r))
        else:
            y = self.project(self.se(self.conv(self.expand(x))))
        return x + y if self.identity else y


class SimplifiedEfficientNet(nn.Module):
    """The network of Table 1: stem conv 3x3/1 (16) -> 14 blocks -> 1x1 conv
    (1280) -> global average pool -> linear (``num_classes``).  Native input
    3 x 56 x 56 (64 px images, centre-cropped to 56)."""

    image_size = 56

    def __init__(self, num_classes: int = 100, block: str = "standard", dropout: float = 0.0, in_chans: int = 3):
        super().__init__()
        if block not in BLOCK_TYPES:
            raise ValueError(f"unknown block type {block!r}; choose one of {', '.join(BLOCK_TYPES)}")
        self.block_type = block
        self.stem = conv_bn(in_chans, STEM_CHANNELS, 3)
        blocks = []
        for row in TABLE1:
            for i in range(row.repeat):
                first = i == 0
                blocks.append(Block(row.cin if first else row.cout, row.cout, row.stride if first else 1,
                                    row.identity, block))
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(TABLE1[-1].cout, HEAD_CHANNELS, 1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x):
        """Returns the logits (B, ``num_classes``) of the images ``x`` (B, C, H, W)."""
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(self.dropout(x.mean((2, 3))))


def _row_of_layer(name: str) -> int:
    """Index of the Table 4 row (0 = stem, 1..10 = Table 1 block rows, 11 = head
    conv, 12 = pool + linear) that a module path belongs to."""
    top = name.split(".")[0]
    if top == "stem":
        return 0
    if top == "head":
        return len(TABLE1) + 1
    if top in ("classifier", "dropout"):
        return len(TABLE1) + 2
    if top == "blocks":
        idx = int(name.split(".")[1])
        for r, row in enumerate(TABLE1, start=1):
            if idx < row.repeat:
                return r
            idx -= row.repeat
    raise ValueError(f"layer {name!r} is not part of the simplified EfficientNet")


def mac_table(model: SimplifiedEfficientNet, image_size: int = 56) -> pd.DataFrame:
    """The paper's Table 4 computed from the model: one row per line of Table 1
    with columns ``operation``, ``rep``, ``macs`` (multiply-accumulates for one
    image, repeats included) and ``filters`` (sum of output channels of the
    row's convolutions / linear layer, the paper's "filter coefficients"), plus
    a final ``Total`` row.  BN and ReLU cost no MACs (the papers' convention)."""
    from ..counting import per_layer

    layers = per_layer(model, image_size)
    layers["row"] = layers["layer"].map(_row_of_layer)
    counted = layers["type"].isin(["Conv2d", "CondConv2d", "Linear"]) & ~layers["layer"].str.contains(
        r"\.se\.|routing"
    )
    layers["filters"] = layers["out_channels"].where(counted, 0)
    agg = layers.groupby("row").agg(macs=("macs", "sum"), filters=("filters", "sum"))
    labels = ["Conv (3x3/1), Batch Norm, ReLU"] + [r.label for r in TABLE1] + [
        "Conv (1x1/1), Batch Norm, ReLU", "Global Avg Pool, Linear, Bias"]
    reps = [1] + [r.repeat for r in TABLE1] + [1, 1]
    df = pd.DataFrame({"operation": labels, "rep": reps, "macs": agg["macs"].to_numpy(),
                       "filters": agg["filters"].to_numpy()})
    df.loc[len(df)] = dict(operation="Total", rep=None, macs=df["macs"].sum(), filters=df["filters"].sum())
    df["rep"] = df["rep"].astype("Int64")
    return df


def _build_simplified(num_classes: int = 100, block: str = "standard", **kw) -> SimplifiedEfficientNet:
    """Returns the simplified EfficientNet with a ``num_classes``-way head and ``block`` blocks."""
    return SimplifiedEfficientNet(num_classes=num_classes, block=block, **kw)


register("simplified_efficientnet", _build_simplified, 56, "hand-written (paper 001, Tables 1 and 4)",
         "block='standard' | 'se' | 'condconv'", block="standard")
