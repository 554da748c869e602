"""The one table of claim kinds: each kind of claims.yaml, its judging rule
and how its rows read.

A claim's ``kind`` names an entry of :data:`KINDS`; every list of kinds in the
library is derived from it (:data:`TRAINED_KINDS`, the kinds whose rows are a
proxy off the paper's data, those whose rows read the run's provenance keys,
those drawn in the forest plots, the list in :mod:`cnneff.scorecard`'s
docstring), and ``tests/test_claims.py`` checks that the header of
claims.yaml, ``book/api.md`` and the scorecard page name the same kinds.
Adding a kind means one entry here plus its rule in
:mod:`cnneff.scorecard.rules`.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Callable

from . import rules_static, rules_trained

__all__ = ["Kind", "KINDS", "TRAINED_KINDS", "describe"]


@dataclass(frozen=True)
class Kind:
    """One claim kind.

    ``name``: as claims.yaml spells it; ``rule``: its judging function
    ``(claim, metrics) -> row fields`` (:mod:`cnneff.scorecard.rules`);
    ``what``: what such a claim says; ``summary``: its rule in one line;
    ``trained``: its rows carry an effect with its interval over seeds or
    repeats (effect, ci_low, ci_high, n_seeds, MDE) and are gated;
    ``on_data``: its number depends on the data, so that measured off the
    paper's data (``paper_data`` false in the metrics) the row is a proxy;
    ``measured``: it reads a notebook's metrics (False: judged from the
    paper's numbers alone, never "not run"); ``effect``: how a row's effect
    reads, ``"difference"`` (in effect units, drawn in the forest plots),
    ``"ratio"`` (x1.62) or ``""`` (no effect)."""

    name: str
    rule: Callable[[dict, dict], dict]
    what: str
    summary: str
    trained: bool = False
    on_data: bool = False
    measured: bool = True
    effect: str = ""

    @property
    def reads_run(self) -> bool:
        """Whether rows of this kind read the run's ``paper_data``, ``n_test``
        and ``parameters`` besides the claim's own metrics (trained or
        data-dependent kinds).  Returns a bool."""
        return self.trained or self.on_data


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("count", rules_static.judge_count, "a static number (parameters, MACs)",
         "ours is within the policy's tolerance: the paper's printed rounding plus at most one named allowance "
         "(just beyond it: partly; or a bound: at most / at least)"),
    Kind("count_order", rules_static.judge_count_order, 'a static ordering ("the fewest parameters")',
         "the ordering holds on our counts (the first smallest, or strictly ascending)"),
    Kind("superiority", rules_trained.judge_superiority, '"A beats B", trained, paired by seed',
         "every 95 % interval of A - B lies above 0 (one below 0: not reproduced; on the paper's data also when "
         "it ends below half the paper's gain; on a stand-in only the direction counts; else inconclusive, with "
         "the minimum detectable effect and the seeds that would decide)",
         trained=True, on_data=True, effect="difference"),
    Kind("non_inferiority", rules_trained.judge_non_inferiority, '"accuracy kept", trained, paired by seed',
         "the interval's lower end lies above -margin (its upper end below -margin: not reproduced; "
         "else inconclusive)", trained=True, on_data=True, effect="difference"),
    Kind("value", rules_static.judge_value, "the paper's own number on its own data",
         "ours is within the tolerance, judged only on a run on the paper's data (on a stand-in: needs the full run, "
         "ours shown as a proxy)", on_data=True),
    Kind("ratio", rules_trained.judge_ratio, "speed-ups, size ratios",
         "the interval over repeats lies above (below) the threshold or inside the tolerance band "
         "(entirely on the other side: not reproduced; else inconclusive)", trained=True, effect="ratio"),
    Kind("paper_inconsistent", rules_static.judge_paper_inconsistent, "the paper's numbers recomputed from each other",
         "never: they agree within the tolerance (consistent) or they do not (paper inconsistent)", measured=False),
)}

TRAINED_KINDS = tuple(k for k, spec in KINDS.items() if spec.trained)  # rows with effect, interval, seeds, MDE


def describe() -> str:
    """The kinds as a reST bullet list, one per kind: its name, what such a
    claim says and its rule.  Returns the text (for docstrings)."""
    items = (f"* ``{k.name}`` -- {k.what}: reproduced when {k.summary}." for k in KINDS.values())
    return "\n".join(textwrap.fill(t, 78, subsequent_indent="  ") for t in items)
