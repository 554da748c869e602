"""cnneff.stats: the intervals, differences, ratios and detectable effects verdicts rest on."""
import math

import numpy as np
import pytest

from cnneff import stats


def test_mean_interval_is_the_t_interval():
    iv = stats.mean_interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.3027: half-width 4.3027 / sqrt(3) = 2.4841
    assert iv.mean == pytest.approx(2.0)
    assert iv.low == pytest.approx(2 - 2.4841, abs=1e-3) and iv.high == pytest.approx(2 + 2.4841, abs=1e-3)
    assert iv.n == 3 and iv.sd == pytest.approx(1.0) and iv.has_interval


def test_one_value_gives_no_interval():
    iv = stats.mean_interval([0.7])
    assert iv.mean == 0.7 and not iv.has_interval and "no interval" in iv.method
    assert not iv.excludes(0.0)


def test_paired_difference_cancels_what_the_seed_does_to_both():
    a, b = [0.80, 0.70, 0.90], [0.78, 0.68, 0.88]  # seeds move both arms alike; A is always 2 points ahead
    iv = stats.paired_difference(a, b, scale=100)
    assert iv.mean == pytest.approx(2.0) and iv.sd == pytest.approx(0.0, abs=1e-9)
    unpaired = stats.mean_interval(np.array(a) * 100)
    assert unpaired.high - unpaired.low > 10  # the seed spread that pairing removes
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired_difference([1, 2], [1])


def test_ratio_interval_is_geometric_and_positive():
    iv = stats.ratio_interval([2.0, 2.2, 1.8], [1.0, 1.0, 1.0])
    assert iv.mean == pytest.approx((2.0 * 2.2 * 1.8) ** (1 / 3))
    assert 0 < iv.low < iv.mean < iv.high
    assert stats.ratio_interval([3.0]).mean == pytest.approx(3.0)
    unpaired = stats.ratio_interval([2.0, 2.1, 1.9, 2.0], [1.0, 1.1])  # 4 epochs against 2: not paired
    assert "unpaired" in unpaired.method and unpaired.mean == pytest.approx(2.0 / 1.0488, rel=1e-3)
    with pytest.raises(ValueError, match="positive"):
        stats.ratio_interval([1.0, -1.0])


def test_wilson_interval_and_accuracy_interval_fallback():
    iv = stats.binomial_interval(0.5, 100)
    assert iv.low == pytest.approx(0.4038, abs=1e-3) and iv.high == pytest.approx(0.5962, abs=1e-3)
    one = stats.accuracy_interval([0.9], n_test=400)
    assert one.has_interval and "Wilson" in one.method and one.low < 0.9 < one.high
    many = stats.accuracy_interval([0.9, 0.91, 0.89], n_test=400)
    assert "t interval" in many.method


def test_minimum_detectable_effect():
    # paired: (t(0.975, 4) + t(0.8, 4)) * sd / sqrt(5) = (2.776 + 0.941) * 2 / 2.236
    assert stats.mde(5, sd=2.0) == pytest.approx((2.7764 + 0.9410) * 2 / math.sqrt(5), rel=1e-3)
    # one seed: the binomial bound, (1.96 + 0.8416) * 100 * sqrt(2 * 0.25 / 500)
    assert stats.mde(1, n_test=500, scale=100) == pytest.approx(2.8016 * 100 * math.sqrt(0.001), rel=1e-3)
    assert math.isnan(stats.mde(1))
    assert stats.mde(10, sd=1.0) < stats.mde(3, sd=1.0)  # more seeds detect smaller effects


def test_bootstrap_interval_of_a_spearman_difference():
    rng = np.random.default_rng(0)
    x = np.arange(30, dtype=float)
    strong, weak = x + rng.normal(0, 1, 30), x + rng.normal(0, 30, 30)
    iv = stats.bootstrap_interval(lambda ix: stats.spearman(x[ix], strong[ix]) - stats.spearman(x[ix], weak[ix]), 30)
    assert iv.has_interval and iv.low > 0 and "bootstrap" in iv.method
    assert not stats.bootstrap_interval(lambda ix: 0.0, 2).has_interval  # too few items
    eff = iv.as_effect()
    assert set(eff) == {"effect", "ci_low", "ci_high", "sd", "n", "method"}
    assert stats.mean_interval([1.0]).as_effect()["ci_low"] is None
