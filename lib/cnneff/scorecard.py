"""The rulebook: every claim of ``claims.yaml`` judged in one place.

Paper values come from ``claims.yaml`` (typed in once); our measurements are
read from ``results/<profile>/<notebook>/metrics.json`` (written by the
notebooks, per seed where trained).  Notebooks never decide a verdict: they
measure, and this module judges.  The statistics are :mod:`cnneff.stats`.

Verdicts (stable strings, :data:`VERDICTS`):

* ``reproduced`` / ``not reproduced``: the rule of the claim's kind came out
  for / against the paper;
* ``partly``: a static number outside its tolerance but within three times it
  (kind ``count`` only);
* ``inconclusive``: the 95 % interval does not decide (the row says the
  minimum detectable effect, MDE);
* ``invalid at this scale``: a validity gate of the experiment failed
  (baseline not above the majority class, mechanism not engaged): the
  experiment cannot speak to the claim, whatever its numbers;
* ``needs the full run``: a ``value`` claim (the paper's own number on the
  paper's own data) measured on a stand-in, or a timing claim about
  accelerator hardware measured on a CPU (a failed ``hardware`` gate): only
  the paper-scale run can decide it;
* ``paper inconsistent``: the paper's own numbers contradict each other;
* ``not run``: the notebook that measures it has not written its metrics.

Kinds (:data:`KINDS`) and their rules:

* ``count`` -- a static number.  ``tolerance`` (relative) or
  ``abs_tolerance``: within it reproduced, within 3x partly, else not
  reproduced; neither: exact equality.  ``bound: at_most | at_least``: ours
  must not exceed / fall below ``value``.
* ``count_order`` -- a static ordering of counts ("V2 has the fewest
  parameters of the four"), for which no numeric tolerance fits:
  ``metrics[0]`` must be the smallest (``relation: first_smallest``) or the
  list strictly ascending (``relation: ascending``).
* ``superiority`` -- "A beats B" (``pairs: [[A, B], ...]``, each a per-seed
  metric, paired by seed; or ``[[D]]`` where ``D`` is an interval the
  notebook computed with :func:`cnneff.stats.bootstrap_interval`): reproduced
  when every pair's interval of A - B excludes 0 upwards, not reproduced when
  any excludes 0 downwards, or when the interval of a pair that does not
  exclude 0 ends below the paper's (positive) ``paper_effect`` (a gain as
  large as the paper's is ruled out, though a smaller one is not), otherwise
  inconclusive.
* ``non_inferiority`` -- "accuracy kept": ``new`` against ``reference``
  with a ``margin`` (points, fixed before looking at our numbers, justified in
  ``margin_why``): reproduced when the interval's lower end is above
  -margin, not reproduced when its upper end is below -margin, else
  inconclusive.
* ``value`` -- a paper number measured on the paper's data: judged (absolute
  ``tolerance``) only when the notebook ran on that data
  (``paper_data: true`` in its metrics); on a stand-in, ours is shown as a
  proxy and the verdict is "needs the full run".
* ``ratio`` -- speed-ups and size ratios with an interval over repeats
  (``metric`` = per-repeat ratios, or ``numerator`` / ``denominator`` paired
  lists; ``deterministic: true`` for one exact number such as a file size).
  ``above: x`` (or ``below: x``): reproduced when the interval lies above
  (below) x, not reproduced when it lies below (above), else inconclusive.
  ``tolerance: t``: reproduced when the interval lies inside
  ``value x (1 +- t)``, not reproduced when it lies entirely outside, else
  inconclusive.
* ``paper_inconsistent`` -- the paper's numbers recomputed from each other
  (``check``, one of :data:`PAPER_CHECKS`): "paper inconsistent" when the
  stated and the recomputed value differ by more than ``tolerance``
  (relative), "reproduced" when they agree.

Validity gates (``gates:`` in claims.yaml, named by a claim's ``gates``):
``test: above`` (the interval of ``metric`` lies above ``threshold`` or the
value of ``threshold_metric``; one seed: the test set's Wilson interval,
:func:`cnneff.stats.accuracy_interval`), ``at_least`` (the mean reaches
``threshold``), ``equals`` (the metric equals ``threshold``: hardware).
A failed ``validity`` gate makes the claim "invalid at this scale", a failed
``hardware`` gate "needs the full run"; both are shown with their numbers.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import pandas as pd

from . import stats
from .claims import claim_metrics, load, paper_table
from .results import load_metrics

__all__ = ["VERDICTS", "VERDICT_COLOURS", "KINDS", "TRAINED_KINDS", "PAPER_CHECKS", "scorecard", "counts", "judge",
           "full_run_command", "rows", "show", "to_html", "human", "summary_html", "forest_plot", "claim_metrics",
           "prose_values"]

VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive", "invalid at this scale",
            "needs the full run", "paper inconsistent", "not run")
KINDS = ("count", "count_order", "superiority", "non_inferiority", "value", "ratio", "paper_inconsistent")
TRAINED_KINDS = ("superiority", "non_inferiority", "ratio")  # rows with effect, interval, seeds, MDE, gates
EVIDENCE_FIELDS = ("effect", "ci_low", "ci_high", "n_seeds", "n_test", "mde")
_NAN = float("nan")


def full_run_command(notebook: str) -> str:
    """The command that runs ``notebook`` at paper scale."""
    return f"make reproduce PROFILE=gpu DATA_ROOT=/path/to/data NOTEBOOK={notebook}"


# ----------------------------------------------------------------------------
# Paper-internal checks (kind paper_inconsistent): (stated, recomputed, how)
# ----------------------------------------------------------------------------
def _marginal_rate(claim: dict) -> tuple[float, float, str]:
    """Paper 000's FLOPs marginal transformation rate of one Table 1 row (the
    claim's value, as printed) against its recomputation from the same table:
    (baseline FLOPs - row FLOPs) / (baseline precision - row precision), in M
    FLOPs per precision point."""
    t = paper_table(claim["table"]).set_index("model")
    base, row = t.iloc[0], t.loc[claim["row"]]
    recomputed = (base["macs_m"] - row["macs_m"]) / (base["precision"] - row["precision"])
    return float(claim["value"]), float(recomputed), (
        f"({base['macs_m']:g} - {row['macs_m']:g}) M / ({base['precision']:g} - {row['precision']:g}) points")


def _compound_constraint(claim: dict) -> tuple[float, float, str]:
    """Paper 002's compound-scaling constraint alpha * beta^2 * gamma^2 ~ 2,
    recomputed from the constants the paper states."""
    c = paper_table(claim["table"]).iloc[0]
    product = float(c["alpha"] * c["beta"] ** 2 * c["gamma"] ** 2)
    return float(claim["value"]), product, f"{c['alpha']:g} x {c['beta']:g}^2 x {c['gamma']:g}^2"


def _eq5_width(claim: dict) -> tuple[float, float, str]:
    """Paper 004's Eq. 5, w = sqrt(c / (r^2 d)): the published width of one
    TinyNet (the claim's value) against the width Eq. 5 gives from the same
    model's own r, d and cost fraction c (table ``claim["table"]``, row whose
    ``name`` is ``claim["row"]``)."""
    t = paper_table(claim["table"]).set_index("name")
    row = t.loc[claim["row"]]
    w = math.sqrt(float(row["c"]) / (float(row["r"]) ** 2 * float(row["d"])))
    return float(claim["value"]), w, f"sqrt({row['c']:g} / ({row['r']:g}^2 x {row['d']:g}))"


def _printed_twice(claim: dict) -> tuple[float, float, str]:
    """One number the paper prints in two places: the claim's value (where the
    claim says) against the cell of table ``claim["table"]`` in the row whose
    ``claim["key"]`` column equals ``claim["row"]``, column ``claim["column"]``."""
    t = paper_table(claim["table"])
    cell = t.loc[t[claim["key"]] == claim["row"], claim["column"]]
    if len(cell) != 1:
        raise KeyError(f"claim {claim['id']}: {len(cell)} rows of {claim['table']} have {claim['key']} = {claim['row']!r}")
    return float(claim["value"]), float(cell.iloc[0]), f"{claim['table']}, {claim['row']}, {claim['column']}"


def _stated_difference(claim: dict) -> tuple[float, float, str]:
    """A difference the paper states in words ("1.9 % higher"): the claim's
    value against ``row_a - row_b`` of column ``claim["column"]`` of table
    ``claim["table"]`` (rows matched on column ``claim["key"]``)."""
    t = paper_table(claim["table"]).set_index(claim["key"])
    a, b = float(t.loc[claim["row_a"], claim["column"]]), float(t.loc[claim["row_b"], claim["column"]])
    return float(claim["value"]), a - b, f"{claim['row_a']} {a:g} - {claim['row_b']} {b:g}"
def _marginal_rate_minutes(claim: dict) -> tuple[float, float, str]:
    """Paper 000's training time-precision marginal transformation rate of one
    Table 1 row (the claim's value, as the text prints it) against its
    recomputation from the table's times: (baseline minutes - row minutes) /
    (baseline precision - row precision), in minutes per precision point."""
    t = paper_table(claim["table"]).set_index("model")
    base, row = t.iloc[0], t.loc[claim["row"]]
    recomputed = (base["train_minutes"] - row["train_minutes"]) / (base["precision"] - row["precision"])
    return float(claim["value"]), float(recomputed), (
        f"({base['train_minutes']:g} - {row['train_minutes']:g}) min / "
        f"({base['precision']:g} - {row['precision']:g}) points")


def _row_and_base(claim: dict):
    """Row ``claim['row']`` and the base row (``claim['base_row']``, else the
    first) of paper table ``claim['table']``, indexed by its first column."""
    t = paper_table(claim["table"])
    t = t.set_index(t.columns[0])
    base = t.loc[claim["base_row"]] if claim.get("base_row") else t.iloc[0]
    return t.loc[claim["row"]], base


def _percent_change(claim: dict) -> tuple[float, float, str]:
    """A percent change the paper prints beside a table cell (e.g. a training
    time's "(-47.57 %)") against the one recomputed from the table's own cells:
    100 x (row / base - 1) in column ``claim['column']``."""
    row, base = _row_and_base(claim)
    col = claim["column"]
    recomputed = 100 * (float(row[col]) / float(base[col]) - 1)
    return float(claim["value"]), recomputed, f"100 x ({row[col]:g} / {base[col]:g} - 1) %"


def _difference(claim: dict) -> tuple[float, float, str]:
    """A drop the paper states in the text (e.g. "the accuracy decreases by
    0.5 %") against the one recomputed from its table: base - row in column
    ``claim['column']``."""
    row, base = _row_and_base(claim)
    col = claim["column"]
    return float(claim["value"]), float(base[col]) - float(row[col]), f"{base[col]:g} - {row[col]:g} points"


def _linear_after_pooling(claim: dict) -> tuple[float, float, str]:
    """Paper 001's Linear row of Table 4 against the MACs of a linear layer run
    once on the globally pooled features (Table 1: "Global Avg Pool, Linear"):
    in_channels x classes.  The stated 6,272,000 is that times the 7 x 7
    positions of the feature map before pooling."""
    h = paper_table(claim["table"]).iloc[0]
    recomputed = float(h["in_channels"] * h["classes"])
    return float(claim["value"]), recomputed, (
        f"{h['in_channels']:g} x {h['classes']:g} (pooled first; x {h['height'] * h['width']:g} positions "
        f"= {h['in_channels'] * h['classes'] * h['height'] * h['width']:,.0f})")


def _table_total(claim: dict) -> tuple[float, float, str]:
    """A table's printed total against the sum of its rows in column
    ``claim['column']`` (rows other than the one whose first column is
    ``Total``)."""
    t = paper_table(claim["table"])
    rows = t[t[t.columns[0]] != "Total"]
    recomputed = float(rows[claim["column"]].sum())
    return float(claim["value"]), recomputed, f"the sum of its {len(rows)} rows"


def _base_phi(claim: dict) -> tuple[float, float, str]:
    """Paper 002's compound coefficient of the base network B0: stated
    (``phi_b0``) against the phi that gives the base network's own depth
    multiplier, d = alpha^phi = 1, i.e. phi = log(1) / log(alpha) = 0."""
    c = paper_table(claim["table"]).iloc[0]
    recomputed = math.log(1.0) / math.log(float(c["alpha"]))
    return float(claim["value"]), recomputed, f"alpha^phi = 1 (B0 is the unscaled base) with alpha {c['alpha']:g}"


PAPER_CHECKS: dict[str, Callable[[dict], tuple[float, float, str]]] = {
    "marginal_rate": _marginal_rate,
    "marginal_rate_minutes": _marginal_rate_minutes,
    "compound_constraint": _compound_constraint,
    "eq5_width": _eq5_width,
    "printed_twice": _printed_twice,
    "stated_difference": _stated_difference,
    "percent_change": _percent_change,
    "difference": _difference,
    "linear_after_pooling": _linear_after_pooling,
    "table_total": _table_total,
    "base_phi": _base_phi,
}


# ----------------------------------------------------------------------------
# Formatting helpers for the one-line reasons
# ----------------------------------------------------------------------------
def _num(x, digits: int = 3) -> str:
    """``x`` in a reason: ``digits`` significant digits, thousands separators
    from 1,000 on, never scientific notation; a dash for nothing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1000):
        return f"{int(x):,}"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    if x != 0 and abs(x) < 1e-3:
        return f"{x:.6f}".rstrip("0")
    text = f"{x:.{digits}g}"
    return text if "e" not in text else f"{x:,.{max(0, digits - 1)}f}"


def _ci(iv: stats.Interval, digits: int = 3) -> str:
    if not iv.has_interval:
        return f"no interval ({iv.method})"
    return f"95 % interval [{_num(iv.low, digits)}, {_num(iv.high, digits)}], {iv.method}"


def _mean(x) -> float | None:
    v = stats.as_values(x)
    return sum(v) / len(v) if v else None


# ----------------------------------------------------------------------------
# Gates
# ----------------------------------------------------------------------------
def _gate(name: str, spec: dict, metrics: dict) -> dict:
    """Evaluate gate ``name`` on ``metrics``: {name, kind, value, threshold, ci_low, passed, what}."""
    value = metrics.get(spec["metric"])
    threshold = metrics.get(spec["threshold_metric"]) if spec.get("threshold_metric") else spec.get("threshold")
    out = dict(name=name, kind=spec.get("kind", "validity"), value=None, threshold=threshold, ci_low=None,
               passed=False, what=spec.get("what", ""))
    test = spec["test"]
    if test == "equals":
        out.update(value=value, passed=value == threshold)
        return out
    if value is None or threshold is None:
        return out
    if test == "above":
        iv = stats.accuracy_interval(value, metrics.get(spec.get("n_test_metric", "n_test")))
        out.update(value=iv.mean, ci_low=iv.low if iv.has_interval else None,
                   passed=bool(iv.has_interval and iv.low > float(threshold)))
    elif test == "at_least":
        m = _mean(value)
        out.update(value=m, passed=m is not None and m >= float(threshold))
    else:
        raise ValueError(f"gate {name}: unknown test {test!r}; valid: above, at_least, equals")
    return out


def _gate_text(g: dict) -> str:
    if g["kind"] == "hardware":
        return f"gate {g['name']} failed: measured on {g['value']!s}, the claim is about {g['threshold']}"
    low = f" (interval from {_num(g['ci_low'])})" if g.get("ci_low") is not None else ""
    return f"gate {g['name']} failed: {_num(g['value'])}{low} vs threshold {_num(g['threshold'])}"


# ----------------------------------------------------------------------------
# Kind rules: each returns a dict of row fields (verdict, ours, reason, ...)
# ----------------------------------------------------------------------------
def _judge_count(c: dict, m: dict) -> dict:
    ours = m.get(c["metric"])
    if ours is None:
        return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
    paper = float(c["value"])
    if c.get("bound"):
        ok = ours <= paper if c["bound"] == "at_most" else ours >= paper
        word = "at most" if c["bound"] == "at_most" else "at least"
        return dict(verdict="reproduced" if ok else "not reproduced", ours=ours,
                    reason=f"ours {_num(ours, 4)} is {'' if ok else 'not '}{word} {_num(paper, 4)}")
    err = abs(float(ours) - paper)
    if "abs_tolerance" in c:
        tol, how = float(c["abs_tolerance"]), f"+-{_num(float(c['abs_tolerance']))} {c.get('unit', '')}".rstrip()
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
    return dict(verdict=v, ours=ours, reason=f"ours {_num(ours, 6)} vs paper {_num(paper, 6)}{rel}; tolerance {how}")


def _judge_count_order(c: dict, m: dict) -> dict:
    vals = [m.get(k) for k in c["metrics"]]
    if any(v is None for v in vals):
        return dict(verdict="not run", ours=None, reason="a count of the ordering is missing")
    if c.get("relation", "first_smallest") == "first_smallest":
        ok = all(vals[0] < v for v in vals[1:])
        rule = f"{c['metrics'][0]} smallest"
    else:
        ok = all(a < b for a, b in zip(vals, vals[1:]))
        rule = "strictly ascending"
    shown = ", ".join(f"{k} {_num(v, 4)}" for k, v in zip(c["metrics"], vals))
    return dict(verdict="reproduced" if ok else "not reproduced", ours=vals[0],
                reason=f"{rule}: {'yes' if ok else 'no'} ({shown})")


def _pair_interval(pair: list, m: dict, scale: float) -> stats.Interval | None:
    if len(pair) == 1:  # a precomputed interval (e.g. a bootstrap) written by the notebook
        d = m.get(pair[0])
        if d is None:
            return None
        fl = lambda k: float(d[k]) * scale if d.get(k) is not None else _NAN
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
    test image, so ``n_test`` stays empty)."""
    if "bootstrap" in iv.method:
        mde = stats.mde_normal(iv.sd) if math.isfinite(iv.sd) else _NAN
        n_test = None
    else:
        n_test = m.get(c.get("n_test_metric", "n_test"))
        sd = iv.sd if math.isfinite(iv.sd) else None
        mde = stats.mde(iv.n, sd=sd, n_test=n_test, p=0.5 if p is None else p, scale=scale) if iv.n else _NAN
    return dict(effect=iv.mean, ci_low=iv.low if iv.has_interval else None,
                ci_high=iv.high if iv.has_interval else None, n_seeds=iv.n, n_test=n_test,
                mde=mde if math.isfinite(mde) else None)


def _mde_text(ev: dict, c: dict, unit: str) -> str:
    if ev.get("mde") is None:
        return ""
    bound = "at least " if ev.get("n_seeds", 0) < 2 else ""
    paper = c.get("paper_effect")
    cmp = ""
    if paper is not None:
        cmp = f" {'>' if ev['mde'] > abs(float(paper)) else '<='} the paper's {_num(abs(float(paper)))}"
    return f"; detectable effect {bound}{_num(ev['mde'])} {unit}{cmp}".rstrip()


def _judge_superiority(c: dict, m: dict) -> dict:
    scale = float(c.get("scale", 100))
    unit = c.get("effect_unit", "points")
    ivs = []
    for pair in c["pairs"]:
        iv = _pair_interval(pair, m, scale)
        if iv is None:
            return dict(verdict="not run", ours=None, reason=f"missing measurements for {' - '.join(pair)}")
        ivs.append((pair, iv))
    up = [p for p, iv in ivs if iv.has_interval and iv.low > 0]
    down = [(p, iv) for p, iv in ivs if iv.has_interval and iv.high < 0]
    if down:
        verdict, (pair, iv) = "not reproduced", down[0]
    elif len(up) == len(ivs):
        verdict, (pair, iv) = "reproduced", min(ivs, key=lambda t: t[1].low)
    else:
        verdict, (pair, iv) = "inconclusive", next((p, i) for p, i in ivs if not (i.has_interval and i.low > 0))
    paper = float(c.get("paper_effect") or 0)
    ruled_out = verdict == "inconclusive" and paper > 0 and iv.has_interval and iv.high < paper
    if ruled_out:  # the interval stops short of the paper's effect: a gain that large did not reproduce
        verdict = "not reproduced"
    p = _mean(stats.as_values(m.get(pair[0])) + stats.as_values(m.get(pair[1]))) if len(pair) == 2 else None
    ev = _evidence(iv, c, m, scale, p)
    label = " - ".join(pair) if len(ivs) > 1 else "effect"
    reason = f"{label}: {_num(iv.mean)} {unit}, {_ci(iv)}{_mde_text(ev, c, unit)}"
    if len(ivs) > 1:
        reason += f" ({len(up)} of {len(ivs)} pairs above 0)"
    if ruled_out:
        reason += f"; the paper's +{_num(paper)} lies above the interval: a gain that large is ruled out"
    return dict(verdict=verdict, ours=iv.mean, reason=reason, **ev)


def _judge_non_inferiority(c: dict, m: dict) -> dict:
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
    ev = _evidence(iv, c, m, scale, _mean(stats.as_values(new) + stats.as_values(ref)))
    reason = (f"{c['new']} - {c['reference']}: {_num(iv.mean)} {unit}, {_ci(iv)}; margin -{_num(margin)} {unit}"
              f"{_mde_text(ev, c, unit)}")
    return dict(verdict=verdict, ours=iv.mean, reason=reason, **ev)


def _judge_value(c: dict, m: dict) -> dict:
    raw = m.get(c["metric"])
    ours = _mean(raw)
    data = (m.get("parameters") or {}).get(c.get("data_parameter", "data"), "a stand-in")
    if ours is None and not m.get("paper_data"):
        return dict(verdict="needs the full run", ours=None, proxy=True,
                    reason=f"not measured on the stand-in ({data}); only a run on the paper's data can test "
                           f"the paper's {_num(float(c['value']), 4)}")
    if ours is None:
        return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
    ours *= float(c.get("scale", 1))
    if not m.get("paper_data"):
        return dict(verdict="needs the full run", ours=ours, proxy=True,
                    reason=f"ours {_num(ours, 4)} {c.get('unit', '')} is a proxy on {data}; "
                           f"only a run on the paper's data can test the paper's {_num(float(c['value']), 4)}")
    err = abs(ours - float(c["value"]))
    tol = float(c["tolerance"])
    n = len(stats.as_values(raw))
    return dict(verdict="reproduced" if err <= tol else "not reproduced", ours=ours, n_seeds=n,
                reason=f"ours {_num(ours, 4)} vs paper {_num(float(c['value']), 4)} on the paper's data "
                       f"({n} seed{'s' if n != 1 else ''}); tolerance +-{_num(tol)} {c.get('unit', '')}".rstrip())


def _judge_ratio(c: dict, m: dict) -> dict:
    if c.get("numerator"):
        num, den = m.get(c["numerator"]), m.get(c["denominator"])
        if num is None or den is None:
            return dict(verdict="not run", ours=None, reason=f"missing {c['numerator']} or {c['denominator']}")
        iv = stats.ratio_interval(num, den)
    else:
        raw = m.get(c["metric"])
        if raw is None:
            return dict(verdict="not run", ours=None, reason=f"{c['notebook']} wrote no {c['metric']}")
        if c.get("deterministic"):
            x = float(_mean(raw))
            iv = stats.Interval(x, x, x, 1, 0.0, "one exact measurement")
        else:
            iv = stats.ratio_interval(raw)
    if "above" in c or "below" in c:
        above = "above" in c
        x = float(c["above"] if above else c["below"])
        if iv.has_interval and (iv.low > x if above else iv.high < x):
            verdict = "reproduced"
        elif iv.has_interval and (iv.high < x if above else iv.low > x):
            verdict = "not reproduced"
        else:
            verdict = "inconclusive"
        rule = f"{'above' if above else 'below'} x{_num(x)}"
    else:
        tol = float(c["tolerance"])
        lo, hi = float(c["value"]) * (1 - tol), float(c["value"]) * (1 + tol)
        if iv.has_interval and lo <= iv.low and iv.high <= hi:
            verdict = "reproduced"
        elif iv.has_interval and (iv.high < lo or iv.low > hi):
            verdict = "not reproduced"
        else:
            verdict = "inconclusive"
        rule = f"within x{_num(lo)}..x{_num(hi)}"
    ev = dict(effect=iv.mean, ci_low=iv.low if iv.has_interval else None,
              ci_high=iv.high if iv.has_interval else None, n_seeds=iv.n, n_test=None, mde=None)
    return dict(verdict=verdict, ours=iv.mean, reason=f"ratio x{_num(iv.mean)}, {_ci(iv)}; rule: {rule}", **ev)


def _judge_paper_inconsistent(c: dict, m: dict) -> dict:
    stated, recomputed, how = PAPER_CHECKS[c["check"]](c)
    tol = float(c.get("tolerance", 0.01))
    off = abs(stated - recomputed) > tol * abs(stated)
    return dict(verdict="paper inconsistent" if off else "reproduced", ours=recomputed,
                reason=f"stated {_num(stated, 5)}, recomputed from the paper {how} = {_num(recomputed, 5)} "
                       f"({100 * (recomputed / stated - 1):+.1f} %; tolerance {100 * tol:g} %)")


_RULES: dict[str, Callable[[dict, dict], dict]] = {
    "count": _judge_count, "count_order": _judge_count_order, "superiority": _judge_superiority,
    "non_inferiority": _judge_non_inferiority, "value": _judge_value, "ratio": _judge_ratio,
    "paper_inconsistent": _judge_paper_inconsistent,
}


def judge(claim: dict, metrics: dict | None) -> dict:
    """Judge one claim (a dict of claims.yaml) against one notebook's
    ``metrics`` (None: not run).  Returns the row fields: verdict, ours,
    reason, proxy, gates and, where they apply, effect, ci_low, ci_high,
    n_seeds, n_test, mde."""
    kind = claim["kind"]
    if kind not in _RULES:
        raise ValueError(f"claim {claim['id']}: unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    row: dict[str, Any] = dict(proxy=bool(claim.get("proxy", False)), gates=[], **{k: None for k in EVIDENCE_FIELDS})
    if kind == "paper_inconsistent":
        row.update(_judge_paper_inconsistent(claim, {}))
        return row
    if metrics is None:
        row.update(verdict="not run", ours=None, reason=f"run `cnneff run {claim['notebook']}` first")
        return row
    if kind in ("superiority", "non_inferiority", "value") and not metrics.get("paper_data"):
        row["proxy"] = True  # a trained comparison on a stand-in data set
    try:
        row.update(_RULES[kind](claim, metrics))
    except (ValueError, TypeError, KeyError) as e:  # measurements the rule cannot use: say so, judge nothing
        row.update(verdict="not run", ours=None,
                   reason=f"the measurements of {claim['notebook']} cannot be judged ({e}); re-run it")
        return row
    specs = load().get("gates", {})
    row["gates"] = [_gate(g, specs[g], metrics) for g in claim.get("gates") or []]
    off_hardware = [g for g in row["gates"] if g["kind"] == "hardware" and g["value"] is not None and not g["passed"]]
    if row["verdict"] == "not run" and off_hardware:  # measured only on the paper's hardware: not a missing run
        row.update(verdict="needs the full run", reason="; ".join(map(_gate_text, off_hardware)) + f"; {row['reason']}")
    if row["verdict"] in ("not run", "needs the full run"):
        return row
    missing = [g["name"] for g in row["gates"] if g["value"] is None or g["threshold"] is None]
    if missing:
        row.update(verdict="not run", reason=f"{claim['notebook']} wrote no measurement for gate {', '.join(missing)}")
        return row
    failed_hw = [g for g in row["gates"] if not g["passed"] and g["kind"] == "hardware"]
    failed = [g for g in row["gates"] if not g["passed"] and g["kind"] != "hardware"]
    if failed_hw:
        row.update(verdict="needs the full run", reason="; ".join(map(_gate_text, failed_hw)) + f"; ours: {row['reason']}")
    elif failed:
        row.update(verdict="invalid at this scale", reason="; ".join(map(_gate_text, failed)) + f"; ours: {row['reason']}")
    return row


def _metrics(notebook: str, profile: str, cache: dict, root=None):
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
    does not hold):
    id, paper, where, what, kind, paper_value, ours, unit, verdict, proxy,
    reason, effect, ci_low, ci_high, n_seeds, n_test, mde, gates, notebook,
    metric, command (how to test it at full scale)."""
    cache: dict = {}
    out = []
    for c in load()["claims"]:
        if (notebook and c["notebook"] != notebook) or (paper and c["paper"] != paper):
            continue
        row = judge(c, _metrics(c["notebook"], profile, cache, root))
        out.append(dict(id=c["id"], paper=c["paper"], where=c["where"], what=c["what"], kind=c["kind"],
                        paper_value=c.get("value"), ours=row.pop("ours"), unit=c.get("unit", ""),
                        verdict=row.pop("verdict"), proxy=row.pop("proxy"), reason=row.pop("reason"),
                        **{k: row.get(k) for k in EVIDENCE_FIELDS}, gates=row.get("gates", []),
                        notebook=c["notebook"], metric=c.get("metric"),
                        command=c.get("command") or full_run_command(c["notebook"])))
    return pd.DataFrame(out)


def rows(profile: str = "cpu") -> list[dict]:
    """The scorecard as JSON-able dicts (NaN as None; counts such as n_seeds
    and n_test as integers), the shape of ``cnneff claims --json``."""
    import json

    out = json.loads(scorecard(profile).to_json(orient="records"))
    for row in out:  # a column with gaps is float in pandas: 3.0 seeds reads oddly in JSON
        for key in ("n_seeds", "n_test"):
            if isinstance(row.get(key), float) and row[key].is_integer():
                row[key] = int(row[key])
    return out


def counts(card: pd.DataFrame) -> dict:
    """Number of claims per verdict (every verdict present, zeros included)."""
    vc = card["verdict"].value_counts()
    return {v: int(vc.get(v, 0)) for v in VERDICTS}


VERDICT_COLOURS = {  # background of the verdict cell: green for, red against, amber undecided, grey not tested
    "reproduced": "#d4edda", "partly": "#fff3cd", "not reproduced": "#f8d7da", "inconclusive": "#ffe8cc",
    "invalid at this scale": "#e2d9f3", "needs the full run": "#e2e3e5", "paper inconsistent": "#f5c6cb",
    "not run": "#ffffff",
}


def human(v, other=None, unit: str = "") -> str:
    """``v`` for people: integers with thousands separators, large numbers in
    M or G with enough significant digits to tell ``v`` from ``other`` (the
    value it is compared with), no scientific notation, a dash for nothing.
    Returns a string."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "\u2013"
    if isinstance(v, bool) or isinstance(v, str):
        return str(v)
    x = float(v)
    if "%" in unit or "points" in unit or "accuracy" in unit or abs(x) < 1000:
        for digits in range(3, 8):
            text = f"{x:.{digits}g}"
            if other is None or not isinstance(other, (int, float)) or text != f"{float(other):.{digits}g}" \
                    or float(other) == x:
                break
        return text if "e" not in text else f"{x:,.6f}".rstrip("0").rstrip(".")
    if float(x).is_integer() and abs(x) < 1e13:  # counts: every digit, so an exact comparison shows
        return f"{int(x):,}"
    scale, suffix = (1e9, " G") if abs(x) >= 1e9 else (1e6, " M") if abs(x) >= 1e6 else (1e3, " k")
    for digits in range(1, 7):
        text = f"{x / scale:,.{digits}f}{suffix}"
        if other is None or not isinstance(other, (int, float)) or float(other) == x \
                or text != f"{float(other) / scale:,.{digits}f}{suffix}":
            return text
    return f"{int(x):,}"


def to_html(card: pd.DataFrame, columns=("id", "what", "paper_value", "ours", "verdict", "reason")) -> str:
    """The scorecard rows as an HTML table for people: full claim text
    (wrapped), numbers by :func:`human`, ours marked "(proxy)" where it was
    measured on a stand-in, one colour per verdict, and each claim id an
    anchor (``#claim-<id>``) that the chapters link to.  Returns the HTML."""
    import html

    heads = {"id": "claim", "what": "what the paper says", "paper_value": "paper", "ours": "ours",
             "verdict": "verdict", "reason": "why", "command": "full run"}
    out = ['<table class="cnneff-scorecard" style="width:100%;table-layout:auto;border-collapse:collapse">',
           "<thead><tr>" + "".join(f'<th style="text-align:left">{heads.get(c, c)}</th>' for c in columns)
           + "</tr></thead><tbody>"]
    for _, r in card.iterrows():
        cells = []
        for c in columns:
            if c == "id":
                cell = f'<a id="claim-{html.escape(r["id"])}"></a><code>{html.escape(r["id"])}</code>'
            elif c in ("paper_value", "ours"):
                other = r["ours"] if c == "paper_value" else r["paper_value"]
                cell = html.escape(human(r[c], other, str(r.get("unit") or "")))
                if c == "ours" and r.get("proxy") and r[c] is not None:
                    cell += " <em>(proxy)</em>"
                unit = str(r.get("unit") or "")
                if unit and r[c] is not None and not isinstance(r[c], str):
                    cell += f' <span style="color:#666">{html.escape(unit)}</span>'
            elif c == "verdict":
                colour = VERDICT_COLOURS.get(r["verdict"], "#fff")
                cell = f'<span style="background:{colour};padding:1px 6px;border-radius:3px;white-space:nowrap">' \
                       f'{html.escape(r["verdict"])}</span>'
            elif c == "command":
                cell = f"<code style='white-space:pre-wrap;word-break:break-all'>{html.escape(str(r[c]))}</code>"
            else:
                cell = html.escape(str(r[c]))
            cells.append(f'<td style="text-align:left;vertical-align:top;white-space:normal">{cell}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def prose_values(card: pd.DataFrame) -> dict[str, str]:
    """Every claim's numbers as the chapters quote them, keyed
    ``"<id>__<field>"``: ``verdict``; ``ours`` and ``paper`` (by :func:`human`,
    with the claim's unit); ``effect`` (mean and 95 % interval, e.g. "+3.1
    points [0.4, 5.8]", or the ratio "x1.62 [1.55, 1.70]"); ``mde`` (the
    minimum detectable effect, "-" where none).  The scorecard notebook glues
    them so no number in a chapter's prose is typed by hand.  Returns a dict
    of strings."""
    def fin(x) -> bool:
        return x is not None and isinstance(x, (int, float)) and math.isfinite(x)

    out = {}
    for _, r in card.iterrows():
        cid, unit = r["id"], str(r.get("unit") or "")
        out[f"{cid}__verdict"] = str(r["verdict"])
        out[f"{cid}__ours"] = human(r.get("ours"), r.get("paper_value"), unit)
        out[f"{cid}__paper"] = human(r.get("paper_value"), r.get("ours"), unit)
        eff, lo, hi = r.get("effect"), r.get("ci_low"), r.get("ci_high")
        if r["kind"] == "ratio" and fin(eff):
            text = f"x{_num(eff)}" + (f" [{_num(lo)}, {_num(hi)}]" if fin(lo) and fin(hi) else "")
        elif fin(eff):
            text = f"{eff:+.1f} {unit}".rstrip() + (f" [{lo:+.1f}, {hi:+.1f}]" if fin(lo) and fin(hi) else "")
        else:
            text = "\u2013"
        out[f"{cid}__effect"] = text
        out[f"{cid}__mde"] = f"{r['mde']:.1f} {unit}".rstrip() if fin(r.get("mde")) else "\u2013"
        for g in r.get("gates") or []:  # "gate__<name>": its value (lower end), threshold, passed or not
            if fin(g.get("value")):
                low = f", 95 % lower end {_num(g['ci_low'])}" if fin(g.get("ci_low")) else ""
                out[f"gate__{g['name']}"] = (f"{_num(g['value'])}{low} against {_num(g.get('threshold'))}: "
                                             f"{'passed' if g.get('passed') else 'failed'}")
    return out


def summary_html(card: pd.DataFrame, paper: str | None = None) -> str:
    """One line of coloured counts per verdict (of ``paper``'s claims, or all),
    for the top of a chapter or of the landing page.  Returns HTML."""
    sub = card if paper is None else card[card["paper"] == paper]
    n = counts(sub)
    chips = [f'<span style="background:{VERDICT_COLOURS[v]};padding:2px 8px;margin:2px;border-radius:3px;'
             f'border:1px solid #ccc;display:inline-block">{k} {v}</span>' for v, k in n.items() if k]
    return f"<p><strong>{len(sub)} claims:</strong> " + " ".join(chips) + "</p>"


def forest_plot(card: pd.DataFrame, paper: str):
    """Forest plot of ``paper``'s trained comparisons (kinds superiority and
    non_inferiority, in their effect units): our effect with its 95 %
    interval (a dot alone where one seed gives no interval), the paper's
    effect as a cross, zero as a line.  Returns a matplotlib Figure, or None
    when the paper has no such claim."""
    import matplotlib.pyplot as plt

    rows = card[(card["paper"] == paper) & card["kind"].isin(["superiority", "non_inferiority"])
                & card["effect"].notna()]
    if rows.empty:
        return None
    spec = {c["id"]: c for c in load()["claims"]}
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.2))
    for y, (_, r) in enumerate(rows.iloc[::-1].iterrows()):
        colour = {"reproduced": "tab:green", "not reproduced": "tab:red"}.get(r["verdict"], "tab:gray")
        if r["ci_low"] is not None and r["ci_high"] is not None and not pd.isna(r["ci_low"]):
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=colour, lw=2)
        ax.plot([r["effect"]], [y], "o", color=colour)
        paper_effect = spec[r["id"]].get("paper_effect")
        if paper_effect is not None:
            ax.plot([paper_effect], [y], "x", color="black", ms=8)
        if r["kind"] == "non_inferiority":
            ax.plot([-float(spec[r["id"]]["margin"])] * 2, [y - 0.3, y + 0.3], color="tab:orange", lw=1.5)
    ax.axvline(0, color="0.5", lw=1)
    ax.set_yticks(range(len(rows)), [f"{i}\n({v})" for i, v in zip(rows["id"][::-1], rows["verdict"][::-1])],
                  fontsize=8)
    units = sorted({spec[i].get("effect_unit", "points") for i in rows["id"]})
    ax.set(xlabel=f"effect ({', '.join(units)}): ours with its 95 % interval; x the paper's; orange: margin",
           title=f"Paper {paper}: trained comparisons")
    fig.tight_layout()
    plt.close(fig)
    return fig


def show(notebook: str, profile: str = "cpu"):
    """The scorecard rows of the claims ``notebook`` measures, as a table to
    display at the end of the notebook (claim, what, paper, ours, verdict, why).
    Reads the metrics where the notebook just wrote them
    (:func:`cnneff.paths.output_dir`).  Returns an IPython HTML object."""
    from IPython.display import HTML

    from .paths import output_dir

    return HTML(to_html(scorecard(profile, notebook=notebook, root=output_dir(profile).parent)))
