"""A tiny CNN and a synthetic in-memory data set for engine tests (seconds on CPU)."""
from types import SimpleNamespace

import torch
from torch import nn


class Images(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], int(self.labels[i])


def tiny_data(n_train=192, n_val=64, n_test=64, size=32, seed=0):
    """Two classes that differ in brightness and a stripe: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)

    def make(n):
        y = torch.randint(0, 2, (n,), generator=g)
        x = torch.rand(n, 3, size, size, generator=g) * 90
        x += y[:, None, None, None] * 80
        x[y == 1, :, :, size // 2 - 2: size // 2 + 2] = 250
        return Images(x.to(torch.uint8), y)

    return SimpleNamespace(train=make(n_train), val=make(n_val), test=make(n_test), classes=["dark", "bright"])


def tiny_model(num_classes=2, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, num_classes),
    )
