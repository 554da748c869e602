"""``cnneff rehearsal-data DIR``: write the rehearsal tree, and its command-line glue."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .expected import MARKER

__all__ = ["MARKER", "OWNED", "rehearsal_data", "rehearsal_data_command", "add_rehearsal_data_parser"]

OWNED = ("rmfd", "rmfd_afdb", "deepweeds", "cifar", "imagenet100", "imagenet100_64", "imagenet", "rps",
         "rps-test-set", "weights")  # the top-level entries the writer creates under DIR


def _prepare(root: Path, force: bool) -> None:
    """Make ``root`` ready for writing: create it, or with ``force`` clear an
    earlier rehearsal tree there.  ValueError (one line) for a non-empty folder
    without ``force``, and for one whose entries may be real data."""
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root} is a file; pass a folder for the rehearsal tree")
    if not root.exists() or not any(root.iterdir()):
        root.mkdir(parents=True, exist_ok=True)
        return
    if not force:
        raise ValueError(f"{root} exists and is not empty; pass an empty or new folder, or --force to write over "
                         "an earlier rehearsal tree there")
    clash = [n for n in OWNED if (root / n).exists()]
    if clash and not (root / MARKER).is_file():
        raise ValueError(f"{root} holds {', '.join(clash[:4])} but no {MARKER}: it may be the real data, which "
                         "--force never overwrites; pick another folder")
    for n in clash:
        path = root / n
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    (root / MARKER).unlink(missing_ok=True)


def rehearsal_data(root, seed: int = 0, force: bool = False) -> dict:
    """Write under ``root`` every data set and weight file the full run expects
    under DATA_ROOT (:mod:`cnneff.rehearsal.expected`), small but with real
    image files in the publishers' layouts, seeded by ``seed`` (the same seed
    writes the same pixels).  Refuses (ValueError) a non-empty ``root`` unless
    ``force``.  Returns a summary dict: ``root``, ``seed``, ``datasets`` and
    ``weights`` (one dict each, see :mod:`~cnneff.rehearsal.layouts` and
    :func:`~cnneff.rehearsal.weights.write_weights`), ``files`` and ``bytes``
    (totals) and ``seconds`` (wall time)."""
    from .layouts import WRITERS
    from .weights import write_weights

    t0 = time.perf_counter()
    root = Path(root).expanduser().resolve()
    _prepare(root, force)
    marker = dict(written_by="cnneff rehearsal-data", note="synthetic images and random weights, not real data",
                  seed=int(seed), complete=False)
    (root / MARKER).write_text(json.dumps(marker) + "\n")  # first, so that --force can clear a broken write
    datasets = [s for write in WRITERS for s in write(root, seed)]
    weights = write_weights(root, seed)
    every = datasets + weights
    out = dict(root=str(root), seed=int(seed), datasets=datasets, weights=weights,
               files=sum(s["files"] for s in every) + 1, bytes=sum(s["bytes"] for s in every))
    marker.update(complete=True, **{k: v for k, v in out.items() if k not in ("root", "seed")})
    (root / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    out["seconds"] = time.perf_counter() - t0
    return out


def _lines(summary: dict) -> list[str]:
    """The command's output: one line per data set, one per weight file, a total.  Returns the lines."""
    lines = [f"{d['name']:<15} {d['images']:>5} images {d['classes']:>5} classes {d['files']:>5} files  "
             f"{d['path']}/  (--data {d['source']})" for d in summary["datasets"]]
    lines += [f"{'weights':<15} {w['tensors']:>5} tensors {w['bytes'] / 2**20:>7.1f} MiB  {w['path']}  "
              f"(random {w['model']}, {w['format']} keys)" for w in summary["weights"]]
    lines.append(f"wrote {summary['files']} files ({summary['bytes'] / 2**20:.1f} MiB) under {summary['root']} in "
                 f"{summary['seconds']:.1f} s; rehearse the full run with DATA_ROOT={summary['root']}")
    return lines


def rehearsal_data_command(args) -> int:
    """``cnneff rehearsal-data DIR [--force] [--seed N] [--json]``: write the tree,
    print one line per data set (or one JSON object).  Returns the exit status 0."""
    summary = rehearsal_data(args.dir, seed=args.seed, force=args.force)
    print(json.dumps(summary) if args.json else "\n".join(_lines(summary)))
    return 0


def add_rehearsal_data_parser(sub):
    """Add the ``rehearsal-data`` sub-command to the ``cnneff`` sub-parsers
    ``sub`` (``argparse`` ``add_subparsers()``).  Returns its parser."""
    p = sub.add_parser("rehearsal-data", help="write small data sets and random weight files in the papers' "
                                              "published layouts (a DATA_ROOT that rehearses the full run)")
    p.add_argument("dir", help="folder to write (new or empty; it becomes DATA_ROOT)")
    p.add_argument("--force", action="store_true", help="write over an earlier rehearsal tree in DIR")
    p.add_argument("--seed", type=int, default=0, help="seed of every image and weight (default 0)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=rehearsal_data_command)
    return p
