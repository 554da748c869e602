"""A linear probe: logistic regression on a frozen network's pooled features."""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from .batches import iter_batches, in_chans, norm_stats, prepare_batch, stored_size
from .config import resolve_device

__all__ = ["features", "linear_probe"]


@torch.no_grad()
def features(model: nn.Module, dataset, *, image_size: int | None = None, batch_size: int = 128,
             device: str | torch.device = "auto", mean=None, std=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled penultimate features of every image (timm: ``forward_head(...,
    pre_logits=True)``; torchvision: ``features`` + global average pool).
    Returns (float features [N, D], int64 labels [N])."""
    device = resolve_device(device)
    image_size = image_size or stored_size(dataset)
    mean, std = norm_stats(model, mean, std)
    channels = in_chans(model)
    model = model.to(device).eval()
    out, labels = [], []
    for x, y in iter_batches(dataset, batch_size, False, None, 0):
        x = prepare_batch(x, image_size, channels, mean, std, device)
        if hasattr(model, "forward_features") and hasattr(model, "forward_head"):
            f = model.forward_head(model.forward_features(x), pre_logits=True)
        elif hasattr(model, "features"):
            f = F.adaptive_avg_pool2d(model.features(x), 1).flatten(1)
        else:
            raise ValueError(f"cannot take features of {type(model).__name__}: it has neither "
                             "forward_features/forward_head (timm) nor features (torchvision)")
        out.append(f.float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(out), torch.cat(labels)


def linear_probe(model: nn.Module, data, *, image_size: int | None = None, C: float = 1.0,
                 device: str | torch.device = "auto", mean=None, std=None) -> dict:
    """Fit a logistic regression (scikit-learn, standardized features, L2
    strength ``1/C``) on the frozen features of ``data.train`` and score it.
    Returns ``val_accuracy``, ``test_accuracy``, ``feature_dim`` and ``seconds``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    kw = dict(image_size=image_size, device=device, mean=mean, std=std)
    xtr, ytr = features(model, data.train, **kw)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))
    clf.fit(xtr.numpy(), ytr.numpy())
    out = dict(feature_dim=int(xtr.shape[1]))
    for split in ("val", "test"):
        ds = getattr(data, split, None)
        if ds is not None and len(ds):
            x, y = features(model, ds, **kw)
            out[f"{split}_accuracy"] = float(clf.score(x.numpy(), y.numpy()))
    out["seconds"] = time.perf_counter() - t0
    return out
