"""The judging rule of each claim kind (the table that names them is
:data:`cnneff.scorecard.kinds.KINDS`).

Every rule is a function ``(claim, metrics) -> dict`` of row fields:
``verdict``, ``ours`` (our number, or None), ``reason`` (one line, with the
numbers) and, where they apply, the evidence fields
(:data:`EVIDENCE_FIELDS`: effect, interval, seeds, test images, minimum
detectable effect) and ``proxy``.  A rule that finds a measurement missing
says "not run"; one that finds a measurement it cannot use raises
ValueError, TypeError or KeyError (the caller, :func:`cnneff.scorecard.judge`,
turns that into "not run" with the error in the reason).  Validity gates are
applied afterwards (:mod:`cnneff.scorecard.gates`).
"""
from __future__ import annotations

import math

from .. import stats
from .paper_checks import PAPER_CHECKS
from .reasons import NAN, interval_text, mean, number

__all__ = ["EVIDENCE_FIELDS", "judge_count", "judge_count_order", "judge_superiority", "judge_non_inferiority",
           "judge_value", "judge_ratio", "judge_paper_inconsistent"]

EVIDENCE_FIELDS = ("effect", "ci_low", "ci_high", "n_seeds", "n_test", "mde")


# ----------------------------------------------------------------------------
# Static numbers: count, count_order
# ----------------------------------------------------------------------------
def judge_count(c: dict, m: dict) -> dict:
    """Kind ``count``, a static number.  ``tolerance`` (relative) or
    ``abs_tolerance``: within it reproduced, within 3x partly, else not
    reproduced; neither: exact equality.  ``bound: at_most | at_least``: ours
    must not exceed / fall below ``value``.  Returns the row fields verdict,
    ours, reason."""
    ours = m.get(c["metric"])
    if ours is None:
        return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
    paper = float(c["value"])
    if c.get("bound"):
        ok = ours <= paper if c["bound"] == "at_most" else ours >= paper
        word = "at most" if c["bound"] == "at_most" else "at least"
        return dict(verdict="reproduced" if ok else "not reproduced", ours=ours,
                    reason=f"ours {number(ours, 4)} is {'' if ok else 'not '}{word} {number(paper, 4)}")
    err = abs(float(ours) - paper)
    if "abs_tolerance" in c:
        tol, how = float(c["abs_tolerance"]), f"+-{number(float(c['abs_tolerance']))} {c.get('unit', '')}".rstrip()
    else:
        tol = float(c.get("tolerance") or 0) * abs(paper)
        how = f"+-{100 * float(c.get('tolerance') or 0):g} %" if c.get("tolerance") else "exact"
    if err <= tol + 1e-12 * max(1.0, abs(paper)):
        v = "reproduced"
    elif tol > 0 and err <= 3 * tol + 1e-12:
        v = "partly"
    else:
        v = "not reproduced"
    rel = f" ({100 * (float(ours) / paper - 1):+.2f} %)" if paper else ""
    return dict(verdict=v, ours=ours,
                reason=f"ours {number(ours, 6)} vs paper {number(paper, 6)}{rel}; tolerance {how}")


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


# ----------------------------------------------------------------------------
# Trained comparisons: superiority, non_inferiority (paired by seed)
# ----------------------------------------------------------------------------
def _pair_interval(pair: list, m: dict, scale: float) -> stats.Interval | None:
    """The interval of one pair of a ``superiority`` claim: ``[A, B]``, the
    paired per-seed difference A - B (times ``scale``); ``[D]``, the interval
    the notebook computed itself (a dict effect, ci_low, ci_high, n, sd,
    method).  Returns None where a measurement is missing."""
    if len(pair) == 1:  # a precomputed interval (e.g. a bootstrap) written by the notebook
        d = m.get(pair[0])
        if d is None:
            return None
        fl = lambda k: float(d[k]) * scale if d.get(k) is not None else NAN
        return stats.Interval(fl("effect"), fl("ci_low"), fl("ci_high"), int(d.get("n", 0)), fl("sd"),
                              d.get("method", "interval computed by the notebook"))
    a, b = m.get(pair[0]), m.get(pair[1])
    if a is None or b is None:
        return None
    return stats.paired_difference(a, b, scale)


def _evidence(iv: stats.Interval, c: dict, m: dict, scale: float, p: float | None = None) -> dict:
    """Row fields effect, ci_low, ci_high, n_seeds, n_test, mde of interval ``iv``.

    The MDE of a paired design rests on the measured spread of the per-seed
    differences; with one seed, on the binomial bound at accuracy ``p`` (the
    two arms' mean) on the test images; for a bootstrap interval, on its
    standard error with normal quantiles (the unit there is a model, not a
    test image, so ``n_test`` stays empty).  Returns a dict of those fields
    (None where they do not apply)."""
    if "bootstrap" in iv.method:
        mde = stats.mde_normal(iv.sd) if math.isfinite(iv.sd) else NAN
        n_test = None
    else:
        n_test = m.get(c.get("n_test_metric", "n_test"))
        sd = iv.sd if math.isfinite(iv.sd) else None
        mde = stats.mde(iv.n, sd=sd, n_test=n_test, p=0.5 if p is None else p, scale=scale) if iv.n else NAN
    return dict(effect=iv.mean, ci_low=iv.low if iv.has_interval else None,
                ci_high=iv.high if iv.has_interval else None, n_seeds=iv.n, n_test=n_test,
                mde=mde if math.isfinite(mde) else None)


