"""The ``cnneff`` command line.

    cnneff macs MODEL [--image-size N] [--num-classes K] [--per-layer] [--json]   (alias: flops)
    cnneff run NAME|all [--profile smoke|cpu|gpu] [-p KEY VALUE ...] [--out DIR] [--cached]
    cnneff train --model NAME --data SOURCE[:PATH] [--image-size N] [--epochs E] [--subset K] [--json]
                 [--checkpoint-dir DIR [--restart]] [--skip-corrupt [--verbose]]
    cnneff claims [--profile smoke|cpu|gpu|RUN_FOLDER] [--json]
    cnneff models

User errors (unknown model or notebook, bad image size, unknown parameter,
unusable device, data, weights or checkpoint) print one line
``cnneff: error: ...`` naming the problem and the fix, and exit with status 2,
no traceback.  ``train`` checks what it can (model name, device, sizes,
weights file, checkpoint folder) before it loads any data.  Warnings print as
one line ``cnneff: warning: ...``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings


class CliError(ValueError):
    """A command-line argument cannot work; the one-line message names it and the fix."""

from .paths import PROFILES


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def cmd_macs(args) -> int:
    """`cnneff macs`: print a model's params and MACs (and FLOPs = 2 MACs). Returns the exit status 0."""
    from .counting import check_image_size, count, per_layer
    from .models import build_model

    model = build_model(args.model, num_classes=args.num_classes)
    size = check_image_size(args.image_size if args.image_size is not None else model.image_size)
    c = count(model, size)
    out = dict(model=args.model, image_size=size, num_classes=args.num_classes, params=c.params, macs=c.macs)
    table = per_layer(model, size) if args.per_layer else None
    if args.json:
        if table is not None:
            out["layers"] = table.to_dict(orient="records")
        print(json.dumps(out))
        return 0
    if table is not None:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(table.to_string(index=False))
    print(f"{args.model} @ {size}px, {args.num_classes} classes: {c.params:,} params, "
          f"{c.macs:,} MACs ({c.macs / 1e6:,.1f} M MACs = {2 * c.macs / 1e6:,.1f} M FLOPs)")
    return 0


def cmd_run(args) -> int:
    """`cnneff run`: execute notebooks into their results folder. Returns the exit status 0."""
    from .runner import check_runs, notebook_names, parse_value, run_folder, run_notebook

    overrides = {k: parse_value(v) for k, v in (args.param or [])}
    names = notebook_names() if args.name == "all" else [args.name]
    if args.name == "all" and overrides:
        raise ValueError("-p overrides apply to one notebook; name it instead of 'all'")
    if "scorecard" in names:  # it reads every other notebook's metrics: run it last
        names = [n for n in names if n != "scorecard"] + ["scorecard"]
    force = {name: not args.cached for name in names}
    check_runs(names, profile=args.profile, overrides=overrides, force=force, out=args.out,
               require_data_root=args.paper_data)  # all of them, before the first runs
    if args.profile == "gpu" and not os.environ.get("DATA_ROOT"):
        print("cnneff: DATA_ROOT is not set: the gpu profile runs the papers' settings on the embedded data sets "
              "(ELPV, Fashion-MNIST); set DATA_ROOT (make reproduce DATA_ROOT=/data) for the papers' own data")
    for name in names:
        run_notebook(name, profile=args.profile, overrides=overrides, force=force[name], out=args.out)
    folder = run_folder(args.profile, overrides)
    if "scorecard" not in names and "scorecard" in notebook_names():  # refresh the folder's scorecard
        run_notebook("scorecard", profile=args.profile, overrides=None, force=not args.cached, out=args.out,
                     progress=False, folder=folder)
    if folder != args.profile or args.out:
        where = f"{args.out}/{folder}" if args.out else f"results/{folder}"
        print(f"results in {where}/ (the committed results/{args.profile}/ is untouched); "
              f"score them with `cnneff claims --profile {folder}`" + ("" if args.out else
              f", build a book from them with `make book RESULTS={where}`"))
    return 0


def _check_model_name(name: str) -> None:
    """Raise UnknownModelError for a model name nothing can build (without building it)."""
    from .models import UnknownModelError, native_image_size

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
        from .train.checkpoint import why_unloadable

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


