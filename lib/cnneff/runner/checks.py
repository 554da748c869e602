"""What a run's parameter values are checked for before any kernel starts:
ranges that the names make clear (sizes, epochs, repeats, seeds, fractions),
finite numbers, known device names (:func:`check_values`); and, for a whole
batch, that the devices the values ask for exist and that every data folder
and weight file they name is there (:func:`check_devices`,
:func:`check_inputs`), each path listed with where it comes from
(:data:`ORIGINS`)."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

__all__ = ["ORIGINS", "check_values", "check_devices", "check_inputs", "device_values", "input_paths"]

# Where each data set or weight file the profiles name under ${DATA_ROOT} comes from (the one place).
ORIGINS = {
    "rmfd": "RMFD / MFDD masked-face images, face/ + masked/ sub-folders "
            "(https://github.com/X-zhangyang/Real-World-Masked-Face-Dataset)",
    "imagenet100": "ImageNet-100: 100 ImageNet classes as train/ + val/ class folders "
                   "(https://image-net.org, a 100-class subset such as the CMC one)",
    "imagenet100_64": "ImageNet-100 (or a Tiny-ImageNet-style set) at 64 px, train/ + val/ class folders "
                      "(https://image-net.org)",
    "deepweeds": "DeepWeeds as published: images/*.jpg + labels.csv (https://github.com/AlexOlsen/DeepWeeds)",
    "cifar": "CIFAR-10/100 in torchvision's python format (https://www.cs.toronto.edu/~kriz/cifar.html)",
    "rps": "Rock-Paper-Scissors class folders (https://laurencemoroney.com/datasets.html)",
    "imagenet": "ImageNet-1k (ILSVRC-2012): train/<wnid>/ and val/<wnid>/ class folders (https://image-net.org)",
    "weights/mobilenet_v2-b0353104.pth": "torchvision's MobileNet_V2_Weights.IMAGENET1K_V1 state dict "
                                         "(https://download.pytorch.org/models/mobilenet_v2-b0353104.pth)",
    "weights/efficientnet_b0_rwightman-7f5810bc.pth": "torchvision's EfficientNet_B0_Weights.IMAGENET1K_V1 state "
                                                      "dict (https://download.pytorch.org/models/"
                                                      "efficientnet_b0_rwightman-7f5810bc.pth)",
}
_SPEC = re.compile(r"^[a-z][a-z0-9_-]*:(?=[/~.])")  # SOURCE:PATH data specs (folder:, deepweeds:, imagenet-val:)
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_AT_LEAST_1 = re.compile(r"(^n_|(^|_)(size|epochs|repeats|steps|rounds|stages|workers|threads|samples|units|"
                         r"multiple|batches|images|around)$)")
_AT_LEAST_0 = re.compile(r"(^|_)(seed|subset)$")
_FRACTION = re.compile(r"(^|_)(fraction|ratio|ratios|dropout)$")


def _bad(name: str, key: str, value, why: str):
    """Raise RunError: ``notebook NAME: parameter KEY is VALUE: WHY`` (never returns)."""
    from .params import RunError

    raise RunError(f"notebook {name!r}: parameter {key!r} is {value!r}: {why}")


def _numbers(value):
    """Every number inside ``value`` (lists and mappings searched).  Yields them."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def is_device_key(key: str) -> bool:
    """True for a parameter that names a device (``device``, ``fused_device``)."""
    return key == "device" or key.endswith("_device")


def check_values(name: str, values: dict) -> None:
    """RunError (one line naming the parameter and the rule) for a value a
    notebook cannot use: NaN or an infinity anywhere; a negative seed or
    subset; a size, epoch, repeat, step, thread or image count below 1; a
    fraction, ratio or dropout outside [0, 1]; ``seeds`` empty; a device name
    other than auto, cpu, cuda, cuda:N or mps.  Returns None."""
    for key, value in values.items():
        if any(isinstance(x, float) and not math.isfinite(x) for x in _numbers(value)):
            _bad(name, key, value, "NaN and infinities are refused; pass a finite number")
        ints = [x for x in ([value] if not isinstance(value, (list, tuple)) else value)
                if isinstance(x, int) and not isinstance(x, bool)]
        if _AT_LEAST_1.search(key) and any(x < 1 for x in ints):
            _bad(name, key, value, "it counts sizes, epochs, repeats or images and must be at least 1")
        if (_AT_LEAST_0.search(key) or key.endswith("seeds")) and any(x < 0 for x in ints):
            _bad(name, key, value, "seeds and subsets must be integers >= 0 (a subset of 0 keeps every image)")
        if key == "seeds" and isinstance(value, (list, tuple)) and not value:
            _bad(name, key, value, "give at least one seed, e.g. [0]")
        if _FRACTION.search(key) and any(not 0 <= x <= 1 for x in _numbers(value)):
            _bad(name, key, value, "fractions, ratios and dropout rates lie between 0 and 1")
        if is_device_key(key) and isinstance(value, str) and not _DEVICE.match(value):
            _bad(name, key, value, "unknown device; use auto, cpu, cuda, cuda:N or mps")


