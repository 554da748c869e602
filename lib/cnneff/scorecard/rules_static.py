"""The judging rules of the kinds that need no seeds: ``count``,
``count_order``, ``value`` and ``paper_inconsistent`` (the table that names
them is :data:`cnneff.scorecard.kinds.KINDS`).

Every rule is a function ``(claim, metrics) -> dict`` of row fields
``verdict``, ``ours`` (our number, or None), ``reason`` (one line, with the
numbers) and, where they apply, ``proxy`` and ``n_seeds``.  A missing
measurement gives "not run"; one the rule cannot use raises ValueError,
TypeError or KeyError (:func:`cnneff.scorecard.judge` turns that into "not
run" with the error in the reason).
"""
from __future__ import annotations

from .. import stats
from .paper_checks import PAPER_CHECKS
from .policy import count_tolerance
from .reasons import mean, number

__all__ = ["judge_count", "judge_count_order", "judge_value", "judge_paper_inconsistent"]


def judge_count(c: dict, m: dict) -> dict:
    """Kind ``count``, a static number, judged under the tolerance policy
    (:func:`cnneff.scorecard.policy.count_tolerance`: the paper's printed
    rounding plus at most one named allowance, or the paper's own stated
    range): within it reproduced, within the policy's band just beyond it
    partly, else not reproduced.  ``bound: at_most | at_least``: ours must not
    exceed / fall below ``value``.  Returns the row fields verdict, ours, reason."""
    ours = m.get(c["metric"])
    if ours is None:
        return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
    paper = float(c["value"])
    if c.get("bound"):
        ok = ours <= paper if c["bound"] == "at_most" else ours >= paper
        word = "at most" if c["bound"] == "at_most" else "at least"
        return dict(verdict="reproduced" if ok else "not reproduced", ours=ours,
                    reason=f"ours {number(ours, 4)} is {'' if ok else 'not '}{word} {number(paper, 4)}")
    tol = count_tolerance(c)
    if tol.allows(ours, paper):
        verdict = "reproduced"
    elif tol.partly(ours, paper):
        verdict = "partly"
    else:
        verdict = "not reproduced"
    rel = f" ({100 * (float(ours) / paper - 1):+.2f} %)" if paper else ""
    return dict(verdict=verdict, ours=ours,
                reason=f"ours {number(ours, 6)} vs paper {number(paper, 6)}{rel}; tolerance {tol.how}")


def judge_count_order(c: dict, m: dict) -> dict:
    """Kind ``count_order``, a static ordering of counts ("V2 has the fewest
    parameters of the four"), for which no numeric tolerance fits:
    ``metrics[0]`` must be the smallest (``relation: first_smallest``) or the
    list strictly ascending (``relation: ascending``).  Returns the row fields
    verdict, ours (the first count), reason."""
    vals = [m.get(k) for k in c["metrics"]]
    if any(v is None for v in vals):
        return dict(verdict="not run", ours=None, reason="a count of the ordering is missing")
    if c.get("relation", "first_smallest") == "first_smallest":
        ok = all(vals[0] < v for v in vals[1:])
        rule = f"{c['metrics'][0]} smallest"
    else:
        ok = all(a < b for a, b in zip(vals, vals[1:]))
        rule = "strictly ascending"
    shown = ", ".join(f"{k} {number(v, 4)}" for k, v in zip(c["metrics"], vals))
    return dict(verdict="reproduced" if ok else "not reproduced", ours=vals[0],
                reason=f"{rule}: {'yes' if ok else 'no'} ({shown})")


def judge_value(c: dict, m: dict) -> dict:
    """Kind ``value``, a paper number measured on the paper's data: judged
    (absolute ``tolerance``) only when the notebook ran on that data
    (``paper_data: true`` in its metrics); on a stand-in, ours is shown as a
    proxy and the verdict is "needs the full run".  Returns the row fields
    verdict, ours (the mean over seeds, times ``scale``), reason and, off the
    paper's data, proxy; on it, n_seeds."""
    raw = m.get(c["metric"])
    ours = mean(raw)
    data = (m.get("parameters") or {}).get(c.get("data_parameter", "data"), "a stand-in")
    if ours is None and not m.get("paper_data"):
        return dict(verdict="needs the full run", ours=None, proxy=True,
                    reason=f"not measured on the stand-in ({data}); only a run on the paper's data can test "
                           f"the paper's {number(float(c['value']), 4)}")
    if ours is None:
        return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
    ours *= float(c.get("scale", 1))
    if not m.get("paper_data"):
        return dict(verdict="needs the full run", ours=ours, proxy=True,
                    reason=f"ours {number(ours, 4)} {c.get('unit', '')} is a proxy on {data}; "
                           f"only a run on the paper's data can test the paper's {number(float(c['value']), 4)}")
    err = abs(ours - float(c["value"]))
    tol = float(c["tolerance"])
    n = len(stats.as_values(raw))
    return dict(verdict="reproduced" if err <= tol else "not reproduced", ours=ours, n_seeds=n,
                reason=f"ours {number(ours, 4)} vs paper {number(float(c['value']), 4)} on the paper's data "
                       f"({n} seed{'s' if n != 1 else ''}); tolerance +-{number(tol)} {c.get('unit', '')}".rstrip())


def judge_paper_inconsistent(c: dict, m: dict) -> dict:
    """Kind ``paper_inconsistent``, the paper's numbers recomputed from each
    other (``check``, one of :data:`~cnneff.scorecard.paper_checks.PAPER_CHECKS`):
    "paper inconsistent" when the stated and the recomputed value differ by
    more than ``tolerance`` (relative, default 1 %: the numbers' printed
    rounding), "consistent" when they agree (the paper agreeing with itself is
    not a reproduction).  ``m`` is not read.  Returns the row fields verdict,
    ours (the recomputed value), reason."""
    stated, recomputed, how = PAPER_CHECKS[c["check"]](c)
    tol = float(c.get("tolerance", 0.01))
    off = abs(stated - recomputed) > tol * abs(stated) if stated else abs(recomputed) > tol
    change = f"{100 * (recomputed / stated - 1):+.1f} %; " if stated else ""
    return dict(verdict="paper inconsistent" if off else "consistent", ours=recomputed,
                reason=f"stated {number(stated, 5)}, recomputed from the paper {how} = {number(recomputed, 5)} "
                       f"({change}tolerance {100 * tol:g} %)")
