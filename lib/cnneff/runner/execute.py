"""Executing notebooks with papermill: :func:`check_runs` checks a whole
batch before the first notebook starts; :func:`run_notebook` runs one into
its results folder, never replacing the last good run with a failed one."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..paths import ROOT
from .page import scrub
from .params import RunError, checked_parameters, expand_data_root, profile_parameters, run_folder, source_path
from .stamps import is_up_to_date, results_base, stamp

__all__ = ["check_runs", "run_notebook", "check_writable"]


def check_writable(folder: Path) -> None:
    """RunError unless ``folder`` can be created and written (a temporary file is made and removed)."""
    from ..core import probe_writable  # lazily: core imports torch

    try:
        probe_writable(folder)
    except OSError as e:
        raise RunError(f"results folder {folder} is not writable ({e.strerror or e}); make it writable or set "
                       "CNNEFF_RESULTS_DIR to a writable folder; nothing was run") from None


def check_runs(names: list[str], profile: str = "cpu", overrides: dict | None = None,
               force: bool | dict = True, out: str | Path | None = None, require_data_root: bool = False) -> None:
    """Check a batch of runs before any starts: every name exists, every
    parameter is declared, DATA_ROOT is set if any value needs it, and the
    results folder is writable.  ``force`` as :func:`run_notebook` (a dict:
    per name); notebooks that would be skipped as up to date are not checked
    for DATA_ROOT.  Returns None; raises one :class:`RunError` listing every
    parameter that needs DATA_ROOT."""
    needs = []
    for name in names:
        _, raw = checked_parameters(name, profile, overrides)
        if require_data_root:  # the papers' data sets are asked for: every value that names them counts
            raw = {**profile_parameters(name, profile), **(overrides or {})}
        forced = force.get(name, True) if isinstance(force, dict) else force
        if not forced and is_up_to_date(name, profile, overrides, out):
            continue
        needs += [f"{name}.{k}" for k, v in raw.items() if isinstance(v, str) and "DATA_ROOT" in v]
    if needs and not os.environ.get("DATA_ROOT"):
        more = f" and {len(needs) - 6} more" if len(needs) > 6 else ""
        raise RunError(f"set DATA_ROOT to the folder that holds the papers' data sets (e.g. `make reproduce "
                       f"PROFILE={profile} DATA_ROOT=/data`): {', '.join(needs[:6])}{more} need it; nothing was run")
    check_writable(results_base(out) / run_folder(profile, overrides))



def run_notebook(name: str, profile: str = "cpu", overrides: dict | None = None, progress: bool = True,
                 force: bool = True, out: str | Path | None = None, folder: str | None = None) -> Path:
    """Execute notebook ``name`` with ``profile``'s parameters (and
    ``overrides``) and return the path of the executed copy.

    Without overrides the copy goes to ``results/<profile>/<name>.ipynb``;
    with overrides to a run folder of its own, ``results/<profile>+KEY=VALUE/``
    (:func:`run_folder`), never over the committed profile; ``out`` puts the
    profile folders under another folder.  The notebook's metrics follow
    (``CNNEFF_RESULTS_DIR`` is set for its kernel).  ``folder`` names the
    run folder explicitly (the scorecard of another run's folder).  Raises :class:`RunError`
    naming the notebook's parameters if a profile or override sets an unknown
    one, and :class:`RunError` (with the failed copy's path) if execution fails."""
    source = source_path(name)
    base = results_base(out)
    folder_name = folder or run_folder(profile, overrides)
    out_dir = base / folder_name
    final = out_dir / f"{name}.ipynb"
    if not force and is_up_to_date(name, profile, overrides, out, folder):
        print(f"{name}: up to date (source, parameters and library unchanged since its last good run)")
        return final
    declared, raw = checked_parameters(name, profile, overrides)  # raw: as written, what the stamp hashes
    params = {k: expand_data_root(v, name, k) for k, v in raw.items()}
    if "profile" in declared:
        params["profile"] = folder_name  # the notebook writes its metrics into its run folder
    check_writable(out_dir)
    tmp = out_dir / f".{name}.running.ipynb"
    t0 = time.perf_counter()
    _execute(name, source, tmp, params, base, progress, final)
    scrub(tmp, name, folder_name)
    os.replace(tmp, final)
    (out_dir / f"{name}.failed.ipynb").unlink(missing_ok=True)
    from ..core import atomic_write_text

    atomic_write_text(out_dir / f"{name}.stamp.json", json.dumps(stamp(name, raw, out_dir), indent=1) + "\n")
    shown = final.relative_to(ROOT) if final.is_relative_to(ROOT) else final
    print(f"{name}: executed in {time.perf_counter() - t0:.0f} s -> {shown}")
    return final


def _execute(name: str, source: Path, tmp: Path, params: dict, base: Path, progress: bool, final: Path) -> None:
    """papermill ``source`` -> ``tmp`` with ``params``, the kernel writing its
    metrics under ``base`` (``CNNEFF_RESULTS_DIR``).  On failure the partial
    copy becomes ``NAME.failed.ipynb`` beside ``final`` and :class:`RunError`
    says so; Ctrl-C is re-raised.  Returns None."""
    import papermill as pm

    failed = final.with_name(f"{name}.failed.ipynb")
    saved_env = os.environ.get("CNNEFF_RESULTS_DIR")
    os.environ["CNNEFF_RESULTS_DIR"] = str(base)  # the kernel inherits it: save_metrics writes beside the copy
    try:
        pm.execute_notebook(str(source), str(tmp), parameters=params, cwd=str(ROOT), progress_bar=progress,
                            kernel_name="python3")
    except BaseException as e:
        kept = False
        if tmp.exists():
            try:
                os.replace(tmp, failed)
                kept = True
            except OSError:
                tmp.unlink(missing_ok=True)
        if isinstance(e, KeyboardInterrupt):
            raise
        why = " ".join((f"{e.ename}: {e.evalue}" if hasattr(e, "ename") else f"{type(e).__name__}: {e}").split())
        where = f"the failed run is kept in {failed}" if kept else "no copy of the failed run could be written"
        raise RunError(f"notebook {name!r} failed ({why}); {where}; "
                       f"the last good run (if any) is still {final}") from e
    finally:
        if saved_env is None:
            os.environ.pop("CNNEFF_RESULTS_DIR", None)
        else:
            os.environ["CNNEFF_RESULTS_DIR"] = saved_env
