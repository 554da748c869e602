"""Atomic writing and reading of the metrics each notebook produces."""
from __future__ import annotations

import json
from pathlib import Path

from .core import atomic_write_text
from .paths import base_profile, output_dir, results_dir

__all__ = ["PROVENANCE", "save_metrics", "load_metrics"]

# Keys every metrics.json carries besides the claimed metrics: where and how a result was obtained.
# paper_data: true when the run read the paper's own data set (DATA_ROOT), false on an embedded stand-in.
PROVENANCE = ("hardware", "parameters", "wall_seconds", "cpu_seconds", "n_test", "training_device", "paper_data",
              "claims_sha256", "claim_digests", "rehearsal")


def _jsonable(x):
    if hasattr(x, "item"):  # numpy / torch scalars
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"cannot store {type(x).__name__} in metrics.json")


def save_metrics(metrics: dict, notebook: str, profile: str = "cpu") -> Path:
    """Write a notebook's results atomically and return the path of metrics.json.

    ``<output>/<profile>/<notebook>/metrics.json`` (:func:`cnneff.paths.output_dir`:
    ``results/`` under ``cnneff run``, ``./cnneff-results/`` otherwise) gets the metrics a claim of
    ``claims.yaml`` reads (the scorecard's inputs) and the provenance keys
    (:data:`PROVENANCE`); every other value the notebook computed (per-model
    latencies, table cells) goes to ``details.json`` beside it, so that
    metrics.json holds nothing that no claim uses.  Values: numbers, strings,
    lists and dicts (numpy/torch scalars are converted)."""
    from .scorecard import metric_keys

    keep = metric_keys(notebook) | set(PROVENANCE)
    folder = output_dir(profile, notebook)
    _write_json(folder / "details.json", {k: v for k, v in metrics.items() if k not in keep})
    return _write_json(folder / "metrics.json", {k: v for k, v in metrics.items() if k in keep})


def _write_json(path: Path, values: dict) -> Path:
    return atomic_write_text(path, json.dumps(values, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _read_json(notebook: str, profile: str, filename: str, root: Path | None = None) -> dict:
    """The dict stored in ``results/<profile>/<notebook>/<filename>`` (or under
    ``root/<profile>/`` when given).  A run folder (``cpu+epochs=10``) that
    does not hold the notebook falls back to its base profile's results, so a
    run with one notebook's parameters changed is scored with the other
    notebooks' committed results.  Raises FileNotFoundError if it is absent
    and :class:`cnneff.runner.RunError` naming the file if it is not a JSON
    object (truncated, emptied or edited); both say which ``cnneff run``
    writes it again."""
    folder = (Path(root) / profile / notebook) if root else results_dir(profile, notebook)
    path = folder / filename
    if not path.is_file() and base_profile(profile) != profile:
        fallback = ((Path(root) / base_profile(profile) / notebook) if root else
                    results_dir(base_profile(profile), notebook)) / filename
        path = fallback if fallback.is_file() else path
    rerun = f"`cnneff run {notebook} --profile {profile}`"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run {rerun} first")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        from .runner import RunError

        why = f"{e.msg} at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else str(e)
        raise RunError(f"{path} is not valid JSON ({why}): it was cut short or edited; run {rerun} "
                       "to write it again") from None
    if not isinstance(values, dict):
        from .runner import RunError

        raise RunError(f"{path} holds a {type(values).__name__}, not a JSON object; run {rerun} to write it again")
    return values


def load_metrics(notebook: str, profile: str = "cpu", root: Path | None = None) -> dict:
    """Read ``results/<profile>/<notebook>/metrics.json`` (``root``: another
    results folder); FileNotFoundError says how to produce it."""
    return _read_json(notebook, profile, "metrics.json", root)

