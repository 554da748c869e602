"""TinyNet's model Rubik's cube (paper 004): random (r, d, w) twists of
EfficientNet-B0, their Pareto front, and the Gaussian-process tiny formula.

The pipeline of Han et al. (NeurIPS 2020), sections 3 and 4.2:

1. **Sample** ``(r, d, w)`` uniformly from ``[0.35, 2.8]^3`` and keep the
   models whose MACs lie in ``[0.03, 1.05] x C0``, where ``C0`` is B0's MACs
   at the base resolution (:func:`sample_random`); or sample random ``(r, d)``
   and tune ``w`` so that the MACs are within 3 % of ``0.5 C0``
   (:func:`sample_around`, the paper's section 3.1).
2. **Train** every sample briefly and identically (:func:`train_twist`, which
   wraps :func:`cnneff.train.fit`) and write one JSON result file per model;
   :func:`run_sweep` farms the samples out to Ray workers (a local Ray
   instance by default, or a cluster with ``address=``) or runs them in
   process, skipping models whose result file already exists, so a killed
   sweep resumes where it stopped.  The files are the same either way.
3. **Select** the Pareto front (accuracy up, MACs down) and the top 20 % by
   NSGA-style non-dominated sorting (:func:`nondominated_sort`,
   :func:`select_top`); correlate r, d, w with the MACs (:func:`spearman_table`).
4. **Fit the tiny formula**: Gaussian-process regression (RBF kernel plus
   white noise) of r on c and of d on c, then ``w = sqrt(c / (r^2 d))``
   (:func:`fit_tiny_formula`, :func:`held_out_error`, :func:`derive_tinynets`).

Costs are exact and fast: :func:`twist_costs` computes the parameters and
MACs of a twisted B0 analytically from timm's own block decoding and channel
rounding (the ones :func:`cnneff.models.twisted_b0` builds with), following
:mod:`cnneff.counting`'s convention (convolutions and the classifier only);
the tests check it against the FlopCounterMode counter.  A model's input side
is ``int(base_resolution * r)``; ``base_resolution=224`` is the paper's.
Costs may be counted at another scale than the one a model is trained at
(``costs=PAPER_SCALE``): below about 64 px the feature maps of B0's last
stages are 1-2 pixels wide and MACs stop scaling with r^2, so a search that
trains on small images can still count and constrain its models at the
paper's 224 px.

Modules: :mod:`~cnneff.search.costs` (analytic costs), :mod:`~cnneff.search.sampling`
(twists and solvers), :mod:`~cnneff.search.sweep` (training, result files, Ray),
:mod:`~cnneff.search.pareto` (fronts, top-k selection), :mod:`~cnneff.search.formula`
(the GP tiny formula), :mod:`~cnneff.search.pairs` (seed repeats, TinyNet vs B^-phi
pairs, seed spread), :mod:`~cnneff.search.readouts` (the front's lead over B^-phi, the models
around one budget, learning-curve gaps, the cost of a paired replicate), :mod:`~cnneff.search.table3`
(Table 3's rows without published weights, trained on ImageNet-1k and scored like a weight file).  Every public name is importable from :mod:`cnneff.search`.
"""
from .costs import PAPER_SCALE, b0_macs, image_side, twist_costs
from .formula import TINY_CS, TinyFormula, derive_tinynets, fit_tiny_formula, held_out_error
from .pairs import by_seed, on_common_seeds, repeat_specs, seed_spread, signal_over_noise, tiny_vs_giant
from .readouts import around_readouts, best_under, front_gap, min_epoch_gap, replicate_costs
from .pareto import crowding_distance, nondominated_sort, pareto_front, select_top, spearman_table
from .sampling import (MAC_BOUNDS, RANGE, inverse_giant_at, sample_around, sample_random, solve_multiplier,
                       tuned_width)
from .table3 import train_and_score
from .sweep import DEFAULT_TRAIN, run_sweep, start_ray, sweep_fingerprint, train_twist

__all__ = [
    "RANGE", "PAPER_SCALE", "MAC_BOUNDS", "TINY_CS", "image_side", "twist_costs", "b0_macs", "sample_random",
    "sample_around", "solve_multiplier", "tuned_width", "inverse_giant_at", "DEFAULT_TRAIN",
    "train_twist", "start_ray", "run_sweep", "sweep_fingerprint",
    "nondominated_sort", "pareto_front", "crowding_distance", "select_top", "spearman_table", "TinyFormula",
    "fit_tiny_formula", "held_out_error", "derive_tinynets", "repeat_specs", "by_seed", "on_common_seeds", "tiny_vs_giant", "seed_spread",
    "signal_over_noise", "front_gap", "best_under", "around_readouts", "min_epoch_gap", "replicate_costs",
    "train_and_score",
]
