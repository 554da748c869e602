"""ELPV: electroluminescence images of solar cells (the ``elpv_dataset`` package), binary or 4-class."""
from __future__ import annotations

from pathlib import Path

from .containers import Splits
from .files import file_splits


ELPV_LICENCE = "CC-BY-NC-SA 4.0"
ELPV_TASKS = {"binary": ["functional", "defective"], "4class": ["p=0", "p=1/3", "p=2/3", "p=1"]}


def _elpv_root() -> Path:
    try:
        import elpv_dataset
    except ImportError:
        raise FileNotFoundError("the ELPV data set is not installed; pip install elpv-dataset") from None
    return Path(elpv_dataset.__file__).parent / "data"


def elpv(image_size: int = 224, task: str = "binary", subset: int | None = None, seed: int = 0,
         val_fraction: float = 0.1, test_fraction: float = 0.1) -> Splits:
    """ELPV solar-cell electroluminescence images (PyPI ``elpv-dataset``:
    2,624 300x300 grayscale cells, defect probability 0, 1/3, 2/3 or 1).
    ``task="binary"``: functional (p = 0, 1,508 cells) vs defective (p >= 2/3,
    821 cells), the 295 cells with p = 1/3 dropped; ``task="4class"``: the
    four probabilities as classes.  Stratified split: ``val_fraction`` and
    ``test_fraction`` of the cells (10 % each by default: 80/10/10), channels=1.
    Returns a :class:`Splits` of uint8 images, ``image_size`` x ``image_size`` pixels."""
    if task not in ELPV_TASKS:
        raise ValueError(f"unknown ELPV task {task!r}; valid: {', '.join(ELPV_TASKS)}")
    data = _elpv_root()
    csv_path = data / "labels.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} does not exist; reinstall elpv-dataset")
    items = []
    for line in csv_path.read_text().splitlines():
        if not line.strip():
            continue
        rel, prob, _kind = line.split()  # whitespace-separated: path, probability, type (mono/poly)
        level = int(round(float(prob) * 3))  # 0, 1, 2, 3 thirds
        if task == "binary":
            if level == 1:
                continue
            label = int(level >= 2)
        else:
            label = level
        items.append((str(data / rel), label))
    return file_splits(f"elpv-{task}", {"train": items, "val": None, "test": None}, ELPV_TASKS[task],
                        image_size, subset, seed, False, False, ELPV_LICENCE, channels=1,
                        holdout=(val_fraction, test_fraction))
