"""The ``cnneff`` command line::

    cnneff macs MODEL [--image-size N] [--num-classes K] [--per-layer] [--json]   (alias: flops)
    cnneff run NAME|all [--profile smoke|cpu|gpu] [-p KEY VALUE ...] [--out DIR] [--cached]
    cnneff train --model NAME --data SOURCE[:PATH] [--image-size N] [--epochs E] [--subset K] [--json]
                 [--checkpoint-dir DIR [--restart]] [--skip-corrupt [--verbose]]
    cnneff claims [--profile smoke|cpu|gpu|RUN_FOLDER] [--json]
    cnneff models
    cnneff rehearsal-data DIR [--force] [--seed N] [--json]   (cnneff.rehearsal.command)

User errors (unknown model or notebook, bad image size, unknown parameter or
one out of range, unusable device, data, weights or checkpoint, a batch that
cannot fit in memory) print one line ``cnneff: error: ...`` naming the
problem and the fix, and exit with status 2, no traceback (a list of missing
inputs follows that line, one per line).  ``train`` checks what it can (model
name, device, sizes, settings, weights file, checkpoint folder, memory) before
it loads any data; ``run`` checks every notebook of the batch before the
first starts.  Warnings print as one line ``cnneff: warning: ...``.

Package: :mod:`~cnneff.cli.common` (CliError, warnings),
:mod:`~cnneff.cli.commands` (macs, run, claims, models),
:mod:`~cnneff.cli.train` (train), :mod:`~cnneff.cli.memory` (will a batch fit).
"""
from __future__ import annotations

import argparse
import sys
import warnings

from .commands import add_parsers, cmd_claims, cmd_macs, cmd_models, cmd_run
from .common import CliError
from .train import _train_config, add_train_parser, cmd_train

__all__ = ["main", "build_parser", "CliError", "cmd_macs", "cmd_run", "cmd_train", "cmd_claims", "cmd_models",
           "_train_config"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``cnneff`` sub-command.  Returns it."""
    p = argparse.ArgumentParser(prog="cnneff", description="CNN-efficiency reproducibility book helpers")
    sub = p.add_subparsers(dest="command", required=True)
    add_parsers(sub)
    add_train_parser(sub)
    from ..rehearsal.command import add_rehearsal_data_parser  # cnneff rehearsal-data DIR (cnneff.rehearsal)

    add_rehearsal_data_parser(sub)
    from ..imagenet import add_evaluate_parser  # cnneff evaluate MODEL --weights FILE --data imagenet-val:PATH

    add_evaluate_parser(sub)
    return p


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"cnneff: warning: {' '.join(str(message).split())}", file=sys.stderr)


def _print_error(e: BaseException) -> None:
    """``cnneff: error: FIRST LINE`` (whitespace folded), then any further
    lines of the message as they are (a list of missing inputs).  Returns None."""
    first, *rest = str(e).split("\n")
    print(f"cnneff: error: {' '.join(first.split())}", file=sys.stderr)
    for line in rest:
        print(line, file=sys.stderr)


def main(argv=None) -> int:
    """Run one ``cnneff`` command.  Returns the exit status: 0, or 2 after one ``cnneff: error:`` line."""
    from ..models import UnknownModelError
    from ..runner import RunError

    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            return args.func(args)
        except (UnknownModelError, RunError, ValueError, KeyError, OSError) as e:
            _print_error(e)
            return 2