def _train_config(args):
    """The TrainConfig of a ``cnneff train`` command line: the "cli" preset
    (cnneff.train.presets) with every option given (the options are
    TrainConfig's own fields, see :func:`_add_train_options`)."""
    from .train.config import TrainConfig, knobs

    given = {f.name: getattr(args, f.name) for f in knobs(cli_only=True)}
    return TrainConfig.preset("cli", progress=not args.json, **given)


def _precheck_train(args):
    """Everything ``cnneff train`` can check without the data, before loading it
    (model name, device, sizes, every training setting, the weights file, the
    checkpoint folder); CliError (or the check's own error) with one line.
    Returns the state dict of ``--weights`` (None without)."""
    from .counting import check_image_size
    from .train import resolve_device
    from .train.checkpoint import check_checkpoint_dir, locked, read_checkpoint

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
    _train_config(args)  # every training setting checked (one line naming the field) before the data loads
    weights = _read_weights(args.weights) if args.weights else None
    if args.checkpoint_dir:
        folder = check_checkpoint_dir(args.checkpoint_dir)
        with locked(folder):  # another fit using the folder: say so now, not after loading the data
            pass
        if not args.restart and (folder / "last.pt").is_file():
            read_checkpoint(folder / "last.pt")  # unreadable: say so now
    return weights


def _load_train_data(args):
    """The Splits of ``--data`` at ``--image-size`` (with ``--subset``, ``--seed``;
    ``--skip-corrupt`` where the source supports it), checked usable.  Returns them."""
    import inspect

    from . import data as data_mod

    kw = dict(image_size=args.image_size, subset=args.subset, seed=args.seed)
    fn = data_mod.SOURCES.get(args.data.partition(":")[0], (None,))[0]
    if args.skip_corrupt and fn is not None and "skip_corrupt" in inspect.signature(fn).parameters:
        kw["skip_corrupt"] = True
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"skipped \d+ unreadable")  # reported below, in full
        splits = data_mod.load(args.data, **kw)
    _report_skipped(splits, args.verbose)
    _check_splits(splits)
    return splits


def _train_model(args, splits, weights):
    """The network ``cnneff train`` trains: built seeded, ``--pretrained`` or
    ``--weights`` loaded, and proven able to take ``--image-size`` images.  Returns it."""
    import torch

    from .counting import count
    from .models import build_model, load_state_dict

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


