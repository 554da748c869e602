"""Executing notebooks with papermill: :func:`check_runs` checks a whole
batch before the first notebook starts; :func:`run_notebook` runs one into
its results folder, all or nothing (:mod:`~cnneff.runner.commit`), holding
the folder's lock for that notebook (:mod:`~cnneff.runner.lock`)."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ..paths import PARAMS, ROOT, base_profile
from .checks import check_devices, check_inputs
from .commit import CommitIncomplete, commit, discard_staging, finish_commit, keep_failed, prepare_staging
from .lock import LockBusy, is_locked, run_lock
from .page import scrub
from .params import (RunError, checked_parameters, expand_data_root, profile_parameters, run_folder,
                     source_path)
from .stamps import is_up_to_date, results_base, stamp

__all__ = ["check_runs", "run_notebook", "check_writable", "recover_folder", "Terminated", "RUN_RECORD"]

RUN_RECORD = "run.json"  # in a run folder: the profile and the exact -p values it was made for


class Terminated(BaseException):
    """Raised in the main thread by ``cnneff run``'s SIGTERM handler (not an
    Exception: nothing on the way may swallow it)."""


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
    parameter is declared and in range, DATA_ROOT is set if any value needs it
    and is an existing folder, every data folder and weight file the values
    name exists, every device they ask for is here, no other process runs one
    of them into the same folder, and the results folder is writable.
    ``force`` as :func:`run_notebook` (a dict: per name); notebooks that would
    be skipped as up to date are not checked for data, devices and locks.
    Returns None; raises one :class:`RunError` naming every parameter that needs DATA_ROOT."""
    needs, runs = [], []
    folder = results_base(out) / run_folder(profile, overrides)
    for name in names:
        _, raw = checked_parameters(name, profile, overrides)
        forced = force.get(name, True) if isinstance(force, dict) else force
        if not forced and is_up_to_date(name, profile, overrides, out):
            continue
        given = {**profile_parameters(name, profile), **(overrides or {})}  # every value that names DATA_ROOT
        needs += [f"{name}.{k}" for k, v in (given if require_data_root else raw).items()
                  if isinstance(v, str) and "DATA_ROOT" in v]
        runs.append((name, raw))
    if needs and not os.environ.get("DATA_ROOT"):
        more = f" and {len(needs) - 6} more" if len(needs) > 6 else ""
        raise RunError(f"set DATA_ROOT to the folder that holds the papers' data sets (e.g. `make reproduce "
                       f"PROFILE={profile} DATA_ROOT=/data`): {', '.join(needs[:6])}{more} need it; nothing was run")
    expanded = [(n, {k: expand_data_root(v, n, k) for k, v in raw.items()}) for n, raw in runs]
    params_file = PARAMS / base_profile(profile)
    check_devices([(n, v, {k: f"-p {k}" if k in (overrides or {}) else f"params/{base_profile(profile)}/{n}.yaml"
                           for k in v}) for n, v in expanded])
    check_inputs([(n, v, params_file / f"{n}.yaml") for n, v in expanded], bool(needs) or require_data_root)
    for name, _ in runs:
        pid = is_locked(folder, name)
        if pid:
            raise LockBusy(f"notebook {name!r} is already running into {folder} (process {pid} holds "
                           f"{folder / f'.{name}.lock'}); wait for it to finish, or pass --out DIR; nothing was run",
                           pid)
    check_writable(folder)


def _check_record(out_dir: Path, profile: str, overrides: dict) -> None:
    """A run folder records the request it was made for (``run.json``): a
    folder made for other values is never reused (RunError), a new one gets
    its record.  Returns None."""
    from ..core import atomic_write_text

    record = out_dir / RUN_RECORD
    want = dict(profile=profile, parameters=overrides)
    canon = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
    if record.is_file():
        try:
            have = json.loads(record.read_text())
        except ValueError:
            have = None
        if canon(have) != canon(want):
            raise RunError(f"results folder {out_dir} was made for another run ({record} records "
                           f"{' '.join(canon(have).split())[:120]}); it is never reused: pass --out DIR, or move "
                           "the folder away; nothing was run")
        return
    if any(out_dir.glob("*.ipynb")):
        raise RunError(f"results folder {out_dir} holds results but no {RUN_RECORD} saying which parameters made "
                       "them; it is never reused: pass --out DIR, or move the folder away; nothing was run")
    atomic_write_text(record, json.dumps(want, indent=1, sort_keys=True, default=str) + "\n")


