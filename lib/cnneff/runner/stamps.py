"""Whether an executed notebook is up to date: the hashes of what it depends on
(its source, its parameter values, the library and, for the scorecard, the
metrics it reads), stored beside it as ``NAME.stamp.json``."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..paths import RESULTS, ROOT, base_profile
from .params import checked_parameters, run_folder, source_path

__all__ = ["results_base", "stamp", "is_up_to_date"]


def results_base(out: str | Path | None = None) -> Path:
    """The folder that holds the profile folders of a run: ``out`` if given,
    else ``$CNNEFF_RESULTS_DIR`` or ``results/``."""
    return Path(out) if out else Path(os.environ.get("CNNEFF_RESULTS_DIR") or RESULTS)


def stamp(name: str, params: dict, folder: Path | None = None) -> dict:
    """Hashes of what an executed notebook depends on: its source, its parameter
    values, the library (every file under lib/cnneff/, claims.yaml included)
    and, for the scorecard, every metrics.json it reads (of ``folder`` and of
    its base profile), so that a build from committed results re-runs nothing."""

    def digest(paths):
        h = hashlib.sha256()
        for p in sorted(paths):
            h.update((p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.name).encode())
            h.update(p.read_bytes())
        return h.hexdigest()

    lib = [p for p in (ROOT / "lib" / "cnneff").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    out = dict(source=digest([source_path(name)]), library=digest(lib),
               parameters=hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest())
    if name == "scorecard" and folder is not None:
        inputs = sorted(folder.glob("*/metrics.json"))
        base = folder.parent / base_profile(folder.name)
        if base != folder:
            have = {p.parent.name for p in inputs}
            inputs += [p for p in sorted(base.glob("*/metrics.json")) if p.parent.name not in have]
        h = hashlib.sha256()
        for p in inputs:
            h.update(f"{p.parent.name}/{p.name}".encode())
            h.update(p.read_bytes())
        out["metrics"] = h.hexdigest()
    return out


def is_up_to_date(name: str, profile: str = "cpu", overrides: dict | None = None,
                  out: str | Path | None = None, folder: str | None = None) -> bool:
    """True if the executed copy of ``name`` for this run (``results/<run
    folder>/<name>.ipynb``, see :func:`run_folder`) exists and its stamp
    matches the current source, parameters and library (and, for the
    scorecard, the metrics it reads), so ``make book`` can skip it.  Never
    up to date: a run whose commit was interrupted (its journal is still
    there), or one whose ``NAME.failed.ipynb`` is newer than its stamp (the
    last attempt failed)."""
    where = results_base(out) / (folder or run_folder(profile, overrides))
    final, stamp_file = where / f"{name}.ipynb", where / f"{name}.stamp.json"
    if not final.is_file() or not stamp_file.is_file() or (where / f".{name}.commit.json").exists():
        return False
    failed = where / f"{name}.failed.ipynb"
    if failed.exists() and failed.stat().st_mtime_ns >= stamp_file.stat().st_mtime_ns:
        return False
    if (where / f".{name}.failed").exists():  # the last run failed and not even a note could be kept
        return False
    _, params = checked_parameters(name, profile, overrides)  # as run_notebook stamps them
    try:
        saved = json.loads(stamp_file.read_text())
    except ValueError:
        return False
    current = stamp(name, params, where)
    return isinstance(saved, dict) and {k: saved.get(k) for k in current} == current  # "files" is not a hash

