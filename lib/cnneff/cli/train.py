"""``cnneff train``: any registry model on any data source, checked before
the data loads (model name, device, sizes, every training setting, the
weights file, the checkpoint folder, whether a batch fits in memory)."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings

from .common import CliError, int_option, warn

__all__ = ["cmd_train", "add_train_parser", "train_config"]


def _check_model_name(name: str) -> None:
    """Raise UnknownModelError for a model name nothing can build (without building it)."""
    from ..models import UnknownModelError, native_image_size

    lib, _, arch = name.partition(":")
    if lib == "timm" and arch:
        import timm

        if not timm.is_model(arch):
            raise UnknownModelError(f"timm has no model {arch!r}; see timm.list_models()")
    elif lib == "torchvision" and arch:
        import torchvision

        try:
            torchvision.models.get_model_builder(arch)
        except ValueError:
            raise UnknownModelError(f"torchvision has no model {arch!r}; valid: "
                                    f"{', '.join(torchvision.models.list_models())}") from None
    else:
        native_image_size(name)  # raises for a name outside the registry


def _read_weights(path: str) -> dict:
    """The state dict in a ``--weights`` file (``{"state_dict": ...}`` unwrapped);
    CliError naming the file if it is not one."""
    import torch

    if not os.path.isfile(path):
        raise CliError(f"weights file {path} does not exist; pass the path of a local state dict (.pth)")
    fix = "pass a file saved with torch.save(model.state_dict())"
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a file we cannot use
        from ..train.checkpoint import why_unloadable

        raise CliError(f"weights file {path} is not a readable PyTorch state dict ({why_unloadable(e)}); "
                       f"{fix}") from None
    if isinstance(sd, dict) and isinstance(sd.get("state_dict"), dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CliError(f"weights file {path} holds a {type(sd).__name__}, not a state dict of tensors; {fix}")
    return sd


def _report_skipped(splits, verbose: bool) -> None:
    files = list(getattr(splits, "skipped_files", []) or [])
    n = max(len(files), int(getattr(splits, "skipped", 0) or 0))
    if not n:
        return
    if verbose:
        print(f"cnneff: skipped {n} unreadable image file(s):", file=sys.stderr)
        for f in files:
            print(f"  {f}", file=sys.stderr)
    else:
        first = f" (first: {files[0]})" if files else ""
        print(f"cnneff: skipped {n} unreadable image file(s){first}; --verbose lists them all", file=sys.stderr)


def _check_splits(splits) -> None:
    """CliError for splits training cannot use: under 2 training images, or an empty test split."""
    if len(splits.train) < 2:
        raise CliError(f"{splits.name} leaves {len(splits.train)} training image(s); BatchNorm needs at least 2 per "
                       "step: use --subset 2 or more, or more images")
    if len(splits.test) == 0:
        counts = splits.class_counts()
        totals = [sum(c) for c in zip(*counts.values())]
        few = [f"{c} {n}" for c, n in zip(splits.classes, totals) if n <= 4]
        raise CliError(f"{splits.name} leaves the test split empty: 10 % of each class rounds to 0 images when a class "
                       f"has 4 or fewer ({', '.join(few[:6])}{' ...' if len(few) > 6 else ''}); add images (5 or more "
                       "per class) or a test/ sub-folder, or use a larger --subset")


def train_config(args):
    """The TrainConfig of a ``cnneff train`` command line: the "cli" preset
    (cnneff.train.presets) with every option given (the options are
    TrainConfig's own fields, see :func:`_add_train_options`).  A refused
    value (``--lr nan``) raises CliError naming its option.  Returns the config."""
    import re

    from ..train.config import ConfigError, TrainConfig, knobs

    given = {f.name: getattr(args, f.name) for f in knobs(cli_only=True)}
    try:
        return TrainConfig.preset("cli", progress=not args.json, **given)
    except ConfigError as e:
        m = re.match(r"training setting (\w+)=", str(e))
        option = f" (--{m.group(1).replace('_', '-')})" if m else ""
        raise CliError(f"{e}{option}") from None


_train_config = train_config  # the name tests and older callers use


def _precheck_train(args):
    """Everything ``cnneff train`` can check without the data, before loading it
    (model name, device, sizes, every training setting, the weights file, the
    checkpoint folder); CliError (or the check's own error) with one line.
    Returns the state dict of ``--weights`` (None without)."""
    from ..counting import check_image_size
    from ..train import resolve_device
    from ..train.checkpoint import check_checkpoint_dir, locked, read_checkpoint

    _check_model_name(args.model)
    resolve_device(args.device)
    try:
        check_image_size(args.image_size)
    except ValueError as e:
        raise CliError(f"{e} (--image-size): smaller images vanish in the networks' stride-2 stages") from None
    if args.subset is not None and args.subset < 2:
        raise CliError(f"--subset {args.subset} keeps fewer than 2 training images and BatchNorm needs at least 2 "
                       "per step; pass --subset 2 or more (at least one per class is better)")
    if args.epochs < 1 or args.batch_size < 1:
        raise CliError("--epochs and --batch-size must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise CliError("--threads must be at least 1")
    train_config(args)  # every training setting checked (one line naming the option) before the data loads
    weights = _read_weights(args.weights) if args.weights else None
    if args.checkpoint_dir:
        folder = check_checkpoint_dir(args.checkpoint_dir)
        with locked(folder):  # another fit using the folder: say so now, not after loading the data
            pass
        if not args.restart and (folder / "last.pt").is_file():
            read_checkpoint(folder / "last.pt")  # unreadable: say so now
    from .memory import check_batch_fits

    check_batch_fits(args.model, args.image_size, args.batch_size, resolve_device(args.device))
    return weights


def _load_train_data(args):
    """The Splits of ``--data`` at ``--image-size`` (with ``--subset``, ``--seed``;
    ``--skip-corrupt`` where the source supports it), checked usable.  Returns them."""
    import inspect

    from .. import data as data_mod

    kw = dict(image_size=args.image_size, subset=args.subset, seed=args.seed)
    fn = data_mod.SOURCES.get(args.data.partition(":")[0], (None,))[0]
    if args.skip_corrupt and fn is not None and "skip_corrupt" in inspect.signature(fn).parameters:
        kw["skip_corrupt"] = True
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"skipped \d+ unreadable")  # reported below, in full
        splits = data_mod.load(args.data, **kw)
    _report_skipped(splits, args.verbose)
    _check_splits(splits)
    if args.subset is not None and args.subset > len(splits.train):
        warn(f"--subset {args.subset} is more than the {len(splits.train)} training images of {splits.name}; "
             f"training on all {len(splits.train)}")
    return splits


def _train_model(args, splits, weights):
    """The network ``cnneff train`` trains: built seeded, ``--pretrained`` or
    ``--weights`` loaded, and proven able to take ``--image-size`` images.  Returns it."""
    import torch

    from ..counting import count
    from ..models import build_model, load_state_dict

    torch.manual_seed(args.seed)
    model = build_model(args.model, num_classes=len(splits.classes), **({"pretrained": True} if args.pretrained else {}))
    if weights is not None:
        own = model.state_dict()
        if not any(k in own and own[k].shape == v.shape for k, v in weights.items()):
            raise CliError(f"weights file {args.weights} fits none of {args.model}'s tensors (its keys look like "
                           f"{', '.join(list(weights)[:2])}); pass weights saved from the same architecture")
        load_state_dict(model, args.weights, strict=False)
    try:
        count(model, args.image_size)
    except Exception as e:  # noqa: BLE001 - any failure of a dry forward pass means the size does not fit
        why = " ".join(str(e).split())[:120] or type(e).__name__
        raise CliError(f"{args.model} cannot take {args.image_size}x{args.image_size} images ({why}); pass a larger "
                       f"--image-size (its native size is {getattr(model, 'image_size', '?')})") from None
    return model


class _CnneffLines:
    """A stderr that passes on only whole lines starting with ``cnneff:``
    (errors, warnings, notices) and drops the rest (progress bars)."""

    def __init__(self, real):
        self.real, self.buffer = real, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            line = line.rsplit("\r", 1)[-1]  # what a terminal would show: after the last carriage return
            if line.startswith(("cnneff:", "  ")):  # cnneff's lines and the indented lists they announce
                self.real.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.real.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def _only_cnneff_lines_on_stderr(active: bool):
    """While the block runs (when ``active``), stderr carries only ``cnneff:`` lines."""
    if not active:
        yield
        return
    with contextlib.redirect_stderr(_CnneffLines(sys.stderr)):
        yield


def cmd_train(args) -> int:
    """`cnneff train`: check everything, load the data, train with the "cli" preset plus the options. Returns 0."""
    import torch

    from ..train import fit

    weights = _precheck_train(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    with _only_cnneff_lines_on_stderr(args.json):  # --json: no progress bars, only cnneff's own lines
        splits = _load_train_data(args)
        model = _train_model(args, splits, weights)
        r = fit(model, splits, train_config(args))
    out = dict(model=args.model, data=splits.name, classes=list(splits.classes), image_size=args.image_size,
               epochs=args.epochs, train_images=len(splits.train), test_images=r.test.get("n"),
               test_accuracy=r.test.get("accuracy"), precision=r.test.get("precision"),
               recall=r.test.get("recall"), f1=r.test.get("f1"), seconds=r.train_seconds,
               images_per_second=float(r.history["images_per_second"].mean()))
    if args.json:
        print(json.dumps(out))
    else:
        print(r.history.round(4).to_string(index=False))
        print(f"test accuracy {out['test_accuracy']:.4f}, precision {out['precision']:.4f}, recall {out['recall']:.4f}, "
              f"f1 {out['f1']:.4f}; trained {out['seconds']:.1f} s at {out['images_per_second']:.0f} images/s")
    return 0


_TRAIN_ALIASES = {"bn_recalibration_batches": "--bn-recalibration"}


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """One option per command-line field of :class:`~cnneff.train.config.TrainConfig`
    (``--batch-size`` for ``batch_size``, ``--augment/--no-augment`` for a flag),
    its default from the "cli" preset and its help from the field's own text,
    so the training knobs are listed once (in cnneff.train.config)."""
    from ..core import PRECISIONS
    from ..train.config import OPTIMIZERS, SCHEDULES, TrainConfig, knobs

    cli = TrainConfig.preset("cli")
    choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "precision": PRECISIONS}
    for f in knobs(cli_only=True):
        flags = [f"--{f.name.replace('_', '-')}"] + ([_TRAIN_ALIASES[f.name]] if f.name in _TRAIN_ALIASES else [])
        default, kind = getattr(cli, f.name), str(f.type)
        kw = dict(default=default, dest=f.name, help=f"{f.metadata['help']} (default {default})")
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif kind.startswith("int"):
            kw["type"] = int_option
        elif kind.startswith("float"):
            kw["type"] = float
        if f.name in choices:
            kw["choices"] = choices[f.name]
        parser.add_argument(*flags, **kw)



def add_train_parser(sub) -> None:
    """Add the ``train`` sub-command to ``sub`` (argparse sub-parsers).  Returns None."""
    t = sub.add_parser("train", help="train a registry model on a data source and report test metrics")
    t.add_argument("--model", required=True, help="registry name, or torchvision:NAME / timm:NAME")
    t.add_argument("--data", required=True,
                   help="fashion-mnist | elpv | elpv-4class | folder:PATH | deepweeds:PATH | cifar10:PATH | cifar100:PATH")
    t.add_argument("--subset", type=int_option, default=None, help="keep at most K training images (stratified)")
    t.add_argument("--threads", type=int_option, default=None, help="torch CPU threads")
    _add_train_options(t)  # every TrainConfig field the command line offers, defaults from the "cli" preset
    t.add_argument("--pretrained", action="store_true", help="ImageNet weights shipped offline (efficientnet_lite0)")
    t.add_argument("--weights", default=None, help="local state dict file to start from (timm/torchvision format)")
    t.add_argument("--skip-corrupt", action="store_true",
                   help="drop unreadable image files (folder:/deepweeds: sources) instead of stopping")
    t.add_argument("--verbose", action="store_true", help="list every skipped file")
    t.add_argument("--json", action="store_true", help="print the final metrics (and the class names) as one JSON "
                                                       "object; stderr carries only cnneff's own lines")
    t.set_defaults(func=cmd_train)
