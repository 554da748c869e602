"""The first and the last call of every notebook: :func:`start` and :meth:`Session.save`.

``session = start("make_efficientnetv2_more_efficient", globals())`` replaces
the set-up cell each notebook used to carry: it pins torch's CPU threads to
the notebook's ``threads`` parameter (when it has one), silences the warnings
that say nothing to a reader (tqdm's IProgress, deprecations, torch.ao's
FX-quantization notice), sets the seaborn theme of every plot, renders every
displayed DataFrame as a table for people (:mod:`cnneff.tables`) and starts
the wall and CPU clocks.  It also reads *every* parameter the notebook declares
(the names in its ``parameters`` cell, the values the run actually used, i.e.
after papermill's overrides) so nothing has to be typed twice.

It also absorbs the lines every set-up cell used to repeat: pandas' display
width, ``torch.manual_seed(seed)`` (so that a cell that draws random numbers
before the first training draws the same ones on every run) and the
``metrics`` dict the notebook fills (``session.metrics``).

``session.save()`` adds the provenance (:func:`provenance`) and writes
metrics.json / details.json atomically (:func:`cnneff.results.save_metrics`).
"""
from __future__ import annotations

import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Session", "start", "provenance"]

_QUIET = (
    dict(message="IProgress not found"),
    dict(category=DeprecationWarning),
    dict(category=FutureWarning),
    dict(message=r".*torch\.ao\.quantization.*"),
    dict(message=r".*quantize_per_tensor.*"),
    dict(message=r".*TypedStorage is deprecated.*"),
)


def _git(*args: str) -> str:
    from .paths import ROOT

    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def claims_record(notebook: str) -> tuple[str, dict]:
    """What the claims said when this run's results were computed: the
    sha256 of claims.yaml and, for each claim ``notebook`` measures, the short
    digest of its entry (:func:`cnneff.scorecard.card.claim_digest`), so that
    the scorecard can say when a claim or its margin changed after the run.
    Returns (file hash, {claim id: digest})."""
    import hashlib

    from .claims import CLAIMS_FILE, load
    from .scorecard.card import claim_digest

    digests = {c["id"]: claim_digest(c) for c in load()["claims"] if c["notebook"] == notebook}
    return hashlib.sha256(CLAIMS_FILE.read_bytes()).hexdigest(), digests


def provenance() -> dict:
    """Where and with what a result was computed: ``git_commit`` (short hash or
    "unknown"), ``git_dirty`` (True when files the results depend on, under
    lib/, notebooks/ or params/, differ from that commit; None outside a git
    checkout), the CPU, GPU and library versions of
    :func:`cnneff.measure.hardware_info`."""
    from .measure import hardware_info

    info = hardware_info()
    commit = _git("rev-parse", "--short", "HEAD")
    info["git_commit"] = commit or "unknown"
    info["git_dirty"] = bool(_git("status", "--porcelain", "--", "lib", "notebooks", "params")) if commit else None
    return info


@dataclass
class Session:
    """One notebook run: its name, profile, declared parameters (as used) and clocks."""

    name: str
    profile: str
    parameters: dict
    metrics: dict = field(default_factory=dict)  # what the notebook measured (session.save writes it)
    started: float = field(default_factory=time.perf_counter)
    cpu_started: float = field(default_factory=time.process_time)

    def elapsed(self) -> float:
        """Wall seconds since :func:`start`."""
        return time.perf_counter() - self.started

    def save(self, metrics: dict | None = None) -> Path:
        """Add ``parameters`` (every declared parameter with the value this run
        used), ``hardware`` (:func:`provenance`), ``wall_seconds`` and
        ``cpu_seconds`` to ``metrics`` (default: :attr:`metrics`) and write it
        atomically; returns the path of metrics.json."""
        from .results import save_metrics

        metrics = self.metrics if metrics is None else metrics
        metrics["parameters"] = dict(self.parameters)
        metrics["hardware"] = provenance()
        metrics["claims_sha256"], metrics["claim_digests"] = claims_record(self.name)
        from .paths import base_profile

        from .rehearsal.expected import is_rehearsal

        # the gpu path at toy size (hardware gates pass), or any run on a generated rehearsal tree: never the
        # papers' data, whatever the profile
        metrics["rehearsal"] = base_profile(self.profile) == "rehearsal" or is_rehearsal()
        metrics["wall_seconds"] = round(self.elapsed(), 1)
        metrics["cpu_seconds"] = round(time.process_time() - self.cpu_started, 1)
        return save_metrics(metrics, self.name, self.profile)


def start(name: str, namespace: dict, theme: bool = True, seed: int = 0) -> Session:
    """Set up a notebook run and return its :class:`Session`.

    ``namespace`` is the notebook's ``globals()``: the values of the parameters
    declared in ``notebooks/<name>.ipynb``'s parameters cell are read from it
    (a declared parameter missing there raises NameError naming it).  Threads:
    ``torch.set_num_threads(threads)`` when the notebook declares ``threads``;
    ``torch.manual_seed(seed)``; pandas prints up to 160 characters a line."""
    from .runner import notebook_parameters

    for kw in _QUIET:
        warnings.filterwarnings("ignore", **kw)
    declared = notebook_parameters(name)
    missing = [k for k in declared if k not in namespace]
    if missing:
        raise NameError(f"notebook {name!r}: parameters {', '.join(missing)} are declared in its parameters cell "
                        "but not defined; run the parameters cell first")
    params = {k: namespace[k] for k in declared}
    import pandas as pd
    import torch

    if isinstance(params.get("threads"), int) and params["threads"] > 0:
        torch.set_num_threads(params["threads"])
    torch.manual_seed(seed)
    pd.set_option("display.width", 160)
    if theme:
        import seaborn as sns

        sns.set_theme(style="whitegrid")
    from .tables import register

    register()  # every displayed DataFrame as a table for people (cnneff.tables)
    return Session(name=name, profile=str(params.get("profile", "cpu")), parameters=params)

