"""The registry of every network the book uses: names, builders, native sizes.

``build_model(name, num_classes=..., **overrides)`` returns an ``nn.Module``
whose attribute ``image_size`` is its native (square) input side in pixels;
``MODELS[name]`` holds the metadata (builder, native size, where the
definition comes from).  The sibling modules of :mod:`cnneff.models` fill
``MODELS`` through :func:`register` (metadata known at import) or
:func:`register_deferred` (metadata read from ``claims.yaml`` on first use, so
that importing the registry parses no claims).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cache
from typing import Callable, NamedTuple

import torch
from torch import nn

from ..scaling import image_side

__all__ = [
    "ModelSpec", "SpecDetails", "MODELS", "register", "register_deferred", "UnknownModelError",
    "model_names", "native_image_size", "build_model", "build_torchvision", "load_state_dict", "model_table",
]


class UnknownModelError(KeyError):
    """Raised for a model name that is not in the registry; the message lists the valid names."""

    def __str__(self):  # KeyError would quote the whole message
        return self.args[0]


class SpecDetails(NamedTuple):
    """The metadata of a registry entry that may be resolved late."""

    image_size: int  # native square input side in pixels
    note: str
    defaults: dict  # fixed builder kwargs (r, w, d, ...)


@dataclass(frozen=True)
class ModelSpec:
    """Registry entry: how to build one network and what its native input is.

    ``details`` returns the entry's :class:`SpecDetails`; the properties
    ``image_size`` (pixels), ``note`` and ``defaults`` read it, so an entry
    whose values live in ``claims.yaml`` resolves them on first use."""

    name: str
    builder: Callable[..., nn.Module]  # called as builder(num_classes=..., **overrides)
    source: str  # where the definition comes from (library / paper)
    details: Callable[[], SpecDetails] = field(repr=False, compare=False)

    @property
    def image_size(self) -> int:
        """Native square input side in pixels."""
        return self.details().image_size

    @property
    def note(self) -> str:
        """One line on what the entry is."""
        return self.details().note

    @property
    def defaults(self) -> dict:
        """The fixed builder kwargs (r, w, d, ...) of the entry."""
        return self.details().defaults


MODELS: dict[str, ModelSpec] = {}


def register(name: str, builder: Callable[..., nn.Module], image_size: int, source: str, note: str = "",
             **defaults) -> ModelSpec:
    """Add registry entry ``name`` whose metadata is known now (``image_size`` in
    pixels, ``defaults``: fixed builder kwargs).  Returns the new :class:`ModelSpec`."""
    details = SpecDetails(image_size, note, defaults)
    MODELS[name] = ModelSpec(name, builder, source, lambda: details)
    return MODELS[name]


def register_deferred(name: str, builder: Callable[..., nn.Module], source: str,
                      details: Callable[[], SpecDetails]) -> ModelSpec:
    """Add registry entry ``name`` whose metadata ``details()`` computes on first
    use (once: the result is cached), e.g. from ``claims.yaml``.  Returns the new
    :class:`ModelSpec`."""
    MODELS[name] = ModelSpec(name, builder, source, cache(details))
    return MODELS[name]


def model_names() -> list[str]:
    """Returns the sorted list of registry names."""
    return sorted(MODELS)


def _spec(name: str) -> ModelSpec:
    """Returns the registry entry ``name``; raises :class:`UnknownModelError` listing the valid names."""
    if name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Valid names: {', '.join(model_names())}; "
            "or 'torchvision:NAME' / 'timm:NAME' for any model those libraries build."
        )
    return MODELS[name]


def native_image_size(name: str, **overrides) -> int:
    """Returns the native input side in pixels of registry model ``name`` (for
    the twisted B0, ``int(224 * r)`` with ``r`` taken from ``overrides``)."""
    if name.startswith(("torchvision:", "timm:")):
        return build_model(name).image_size
    spec = _spec(name)
    if "r" in overrides or "r" in spec.defaults:
        return image_side(overrides.get("r", spec.defaults.get("r")))
    return spec.image_size


def build_model(name: str, num_classes: int = 1000, **overrides) -> nn.Module:
    """Build registry model ``name`` (or ``torchvision:NAME`` / ``timm:NAME``)
    with a ``num_classes``-way head.  ``overrides`` go to the underlying builder
    (e.g. ``dropout=0.2`` for torchvision nets, ``drop_rate`` for timm nets,
    ``r=, w=, d=`` for ``efficientnet_b0_rwd``, ``block=`` for
    ``simplified_efficientnet``).  Returns the module; it carries ``image_size``
    (native input side, pixels) and ``cnneff_name``."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if name.startswith("torchvision:"):
        model = build_torchvision(name.split(":", 1)[1], num_classes, **overrides)
        size = 224
    elif name.startswith("timm:"):
        model = _build_timm(name.split(":", 1)[1], num_classes, **overrides)
        size = int(getattr(model, "pretrained_cfg", {}).get("input_size", (3, 224, 224))[-1])
    else:
        spec = _spec(name)
        kwargs = {**spec.defaults, **overrides}
        model = spec.builder(num_classes=num_classes, **kwargs)
        size = image_side(kwargs["r"]) if "r" in kwargs else spec.image_size
    model.image_size = size
    model.cnneff_name = name
    return model


