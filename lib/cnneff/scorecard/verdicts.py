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
    Verdict("reproduced", "#d4edda", "the rule of the claim's kind came out for the paper: on the paper's data "
                                     "with the paper's size, on a stand-in (marked proxy) in the paper's direction"),
    Verdict("partly", "#fff3cd", "a static number outside its tolerance but within the policy's narrow band "
                                 "beyond it (kind ``count`` only; claims.yaml's ``policy``)"),
    Verdict("not reproduced", "#f8d7da", "the rule of the claim's kind came out against the paper"),
    Verdict("inconclusive", "#ffe8cc", "the 95 % interval does not decide (the row says the minimum "
                                       "detectable effect, MDE, and the seeds that would decide)"),
    Verdict("invalid at this scale", "#e2d9f3",
            "a validity gate of the experiment failed (baseline not above the majority class, mechanism not "
            "engaged, no signal above the seed noise): the experiment cannot speak to the claim, whatever its "
            "numbers"),
    Verdict("by construction", "#dee2e6",
            "the outcome follows from how it is measured (fp16 halves a weight file; a tuned model meets the "
            "budget it was tuned to): shown, never counted as reproduced"),
    Verdict("needs the full run", "#e2e3e5",
            "measured only on a stand-in or on other hardware (a ``value`` claim off the paper's data, a count "
            "of a different network, a timing on a CPU): only the paper-scale run can decide it"),
    Verdict("out of reach", "#cfd4da",
            "no run of this book can test it (a TPU v3, a Huawei P40, a COCO detection pipeline); the reason "
            "says what it would take"),
    Verdict("consistent", "#e8f0fe", "the paper's own numbers agree with each other (not a reproduction)"),
    Verdict("paper inconsistent", "#f5c6cb", "the paper's own numbers contradict each other"),
    Verdict("not run", "#ffffff", "the notebook that measures it has not written its metrics"),
)}

VERDICTS = tuple(VERDICT_TABLE)  # in the order the book counts them
VERDICT_COLOURS = {v.name: v.colour for v in VERDICT_TABLE.values()}  # verdict -> background of its cell


def counts(card: pd.DataFrame, scope: str | None = "paper") -> dict:
    """Number of claims per verdict of scorecard ``card``: of the papers'
    claims (``scope="paper"``, the default), of the book's own questions
    (``"book"``) or of all (None).  Returns a dict verdict -> count, every
    verdict present (zeros included), in :data:`VERDICTS` order."""
    if scope is not None and "scope" in card:
        card = card[card["scope"] == scope]
    vc = card["verdict"].value_counts()
    return {v: int(vc.get(v, 0)) for v in VERDICTS}


def describe() -> str:
    """The verdicts as a reST bullet list, one per verdict with its meaning.
    Returns the text (for docstrings)."""
    items = [f"* ``{v.name}``: {v.meaning}" for v in VERDICT_TABLE.values()]
    return ";\n".join(textwrap.fill(t, 78, subsequent_indent="  ") for t in items) + "."