def cmd_train(args) -> int:
    """`cnneff train`: check everything, load the data, train with the "cli" preset plus the options. Returns 0."""
    import torch

    from .train import fit

    weights = _precheck_train(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = _load_train_data(args)
    model = _train_model(args, splits, weights)
    r = fit(model, splits, _train_config(args))
    out = dict(model=args.model, data=splits.name, image_size=args.image_size, epochs=args.epochs,
               train_images=len(splits.train), test_images=r.test.get("n"),
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


def _check_profile_folder(profile: str) -> None:
    """CliError unless ``profile`` is a profile or an existing run folder of one."""
    from .paths import base_profile, results_dir

    if base_profile(profile) not in PROFILES or (profile not in PROFILES and not results_dir(profile).is_dir()):
        raise CliError(f"unknown profile or run folder {profile!r}; use {', '.join(PROFILES)} or a folder "
                       "that `cnneff run NAME -p KEY VALUE` wrote (results/<profile>+KEY=VALUE)")


def cmd_claims(args) -> int:
    """`cnneff claims`: print the scorecard of a profile or run folder. Returns the exit status 0."""
    import pandas as pd

    from .scorecard import counts, scorecard

    _check_profile_folder(args.profile)
    card = scorecard(args.profile)
    if args.json:
        print(json.dumps(dict(profile=args.profile, counts=counts(card),
                              claims=json.loads(card.to_json(orient="records")))))
        return 0
    with pd.option_context("display.max_rows", None, "display.width", 220, "display.max_colwidth", 60):
        print(card[["id", "what", "paper_value", "unit", "ours", "verdict"]].to_string(index=False))
    print(", ".join(f"{k}: {v}" for k, v in counts(card).items()))
    return 0


def cmd_models(args) -> int:
    """`cnneff models`: print the model registry. Returns the exit status 0."""
    from .models import model_table

    print(model_table().to_string(index=False))
    return 0


# Option spellings kept from earlier versions of the command line (field -> extra flag).
_TRAIN_ALIASES = {"bn_recalibration_batches": "--bn-recalibration"}


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """One option per command-line field of :class:`~cnneff.train.config.TrainConfig`
    (``--batch-size`` for ``batch_size``, ``--augment/--no-augment`` for a flag),
    its default from the "cli" preset and its help from the field's own text,
    so the training knobs are listed once (in cnneff.train.config)."""
    from .core import PRECISIONS
    from .train.config import OPTIMIZERS, SCHEDULES, TrainConfig, knobs

    cli = TrainConfig.preset("cli")
    choices = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "precision": PRECISIONS}
    for f in knobs(cli_only=True):
        flags = [f"--{f.name.replace('_', '-')}"] + ([_TRAIN_ALIASES[f.name]] if f.name in _TRAIN_ALIASES else [])
        default, kind = getattr(cli, f.name), str(f.type)
        kw = dict(default=default, dest=f.name, help=f"{f.metadata['help']} (default {default})")
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif kind.startswith("int"):
            kw["type"] = _int
        elif kind.startswith("float"):
            kw["type"] = float
        if f.name in choices:
            kw["choices"] = choices[f.name]
        parser.add_argument(*flags, **kw)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``cnneff`` sub-command.  Returns it."""
    p = argparse.ArgumentParser(prog="cnneff", description="CNN-efficiency reproducibility book helpers")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("macs", aliases=["flops"],
                       help="params and MACs of a model (the papers' 'FLOPs' are MACs: 1 MAC = 2 FLOPs)")
    f.add_argument("model", help="registry name (see `cnneff models`), or torchvision:NAME / timm:NAME")
    f.add_argument("--image-size", type=_int, default=None, help="input side in pixels (default: the model's native size)")
    f.add_argument("--num-classes", type=_int, default=1000, help="classifier outputs (default 1000)")
    f.add_argument("--per-layer", action="store_true", help="also list every layer's params and MACs")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=cmd_macs)

    r = sub.add_parser("run", help="execute a notebook with papermill into results/<profile>/")
    r.add_argument("name", help="notebook name (file stem under notebooks/) or 'all'")
    r.add_argument("--profile", choices=PROFILES, default="cpu", help="parameter profile (default cpu)")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="override a notebook parameter (VALUE read as YAML); repeatable")
    r.add_argument("--cached", action="store_true",
                   help="skip notebooks whose source, parameters and library are unchanged since their last good run")
    r.add_argument("--paper-data", action="store_true",
                   help="require DATA_ROOT, the papers' own data sets (make reproduce passes it); without it the gpu "
                        "profile runs the papers' settings on the embedded data sets")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="write the profile folders under DIR instead of results/ (default: results/; a run with -p "
                        "goes to results/<profile>+KEY=VALUE/, never over results/<profile>/)")
    r.set_defaults(func=cmd_run)

    t = sub.add_parser("train", help="train a registry model on a data source and report test metrics")
    t.add_argument("--model", required=True, help="registry name, or torchvision:NAME / timm:NAME")
    t.add_argument("--data", required=True,
                   help="fashion-mnist | elpv | elpv-4class | folder:PATH | deepweeds:PATH | cifar10:PATH | cifar100:PATH")
    t.add_argument("--subset", type=_int, default=None, help="keep at most K training images (stratified)")
    t.add_argument("--threads", type=_int, default=None, help="torch CPU threads")
    _add_train_options(t)  # every TrainConfig field the command line offers, defaults from the "cli" preset
    t.add_argument("--pretrained", action="store_true", help="ImageNet weights shipped offline (efficientnet_lite0)")
    t.add_argument("--weights", default=None, help="local state dict file to start from (timm/torchvision format)")
    t.add_argument("--skip-corrupt", action="store_true",
                   help="drop unreadable image files (folder:/deepweeds: sources) instead of stopping")
    t.add_argument("--verbose", action="store_true", help="list every skipped file")
    t.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("claims", help="the scorecard: every paper claim against our computed value")
    c.add_argument("--profile", default="cpu",
                   help=f"{' | '.join(PROFILES)}, or a run folder such as cpu+epochs=10 (default cpu)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_claims)

    m = sub.add_parser("models", help="list the model registry")
    m.set_defaults(func=cmd_models)
    return p


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"cnneff: warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv=None) -> int:
    """Run one ``cnneff`` command.  Returns the exit status: 0, or 2 after one ``cnneff: error:`` line."""
    from .models import UnknownModelError
    from .runner import RunError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return args.func(args)
        except (UnknownModelError, RunError, ValueError, KeyError, OSError) as e:
            print(f"cnneff: error: {' '.join(str(e).split())}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