def device_values(values: dict) -> list[tuple[str, str]]:
    """(parameter, device) of every device a run's values ask for (top-level
    device parameters and the ``device`` field of training mappings).  Returns the list."""
    out = [(k, v) for k, v in values.items() if is_device_key(k) and isinstance(v, str)]
    out += [(f"{k}.device", v["device"]) for k, v in values.items()
            if isinstance(v, dict) and isinstance(v.get("device"), str)]
    return out


def check_devices(runs: list[tuple[str, dict, dict]]) -> None:
    """RunError unless every CUDA/MPS device that the runs' values ask for
    exists here (``runs``: (notebook, values, {parameter: where its value
    comes from})).  torch is imported only when a value asks for one.  Returns None."""
    wanted = [(name, key, dev, origins.get(key.split(".")[0], "its default")) for name, values, origins in runs
              for key, dev in device_values(values) if dev.startswith(("cuda", "mps"))]
    if not wanted:
        return
    from ..core import DeviceError, resolve_device  # lazily: it imports torch

    for name, key, dev, origin in wanted:
        try:
            resolve_device(dev)
        except DeviceError as e:
            from .params import RunError

            raise RunError(f"notebook {name!r}: parameter {key!r} is {dev!r} ({origin}), but {e}; nothing "
                           f"was run (on this machine pass -p {key.split('.')[0]} cpu, or run on one with the "
                           "device)") from None


def input_paths(values: dict) -> list[tuple[str, Path]]:
    """(parameter, path) of every input a run's values name: the path of a
    ``SOURCE:PATH`` data spec (``folder:/data/rmfd``, ``deepweeds:``,
    ``imagenet-val:`` ...; not a URL, not ``timm:NAME``), every non-empty
    ``weights`` / ``*_weights`` file and every ``*_root`` folder.  Returns the list."""
    out = []
    for key, value in values.items():
        if not isinstance(value, str) or not value or "://" in value:
            continue
        if _SPEC.match(value):
            out.append((key, Path(value.split(":", 1)[1]).expanduser()))
        elif key == "weights" or key.endswith(("_weights", "_root")):
            out.append((key, Path(value).expanduser()))
    return out


def _origin(path: Path, data_root: str | None, comment: str) -> str:
    """Where ``path`` comes from: :data:`ORIGINS` by its place under DATA_ROOT,
    else the comment of its line in the profile file.  Returns a short text."""
    if data_root:
        try:
            rel = path.resolve().relative_to(Path(data_root).resolve()).as_posix()
        except ValueError:
            rel = ""
        for key in (rel, rel.split("/")[0]):
            if key in ORIGINS:
                return ORIGINS[key]
    return comment or "see book/about_the_data.md"


def _line_comment(params_file: Path | None, key: str) -> str:
    """The ``# comment`` on the line of ``key`` in a profile file ('' if none)."""
    if params_file is None or not params_file.is_file():
        return ""
    for line in params_file.read_text().splitlines():
        if line.startswith(f"{key}:") and "  #" in line:
            return line.split("  #", 1)[1].strip()
    return ""


def check_inputs(runs: list[tuple[str, dict, Path | None]], needs_root: bool) -> None:
    """RunError unless DATA_ROOT (when any value uses it, or ``needs_root``)
    is an existing folder and every input path of the runs' expanded values
    exists (``runs``: (notebook, values, the profile file or None)).  The
    message is one ``cnneff: error:`` line followed by one line per missing
    path with the parameter that names it and where it comes from.  Returns None."""
    from .params import RunError

    root = os.environ.get("DATA_ROOT")
    if root and needs_root and not Path(root).is_dir():
        raise RunError(f"DATA_ROOT={root} is not an existing folder; set it to the folder that holds the papers' "
                       "data sets (see book/about_the_data.md); nothing was run")
    missing = []
    for name, values, params_file in runs:
        for key, path in input_paths(values):
            if not path.exists():
                where = _origin(path, root, _line_comment(params_file, key))
                missing.append(f"  {path}  ({name}.{key}): {where}")
    if missing:
        raise RunError(f"{len(missing)} input(s) the run needs do not exist; put them in place "
                       f"(DATA_ROOT={root or '(unset)'}) or pass -p KEY VALUE; nothing was run:\n" + "\n".join(missing))
