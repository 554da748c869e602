"""The judging rules of the trained kinds: ``superiority`` and
``non_inferiority`` (paired by seed) and ``ratio`` (over repeats); the table
that names them is :data:`cnneff.scorecard.kinds.KINDS`.

Every rule is a function ``(claim, metrics) -> dict`` of row fields
``verdict``, ``ours``, ``reason`` and the evidence fields
(:data:`EVIDENCE_FIELDS`: effect, interval, seeds, test images, minimum
detectable effect) plus, for paired comparisons, the power fields
(:data:`POWER_FIELDS`, :mod:`cnneff.scorecard.power`).  Validity gates are
applied afterwards (:mod:`cnneff.scorecard.gates`).
"""
from __future__ import annotations

import math

from .. import stats
from .policy import size_share
from .power import power_fields, target_effect
from .reasons import NAN, interval_text, mean, number

__all__ = ["EVIDENCE_FIELDS", "POWER_FIELDS", "judge_superiority", "judge_non_inferiority", "judge_ratio"]

EVIDENCE_FIELDS = ("effect", "ci_low", "ci_high", "n_seeds", "n_test", "mde")
POWER_FIELDS = ("target", "target_how", "seeds_needed", "cpu_hours_needed", "gpu_hours_needed")


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


def _mde_text(ev: dict, pw: dict, unit: str) -> str:
    """The minimum detectable effect of evidence ``ev`` in a reason, compared
    with the effect the comparison should detect (``pw["target"]``, see
    :mod:`cnneff.scorecard.power`) and the seeds that would detect it.
    Returns "; detectable effect ..." or "" where there is no MDE."""
    if ev.get("mde") is None:
        return ""
    bound = "at least " if (ev.get("n_seeds") or 0) < 2 else ""
    text = f"; detectable effect {bound}{number(ev['mde'])} {unit}".rstrip()
    target = pw.get("target")
    if target is not None:
        text += f" {'>' if ev['mde'] > target else '<='} {number(target)} to detect ({pw['target_how']})"
        if pw.get("seeds_needed") and ev["mde"] > target:
            text += f"; {pw['seeds_needed']:,} {pw.get('unit_of_replication', 'seeds')} would detect it"
    return text


def _power(c: dict, m: dict, iv: stats.Interval, ev: dict, on_paper: bool, scale: float) -> dict:
    """The power fields of a comparison (:func:`cnneff.scorecard.power.power_fields`);
    for a bootstrap over models, the models a sweep would need instead of seeds.
    Returns a dict."""
    if "bootstrap" in iv.method:
        pw = power_fields(c, m, None, on_paper, scale)
        if pw["target"] and ev.get("mde"):
            pw["seeds_needed"] = max(iv.n, math.ceil(iv.n * (ev["mde"] / pw["target"]) ** 2))
            pw["unit_of_replication"] = "models"
        return pw
    return power_fields(c, m, iv.sd if math.isfinite(iv.sd) else None, on_paper, scale)


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


def _size_check(verdict: str, iv: stats.Interval, c: dict, m: dict, on_paper: bool, scale: float) -> tuple[str, str]:
    """The size of a superiority claim's gain, where it transfers.  On the
    paper's own data a gain far below the paper's is not a reproduction of
    it: an interval ending below the policy's share of the paper's (positive)
    effect gives "not reproduced".  On a stand-in the paper's absolute number
    of points never counts; where the paper's claim is a share (``share:``,
    e.g. a recovery of the pruning loss) that share applied to our own gap
    does, the same way; otherwise only the direction.  Returns (verdict, a
    note for the reason)."""
    share = size_share()
    if on_paper:
        size, what = float(c.get("paper_effect") or 0), "the paper's"
    elif c.get("share"):
        size, what = target_effect(c, m, False, scale)[0] or 0.0, "the paper's share of our gap,"
    else:
        return verdict, "; a stand-in: judged by its direction, not the paper's size"
    if size > 0 and iv.has_interval and iv.high < share * size:
        return "not reproduced", (f"; the interval ends below {share:g} x {what} +{number(size)}: a gain of that "
                                  "size is ruled out" + ("" if on_paper else " (on the stand-in)"))
    if verdict == "reproduced" and not on_paper:
        return verdict, "; a stand-in: judged by its direction and the share the paper claims"
    return verdict, ""


def judge_superiority(c: dict, m: dict) -> dict:
    """Kind ``superiority``, "A beats B" (``pairs: [[A, B], ...]``, each a
    per-seed metric, paired by seed; or ``[[D]]`` where ``D`` is an interval the
    notebook computed with :func:`cnneff.stats.bootstrap_interval`).  The
    direction: reproduced when every pair's interval of A - B excludes 0
    upwards, not reproduced when any excludes 0 downwards, else inconclusive.
    On the paper's own data the size counts too (:func:`_size_check`); on a
    stand-in the row says the effect it should detect (the share the paper
    claims, :mod:`cnneff.scorecard.power`).  Returns the row fields verdict,
    ours (the deciding pair's effect), reason, the evidence fields and the
    power fields."""
    scale = float(c.get("scale", 100))
    unit = c.get("effect_unit", "points")
    ivs = []
    for pair in c["pairs"]:
        iv = _pair_interval(pair, m, scale)
        if iv is None:
            return dict(verdict="not run", ours=None, reason=f"missing measurements for {' - '.join(pair)}")
        ivs.append((pair, iv))
    verdict, pair, iv = _superiority_decision(ivs)
    on_paper = bool(m.get("paper_data"))
    verdict, note = _size_check(verdict, iv, c, m, on_paper, scale)
    p = mean(stats.as_values(m.get(pair[0])) + stats.as_values(m.get(pair[1]))) if len(pair) == 2 else None
    ev = _evidence(iv, c, m, scale, p)
    pw = _power(c, m, iv, ev, on_paper, scale)
    label = " - ".join(pair) if len(ivs) > 1 else "effect"
    reason = f"{label}: {number(iv.mean)} {unit}, {interval_text(iv)}{_mde_text(ev, pw, unit)}"
    if len(ivs) > 1:
        n_up = sum(1 for _, i in ivs if i.has_interval and i.low > 0)
        reason += f" ({n_up} of {len(ivs)} pairs above 0)"
    return dict(verdict=verdict, ours=iv.mean, reason=reason + note, **ev, **pw)


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
    pw = power_fields({**c, "paper_effect": margin, "share": None, "paper_reference": None}, m,
                      iv.sd if math.isfinite(iv.sd) else None, True, scale)
    pw["target_how"] = "the margin"
    reason = (f"{c['new']} - {c['reference']}: {number(iv.mean)} {unit}, {interval_text(iv)}; "
              f"margin -{number(margin)} {unit}{_mde_text(ev, pw, unit)}")
    return dict(verdict=verdict, ours=iv.mean, reason=reason, **ev, **pw)


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


