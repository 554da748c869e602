"""The papers' own numbers, read from ``claims.yaml`` (paper values only)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

CLAIMS_FILE = Path(__file__).with_name("claims.yaml")

__all__ = ["CLAIMS_FILE", "load", "paper_table", "claims", "claim_metrics", "metric_keys"]


@lru_cache(maxsize=1)
def load() -> dict:
    """The parsed claims file: ``papers``, ``tables`` and ``claims``."""
    return yaml.safe_load(CLAIMS_FILE.read_text())


def paper_table(name: str) -> pd.DataFrame:
    """Paper table ``name`` of the claims file as a DataFrame (paper values)."""
    tables = load()["tables"]
    if name not in tables:
        raise KeyError(f"no paper table {name!r} in {CLAIMS_FILE.name}; have: {', '.join(tables)}")
    t = tables[name]
    return pd.DataFrame(t["rows"], columns=t["columns"])


def claims() -> pd.DataFrame:
    """Every single numeric claim as a DataFrame (one row per claim)."""
    return pd.DataFrame(load()["claims"])


def claim_metrics(claim: dict) -> set[str]:
    """Every metric key of its notebook that ``claim`` reads, its gates' included."""
    keys = {claim.get(k) for k in ("metric", "new", "reference", "numerator", "denominator", "n_test_metric")}
    keys |= set(claim.get("metrics") or [])
    for pair in claim.get("pairs") or []:
        keys |= set(pair)
    gates = load().get("gates") or {}
    for g in claim.get("gates") or []:
        keys |= {gates[g].get("metric"), gates[g].get("threshold_metric"), gates[g].get("n_test_metric")}
    if claim["kind"] in ("superiority", "non_inferiority", "value", "ratio"):
        keys |= {"paper_data", "n_test", "parameters"}
    return {k for k in keys if k}


def metric_keys(notebook: str) -> set[str]:
    """The metric keys of ``notebook`` that some claim reads (the scorecard's inputs)."""
    return set().union(*(claim_metrics(c) for c in load()["claims"] if c["notebook"] == notebook))
