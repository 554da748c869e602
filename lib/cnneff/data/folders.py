"""Image-folder layouts: class sub-folders (``image_folder``, also RMFD-style train/test
folders) and DeepWeeds (images + labels CSV)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from .pixels import oneline
from .containers import DataError, Splits, _SPLIT_NAMES
from .files import file_splits


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")  # matched case-insensitively


def _is_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def _class_dirs(root: Path) -> list[Path]:
    return sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def _scan_classes(root: Path, what: str) -> dict[str, list[str]]:
    """{class name: sorted image paths} for the class sub-folders of ``root``
    (searched recursively); DataError for an empty class or < 2 classes."""
    dirs = _class_dirs(root)
    if len(dirs) < 2:
        found = f"only {dirs[0].name!r}" if dirs else "none"
        raise DataError(f"{root} has {found} as class sub-folder(s); {what} needs at least two, "
                        "one sub-folder of images per class")
    out = {}
    for d in dirs:
        files = [p for p in d.rglob("*") if p.is_file()]
        imgs = sorted(str(p) for p in files if _is_image(p))
        if not imgs:
            other = f" (only {len(files)} other file(s), e.g. {files[0].name})" if files else ""
            raise DataError(f"class folder {d} holds no {'/'.join(IMAGE_EXTENSIONS)} images{other}; "
                            "add images or remove the folder")
        out[d.name] = imgs
    return out


SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}  # any case


def _split_of(folder_name: str) -> str | None:
    """The split a folder name stands for (``Train`` -> "train", ``Validation`` -> "val"), or None."""
    return next((s for s, names in SPLIT_FOLDERS.items() if folder_name.lower() in names), None)


def _split_dirs(root: Path) -> dict[str, Path | None] | None:
    """The split folders of ``root`` in any letter case (Face-Mask-12K's
    ``Train/ Test/ Validation/``): ``{"train": Path, "val": Path or None,
    "test": Path or None}``, or None when ``root`` has none (its sub-folders
    are classes).  DataError for two folders of one split (``val/`` and
    ``Validation/``), split folders without a training split, or split
    folders beside other folders."""
    by_split: dict[str, list[Path]] = {}
    others = []
    for d in _class_dirs(root):
        split = _split_of(d.name)
        (by_split.setdefault(split, []) if split else others).append(d)
    if not by_split:
        return None
    names = ", ".join(f"{d.name}/" for ds in by_split.values() for d in ds)
    twice = next((ds for ds in by_split.values() if len(ds) > 1), None)
    if twice:
        raise DataError(f"{root} has {len(twice)} folders for one split ({', '.join(d.name for d in twice)}); "
                        "keep one of them")
    if "train" not in by_split:
        raise DataError(f"{root} has split folder(s) {names} but no train/ (in any letter case); add one with a "
                        "sub-folder per class, or point folder: at a folder whose sub-folders are the classes")
    if others:
        raise DataError(f"{root} mixes split folders ({names}) with other folders "
                        f"({', '.join(d.name for d in others[:5])}); move those into the splits or out of {root}")
    return {s: (by_split[s][0] if s in by_split else None) for s in SPLIT_FOLDERS}


def _check_split_classes(dirs: dict, found: dict) -> None:
    """DataError unless every split has the training split's classes, and no
    class folder is named like a split (the splits are one level further down)."""
    for s, classes in found.items():
        looks = [c for c in classes if _split_of(c)]
        if looks:
            raise DataError(f"{dirs[s]} has class folders named like splits ({', '.join(looks)}): its splits seem "
                            "to be one level down; point folder: at the folder that holds train/ (any case)")
    train = set(found["train"])
    for s in ("val", "test"):
        if s not in found:
            continue
        extra, lacks = sorted(set(found[s]) - train), sorted(train - set(found[s]))
        if extra or lacks:
            what = "; ".join(x for x in (f"{', '.join(extra)} not in {dirs['train'].name}/" if extra else "",
                                         f"lacks {', '.join(lacks)}" if lacks else "") if x)
            raise DataError(f"{dirs[s]} has other class folders than {dirs['train']} ({what}); use the same class "
                            "names (letter case included) in every split")


def image_folder(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
                 skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """Images in one sub-folder per class (RMFD/MFDD ``face/`` + ``masked/``,
    ImageNet-100, Tiny-ImageNet-style sets, Rock-Paper-Scissors).  If ``root``
    has ``train/`` (and optionally ``val/`` or ``valid/``/``validation/``, and
    ``test/``), in any letter case (Face-Mask-12K's ``Train/ Test/
    Validation/``), those are the splits, each with the same class folders,
    and missing ones are split off train (10 % each, stratified); otherwise a
    stratified 80/10/10 split.  Class folders named like splits, splits that
    lack classes the others have, two folders for one split and split folders
    beside other folders are refused (DataError naming them).  Files
    ending in .jpg .jpeg .png .bmp .webp (any case) are images, searched
    recursively; other files are ignored.  ``channels`` is 1 when every image
    is grayscale, else 3 (grayscale/RGBA/palette images converted to RGB).
    ``stream=None`` caches in memory when at most 20,000 images are selected,
    else streams (:class:`FolderImages`); True/False forces it.  Corrupt files
    raise DataError naming the file, or with ``skip_corrupt=True`` are dropped
    with a warning and counted in ``Splits.skipped``.
    Returns a :class:`Splits` (in memory, or streamed above ``STREAM_THRESHOLD`` images) of uint8 images,
    ``image_size`` x ``image_size`` pixels."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} does not exist; pass the folder that holds one sub-folder per class")
    root = root.resolve()
    split_dirs = _split_dirs(root)
    if split_dirs is not None:
        found = {s: _scan_classes(d, f"{d.name}/") for s, d in split_dirs.items() if d is not None}
        _check_split_classes(split_dirs, found)
        classes = list(found["train"])
        pools = {s: ([(p, classes.index(c)) for c, ps in found[s].items() for p in ps] if s in found else None)
                 for s in _SPLIT_NAMES}
    else:
        found = _scan_classes(root, "image_folder")
        classes = list(found)
        pools = {"train": [(p, k) for k, c in enumerate(classes) for p in found[c]], "val": None, "test": None}
    return file_splits(f"folder:{root}", pools, classes, image_size, subset, seed, skip_corrupt, stream)


