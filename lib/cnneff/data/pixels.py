"""Pixels: decoding one image file to a uint8 CHW tensor and resizing to a square side."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..core import one_thread as _one_thread


GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def resize_square(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Centre-crop uint8 images ``x`` ([C, H, W] or [N, C, H, W]) to a square
    and resize it to ``size`` x ``size`` (bilinear, antialiased); returns uint8
    of the same rank.  Equivalent to resizing the shorter side to ``size`` and
    centre-cropping."""
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    h, w = x.shape[-2:]
    m = min(h, w)
    top, left = (h - m) // 2, (w - m) // 2
    x = x[..., top:top + m, left:left + m]
    if m != size:
        out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
        for s in range(0, x.shape[0], chunk):
            y = F.interpolate(x[s:s + chunk].float(), size=(size, size), mode="bilinear",
                              align_corners=False, antialias=True)
            out[s:s + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
        x = out
    x = x.contiguous()
    return x[0] if single else x


def decode_image(path: str, size: int, mode: str | None) -> torch.Tensor:
    """Decode one image file to uint8 [C, size, size].  ``mode`` "L" -> 1
    channel, "RGB" -> 3, None -> 1 channel for grayscale files, else 3."""
    from PIL import Image

    with Image.open(path) as im:
        if im.format == "JPEG":
            im.draft(mode if mode in ("L", "RGB") else None, (size, size))
        gray = im.mode in GRAY_MODES
        target = mode or ("L" if gray else "RGB")
        if im.mode.startswith("I") or im.mode == "F":  # 16/32-bit grayscale: scale to 8 bit
            a = np.asarray(im)
            a = (a.astype(np.float64) / 257.0 if a.max() > 255 else a).clip(0, 255).round().astype(np.uint8)
            im = Image.fromarray(a, "L")
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        if im.mode != target:
            im = im.convert(target)
        a = np.asarray(im)
    t = torch.from_numpy(a.copy())
    t = t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)
    with _one_thread():
        return resize_square(t, size)


def oneline(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
