"""Small, learnable, seeded images: a class signature (shape, foreground and
background colour) per class, and faces with or without a mask (RMFD).

Every image is drawn with PIL from a ``numpy.random.default_rng`` seeded by
(seed, data set, class, image), so the same call always draws the same pixels;
per-image jitter (position, size, noise) keeps the images of a class distinct.
Encoded bytes come from :func:`encode` (JPEG quality 90, or PNG).
"""
from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["SHAPES", "FOREGROUNDS", "BACKGROUNDS", "signature", "image_rng", "class_image", "face_image",
           "encode", "as_array"]

SHAPES = ("disc", "square", "triangle", "cross", "ring", "bars", "diamond", "dots")
FOREGROUNDS = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
               (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (255, 255, 255))
BACKGROUNDS = ((20, 20, 20), (90, 60, 30), (40, 40, 110), (30, 80, 40), (120, 120, 120), (100, 20, 40),
               (170, 150, 130), (60, 90, 120), (150, 120, 60), (70, 30, 90), (10, 60, 70))


def signature(k: int) -> tuple[str, tuple, tuple]:
    """Class ``k``'s look: (shape, foreground RGB, background RGB).  Distinct for
    k < 8 x 12 x 11 = 1,056 classes (ImageNet-1k included).  Returns the triple."""
    j, block = k % 96, k // 96  # 96 = 8 shapes x 12 foregrounds; neighbouring classes differ in every part
    shape = SHAPES[j % 8]
    fg = FOREGROUNDS[(j // 8 + 5 * (j % 8)) % 12]
    bg = BACKGROUNDS[(block + k) % 11]
    return shape, fg, bg


def image_rng(seed: int, dataset: str, k: int, i: int) -> np.random.Generator:
    """Returns the generator of image ``i`` of class ``k`` of ``dataset`` (a stable crc32 of its name)."""
    return np.random.default_rng([int(seed), zlib.crc32(dataset.encode()), int(k), int(i)])


def _draw_shape(d: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], fg) -> None:
    """Draw ``shape`` filling ``box`` (x0, y0, x1, y1) in colour ``fg``."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    w = max(1.0, r / 3)
    if shape == "disc":
        d.ellipse(box, fill=fg)
    elif shape == "square":
        d.rectangle(box, fill=fg)
    elif shape == "triangle":
        d.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fg)
    elif shape == "cross":
        d.rectangle((cx - w, y0, cx + w, y1), fill=fg)
        d.rectangle((x0, cy - w, x1, cy + w), fill=fg)
    elif shape == "ring":
        d.ellipse(box, outline=fg, width=int(w) + 1)
    elif shape == "bars":
        for j in range(3):
            top = y0 + j * (y1 - y0) / 3
            d.rectangle((x0, top, x1, top + (y1 - y0) / 6), fill=fg)
    elif shape == "diamond":
        d.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fg)
    else:  # dots
        for dx in (-1, 1):
            for dy in (-1, 1):
                px, py = cx + dx * r / 2, cy + dy * r / 2
                d.ellipse((px - w, py - w, px + w, py + w), fill=fg)


def _noisy(im: Image.Image, rng: np.random.Generator, amount: int = 12) -> Image.Image:
    """``im`` with uniform noise of +-``amount`` per pixel and channel.  Returns a new RGB image."""
    a = np.asarray(im, dtype=np.int16) + rng.integers(-amount, amount + 1, (im.height, im.width, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def class_image(k: int, rng: np.random.Generator, size: tuple[int, int] = (48, 48)) -> Image.Image:
    """An RGB image of class ``k`` (:func:`signature`), ``size`` = (width, height)
    pixels: the shape at a random place and scale (45-75 % of the shorter side)
    on the background, plus noise.  Returns the PIL image."""
    shape, fg, bg = signature(k)
    w, h = size
    im = Image.new("RGB", (w, h), bg)
    side = min(w, h) * rng.uniform(0.45, 0.75)
    cx = w / 2 + rng.uniform(-0.15, 0.15) * w
    cy = h / 2 + rng.uniform(-0.15, 0.15) * h
    _draw_shape(ImageDraw.Draw(im), shape, (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), fg)
    return _noisy(im, rng)


SKIN = ((241, 194, 167), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172), (170, 120, 90))
MASKS = ((135, 206, 235), (250, 250, 250), (30, 30, 30), (70, 110, 200))


def face_image(person: int, masked: bool, rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A ``size`` x ``size`` RGB face of ``person`` (skin tone and background fixed
    per person), jittered per image; ``masked`` covers mouth and nose with a
    surgical-mask-coloured band (the only difference between the two RMFD
    classes).  Returns the PIL image."""
    bg = BACKGROUNDS[(person * 5 + 3) % len(BACKGROUNDS)]
    skin = SKIN[person % len(SKIN)]
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    s = size * rng.uniform(0.8, 1.0)
    cx, cy = size / 2 + rng.uniform(-0.06, 0.06) * size, size / 2 + rng.uniform(-0.06, 0.06) * size
    x0, y0, x1, y1 = cx - 0.35 * s, cy - 0.45 * s, cx + 0.35 * s, cy + 0.45 * s
    d.ellipse((x0, y0, x1, y1), fill=skin)
    eye = 0.05 * s
    for ex in (cx - 0.14 * s, cx + 0.14 * s):
        d.ellipse((ex - eye, cy - 0.12 * s - eye, ex + eye, cy - 0.12 * s + eye), fill=(40, 30, 30))
    if masked:
        colour = MASKS[int(rng.integers(len(MASKS)))]
        d.rounded_rectangle((x0 + 0.02 * s, cy + 0.0 * s, x1 - 0.02 * s, cy + 0.34 * s), radius=int(0.06 * s) + 1,
                            fill=colour)
    else:
        d.line((cx - 0.12 * s, cy + 0.22 * s, cx + 0.12 * s, cy + 0.22 * s), fill=(150, 50, 50),
               width=max(1, int(0.03 * s)))
    return _noisy(im, rng, 8)


def encode(im: Image.Image, fmt: str) -> bytes:
    """Returns the bytes of ``im`` as ``fmt`` ("JPEG": quality 90; "PNG")."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=90)
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def as_array(im: Image.Image) -> np.ndarray:
    """Returns ``im``'s pixels as a uint8 array [H, W, 3]."""
    return np.asarray(im.convert("RGB"), dtype=np.uint8)
