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


def image_folder(root: str | os.PathLike, image_size: int = 64, subset: int | None = None, seed: int = 0,
                 skip_corrupt: bool = False, stream: bool | None = None) -> Splits:
    """Images in one sub-folder per class (RMFD/MFDD ``face/`` + ``masked/``,
    ImageNet-100, Tiny-ImageNet-style sets, Rock-Paper-Scissors).  If ``root``
    has ``train/`` (and optionally ``val/`` or ``valid/``/``validation/``, and
    ``test/``), those are the splits and missing ones are split off train
    (10 % each, stratified); otherwise a stratified 80/10/10 split.  Files
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
    split_dirs = {"train": root / "train"}
    for s, names in (("val", ("val", "valid", "validation")), ("test", ("test",))):
        split_dirs[s] = next((root / n for n in names if (root / n).is_dir()), None)
    if split_dirs["train"].is_dir():
        found = {s: _scan_classes(d, f"{s}/") for s, d in split_dirs.items() if d is not None}
        classes = list(found["train"])
        for s in ("val", "test"):
            extra = sorted(set(found.get(s, {})) - set(classes))
            if extra:
                raise DataError(f"{split_dirs[s]} has class folder(s) not in {root / 'train'}: {', '.join(extra)}; "
                                "use the same class names in every split")
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
