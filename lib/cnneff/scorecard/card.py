"""The scorecard: every claim of claims.yaml judged against the metrics its
notebook wrote, one row per claim."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..claims import load
from ..results import load_metrics
from .gates import apply_gates
from .kinds import KINDS
from .rules import EVIDENCE_FIELDS

__all__ = ["judge", "scorecard", "rows", "full_run_command"]


def full_run_command(notebook: str) -> str:
    """The command that runs ``notebook`` at paper scale.  Returns it as a string."""
    return f"make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK={notebook}"


def judge(claim: dict, metrics: dict | None) -> dict:
    """Judge one claim (a dict of claims.yaml) against one notebook's
    ``metrics`` (None: not run) by the rule of its kind
    (:data:`~cnneff.scorecard.kinds.KINDS`), then its gates.  Returns the row
    fields: verdict, ours, reason, proxy, gates and, where they apply, effect,
    ci_low, ci_high, n_seeds, n_test, mde.  Raises ValueError for an unknown
    kind."""
    kind = KINDS.get(claim["kind"])
    if kind is None:
        raise ValueError(f"claim {claim['id']}: unknown kind {claim['kind']!r}; valid: {', '.join(KINDS)}")
    row: dict[str, Any] = dict(proxy=bool(claim.get("proxy", False)), gates=[], **{k: None for k in EVIDENCE_FIELDS})
    if not kind.measured:  # judged from the paper's numbers alone
        row.update(kind.rule(claim, {}))
        return row
    if metrics is None:
        row.update(verdict="not run", ours=None, reason=f"run `cnneff run {claim['notebook']}` first")
        return row
    if kind.on_data and not metrics.get("paper_data"):
        row["proxy"] = True  # a trained comparison on a stand-in data set
    try:
        row.update(kind.rule(claim, metrics))
    except (ValueError, TypeError, KeyError) as e:  # measurements the rule cannot use: say so, judge nothing
        row.update(verdict="not run", ours=None,
                   reason=f"the measurements of {claim['notebook']} cannot be judged ({e}); re-run it")
        return row
    return apply_gates(row, claim, metrics)


def _metrics(notebook: str, profile: str, cache: dict, root=None) -> dict | None:
    """The metrics of ``notebook`` in ``profile`` (read once per scorecard,
    through ``cache``).  Returns the dict, or None where it has not run."""
    if notebook not in cache:
        try:
            cache[notebook] = load_metrics(notebook, profile, root)
        except FileNotFoundError:  # not run yet: its claims get "not run"
            cache[notebook] = None
    return cache[notebook]


def scorecard(profile: str = "cpu", notebook: str | None = None, paper: str | None = None,
              root=None) -> pd.DataFrame:
    """One row per claim (optionally only those of ``notebook`` or ``paper``),
    judged on ``results/<profile>/`` (``root``: another results folder; a run
    folder such as ``cpu+epochs=10`` falls back to ``cpu`` for notebooks it
    does not hold).  Returns a DataFrame with the columns
    id, paper, where, what, kind, paper_value, ours, unit, verdict, proxy,
    reason, effect, ci_low, ci_high, n_seeds, n_test, mde, gates, notebook,
    metric, command (how to test it at full scale)."""
    cache: dict = {}
    out = []
    for c in load()["claims"]:
        if (notebook and c["notebook"] != notebook) or (paper and c["paper"] != paper):
            continue
        row = judge(c, _metrics(c["notebook"], profile, cache, root))
        out.append(dict(id=c["id"], paper=c["paper"], where=c["where"], what=c["what"], kind=c["kind"],
                        paper_value=c.get("value"), ours=row.pop("ours"), unit=c.get("unit", ""),
                        verdict=row.pop("verdict"), proxy=row.pop("proxy"), reason=row.pop("reason"),
                        **{k: row.get(k) for k in EVIDENCE_FIELDS}, gates=row.get("gates", []),
                        notebook=c["notebook"], metric=c.get("metric"),
                        command=c.get("command") or full_run_command(c["notebook"])))
    return pd.DataFrame(out)


def rows(profile: str = "cpu") -> list[dict]:
    """The scorecard of ``profile`` as JSON-able dicts (NaN as None; counts
    such as n_seeds and n_test as integers), the shape of ``cnneff claims
    --json``.  Returns a list of dicts, one per claim."""
    out = json.loads(scorecard(profile).to_json(orient="records"))
    for row in out:  # a column with gaps is float in pandas: 3.0 seeds reads oddly in JSON
        for key in ("n_seeds", "n_test"):
            if isinstance(row.get(key), float) and row[key].is_integer():
                row[key] = int(row[key])
    return out
