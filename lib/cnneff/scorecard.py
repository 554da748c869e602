"""The claims scorecard: every numeric claim of the five papers against our value.

Paper values come from ``claims.yaml`` (typed in once); our values are read from
``results/<profile>/<notebook>/metrics.json`` (written by the notebooks).  A
claim's ``kind`` decides its verdict:

* ``relative``: |ours - paper| <= tolerance x |paper| -> reproduced; within 3x
  the tolerance -> partly; else not reproduced.
* ``absolute``: the same with an absolute tolerance (e.g. accuracy points).
* ``exact``: equal -> reproduced, else not reproduced.
* ``at_least`` / ``at_most``: ours >= / <= the value (a ratio that must
  exceed 1, say) -> reproduced, else not reproduced.
* ``boolean``: the notebook computed whether the claim holds (true/false) ->
  reproduced / not reproduced.
* ``verdict``: the notebook computed the verdict itself (a string metric such
  as "reproduced" / "partly" / "not reproduced") from several numbers.
* ``full_run``: the CPU profile cannot test it (real RMFD/ImageNet data, GPU
  timings): "needs the full run", with the command that would test it.

A claim whose notebook has not been run yet gets "not run".
"""
from __future__ import annotations

import math

import pandas as pd

from .claims import load
from .results import load_metrics

__all__ = ["VERDICTS", "KINDS", "scorecard", "counts", "full_run_command"]

VERDICTS = ("reproduced", "partly", "not reproduced", "needs the full run", "not run")
KINDS = ("relative", "absolute", "exact", "at_least", "at_most", "boolean", "verdict", "full_run")


def full_run_command(notebook: str) -> str:
    """The command that runs ``notebook`` at paper scale."""
    return f"make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK={notebook}"


def _metrics(notebook: str, profile: str, cache: dict):
    if notebook not in cache:
        try:
            cache[notebook] = load_metrics(notebook, profile)
        except FileNotFoundError:  # not run yet: its claims get "not run"
            cache[notebook] = None
    return cache[notebook]


def _judge(kind: str, paper, ours, tol: float) -> str:
    if kind == "verdict":
        return ours if ours in VERDICTS else "not reproduced"
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "not run"
    if kind == "exact":
        return "reproduced" if ours == paper else "not reproduced"
    if kind == "boolean":
        return "reproduced" if bool(ours) else "not reproduced"
    if kind == "at_least":
        return "reproduced" if float(ours) >= float(paper) else "not reproduced"
    if kind == "at_most":
        return "reproduced" if float(ours) <= float(paper) else "not reproduced"
    err = abs(float(ours) - float(paper))
    scale = abs(float(paper)) if kind == "relative" else 1.0
    if err <= tol * scale + 1e-12:
        return "reproduced"
    if err <= 3 * tol * scale + 1e-12:
        return "partly"
    return "not reproduced"


def scorecard(profile: str = "cpu") -> pd.DataFrame:
    """One row per claim: id, paper, where, what, paper_value, unit, ours,
    verdict, notebook, metric, command (how to test it at full scale)."""
    cache: dict = {}
    rows = []
    for c in load()["claims"]:
        kind = c["kind"]
        if kind not in KINDS:
            raise ValueError(f"claim {c['id']}: unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        metrics = _metrics(c["notebook"], profile, cache)
        ours = None if metrics is None else metrics.get(c.get("metric")) if c.get("metric") else None
        if kind == "full_run" and profile == "cpu":
            verdict = "needs the full run"
        elif metrics is None:
            verdict = "not run"
        else:
            verdict = _judge("relative" if kind == "full_run" else kind, c.get("value"), ours,
                             float(c.get("tolerance") or 0))
        rows.append(dict(id=c["id"], paper=c["paper"], where=c["where"], what=c["what"], paper_value=c.get("value"),
                         unit=c.get("unit", ""), ours=ours, verdict=verdict, notebook=c["notebook"],
                         metric=c.get("metric"), kind=kind,
                         command=c.get("command") or full_run_command(c["notebook"])))
    return pd.DataFrame(rows)


def counts(card: pd.DataFrame) -> dict:
    """Number of claims per verdict (every verdict present, zeros included)."""
    vc = card["verdict"].value_counts()
    return {v: int(vc.get(v, 0)) for v in VERDICTS}