def _mde_text(ev: dict, c: dict, unit: str) -> str:
    """The minimum detectable effect of evidence ``ev`` in a reason, compared
    with the paper's ``paper_effect`` where the claim states one.  Returns
    "; detectable effect ..." or "" where there is no MDE."""
    if ev.get("mde") is None:
        return ""
    bound = "at least " if ev.get("n_seeds", 0) < 2 else ""
    paper = c.get("paper_effect")
    cmp = ""
    if paper is not None:
        cmp = f" {'>' if ev['mde'] > abs(float(paper)) else '<='} the paper's {number(abs(float(paper)))}"
    return f"; detectable effect {bound}{number(ev['mde'])} {unit}{cmp}".rstrip()


def _superiority_decision(ivs: list) -> tuple[str, list, stats.Interval]:
    """The verdict of a superiority claim's pairs ``ivs`` (a list of (pair,
    interval)) before the paper's effect is considered: not reproduced when
    any interval excludes 0 downwards, reproduced when all exclude it
    upwards, else inconclusive.  Returns (verdict, the pair that decides, its
    interval): the first against; the one with the lowest lower end; the
    first that does not exclude 0 upwards."""
    up = [p for p, iv in ivs if iv.has_interval and iv.low > 0]
    down = [(p, iv) for p, iv in ivs if iv.has_interval and iv.high < 0]
    if down:
        return ("not reproduced", *down[0])
    if len(up) == len(ivs):
        return ("reproduced", *min(ivs, key=lambda t: t[1].low))
    return ("inconclusive", *next((p, i) for p, i in ivs if not (i.has_interval and i.low > 0)))


def judge_superiority(c: dict, m: dict) -> dict:
    """Kind ``superiority``, "A beats B" (``pairs: [[A, B], ...]``, each a
    per-seed metric, paired by seed; or ``[[D]]`` where ``D`` is an interval the
    notebook computed with :func:`cnneff.stats.bootstrap_interval`): reproduced
    when every pair's interval of A - B excludes 0 upwards, not reproduced when
    any excludes 0 downwards, or when the interval of a pair that does not
    exclude 0 ends below the paper's (positive) ``paper_effect`` (a gain as
    large as the paper's is ruled out, though a smaller one is not), otherwise
    inconclusive.  Returns the row fields verdict, ours (the deciding pair's
    effect), reason and the evidence fields."""
    scale = float(c.get("scale", 100))
    unit = c.get("effect_unit", "points")
    ivs = []
    for pair in c["pairs"]:
        iv = _pair_interval(pair, m, scale)
        if iv is None:
            return dict(verdict="not run", ours=None, reason=f"missing measurements for {' - '.join(pair)}")
        ivs.append((pair, iv))
    verdict, pair, iv = _superiority_decision(ivs)
    paper = float(c.get("paper_effect") or 0)
    ruled_out = verdict == "inconclusive" and paper > 0 and iv.has_interval and iv.high < paper
    if ruled_out:  # the interval stops short of the paper's effect: a gain that large did not reproduce
        verdict = "not reproduced"
    p = mean(stats.as_values(m.get(pair[0])) + stats.as_values(m.get(pair[1]))) if len(pair) == 2 else None
    ev = _evidence(iv, c, m, scale, p)
    label = " - ".join(pair) if len(ivs) > 1 else "effect"
    reason = f"{label}: {number(iv.mean)} {unit}, {interval_text(iv)}{_mde_text(ev, c, unit)}"
    if len(ivs) > 1:
        n_up = sum(1 for _, i in ivs if i.has_interval and i.low > 0)
        reason += f" ({n_up} of {len(ivs)} pairs above 0)"
    if ruled_out:
        reason += f"; the paper's +{number(paper)} lies above the interval: a gain that large is ruled out"
    return dict(verdict=verdict, ours=iv.mean, reason=reason, **ev)


def judge_non_inferiority(c: dict, m: dict) -> dict:
    """Kind ``non_inferiority``, "accuracy kept": ``new`` against
    ``reference`` with a ``margin`` (points, fixed before looking at our
    numbers, justified in ``margin_why``): reproduced when the interval's lower
    end is above -margin, not reproduced when its upper end is below -margin,
    else inconclusive.  Returns the row fields verdict, ours (the effect),
    reason and the evidence fields."""
    scale = float(c.get("scale", 100))
    unit = c.get("effect_unit", "points")
    new, ref = m.get(c["new"]), m.get(c["reference"])
    if new is None or ref is None:
        return dict(verdict="not run", ours=None, reason=f"missing {c['new']} or {c['reference']}")
    iv = stats.paired_difference(new, ref, scale)
    margin = float(c["margin"])
    if iv.has_interval and iv.low > -margin:
        verdict = "reproduced"
    elif iv.has_interval and iv.high < -margin:
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    ev = _evidence(iv, c, m, scale, mean(stats.as_values(new) + stats.as_values(ref)))
    reason = (f"{c['new']} - {c['reference']}: {number(iv.mean)} {unit}, {interval_text(iv)}; "
              f"margin -{number(margin)} {unit}{_mde_text(ev, c, unit)}")
    return dict(verdict=verdict, ours=iv.mean, reason=reason, **ev)


