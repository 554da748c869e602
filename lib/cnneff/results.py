"""Atomic writing and reading of the metrics each notebook produces."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .paths import results_dir

__all__ = ["atomic_write_text", "save_metrics", "load_metrics"]


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so a reader never sees a half-written file and a crash leaves
    the previous version intact.  Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(x):
    if hasattr(x, "item"):  # numpy / torch scalars
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"cannot store {type(x).__name__} in metrics.json")


def save_metrics(metrics: dict, notebook: str, profile: str = "cpu") -> Path:
    """Write ``metrics`` (a flat or nested dict of numbers and strings) to
    ``results/<profile>/<notebook>/metrics.json`` atomically; returns the path."""
    path = results_dir(profile, notebook) / "metrics.json"
    return atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True, default=_jsonable) + "\n")


def load_metrics(notebook: str, profile: str = "cpu") -> dict:
    """Read ``results/<profile>/<notebook>/metrics.json``; FileNotFoundError says how to produce it."""
    path = results_dir(profile, notebook) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run `cnneff run {notebook} --profile {profile}` first")
    return json.loads(path.read_text())