DEEPWEEDS_LICENCE = "CC-BY 4.0"


def deepweeds(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
              skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """DeepWeeds (17,509 256x256 JPEGs, 8 weed species + Negative) in its
    published layout: ``root/images/*.jpg`` and ``root/labels.csv`` with columns
    Filename, Label (0..8), Species; class names come from Species ordered by
    Label.  Stratified 80/10/10 split; other arguments as :func:`image_folder`.
    Returns a :class:`Splits` (in memory, or streamed above ``STREAM_THRESHOLD`` images) of uint8 images,
    ``image_size`` x ``image_size`` pixels."""
    root = Path(root).expanduser()
    csv_path, img_dir = root / "labels.csv", root / "images"
    for p in (root, csv_path, img_dir):
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist; deepweeds expects ROOT/images/*.jpg and "
                                    "ROOT/labels.csv (Filename,Label,Species) as published")
    root = root.resolve()
    try:  # utf-8-sig: spreadsheet exports often start with a byte-order mark
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except UnicodeDecodeError as e:
        raise DataError(f"{csv_path} is not UTF-8 text ({oneline(e)}); save it as UTF-8 CSV") from None
    cols = {"Filename", "Label", "Species"}
    if not rows or not cols <= set(rows[0]):
        have = ", ".join(rows[0]) if rows else "no rows"
        raise DataError(f"{csv_path} must have columns Filename, Label, Species (found {have})")
    names: dict[int, str] = {}
    items, missing = [], []
    for r in rows:
        try:
            label = int(r["Label"])
        except ValueError:
            raise DataError(f"{csv_path}: Label {r['Label']!r} of {r['Filename']} is not an integer") from None
        if names.setdefault(label, r["Species"]) != r["Species"]:
            raise DataError(f"{csv_path}: Label {label} is both {names[label]!r} and {r['Species']!r}")
        p = img_dir / r["Filename"]
        (items if p.is_file() else missing).append((str(p), label))
    if missing:
        raise DataError(f"{csv_path} names {len(missing)} image(s) not in {img_dir}: "
                        f"{', '.join(Path(p).name for p, _ in missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                        "restore them or remove their rows")
    order = sorted(names)
    if len(order) < 2:
        raise DataError(f"{csv_path} has only one class ({names[order[0]]!r}); need at least two")
    remap = {lab: k for k, lab in enumerate(order)}  # labels 0..8 as published stay as they are
    items = [(p, remap[y]) for p, y in items]
    return file_splits(f"deepweeds:{root}", {"train": items, "val": None, "test": None},
                        [names[k] for k in order], image_size, subset, seed, skip_corrupt, stream,
                        DEEPWEEDS_LICENCE)
