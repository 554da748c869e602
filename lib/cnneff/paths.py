"""Where things live: the repository root, notebooks, results and profiles."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # lib/cnneff/paths.py -> repository root
NOTEBOOKS = ROOT / "notebooks"  # clean parameterized sources, stored without outputs
RESULTS = ROOT / "results"  # results/<profile>/<notebook>.ipynb and results/<profile>/<notebook>/metrics.json
PARAMS = ROOT / "params"  # params/<profile>/<notebook>.yaml: parameter values of a profile
PROFILES = ("smoke", "cpu", "gpu")  # smoke: CI and nbval; cpu: the book; gpu: paper scale


def results_dir(profile: str, notebook: str | None = None) -> Path:
    """Folder of a profile's results (and of one notebook's metrics).  The
    environment variable ``CNNEFF_RESULTS_DIR`` redirects it, so that test
    runs (nbval re-executing notebooks) never overwrite committed results."""
    base = Path(os.environ.get("CNNEFF_RESULTS_DIR") or RESULTS)
    d = base / profile
    return d / notebook if notebook else d