def build_torchvision(arch: str, num_classes: int, **kw) -> nn.Module:
    """Returns torchvision's model ``arch`` with a ``num_classes``-way head and
    fresh weights (hub weights are refused: nothing is downloaded here)."""
    import torchvision

    try:
        fn = torchvision.models.get_model_builder(arch)
    except ValueError as e:
        raise UnknownModelError(
            f"torchvision has no model {arch!r}; valid: {', '.join(torchvision.models.list_models())}"
        ) from e
    if kw.get("weights") is not None:  # any torchvision weights enum/name means a download
        raise ValueError(
            "hub weights cannot be downloaded here; build with weights=None and load a local "
            "state dict with cnneff.models.load_state_dict(model, PATH)"
        )
    return fn(num_classes=num_classes, **kw)


def _build_timm(arch: str, num_classes: int, **kw) -> nn.Module:
    """Returns timm's model ``arch`` with a ``num_classes``-way head and fresh
    weights (``pretrained=True`` is refused: nothing is downloaded here)."""
    import timm

    if not timm.is_model(arch):
        raise UnknownModelError(f"timm has no model {arch!r}; see timm.list_models()")
    if kw.pop("pretrained", False):
        raise ValueError(
            "hub weights cannot be downloaded here; build with pretrained=False and load a "
            "local state dict with cnneff.models.load_state_dict(model, PATH)"
        )
    return timm.create_model(arch, pretrained=False, num_classes=num_classes, **kw)


def load_state_dict(model: nn.Module, path: str, strict: bool = True) -> nn.Module:
    """Load a local state dict file (timm or torchvision format) with
    ``torch.load(weights_only=True)``; a head whose shape differs from the file's
    (another number of classes) is skipped and stays freshly initialized.
    Returns the model."""
    import os

    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path} does not exist; pass the path of a local state dict (.pth)")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    own = model.state_dict()
    skipped = [k for k, v in sd.items() if k in own and own[k].shape != v.shape]
    sd = {k: v for k, v in sd.items() if k not in skipped}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k not in skipped]
    if strict and (missing or unexpected):
        raise ValueError(f"{path} does not fit {type(model).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model


def model_table():
    """Returns a DataFrame describing every registry entry, in registration
    order: name, native image size (pixels), source, note."""
    import pandas as pd

    return pd.DataFrame(
        [dict(name=s.name, image_size=native_image_size(s.name), source=s.source, note=s.note)
         for s in MODELS.values()]
    )
