"""The robustness set: a test split transformed by flips, rotations and noise."""
from __future__ import annotations

import torch

from ..core import one_thread as _one_thread
from .containers import ImageSet


ROBUSTNESS_TRANSFORMS = ("hflip", "rotate", "noise")


def robustness_set(test: ImageSet, seed: int = 0) -> ImageSet:
    """The face-mask paper's robustness set: every test image gets exactly one
    of horizontal flip, rotation by a random angle of 10..30 degrees either way
    (bilinear, black corners) or Gaussian noise (sigma = 0.1 of the 0..255
    range, clipped), chosen by a ``seed``-ed generator.  Returns a new ImageSet
    whose ``transforms`` lists the transform of each image ("hflip", "rotate",
    "noise") and whose ``angles`` holds each rotation in degrees (0 if none)."""
    from torchvision.transforms.v2 import functional as TF
    from torchvision.transforms import InterpolationMode

    if not hasattr(test, "images"):
        raise TypeError("robustness_set needs an in-memory ImageSet (load the folder with stream=False)")
    g = torch.Generator().manual_seed(seed)
    n = len(test)
    choice = torch.randint(0, 3, (n,), generator=g)
    angles = (torch.rand(n, generator=g) * 20 + 10) * torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    angles = torch.where(choice == 1, angles, torch.zeros(n))
    out = test.images.clone()
    flip = choice == 0
    out[flip] = out[flip].flip(-1)
    with _one_thread():
        for i in torch.nonzero(choice == 1).flatten().tolist():
            out[i] = TF.rotate(out[i], float(angles[i]), interpolation=InterpolationMode.BILINEAR, fill=0)
    noisy = choice == 2
    if noisy.any():
        x = out[noisy].float()
        x += torch.randn(x.shape, generator=g) * 25.5
        out[noisy] = x.round_().clamp_(0, 255).to(torch.uint8)
    res = ImageSet(out, test.labels.clone(), test.classes, [ROBUSTNESS_TRANSFORMS[c] for c in choice.tolist()])
    res.angles = angles
    return res
