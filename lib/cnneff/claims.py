"""The papers' own numbers, read from ``claims.yaml`` (paper values only)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

CLAIMS_FILE = Path(__file__).with_name("claims.yaml")

__all__ = ["CLAIMS_FILE", "load", "paper_table", "claims"]


@lru_cache(maxsize=1)
def load() -> dict:
    """The parsed claims file: ``papers``, ``claims``, ``gates`` and ``tables``."""
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
