"""The ``cnneff`` command line.

    cnneff flops MODEL [--image-size N] [--num-classes K] [--per-layer] [--json]
    cnneff run NAME|all [--profile cpu|gpu] [-p KEY VALUE ...]
    cnneff models

User errors (unknown model or notebook, bad image size, unknown parameter)
print one line ``cnneff: error: ...`` and exit with status 2, no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from .paths import PROFILES


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def cmd_flops(args) -> int:
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
    from .runner import notebook_names, parse_value, run_notebook

    overrides = {k: parse_value(v) for k, v in (args.param or [])}
    names = notebook_names() if args.name == "all" else [args.name]
    if args.name == "all" and overrides:
        raise ValueError("-p overrides apply to one notebook; name it instead of 'all'")
    for name in names:
        run_notebook(name, profile=args.profile, overrides=overrides)
    return 0


def cmd_models(args) -> int:
    from .models import model_table

    print(model_table().to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cnneff", description="CNN-efficiency reproducibility book helpers")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("flops", help="params and MACs of a model (MACs, not FLOPs: 1 MAC = 2 FLOPs)")
    f.add_argument("model", help="registry name (see `cnneff models`), or torchvision:NAME / timm:NAME")
    f.add_argument("--image-size", type=_int, default=None, help="input side in pixels (default: the model's native size)")
    f.add_argument("--num-classes", type=_int, default=1000, help="classifier outputs (default 1000)")
    f.add_argument("--per-layer", action="store_true", help="also list every layer's params and MACs")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=cmd_flops)

    r = sub.add_parser("run", help="execute a notebook with papermill into results/<profile>/")
    r.add_argument("name", help="notebook name (file stem under notebooks/) or 'all'")
    r.add_argument("--profile", choices=PROFILES, default="cpu", help="parameter profile (default cpu)")
    r.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                   help="override a notebook parameter (VALUE read as YAML); repeatable")
    r.set_defaults(func=cmd_run)

    m = sub.add_parser("models", help="list the model registry")
    m.set_defaults(func=cmd_models)
    return p


def main(argv=None) -> int:
    from .models import UnknownModelError
    from .runner import RunError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UnknownModelError, RunError, ValueError, FileNotFoundError) as e:
        print(f"cnneff: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
