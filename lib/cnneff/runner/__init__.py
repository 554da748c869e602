"""Execute the book's notebooks with papermill, one profile at a time.

``run_notebook("architectures_and_costs", profile="cpu", overrides={...})``
reads the profile's values from ``params/<profile>/<name>.yaml`` (absent: the
notebook's own defaults, which *are* the cpu profile), applies ``overrides``,
refuses any parameter the notebook does not declare, and executes
``notebooks/<name>.ipynb`` into ``results/<profile>/<name>.ipynb``.  A run
is all or nothing: the executed copy, everything the kernel writes and the
stamp go to a staging folder and move into place together only when the
whole notebook succeeded; a failed run leaves the last good one
byte-identical and is kept beside it as ``<name>.failed.ipynb``.
:func:`check_runs` checks a whole batch (names, parameters and their ranges,
devices, DATA_ROOT and every input it names, locks, a writable results
folder) before the first notebook starts.

Package: :mod:`~cnneff.runner.params` (notebooks, declared parameters, the
values of a run, run folder names), :mod:`~cnneff.runner.checks` (value
ranges, devices, inputs), :mod:`~cnneff.runner.stamps` (up to date or not),
:mod:`~cnneff.runner.page` (the re-run box), :mod:`~cnneff.runner.lock` (one
run per folder and notebook), :mod:`~cnneff.runner.commit` (staging, journal,
failed copies), :mod:`~cnneff.runner.execute` (papermill).
"""
from .execute import RUN_RECORD, Terminated, check_runs, recover_folder, run_notebook
from .lock import LockBusy
from .page import rerun_box
from .params import (RunError, expand_data_root, notebook_names, notebook_parameters, parse_value,
                     profile_parameters, run_folder)
from .stamps import is_up_to_date

__all__ = ["RunError", "notebook_names", "notebook_parameters", "profile_parameters", "run_notebook",
           "is_up_to_date", "expand_data_root", "check_runs", "run_folder", "parse_value", "rerun_box",
           "recover_folder", "Terminated", "LockBusy", "RUN_RECORD"]
