"""Validity gates: the conditions under which an experiment can speak to its
claims at all.

A gate (``gates:`` in claims.yaml, named by a claim's ``gates``) has a
``test``: ``above`` (the interval of ``metric`` lies above ``threshold`` or
the value of ``threshold_metric``; one seed: the test set's Wilson interval,
:func:`cnneff.stats.accuracy_interval`), ``at_least`` (the mean reaches
``threshold``) or ``equals`` (the metric equals ``threshold``: hardware).
A failed ``validity`` gate makes the claim "invalid at this scale", a failed
``hardware`` gate "needs the full run"; both are shown with their numbers.
"""
from __future__ import annotations

from .. import stats
from ..claims import load
from .reasons import mean, number

__all__ = ["GATE_TESTS", "evaluate_gate", "gate_text", "apply_gates"]

GATE_TESTS = ("above", "at_least", "greater", "equals")


def evaluate_gate(name: str, spec: dict, metrics: dict) -> dict:
    """Evaluate gate ``name`` (its ``spec`` from claims.yaml) on ``metrics``.
    Returns {name, kind, value, threshold, ci_low, passed, what}; value and
    threshold are None where the notebook wrote no measurement for them."""
    value = metrics.get(spec["metric"])
    threshold = metrics.get(spec["threshold_metric"]) if spec.get("threshold_metric") else spec.get("threshold")
    out = dict(name=name, kind=spec.get("kind", "validity"), value=None, threshold=threshold, ci_low=None,
               passed=False, what=spec.get("what", ""))
    test = spec["test"]
    if test == "equals":
        out.update(value=value, passed=value == threshold)
        if out["kind"] == "hardware" and metrics.get("rehearsal") and value is not None:
            # a rehearsal runs the gpu profile's code path on the CPU on purpose: its timings mean nothing, and
            # the verdict it gets only proves that the full run writes what the claim reads
            out.update(passed=True, what=f"{out['what']} (rehearsal: the {threshold} path ran on {value})")
        return out
    if value is None or threshold is None:
        return out
    if test == "above":
        iv = stats.accuracy_interval(value, metrics.get(spec.get("n_test_metric", "n_test")))
        out.update(value=iv.mean, ci_low=iv.low if iv.has_interval else None,
                   passed=bool(iv.has_interval and iv.low > float(threshold)))
    elif test in ("at_least", "greater"):
        m = mean(value)
        ok = m is not None and (m >= float(threshold) if test == "at_least" else m > float(threshold))
        out.update(value=m, passed=ok)
    else:
        raise ValueError(f"gate {name}: unknown test {test!r}; valid: {', '.join(GATE_TESTS)}")
    return out


def gate_text(g: dict) -> str:
    """Failed gate ``g`` (from :func:`evaluate_gate`) in a reason: its value
    (and interval) against its threshold.  Returns a string."""
    if g["kind"] == "hardware":
        return f"gate {g['name']} failed: measured on {g['value']!s}, the claim is about {g['threshold']}"
    low = f" (interval from {number(g['ci_low'])})" if g.get("ci_low") is not None else ""
    return f"gate {g['name']} failed: {number(g['value'])}{low} vs threshold {number(g['threshold'])}"


def apply_gates(row: dict, claim: dict, metrics: dict) -> dict:
    """Evaluate ``claim``'s gates on ``metrics`` into ``row["gates"]`` and let
    them overrule the verdict of its kind's rule in ``row``: a timing that only
    the paper's hardware records "needs the full run" rather than "not run"; a
    gate without its measurement makes the row "not run"; a failed hardware
    gate "needs the full run", a failed validity gate "invalid at this scale",
    each with the gate's numbers prefixed to the reason.  Returns ``row``,
    updated in place."""
    specs = load().get("gates", {})
    row["gates"] = [evaluate_gate(g, specs[g], metrics) for g in claim.get("gates") or []]
    off_hardware = [g for g in row["gates"] if g["kind"] == "hardware" and g["value"] is not None and not g["passed"]]
    if off_hardware:  # a timing on other hardware than the paper's: ours is a proxy beside the paper's number
        row["proxy"] = True
    if row["verdict"] == "not run" and off_hardware:  # measured only on the paper's hardware: not a missing run
        row.update(verdict="needs the full run", reason="; ".join(map(gate_text, off_hardware)) + f"; {row['reason']}")
    if row["verdict"] in ("not run", "needs the full run"):
        return row
    missing = [g["name"] for g in row["gates"] if g["value"] is None or g["threshold"] is None]
    if missing:
        row.update(verdict="not run", reason=f"{claim['notebook']} wrote no measurement for gate {', '.join(missing)}")
        return row
    failed_hw = [g for g in row["gates"] if not g["passed"] and g["kind"] == "hardware"]
    failed = [g for g in row["gates"] if not g["passed"] and g["kind"] != "hardware"]
    if failed_hw:
        row.update(verdict="needs the full run",
                   reason="; ".join(map(gate_text, failed_hw)) + f"; ours: {row['reason']}")
    elif failed:
        row.update(verdict="invalid at this scale",
                   reason="; ".join(map(gate_text, failed)) + f"; ours: {row['reason']}")
    return row
