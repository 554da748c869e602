"""Analytic costs of twisted EfficientNet-B0s: exact params and MACs from timm's block decoding
and channel rounding (:func:`twist_costs`), B0's own MACs, and the paper's counting scale."""
from __future__ import annotations

from functools import lru_cache

from ..counting import Counts
from ..scaling import B0_ARCH, B0_HEAD, image_side


# Costs as the paper counts them: 224 px for r = 1, a 1000-class head, RGB input.
PAPER_SCALE = dict(base_resolution=224, num_classes=1000, in_chans=3)


def _conv_out(side: int, k: int, stride: int) -> int:
    # timm's symmetric "same-ish" padding for pad_type '': ((s - 1) + (k - 1)) // 2
    pad = ((stride - 1) + (k - 1)) // 2
    return (side + 2 * pad - k) // stride + 1


@lru_cache(maxsize=65536)
def twist_costs(r: float, w: float, d: float, base_resolution: int = 224, num_classes: int = 1000,
                in_chans: int = 3) -> Counts:
    """Parameters and MACs (one image at ``image_side(r, base_resolution)``)
    of EfficientNet-B0 twisted by ``(r, w, d)`` as :func:`cnneff.models.twisted_b0`
    builds it, computed without building it: timm's ``decode_arch_def`` (depth)
    and ``round_channels`` (width) give the blocks, and every convolution and
    the classifier are counted like :func:`cnneff.counting.count` does (BatchNorm
    scales and shifts count as parameters; no MACs for BatchNorm, activations,
    pooling or the squeeze-excite gating).  Returns :class:`cnneff.counting.Counts`."""
    from timm.layers import make_divisible
    from timm.models._efficientnet_builder import decode_arch_def, round_channels

    for k, v in dict(r=r, w=w, d=d).items():
        if not (isinstance(v, (int, float)) and v > 0):
            raise ValueError(f"multiplier {k} must be a positive number, got {v!r}")
    side = image_side(r, base_resolution)
    params = macs = 0

    def conv(cin, cout, k, s_in, stride=1, groups=1, bias=False, bn=True):
        nonlocal params, macs
        s_out = _conv_out(s_in, k, stride)
        params += cout * (cin // groups) * k * k + (cout if bias else 0) + (2 * cout if bn else 0)
        macs += cout * (cin // groups) * k * k * s_out * s_out
        return s_out

    def squeeze_excite(chs, ratio):
        rd = round(chs * ratio)  # timm SqueezeExcite: rd_round_fn = round
        conv(chs, rd, 1, 1, bias=True, bn=False)
        conv(rd, chs, 1, 1, bias=True, bn=False)

    stem = 32  # fix_stem=True: never scaled
    s = conv(in_chans, stem, 3, side, stride=2)
    cin = stem
    for stage in decode_arch_def(B0_ARCH, d, depth_trunc="round"):
        for i, ba in enumerate(stage):
            stride = ba["stride"] if i == 0 else 1
            k = ba["dw_kernel_size"]
            cout = round_channels(ba["out_chs"], w)
            ratio = ba["se_ratio"] / ba.get("exp_ratio", 1.0)  # timm: se from block input channels
            if ba["block_type"] == "ds":
                s = conv(cin, cin, k, s, stride=stride, groups=cin)
                squeeze_excite(cin, ratio)
                conv(cin, cout, 1, s)
            else:  # "ir": 1x1 expansion, depthwise kxk, SE, 1x1 projection
                mid = make_divisible(cin * ba["exp_ratio"])
                conv(cin, mid, 1, s)
                s = conv(mid, mid, k, s, stride=stride, groups=mid)
                squeeze_excite(mid, ratio)
                conv(mid, cout, 1, s)
            cin = cout
    features = max(B0_HEAD, round_channels(B0_HEAD, w, 8, None))
    conv(cin, features, 1, s)
    params += features * num_classes + num_classes
    macs += features * num_classes
    return Counts(params=int(params), macs=int(macs))


def b0_macs(base_resolution: int = 224, num_classes: int = 1000, in_chans: int = 3) -> int:
    """C0: EfficientNet-B0's MACs at ``base_resolution`` (r = w = d = 1)."""
    return twist_costs(1.0, 1.0, 1.0, base_resolution, num_classes, in_chans).macs


def cost_row(r, w, d, base_resolution, num_classes, in_chans, **extra) -> dict:
    c = twist_costs(r, w, d, base_resolution, num_classes, in_chans)
    c0 = b0_macs(base_resolution, num_classes, in_chans)
    return dict(**extra, r=r, w=w, d=d, image_size=image_side(r, base_resolution), params=c.params, macs=c.macs,
                c=c.macs / c0)
