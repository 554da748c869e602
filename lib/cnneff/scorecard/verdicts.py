"""The verdicts: the one table of verdict, colour and meaning, and the count
of a scorecard's rows per verdict."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pandas as pd

__all__ = ["Verdict", "VERDICT_TABLE", "VERDICTS", "VERDICT_COLOURS", "counts", "describe"]


@dataclass(frozen=True)
class Verdict:
    """One verdict: ``name`` (a stable string, the rows' ``verdict``),
    ``colour`` (the background of its cell: green for, red against, amber
    undecided, grey not tested) and ``meaning`` (when a row gets it)."""

    name: str
    colour: str
    meaning: str


VERDICT_TABLE: dict[str, Verdict] = {v.name: v for v in (
    Verdict("reproduced", "#d4edda", "the rule of the claim's kind came out for the paper"),
    Verdict("partly", "#fff3cd", "a static number outside its tolerance but within three times it "
                                 "(kind ``count`` only)"),
    Verdict("not reproduced", "#f8d7da", "the rule of the claim's kind came out against the paper"),
    Verdict("inconclusive", "#ffe8cc", "the 95 % interval does not decide (the row says the minimum "
                                       "detectable effect, MDE)"),
    Verdict("invalid at this scale", "#e2d9f3",
            "a validity gate of the experiment failed (baseline not above the majority class, mechanism not "
            "engaged): the experiment cannot speak to the claim, whatever its numbers"),
    Verdict("needs the full run", "#e2e3e5",
            "a ``value`` claim (the paper's own number on the paper's own data) measured on a stand-in, or a "
            "timing claim about accelerator hardware measured on a CPU (a failed ``hardware`` gate): only the "
            "paper-scale run can decide it"),
    Verdict("paper inconsistent", "#f5c6cb", "the paper's own numbers contradict each other"),
    Verdict("not run", "#ffffff", "the notebook that measures it has not written its metrics"),
)}

VERDICTS = tuple(VERDICT_TABLE)  # in the order the book counts them
VERDICT_COLOURS = {v.name: v.colour for v in VERDICT_TABLE.values()}  # verdict -> background of its cell


def counts(card: pd.DataFrame) -> dict:
    """Number of claims per verdict of scorecard ``card``.  Returns a dict
    verdict -> count, every verdict present (zeros included), in
    :data:`VERDICTS` order."""
    vc = card["verdict"].value_counts()
    return {v: int(vc.get(v, 0)) for v in VERDICTS}


def describe() -> str:
    """The verdicts as a reST bullet list, one per verdict with its meaning.
    Returns the text (for docstrings)."""
    items = [f"* ``{v.name}``: {v.meaning}" for v in VERDICT_TABLE.values()]
    return ";\n".join(textwrap.fill(t, 78, subsequent_indent="  ") for t in items) + "."