# ----------------------------------------------------------------------------
# The paper's own number on the paper's data: value
# ----------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------
# Speed-ups and size ratios over repeats: ratio
# ----------------------------------------------------------------------------
def _ratio_interval(c: dict, m: dict) -> tuple[stats.Interval | None, str]:
    """The ratio interval of a ``ratio`` claim: of ``numerator`` /
    ``denominator`` (paired lists), of ``metric`` (per-repeat ratios), or, with
    ``deterministic: true``, the one exact number.  Returns (interval, "") or
    (None, the reason) where a measurement is missing."""
    if c.get("numerator"):
        num, den = m.get(c["numerator"]), m.get(c["denominator"])
        if num is None or den is None:
            return None, f"missing {c['numerator']} or {c['denominator']}"
        return stats.ratio_interval(num, den), ""
    raw = m.get(c["metric"])
    if raw is None:
        return None, f"{c['notebook']} wrote no {c['metric']}"
    if c.get("deterministic"):
        x = float(mean(raw))
        return stats.Interval(x, x, x, 1, 0.0, "one exact measurement"), ""
    return stats.ratio_interval(raw), ""


def _ratio_decision(c: dict, iv: stats.Interval) -> tuple[str, str]:
    """The verdict of ratio interval ``iv`` under the claim's ``above`` /
    ``below`` threshold or its ``tolerance`` band around ``value``.  Returns
    (verdict, the rule in words)."""
    if "above" in c or "below" in c:
        above = "above" in c
        x = float(c["above"] if above else c["below"])
        if iv.has_interval and (iv.low > x if above else iv.high < x):
            verdict = "reproduced"
        elif iv.has_interval and (iv.high < x if above else iv.low > x):
            verdict = "not reproduced"
        else:
            verdict = "inconclusive"
        return verdict, f"{'above' if above else 'below'} x{number(x)}"
    tol = float(c["tolerance"])
    lo, hi = float(c["value"]) * (1 - tol), float(c["value"]) * (1 + tol)
    if iv.has_interval and lo <= iv.low and iv.high <= hi:
        verdict = "reproduced"
    elif iv.has_interval and (iv.high < lo or iv.low > hi):
        verdict = "not reproduced"
    else:
        verdict = "inconclusive"
    return verdict, f"within x{number(lo)}..x{number(hi)}"


def judge_ratio(c: dict, m: dict) -> dict:
    """Kind ``ratio``, speed-ups and size ratios with an interval over repeats
    (``metric`` = per-repeat ratios, or ``numerator`` / ``denominator`` paired
    lists; ``deterministic: true`` for one exact number such as a file size).
    ``above: x`` (or ``below: x``): reproduced when the interval lies above
    (below) x, not reproduced when it lies below (above), else inconclusive.
    ``tolerance: t``: reproduced when the interval lies inside
    ``value x (1 +- t)``, not reproduced when it lies entirely outside, else
    inconclusive.  Returns the row fields verdict, ours (the geometric-mean
    ratio), reason and the evidence fields (no test images, no MDE)."""
    iv, missing = _ratio_interval(c, m)
    if iv is None:
        return dict(verdict="not run", ours=None, reason=missing)
    verdict, rule = _ratio_decision(c, iv)
    ev = dict(effect=iv.mean, ci_low=iv.low if iv.has_interval else None,
              ci_high=iv.high if iv.has_interval else None, n_seeds=iv.n, n_test=None, mde=None)
    return dict(verdict=verdict, ours=iv.mean, reason=f"ratio x{number(iv.mean)}, {interval_text(iv)}; rule: {rule}",
                **ev)


# ----------------------------------------------------------------------------
# The paper against itself: paper_inconsistent
# ----------------------------------------------------------------------------
def judge_paper_inconsistent(c: dict, m: dict) -> dict:
    """Kind ``paper_inconsistent``, the paper's numbers recomputed from each
    other (``check``, one of :data:`~cnneff.scorecard.paper_checks.PAPER_CHECKS`):
    "paper inconsistent" when the stated and the recomputed value differ by
    more than ``tolerance`` (relative, default 1 %), "reproduced" when they
    agree.  ``m`` is not read.  Returns the row fields verdict, ours (the
    recomputed value), reason."""
    stated, recomputed, how = PAPER_CHECKS[c["check"]](c)
    tol = float(c.get("tolerance", 0.01))
    off = abs(stated - recomputed) > tol * abs(stated)
    return dict(verdict="paper inconsistent" if off else "reproduced", ours=recomputed,
                reason=f"stated {number(stated, 5)}, recomputed from the paper {how} = {number(recomputed, 5)} "
                       f"({100 * (recomputed / stated - 1):+.1f} %; tolerance {100 * tol:g} %)")
