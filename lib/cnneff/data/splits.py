"""Stratified, seeded train/val/test splits and stratified subsets (index arrays)."""
from __future__ import annotations

import math

import numpy as np


def stratified_split(labels: np.ndarray, val: float, test: float, seed: int):
    """Per class, ``round(n * val)`` indices to val and ``round(n * test)`` to
    test (leaving at least one in train), the rest to train.  Returns three
    sorted int64 index arrays."""
    rng = np.random.default_rng([seed, 0])
    parts: tuple[list, list, list] = ([], [], [])
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n = len(idx)
        nv, nt = int(math.floor(n * val + 0.5)), int(math.floor(n * test + 0.5))
        while nv + nt >= n and nv + nt > 0:  # keep one for training
            if nt >= nv:
                nt -= 1
            else:
                nv -= 1
        parts[1].append(idx[:nv])
        parts[2].append(idx[nv:nv + nt])
        parts[0].append(idx[nv + nt:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) if p else np.zeros(0, np.int64) for p in parts)


def _take(idx: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` of ``idx``, stratified by ``labels[idx]``: largest-remainder
    quotas proportional to the class sizes.  Returns sorted indices."""
    if k >= len(idx):
        return idx
    classes, counts = np.unique(labels[idx], return_counts=True)
    exact = counts * k / len(idx)
    quota = np.floor(exact).astype(int)
    order = np.lexsort((classes, -(exact - quota)))  # biggest remainder first, ties by class
    quota[order[: k - quota.sum()]] += 1
    keep = [rng.permutation(idx[labels[idx] == c])[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(keep)).astype(np.int64)


def apply_subset(parts, labels_of, subset: int | None, seed: int):
    """Cut (train, val, test) index arrays to ``subset`` training images and
    val/test by the same fraction (at least one image per class present)."""
    if subset is None:
        return parts
    if not isinstance(subset, (int, np.integer)) or isinstance(subset, bool) or subset < 1:
        raise ValueError(f"subset must be a positive integer (training images to keep), got {subset!r}")
    train, val, test = parts
    if subset >= len(train):
        return parts
    rng = np.random.default_rng([seed, 1])
    frac = subset / len(train)
    out = [_take(train, labels_of[0], subset, rng)]
    for idx, lab in ((val, labels_of[1]), (test, labels_of[2])):
        present = len(np.unique(lab[idx])) if len(idx) else 0
        out.append(_take(idx, lab, min(len(idx), max(present, round(frac * len(idx)))), rng))
    return tuple(out)
