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
from .rules_trained import EVIDENCE_FIELDS, POWER_FIELDS

__all__ = ["judge", "scorecard", "rows", "full_run_command", "claim_digest"]


def full_run_command(notebook: str) -> str:
    """The command that runs ``notebook`` at paper scale.  Returns it as a string."""
    return f"make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK={notebook}"


def claim_digest(claim: dict) -> str:
    """A short hash of one claim as claims.yaml states it (its value, margin,
    tolerance, rule fields): what the run recorded, so that a claim changed
    after its results were computed shows.  Returns 12 hex digits."""
    import hashlib

    return hashlib.sha256(json.dumps(claim, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _flagged(claim: dict, metrics: dict | None, row: dict) -> dict | None:
    """The verdicts a claim's flags decide before (or instead of) its rule:
    ``reach`` (no run of this book can test it: "out of reach");
    ``needs: paper_data`` (a count or comparison that is only comparable on
    the paper's own data: off it, "needs the full run" with ours as a proxy,
    ``proxy_why`` saying why).  Returns the row fields, or None when no flag
    decides."""
    if claim.get("reach"):
        return dict(verdict="out of reach", ours=row.get("ours"), reason=str(claim["reach"]))
    if claim.get("needs") == "paper_data" and metrics is not None and not metrics.get("paper_data"):
        why = claim.get("proxy_why", "measured on a stand-in")
        return dict(verdict="needs the full run", proxy=True,
                    reason=f"{why}; ours: {row.get('reason', '')}".rstrip("; "))
    return None


def _by_construction(claim: dict, metrics: dict, row: dict, kind) -> dict:
    """A check whose outcome its own measurement fixes (``by_construction:
    WHY``): judged by its rule on ``measured_metric`` where the run wrote that
    real measurement (e.g. fp16 memory from ``torch.cuda.max_memory_allocated``),
    else the verdict "by construction" with ours shown.  Returns the row fields."""
    real = claim.get("measured_metric")
    if real and metrics.get(real) is not None:
        judged = kind.rule({**claim, "metric": real, "deterministic": False}, metrics)
        judged["reason"] = f"measured ({real}): {judged['reason']}"
        return judged
    return dict(verdict="by construction", ours=row.get("ours"),
                reason=f"{claim['by_construction']}; ours: {row.get('reason', '')}")


def _erratum(claim: dict, row: dict) -> dict | None:
    """A number of the paper that its own arithmetic contradicts (``erratum:
    ID`` names the ``paper_inconsistent`` claim that shows it): where ours
    misses the printed number and that check finds the paper inconsistent,
    the row is "paper inconsistent", not ours; with ``corrected: CHECK`` ours
    must also match the paper's corrected number.  Returns the row fields, or
    None when the erratum does not decide."""
    from .paper_checks import PAPER_CHECKS
    from .policy import count_tolerance

    ref = next((c for c in load()["claims"] if c["id"] == claim["erratum"]), None)
    if ref is None or row.get("verdict") not in ("not reproduced", "partly") or row.get("ours") is None:
        return None
    if KINDS["paper_inconsistent"].rule(ref, {})["verdict"] != "paper inconsistent":
        return None
    note = f"the paper's number is one of its errata ({ref['id']}: {ref['what']})"
    if claim.get("corrected"):
        _, corrected, how = PAPER_CHECKS[claim["corrected"]](claim)
        if not count_tolerance({**claim, "value": corrected}).allows(row["ours"], corrected):
            return None
        note += f"; ours equals the corrected number, {how} = {corrected:,.0f}"
    return dict(verdict="paper inconsistent", reason=f"{note}; ours: {row['reason']}")


def judge(claim: dict, metrics: dict | None) -> dict:
    """Judge one claim (a dict of claims.yaml) against one notebook's
    ``metrics`` (None: not run) by the rule of its kind
    (:data:`~cnneff.scorecard.kinds.KINDS`), its flags (``reach``, ``needs``,
    ``by_construction``) and its gates.  Returns the row fields: verdict,
    ours, reason, proxy, gates and, where they apply, the evidence and power
    fields.  Raises ValueError for an unknown kind."""
    kind = KINDS.get(claim["kind"])
    if kind is None:
        raise ValueError(f"claim {claim['id']}: unknown kind {claim['kind']!r}; valid: {', '.join(KINDS)}")
    row: dict[str, Any] = dict(proxy=bool(claim.get("proxy", False)), gates=[],
                               **{k: None for k in EVIDENCE_FIELDS + POWER_FIELDS})
    if not kind.measured:  # judged from the paper's numbers alone
        row.update(kind.rule(claim, {}))
        return row
    if metrics is None:
        flagged = _flagged(claim, metrics, {})
        row.update(flagged or dict(verdict="not run", ours=None, reason=f"run `cnneff run {claim['notebook']}` first"))
        return row
    if kind.on_data and not metrics.get("paper_data"):
        row["proxy"] = True  # a trained comparison on a stand-in data set
    try:
        row.update(kind.rule(claim, metrics))
    except (ValueError, TypeError, KeyError) as e:  # measurements the rule cannot use: say so, judge nothing
        row.update(verdict="not run", ours=None,
                   reason=f"the measurements of {claim['notebook']} cannot be judged ({e}); re-run it")
        return row
    flagged = _flagged(claim, metrics, row)
    if flagged:
        row.update(flagged)
        return row
    if claim.get("by_construction") and row["verdict"] != "not run":
        row.update(_by_construction(claim, metrics, row, kind))
    if claim.get("erratum"):
        row.update(_erratum(claim, row) or {})
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
    reason, effect, ci_low, ci_high, n_seeds, n_test, mde, target, target_how,
    seeds_needed, cpu_hours_needed, gpu_hours_needed, gates, notebook, metric,
    scope ("paper", or "book" for the book's own questions), changed_after_run
    (the claim differs from what the run recorded) and command (how to test
    it at full scale)."""
    cache: dict = {}
    out = []
    for c in load()["claims"]:
        if (notebook and c["notebook"] != notebook) or (paper and c["paper"] != paper):
            continue
        m = _metrics(c["notebook"], profile, cache, root)
        row = judge(c, m)
        if row["verdict"] == "needs the full run":  # what deciding it would cost on one GPU
            from ..plan import paper_minutes

            minutes = paper_minutes(c["notebook"])
            row["full_run_gpu_minutes"] = minutes
            if minutes is not None:
                row["reason"] += (f"; the full run of {c['notebook']} (every claim it measures) is about "
                                  f"{minutes:,.0f} GPU-minutes on one GPU (estimate, cnneff.plan)")
        recorded = ((m or {}).get("claim_digests") or {}).get(c["id"])
        if recorded and recorded != claim_digest(c):  # judged against a claim edited after the results
            row["reason"] += (f"; the claim changed after this run computed its results (claims.yaml edited since): "
                              f"re-run `cnneff run {c['notebook']}`")
        out.append(dict(id=c["id"], paper=c["paper"], where=c["where"], what=c["what"], kind=c["kind"],
                        paper_value=c.get("value"), ours=row.pop("ours"), unit=c.get("unit", ""),
                        verdict=row.pop("verdict"), proxy=row.pop("proxy"), reason=row.pop("reason"),
                        **{k: row.get(k) for k in EVIDENCE_FIELDS + POWER_FIELDS}, gates=row.get("gates", []),
                        notebook=c["notebook"], metric=c.get("metric"), scope="book" if c.get("own") else "paper",
                        changed_after_run=bool(recorded) and recorded != claim_digest(c),
                        full_run_gpu_minutes=row.get("full_run_gpu_minutes"),
                        command=c.get("command") or full_run_command(c["notebook"])))
    return pd.DataFrame(out)


def rows(profile: str = "cpu") -> list[dict]:
    """The scorecard of ``profile`` as JSON-able dicts (NaN as None; counts
    such as n_seeds and n_test as integers), the shape of ``cnneff claims
    --json``.  Returns a list of dicts, one per claim."""
    out = json.loads(scorecard(profile).to_json(orient="records"))
    for row in out:  # a column with gaps is float in pandas: 3.0 seeds reads oddly in JSON
        for key in ("n_seeds", "n_test", "seeds_needed"):
            if isinstance(row.get(key), float) and row[key].is_integer():
                row[key] = int(row[key])
    return out