def run_notebook(name: str, profile: str = "cpu", overrides: dict | None = None, progress: bool = True,
                 force: bool = True, out: str | Path | None = None, folder: str | None = None) -> Path:
    """Execute notebook ``name`` with ``profile``'s parameters (and
    ``overrides``) and return the path of the executed copy.

    Without overrides the copy goes to ``results/<profile>/<name>.ipynb``;
    with overrides to a run folder of its own (:func:`run_folder`: a readable
    prefix and a hash of the values), never over the committed profile;
    ``out`` puts the profile folders under another folder.  ``folder`` names
    the run folder explicitly (the scorecard of another run's folder).  The
    run is all or nothing: the executed copy, everything the kernel writes
    and the stamp move into place together, only if the whole notebook
    succeeded.  Raises :class:`RunError` naming the notebook's parameters if
    a profile or override sets an unknown one, if another process runs it
    into the same folder, and (saying where the failed copy is kept) if execution fails."""
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
    for readable in {out_dir, base / base_profile(folder_name)}:  # what the kernel reads is never half a run
        if readable.is_dir():
            recover_folder(readable)
    with run_lock(out_dir, name):
        if finish_commit(out_dir, name) and not force and is_up_to_date(name, profile, overrides, out, folder):
            print(f"{name}: up to date (an interrupted move into place was finished)")
            return final
        if folder is None and overrides:
            _check_record(out_dir, profile, overrides)
        staging = prepare_staging(out_dir, name)
        t0 = time.perf_counter()
        _run_staged(name, source, staging, params, base, progress, out_dir, raw)
    shown = final.relative_to(ROOT) if final.is_relative_to(ROOT) else final
    print(f"{name}: executed in {time.perf_counter() - t0:.0f} s -> {shown}")
    return final


def _run_staged(name: str, source: Path, staging: Path, params: dict, base: Path, progress: bool, out_dir: Path,
                raw: dict) -> None:
    """Execute into ``staging``, scrub the copy, commit it with its stamp.
    Any failure leaves the last good run as it was: an interrupt (Ctrl-C,
    SIGTERM) removes the staging folder and is re-raised; any other failure
    keeps a valid ``NAME.failed.ipynb`` and raises :class:`RunError` saying
    where it is (or why none could be kept).  Returns None."""
    staged, final = staging / f"{name}.ipynb", out_dir / f"{name}.ipynb"
    try:
        _execute(source, staged, params, base, staging / "out", progress)
        scrub(staged, name, out_dir.name, output=final)
        commit(out_dir, name, stamp(name, raw, out_dir))
    except CommitIncomplete as e:
        raise RunError(f"notebook {name!r} ran, but {e}") from None
    except Exception as e:  # noqa: BLE001 - every failure of the run is reported the same way
        why = " ".join((f"{e.ename}: {e.evalue}" if hasattr(e, "ename") else f"{type(e).__name__}: {e}").split())
        if type(e).__name__ == "DeadKernelError" and kernel_log_tail(staging):
            why += f" (the kernel's last words: {kernel_log_tail(staging)})"
        shutil.rmtree(staging / "out", ignore_errors=True)  # room for the failed copy (on a full disk)
        where = keep_failed(staged, out_dir / f"{name}.failed.ipynb", name, why)
        discard_staging(out_dir, name)
        last = f"the last good run is unchanged: {final}" if final.is_file() else "there was no earlier good run"
        raise RunError(f"notebook {name!r} failed ({why[:400]}); {where}; {last}") from e
    except BaseException:
        discard_staging(out_dir, name)
        raise


KERNEL_LOG = "kernel.log"  # in the staging folder: the kernel process's own stderr (not the notebook's output)


def _kernel_manager(log: Path):
    """A jupyter kernel manager class whose kernels write their process-level
    stderr (ipykernel's start-up warnings, the noise of a kernel shut down
    mid-cell) into ``log`` instead of this terminal, so that a failure is one
    line.  Returns the class."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log, "ab") as f:
                kw["stderr"] = f
                return await super()._async_launch_kernel(kernel_cmd, **kw)

        _launch_kernel = _async_launch_kernel

    return QuietKernelManager


def kernel_log_tail(staging: Path) -> str:
    """The last non-empty line the kernel process wrote to its stderr ('' if none)."""
    try:
        lines = [x.strip() for x in (staging / KERNEL_LOG).read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return ""
    lines = [x for x in lines if "running over TCP without encryption" not in x]
    return lines[-1][:200] if lines else ""


def _execute(source: Path, staged: Path, params: dict, base: Path, output: Path, progress: bool) -> None:
    """papermill ``source`` -> ``staged`` with ``params``; the kernel reads
    other results from ``base`` (``CNNEFF_RESULTS_DIR``) and writes its own
    under ``output`` (``CNNEFF_OUTPUT_DIR``, the staging folder).  Returns None."""
    import papermill as pm

    saved = {k: os.environ.get(k) for k in ("CNNEFF_RESULTS_DIR", "CNNEFF_OUTPUT_DIR")}
    os.environ["CNNEFF_RESULTS_DIR"], os.environ["CNNEFF_OUTPUT_DIR"] = str(base), str(output)
    try:
        pm.execute_notebook(str(source), str(staged), parameters=params, cwd=str(ROOT), progress_bar=progress,
                            kernel_name="python3", kernel_manager_class=_kernel_manager(staged.parent / KERNEL_LOG))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def recover_folder(folder: Path) -> list[str]:
    """Finish every commit that a killed run left in results folder ``folder``
    (each under its notebook's lock; one held by a live run is left to it),
    so that readers never see half of a run.  Returns the notebook names finished."""
    from .commit import JOURNAL_SUFFIX

    done = []
    for journal in sorted(Path(folder).glob(f".*{JOURNAL_SUFFIX}")):
        name = journal.name[1: -len(JOURNAL_SUFFIX)]
        try:
            with run_lock(folder, name):
                if finish_commit(folder, name):
                    done.append(name)
        except (LockBusy, CommitIncomplete, OSError):
            continue
    return done
