"""The rulebook: every claim of ``claims.yaml`` judged in one place.

Paper values come from ``claims.yaml`` (typed in once); our measurements are
read from ``results/<profile>/<notebook>/metrics.json`` (written by the
notebooks, per seed where trained).  Notebooks never decide a verdict: they
measure, and this package judges.  The statistics are :mod:`cnneff.stats`.

A package, one idea per module:

* :mod:`~cnneff.scorecard.kinds`        the one table of claim kinds and their rules (:data:`KINDS`)
* :mod:`~cnneff.scorecard.rules_static`  the rules of counts, orderings, values and the paper's arithmetic
* :mod:`~cnneff.scorecard.rules_trained` the rules of trained comparisons and ratios
* :mod:`~cnneff.scorecard.policy`       the tolerance policy of claims.yaml (rounding, allowances, partly band)
* :mod:`~cnneff.scorecard.power`        the effect to detect, the seeds that would detect it, their hours
* :mod:`~cnneff.scorecard.paper_checks` the paper-internal checks of kind ``paper_inconsistent``
* :mod:`~cnneff.scorecard.gates`        validity gates and how they overrule a rule
* :mod:`~cnneff.scorecard.verdicts`     the one table of verdicts, colours and meanings; ``counts``
* :mod:`~cnneff.scorecard.reasons`      numbers as the one-line reasons write them
* :mod:`~cnneff.scorecard.inputs`       which metric keys the claims read
* :mod:`~cnneff.scorecard.card`         ``judge`` one claim, the ``scorecard`` of a profile, its ``rows``
* :mod:`~cnneff.scorecard.render`       tables, counts and quoted numbers for people
* :mod:`~cnneff.scorecard.plots`        forest plots
* :mod:`~cnneff.scorecard.publish`      the numbers and plots the chapters quote (glue)
* :mod:`~cnneff.scorecard.ledger`       the ledger of the papers' testable sentences and their errata (book pages)

Validity gates (``gates:`` in claims.yaml, named by a claim's ``gates``,
:mod:`~cnneff.scorecard.gates`): a failed ``validity`` gate makes the claim
"invalid at this scale", a failed ``hardware`` gate "needs the full run";
both are shown with their numbers.

Verdicts (stable strings, :data:`VERDICTS`, from
:data:`~cnneff.scorecard.verdicts.VERDICT_TABLE`):

"""
from . import kinds as _kinds
from . import verdicts as _verdicts
from .card import full_run_command, judge, rows, scorecard
from .inputs import claim_metrics, metric_keys
from .kinds import KINDS, TRAINED_KINDS
from .paper_checks import PAPER_CHECKS
from .plots import forest_plot
from .publish import publish
from .render import human, prose_values, show, summary_html, to_html
from .rules_trained import EVIDENCE_FIELDS, POWER_FIELDS
from .verdicts import VERDICT_COLOURS, VERDICTS, counts

if __doc__:  # the lists are derived from the two tables (absent under python -OO)
    __doc__ += (_verdicts.describe() + "\n\nKinds (:data:`KINDS`, from :mod:`~cnneff.scorecard.kinds`) and their "
                "rules:\n\n" + _kinds.describe() + "\n")

__all__ = ["VERDICTS", "VERDICT_COLOURS", "KINDS", "TRAINED_KINDS", "PAPER_CHECKS", "EVIDENCE_FIELDS", "scorecard",
           "counts", "judge", "full_run_command", "rows", "show", "to_html", "human", "summary_html", "forest_plot",
           "claim_metrics", "metric_keys", "prose_values", "publish", "POWER_FIELDS"]
