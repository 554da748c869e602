"""The scorecard's inputs: which keys of a notebook's metrics.json the
claims read.

:func:`cnneff.results.save_metrics` keeps exactly these keys (and the
provenance) in metrics.json, and ``tests/test_claims.py`` checks that each
notebook writes every key its claims read.
"""
from __future__ import annotations

from ..claims import load
from .kinds import KINDS

__all__ = ["CLAIM_KEYS", "RUN_KEYS", "claim_metrics", "metric_keys"]

CLAIM_KEYS = ("metric", "new", "reference", "numerator", "denominator", "n_test_metric")  # fields naming one metric
RUN_KEYS = ("paper_data", "n_test", "parameters")  # read by the rows of kinds that read the run (Kind.reads_run)


def claim_metrics(claim: dict) -> set[str]:
    """Every metric key of its notebook that ``claim`` reads, its gates'
    included.  Returns a set of strings."""
    keys = {claim.get(k) for k in CLAIM_KEYS}
    keys |= set(claim.get("metrics") or [])
    for pair in claim.get("pairs") or []:
        keys |= set(pair)
    if claim.get("cost"):  # what one paired replicate cost (cnneff.scorecard.power prices the seeds needed)
        keys |= {f"{claim['cost']}_seed_seconds", f"{claim['cost']}_seed_macs"}
    gates = load().get("gates") or {}
    for g in claim.get("gates") or []:
        keys |= {gates[g].get("metric"), gates[g].get("threshold_metric"), gates[g].get("n_test_metric")}
    kind = KINDS.get(claim["kind"])
    if kind is not None and kind.reads_run:
        keys |= set(RUN_KEYS)
    return {k for k in keys if k}


def metric_keys(notebook: str) -> set[str]:
    """The metric keys of ``notebook`` that some claim reads (the scorecard's
    inputs).  Returns a set of strings."""
    return set().union(*(claim_metrics(c) for c in load()["claims"] if c["notebook"] == notebook))
