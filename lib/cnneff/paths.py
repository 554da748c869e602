"""Where things live: the repository root, notebooks, results and profiles."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # lib/cnneff/paths.py -> repository root
NOTEBOOKS = ROOT / "notebooks"  # clean parameterized sources, stored without outputs
RESULTS = ROOT / "results"  # results/<profile>/<notebook>.ipynb and results/<profile>/<notebook>/metrics.json
PARAMS = ROOT / "params"  # params/<profile>/<notebook>.yaml: parameter values of a profile
PROFILES = ("smoke", "cpu", "gpu", "rehearsal")  # smoke: CI and nbval; cpu: the book; gpu: paper scale;
# rehearsal: the gpu profile's code paths, sizes shrunk, on the CPU, on generated copies of the papers' data (CI)


LOCAL_RESULTS = "cnneff-results"  # where a notebook run outside `cnneff run` writes, under its working folder


def base_profile(profile: str) -> str:
    """The parameter profile of a results folder name: ``"cpu+epochs=10"`` -> ``"cpu"``.

    ``cnneff run NAME -p KEY VALUE`` writes into ``results/<profile>+KEY=VALUE-HASH/``
    (a *run folder*), never over the committed ``results/<profile>/``."""
    return profile.split("+", 1)[0]


def results_dir(profile: str, notebook: str | None = None) -> Path:
    """Folder the book, the scorecard and the runner read a profile's results
    from (and of one notebook's metrics): ``results/<profile>/``.  The
    environment variable ``CNNEFF_RESULTS_DIR`` redirects it, so that test
    runs (nbval re-executing notebooks) never overwrite committed results."""
    base = Path(os.environ.get("CNNEFF_RESULTS_DIR") or RESULTS)
    d = base / profile
    return d / notebook if notebook else d


def output_dir(profile: str, notebook: str | None = None) -> Path:
    """Folder a notebook WRITES its metrics into.  ``cnneff run`` (and the
    tests) set ``CNNEFF_RESULTS_DIR``, so their runs land in
    :func:`results_dir`; a notebook executed any other way (plain papermill,
    Jupyter) writes into ``./cnneff-results/<profile>/`` under its working
    folder, never into the committed ``results/<profile>/`` unless told
    (set ``CNNEFF_RESULTS_DIR``).  ``CNNEFF_OUTPUT_DIR``, when set, takes
    precedence for writing only: ``cnneff run`` points it at a staging folder
    (the kernel still reads other results from :func:`results_dir`), and moves
    what the notebook wrote into place only when the whole notebook succeeded."""
    env = os.environ.get("CNNEFF_OUTPUT_DIR") or os.environ.get("CNNEFF_RESULTS_DIR")
    base = Path(env) if env else Path.cwd() / LOCAL_RESULTS
    d = base / profile
    return d / notebook if notebook else d
